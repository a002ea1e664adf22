/* stepup-gate: step-up before an SSH forced command (docs/design.md, "The gate"; stepup-gate(8)).
 *
 *   ForceCommand /usr/sbin/stepup-gate        (sshd_config, Match block)
 *   command="/usr/sbin/stepup-gate" ssh-ed25519 AAAA...   (authorized_keys)
 *
 * The project's one setuid-root program, so everything here assumes that
 * the person running it controls its environment, arguments, file
 * descriptors, limits and signals, and wants more than they are owed:
 *
 *  1. The user is the real uid's passwd entry, never a name from outside.
 *  2. The environment is read once, into an allow-list, and cleared before
 *     anything else runs (NSS, the config, PAM): nothing the client sent
 *     reaches the module or the command but TERM, LANG, LC_*, TZ and what
 *     sshd sets (SSH_*); HOME, USER, LOGNAME, SHELL and PATH are set from
 *     the passwd entry. (ld.so has already ignored LD_PRELOAD and friends:
 *     the kernel marks a setuid run as secure.) SSH_AUTH_SOCK, allow-listed,
 *     is handed to the PAM environment for the method sshsk, which reaches
 *     it only as the user (sshagent.c).
 *  3. The command ($SSH_ORIGINAL_COMMAND) runs without a step-up only when
 *     it matches an exempt_command pattern of [gate] in the fixed config
 *     file and is plain words to the shell (no ; | & $ ` etc.: a pattern
 *     "cmd *" must not let "cmd x; other" through); everything else, and every interactive login, runs the PAM
 *     service "stepup-gate" for the user: policy, grace, lockout and every
 *     method as in any other service.
 *  4. Only then are privileges dropped for good (the user's groups, gid,
 *     uid: real, effective and saved), checked by trying to take them back,
 *     and the command runs through the user's login shell with -c (or the
 *     login shell itself), with no descriptor but 0, 1 and 2.
 *  5. Any failure exits 1 with one line on stderr and runs nothing. The
 *     command's own exit status is the gate's (exec).
 * Each run is logged to authpriv: user, command (escaped, cut), decision.
 * While root it keeps none of the caller's descriptors above 2, works in /,
 * and holds off Ctrl-C, Ctrl-Z and hangups (a root process stopped with a
 * terminal left silent). Without /etc/pam.d/stepup-gate it refuses: libpam
 * would run the "other" stack instead. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include "audit.h"
#include "cmdrule.h"
#include "config.h"
#include "log.h"
#include "safefile.h"
#include "userdb.h"
#include "util.h"

#define GATE_SERVICE "stepup-gate"
#define GATE_PATH "/usr/local/bin:/usr/bin:/bin"
#define ANSWER_MAX 512
#define ENV_MAX 64          /* allowed variables kept, at most */
#define ENV_VALUE_MAX 4096
#define LOG_COMMAND_MAX 256 /* escaped; longer commands end in "..." */

static const su_log gate_log = { .pamh = NULL, .prog = "stepup-gate" };

struct account {
	char *name, *home, *shell;
	uid_t uid;
	gid_t gid;
};

/* What the caller's environment may hand on: read once, then cleared. */
struct inherited {
	char *keep[ENV_MAX + 1]; /* "NAME=value", allow-listed */
	size_t nkeep;
	char *command; /* SSH_ORIGINAL_COMMAND, or NULL */
	char *client;  /* first field of SSH_CONNECTION, or NULL */
};

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	su_vlogf(&gate_log, LOG_ERR, fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- 2. the environment -------------------------------------------------- */

static bool allowed_name(const char *entry, size_t len)
{
	static const char *const names[] = { "TERM", "LANG", "TZ", "SSH_CLIENT",
					     "SSH_CONNECTION", "SSH_TTY", "SSH_AUTH_SOCK",
					     "SSH_ORIGINAL_COMMAND" };

	if (len > 3 && strncmp(entry, "LC_", 3) == 0)
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncmp(entry, names[i], len) == 0)
			return true;
	return false;
}

static int take_environment(struct inherited *in)
{
	extern char **environ;
	const char *v;

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');

		if (eq == NULL || !allowed_name(*e, (size_t)(eq - *e)) ||
		    strlen(eq + 1) > ENV_VALUE_MAX || su_has_control(eq + 1) ||
		    in->nkeep == ENV_MAX)
			continue;
		if ((in->keep[in->nkeep++] = strdup(*e)) == NULL)
			return die("out of memory");
	}
	/* The command may hold anything the user typed, tabs and newlines
	 * included; it is handed to their own shell as they sent it. */
	if ((v = getenv("SSH_ORIGINAL_COMMAND")) != NULL && (in->command = strdup(v)) == NULL)
		return die("out of memory");
	/* sshd's "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT"; run directly, the
	 * caller writes it: an address or nothing goes to PAM_RHOST. */
	if ((v = getenv("SSH_CONNECTION")) != NULL) {
		size_t len = strcspn(v, " ");

		if (len > 0 && len <= 45 && strspn(v, "0123456789abcdefABCDEF.:") == len &&
		    (in->client = strndup(v, len)) == NULL)
			return die("out of memory");
	}
	if (clearenv() != 0)
		return die("cannot clear the environment");
	return 0;
}

static char *pair(const char *name, const char *value)
{
	char *s = NULL;

	return asprintf(&s, "%s=%s", name, value) < 0 ? NULL : s;
}

/* The command's environment: the allow-list, then the account's own. */
static char **command_environment(struct inherited *in, const struct account *a)
{
	static char *env[ENV_MAX + 6];
	size_t n = 0;

	for (size_t i = 0; i < in->nkeep; i++)
		env[n++] = in->keep[i];
	env[n++] = pair("HOME", a->home);
	env[n++] = pair("USER", a->name);
	env[n++] = pair("LOGNAME", a->name);
	env[n++] = pair("SHELL", a->shell);
	env[n++] = pair("PATH", GATE_PATH);
	env[n] = NULL;
	for (size_t i = in->nkeep; i < n; i++)
		if (env[i] == NULL)
			return NULL;
	return env;
}

/* ---- 1. who -------------------------------------------------------------- */

/* The caller's account; a user database that cannot answer is named as
 * such, not as an unknown user (either way the gate stops). */
static int lookup_account(struct account *a)
{
	uid_t uid = getuid();
	su_pwent e = {0};
	const struct passwd *pw;
	int err = su_userdb_uid(&e, uid, &pw);

	if (err == 0 && pw != NULL) {
		a->uid = pw->pw_uid;
		a->gid = pw->pw_gid;
		a->name = strdup(pw->pw_name);
		a->home = strdup(pw->pw_dir[0] != '\0' ? pw->pw_dir : "/");
		a->shell = strdup(pw->pw_shell[0] != '\0' ? pw->pw_shell : "/bin/sh");
	}
	su_pwent_free(&e);
	if (err != 0)
		return die("cannot look up uid %u in the user database: %s", (unsigned)uid,
			   strerror(err));
	if (pw == NULL)
		return die("unknown user: uid %u has no passwd entry", (unsigned)uid);
	if (a->name == NULL || a->home == NULL || a->shell == NULL)
		return die("out of memory");
	return 0;
}

/* ---- 3. the decision ------------------------------------------------------ */

/* The command goes to the user's shell, so a pattern such as
 * "git-upload-pack *" would also match "git-upload-pack x; anything". A
 * command can be exempt only if the shell can read it as nothing but
 * words: letters, digits, blanks, - _ . / : @ = + , % and single quotes
 * (inside which nothing is special), and no variable assignment in front. */
static bool plain_words(const char *command)
{
	size_t first_word = strcspn(command, " ");

	return command[strspn(command, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789 -_./:@=+,%'")] == '\0' &&
	       memchr(command, '=', first_word) == NULL;
}

/* Whether the gate runs a command without a step-up: only when an
 * exempt_command pattern names it. The gate asks for every other command,
 * one no pattern names included (its rules are exemptions only). */
static bool gate_exempts(enum su_cmdrule_verdict verdict)
{
	switch (verdict) {
	case SU_CMD_EXEMPT:
		return true;
	case SU_CMD_UNNAMED:
		return false;
	case SU_CMD_STEPUP:
		return false;
	}
	return false; /* not a verdict: fail closed */
}

/* patterns: one per line (su_settings.gate_exempt), matched by the one
 * command matcher (cmdrule.h: a plain-words command is its canonical
 * form). An interactive login (no command) is never exempt; patterns that
 * cannot be compiled exempt nothing. */
static bool exempt(const char *patterns, const char *command)
{
	su_cmdrules rules;
	const char *scope; /* the gate keeps no grace scope of its own */
	bool yes;

	if (patterns == NULL || command == NULL || !plain_words(command))
		return false;
	yes = su_cmdrules_compile_plain(patterns, &rules) == SU_OK &&
	      gate_exempts(su_cmdrules_match(&rules, NULL, command, &scope));
	su_cmdrules_free(&rules);
	return yes;
}

static void log_run(const struct account *a, const char *command, const char *decision,
		    const char *result)
{
	char user[LOG_COMMAND_MAX], cmd[LOG_COMMAND_MAX];

	syslog(LOG_AUTHPRIV | (strcmp(result, "run") == 0 ? LOG_INFO : LOG_NOTICE),
	       "user=%s command=%s decision=%s result=%s", su_audit_escape(a->name, user, sizeof(user)),
	       command ? su_audit_escape(command, cmd, sizeof(cmd)) : "(login shell)", decision,
	       result);
}

/* ---- step-up: the PAM conversation on stdin and stderr ---------------------- */

/* One line from stdin, a byte at a time: what follows the line is the
 * command's input (`echo CODE | ssh host cmd <more>`). Echo off on a tty. */
static char *read_answer(bool echo)
{
	struct termios saved, quiet;
	bool tty = !echo && tcgetattr(STDIN_FILENO, &saved) == 0;
	char buf[ANSWER_MAX + 1];
	size_t len = 0;
	char c;

	if (tty) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
		if (len < ANSWER_MAX)
			buf[len++] = c;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	return strdup(buf);
}

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;

		if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
			fputs(msg[i]->msg, stderr);
			fflush(stderr);
			r[i].resp = read_answer(style == PAM_PROMPT_ECHO_ON);
			if (r[i].resp == NULL)
				goto fail;
		} else if (style == PAM_ERROR_MSG || style == PAM_TEXT_INFO) {
			fprintf(stderr, "%s\n", msg[i]->msg);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++)
		free(r[i].resp); /* answers are codes: the module wipes its copies */
	free(r);
	return PAM_CONV_ERR;
}

/* Without its own service file libpam would run the "other" stack (on
 * Debian: the Unix password), and no step-up would be asked. */
static int service_installed(void)
{
	struct stat st;

	if (lstat("/etc/pam.d/" GATE_SERVICE, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0)
		return die("/etc/pam.d/" GATE_SERVICE " is missing or not a root-owned file; "
			   "nothing run");
	return 0;
}

/* The module's method sshsk finds the user's agent through SSH_AUTH_SOCK;
 * the environment was cleared (2.), so the allow-listed value goes to the
 * PAM environment, where the module reads it first. Nothing else does. */
static int hand_agent(pam_handle_t *pamh, const struct inherited *in)
{
	static const char name[] = "SSH_AUTH_SOCK=";

	for (size_t i = 0; i < in->nkeep; i++)
		if (strncmp(in->keep[i], name, sizeof(name) - 1) == 0)
			return pam_putenv(pamh, in->keep[i]);
	return PAM_SUCCESS;
}

static int step_up(const struct account *a, const struct inherited *in)
{
	struct pam_conv conv = { converse, NULL };
	pam_handle_t *pamh = NULL;
	const char *tty = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	int rc = pam_start(GATE_SERVICE, a->name, &conv, &pamh);

	if (rc == PAM_SUCCESS)
		rc = pam_set_item(pamh, PAM_RUSER, a->name);
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(pamh, PAM_TTY, tty ? tty : "ssh");
	if (rc == PAM_SUCCESS && in->client != NULL && in->client[0] != '\0')
		rc = pam_set_item(pamh, PAM_RHOST, in->client);
	if (rc == PAM_SUCCESS)
		rc = hand_agent(pamh, in);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	if (rc != PAM_SUCCESS)
		die("step-up refused: %s", pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : 1;
}

/* ---- 4. drop privileges and run ------------------------------------------------ */

static int drop_privileges(const struct account *a)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (initgroups(a->name, a->gid) != 0 || setresgid(a->gid, a->gid, a->gid) != 0 ||
	    setresuid(a->uid, a->uid, a->uid) != 0)
		return die("cannot drop privileges to %s: %s", a->name, strerror(errno));
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != a->uid || eu != a->uid || su != a->uid || rg != a->gid || eg != a->gid ||
	    sg != a->gid)
		return die("privileges not dropped to %s; nothing run", a->name);
	/* Irrevocable: none of them may come back. */
	if (a->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0 || (a->gid != 0 && setgid(0) == 0) ||
			    setgroups(0, NULL) == 0))
		return die("privileges could be regained after dropping them; nothing run");
	return 0;
}

static int run(const struct account *a, const char *command, char **env, mode_t umask_was)
{
	const char *base = strrchr(a->shell, '/') ? strrchr(a->shell, '/') + 1 : a->shell;
	char *login = NULL, dash_c[] = "-c";
	char *argv[4];

	if (command != NULL) {
		argv[0] = (char *)base;
		argv[1] = dash_c;
		argv[2] = (char *)command;
		argv[3] = NULL;
	} else {
		if (asprintf(&login, "-%s", base) < 0) /* a login shell, as sshd runs it */
			return die("out of memory");
		argv[0] = login;
		argv[1] = NULL;
	}
	if (chdir(a->home) != 0 && chdir("/") != 0)
		return die("cannot change to %s: %s", a->home, strerror(errno));
	umask(umask_was);
	execve(a->shell, argv, env);
	return die("cannot run %s: %s", a->shell, strerror(errno));
}

int main(int argc, char **argv)
{
	mode_t umask_was = umask(077);
	struct inherited in = {0};
	struct account a = {0};
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY }, fsize;
	su_settings settings;
	const char *decision;
	sigset_t quiet, signals_was;
	char **env;

	(void)argv;
	if (argc > 1)
		return die("takes no arguments; the command comes from SSH_ORIGINAL_COMMAND");
	if (geteuid() != 0)
		return die("not setuid root (effective uid %u): install it owned by root, mode 4755",
			   (unsigned)geteuid());
	/* Nothing of the caller's but 0, 1 and 2 while root: no descriptor, no
	 * working directory, and no Ctrl-C, Ctrl-Z or hangup in the middle of
	 * PAM (a prompt left with echo off, a stopped root process). */
	if (close_range(3, ~0U, 0) != 0 || chdir("/") != 0)
		return die("cannot close inherited descriptors or change to /");
	sigemptyset(&quiet);
	sigaddset(&quiet, SIGINT);
	sigaddset(&quiet, SIGQUIT);
	sigaddset(&quiet, SIGTSTP);
	sigaddset(&quiet, SIGHUP);
	sigprocmask(SIG_BLOCK, &quiet, &signals_was);
	if (take_environment(&in) != 0 || lookup_account(&a) != 0)
		return 1;
	openlog(GATE_SERVICE, LOG_PID, LOG_AUTHPRIV);
	/* The caller's file size limit must not cut a state write short. */
	if (getrlimit(RLIMIT_FSIZE, &fsize) != 0 || setrlimit(RLIMIT_FSIZE, &unlimited) != 0)
		return die("cannot lift the file size limit");
	signal(SIGXFSZ, SIG_IGN);
	switch (su_config_load(&gate_log, SU_DEFAULT_CONFIG, GATE_SERVICE, &settings)) {
	case SU_OK:
		break;
	case SU_NOTFOUND:
		return die("%s does not exist; nothing run", SU_DEFAULT_CONFIG);
	default:
		return die("%s cannot be used (see above); nothing run", SU_DEFAULT_CONFIG);
	}
	decision = exempt(settings.gate_exempt, in.command) ? "exempt" : "stepup";
	su_settings_free(&settings);
	if (strcmp(decision, "stepup") == 0 &&
	    (service_installed() != 0 || step_up(&a, &in) != 0)) {
		log_run(&a, in.command, decision, "refused");
		return 1;
	}
	env = command_environment(&in, &a);
	if (env == NULL)
		return die("out of memory");
	if (setrlimit(RLIMIT_FSIZE, &fsize) != 0)
		return die("cannot restore the file size limit");
	signal(SIGXFSZ, SIG_DFL);
	if (drop_privileges(&a) != 0)
		return 1;
	log_run(&a, in.command, decision, "run");
	closelog();
	if (close_range(3, ~0U, 0) != 0)
		return die("cannot close inherited descriptors: %s", strerror(errno));
	sigprocmask(SIG_SETMASK, &signals_was, NULL);
	return run(&a, in.command, env, umask_was);
}
