/* stepup_sudo.so: a sudo approval plugin (sudo_plugin(5), sudo >= 1.9).
 * sudo calls check() for every command its policy accepted, whether or
 * not its credentials were cached. The [sudo] rules of stepup.conf
 * (cmdrule.h) say which commands need a step-up; for those, the PAM
 * service sudo-stepup runs for the invoking user, with the command, whom
 * it runs as and the rule's grace scope in the PAM environment, which
 * pam_stepup reads only with its argument sudo_plugin (docs/decisions.md,
 * "sudo: step-up per command"). A command no rule names is approved
 * without a word; a broken or missing config asks for every command.
 *
 * Glue only: the rules are cmdrule.c's, the step-up the module's. The
 * plugin runs inside setuid sudo, whose user chose argv, the environment,
 * the terminal and the rlimits: nothing it shows or logs is raw. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/types.h>
#include <unistd.h>
#include <security/pam_appl.h>
#include <sudo_plugin.h>
#include "cmdrule.h"
#include "config.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define DEFAULT_SERVICE "sudo-stepup"
#define INFO_MAX 2048 /* one PAM message passed to sudo, with its newline */
#define SHOWN_MAX 256 /* a refused command as shown (as the module shows it) */

/* What open() was given, for check(). */
static struct {
	sudo_conv_t conv;
	sudo_printf_t printf;
	char *user;    /* the invoking user (user_info user=) */
	char *tty;     /* user_info tty=, or NULL */
	char *config;  /* plugin option config=, or the default */
	char *service; /* plugin option service=, or sudo-stepup */
} plugin;

/* Log lines go to syslog (authpriv), never to the user's terminal: the
 * plugin runs before sudo has anything else to say. */
static ssize_t syslog_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	syslog(LOG_AUTHPRIV | LOG_ERR, "stepup_sudo: %.*s", (int)(size > 1024 ? 1024 : size), buf);
	return (ssize_t)size;
}

static FILE *syslog_stream(void)
{
	cookie_io_functions_t io = {.write = syslog_write};
	FILE *f = fopencookie(NULL, "w", io);

	if (f != NULL)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

static const char *find(char *const list[], const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strncmp(list[i], key, len) == 0 && list[i][len] == '=')
			return list[i] + len + 1;
	return NULL;
}

static void forget(void)
{
	free(plugin.user);
	free(plugin.tty);
	free(plugin.config);
	free(plugin.service);
	memset(&plugin, 0, sizeof(plugin));
}

static int stepup_open(unsigned int version, sudo_conv_t conversation,
		       sudo_printf_t sudo_printf, char *const settings[],
		       char *const user_info[], int submit_optind,
		       char *const submit_argv[], char *const submit_envp[],
		       char *const plugin_options[], const char **errstr)
{
	const char *user = find(user_info, "user"), *tty = find(user_info, "tty");
	const char *config = find(plugin_options, "config");
	const char *service = find(plugin_options, "service");

	(void)settings;
	(void)submit_optind;
	(void)submit_argv;
	(void)submit_envp;
	forget();
	if (SUDO_API_VERSION_GET_MAJOR(version) != SUDO_API_VERSION_MAJOR) {
		*errstr = "stepup_sudo: incompatible sudo plugin API";
		return -1;
	}
	plugin.conv = conversation;
	plugin.printf = sudo_printf;
	plugin.user = user != NULL ? su_strdup(user) : NULL;
	plugin.tty = tty != NULL ? su_strdup(tty) : NULL;
	plugin.config = su_strdup(config != NULL ? config : SU_DEFAULT_CONFIG);
	plugin.service = su_strdup(service != NULL ? service : DEFAULT_SERVICE);
	if (plugin.user == NULL || plugin.config == NULL || plugin.service == NULL ||
	    (tty != NULL && plugin.tty == NULL) || plugin.config[0] != '/' ||
	    !su_valid_service_name(plugin.service)) {
		forget();
		*errstr = "stepup_sudo: bad plugin options or out of memory";
		return -1;
	}
	return 1;
}

static void stepup_close(void)
{
	forget();
}

/* PAM's conversation through sudo's: prompts read by sudo (its terminal
 * handling, its timeouts, its signal handling), messages written by it. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp,
		void *data)
{
	struct sudo_conv_message m;
	struct sudo_conv_reply r;
	struct pam_response *out;
	char text[INFO_MAX];

	(void)data;
	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	out = calloc((size_t)n, sizeof(*out));
	if (out == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		memset(&r, 0, sizeof(r));
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			m.msg_type = SUDO_CONV_PROMPT_ECHO_OFF;
			m.msg = msg[i]->msg;
			break;
		case PAM_PROMPT_ECHO_ON:
			m.msg_type = SUDO_CONV_PROMPT_ECHO_ON;
			m.msg = msg[i]->msg;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			/* The terminal, else stderr: never the command's stdout
			 * (sudo cmd >out.txt must not get the step-up text). */
			m.msg_type = SUDO_CONV_ERROR_MSG | SUDO_CONV_PREFER_TTY;
			snprintf(text, sizeof(text), "%s\n", msg[i]->msg);
			m.msg = text;
			break;
		default:
			goto fail;
		}
		if (plugin.conv(1, &m, &r, NULL) != 0) {
			su_free_string(r.reply);
			goto fail;
		}
		out[i].resp = r.reply; /* malloc'ed by sudo; libpam frees it */
	}
	*resp = out;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++)
		su_free_string(out[i].resp);
	free(out);
	return PAM_CONV_ERR;
}

/* The step-up itself: the module through the service's stack. 1 approved,
 * 0 refused. */
static int step_up(const char *command, const char *runas, const char *scope,
		   const char **errstr)
{
	const struct pam_conv pc = {conv, NULL};
	pam_handle_t *pamh = NULL;
	char *var = NULL;
	int rc = pam_start(plugin.service, plugin.user, &pc, &pamh);

	if (rc == PAM_SUCCESS && plugin.tty != NULL)
		rc = pam_set_item(pamh, PAM_TTY, plugin.tty);
	if (rc == PAM_SUCCESS)
		rc = pam_set_item(pamh, PAM_RUSER, plugin.user);
	/* The PAM environment, read only by a module line with sudo_plugin. */
	if (rc == PAM_SUCCESS)
		rc = asprintf(&var, "STEPUP_COMMAND=%s", command) < 0 ? PAM_BUF_ERR
								     : pam_putenv(pamh, var);
	free(var);
	var = NULL;
	if (rc == PAM_SUCCESS)
		rc = asprintf(&var, "STEPUP_RUNAS=%s", runas) < 0 ? PAM_BUF_ERR
								   : pam_putenv(pamh, var);
	free(var);
	var = NULL;
	if (rc == PAM_SUCCESS)
		rc = asprintf(&var, "STEPUP_SCOPE=%s", scope) < 0 ? PAM_BUF_ERR
								   : pam_putenv(pamh, var);
	free(var);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	if (pamh != NULL)
		pam_end(pamh, rc);
	if (rc == PAM_SUCCESS)
		return 1;
	/* One line on stderr, the command escaped: why is in the log. */
	if (plugin.printf != NULL) {
		char shown[SHOWN_MAX + 4];
		plugin.printf(SUDO_CONV_ERROR_MSG, "sudo: step-up refused: %s (see the system log)\n",
			      su_cmdrule_display(command, shown, SHOWN_MAX));
	}
	*errstr = "step-up authentication failed";
	return 0;
}

/* Whom the command runs as, for the rules: runas_uid= (compared by uid
 * with each runas= rule's user, looked up now). Not known when sudo does
 * not say: runas= stepup rules then apply, runas= exempts do not. */
static struct su_cmdrule_runas runas_uid_of(char *const command_info[])
{
	struct su_cmdrule_runas r = {0};
	const char *uid = find(command_info, "runas_uid");
	unsigned id;

	if (uid != NULL && su_parse_uint(uid, 0, ~0u - 1, &id)) {
		r.known = true;
		r.uid = id;
	}
	return r;
}

/* Whom the command runs as, as shown: runas_user= if sudo says, else
 * runas_uid's name. NULL: unknown. */
static char *runas_of(char *const command_info[])
{
	const char *name = find(command_info, "runas_user");
	const char *uid = find(command_info, "runas_uid");
	struct passwd pw, *found = NULL;
	char buf[4096];
	unsigned id;

	if (name != NULL)
		return su_strdup(name);
	if (uid == NULL || !su_parse_uint(uid, 0, ~0u - 1, &id) ||
	    getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return NULL;
	return su_strdup(found->pw_name);
}

/* Whether sudo runs a command without a step-up. [sudo] names the commands
 * that ask (stepup.conf(5)): an exempt command runs, and so does one no
 * rule names, as it did before the plugin was loaded. */
static bool sudo_approves(enum su_cmdrule_verdict verdict)
{
	switch (verdict) {
	case SU_CMD_EXEMPT:
		return true;
	case SU_CMD_UNNAMED:
		return true;
	case SU_CMD_STEPUP:
		return false;
	}
	return false; /* not a verdict: fail closed */
}

/* The rules see the path as sudo found it and, when that is reached
 * through a symbolic link (/bin -> /usr/bin on a merged /usr, or a link
 * the admin did not think of), the real path too: a step-up is needed if
 * either form needs one, so "sudo /bin/systemctl" cannot pass a rule on
 * /usr/bin/systemctl, nor "sudo /usr/sbin/reboot" one on itself. */
static enum su_cmdrule_verdict command_verdict(const su_log *log, const su_cmdrules *rules,
					 const struct su_cmdrule_runas *runas,
					 const char *path, const char *command,
					 char *const command_info[], char *const run_argv[],
					 size_t argc, const char **scope)
{
	char *real = NULL, *canonical = NULL;
	enum su_cmdrule_verdict verdict;

	/* The path is resolved here, in the plugin's root and cwd: a relative
	 * path (sudo runs it from cwd=/runcwd=), one under chroot=, or one
	 * that does not resolve cannot be matched as what will run. */
	*scope = "all";
	if (path == NULL)
		return SU_CMD_STEPUP;
	if (path[0] != '/') {
		su_logf(log, LOG_ERR, "a relative command path; a step-up is needed");
		return SU_CMD_STEPUP;
	}
	if (find(command_info, "chroot") != NULL) {
		su_logf(log, LOG_ERR, "the command runs under chroot=; a step-up is needed");
		return SU_CMD_STEPUP;
	}
	real = realpath(path, NULL);
	if (real == NULL) {
		su_logf(log, LOG_ERR, "the command path does not resolve (%s); a step-up is needed",
			strerror(errno));
		return SU_CMD_STEPUP;
	}
	verdict = su_cmdrules_match(rules, runas, command, scope);
	if (sudo_approves(verdict) && strcmp(real, path) != 0) {
		canonical = su_cmdrule_join(real, argc > 0 ? (const char *const *)run_argv + 1 : NULL,
					    argc > 0 ? argc - 1 : 0);
		verdict = su_cmdrules_match(rules, runas, canonical, scope);
	}
	free(canonical);
	free(real);
	return verdict;
}

/* sudoedit: command= and run_argv are the editor the user picked, then
 * "--", then the files (sudoedit_nfiles= of them, at the end). The rules
 * see "sudoedit FILE...". NULL when the files cannot be told (no or a bad
 * sudoedit_nfiles=, no "--" in front of them, a relative file name):
 * the command then needs a step-up under "all" (fail closed). */
static char *sudoedit_form(const su_log *log, char *const command_info[],
			   char *const run_argv[], size_t argc)
{
	const char *nfiles = find(command_info, "sudoedit_nfiles");
	unsigned n;

	if (nfiles == NULL || !su_parse_uint(nfiles, 1, 100000, &n) || n + 1 > argc ||
	    strcmp(run_argv[argc - n - 1], "--") != 0) {
		su_logf(log, LOG_ERR, "sudoedit: the files edited cannot be told "
				      "(sudoedit_nfiles=%s); a step-up is needed",
			nfiles != NULL ? "?" : "absent");
		return NULL;
	}
	for (size_t i = argc - n; i < argc; i++) {
		if (run_argv[i][0] != '/') {
			su_logf(log, LOG_ERR, "sudoedit: a relative file name; a step-up is needed");
			return NULL;
		}
	}
	return su_cmdrule_join("sudoedit", (const char *const *)run_argv + (argc - n), n);
}

static int stepup_check(char *const command_info[], char *const run_argv[],
			char *const run_envp[], const char **errstr)
{
	FILE *logf = syslog_stream();
	su_log log = {.prog = "stepup_sudo", .out = logf};
	su_settings settings;
	su_cmdrules rules = {0};
	const char *path = find(command_info, "command"), *scope = "all";
	char *runas = runas_of(command_info), *command = NULL;
	const struct su_cmdrule_runas target = runas_uid_of(command_info);
	const char *edit = find(command_info, "sudoedit");
	bool sudoedit = edit != NULL && strcmp(edit, "true") == 0;
	enum su_cmdrule_verdict verdict;
	size_t argc = 0;
	int rc, result = -1;

	(void)run_envp;
	if (logf == NULL)
		log.out = stderr;
	while (run_argv != NULL && run_argv[argc] != NULL)
		argc++;
	rc = su_config_load(&log, plugin.config, NULL, &settings);
	if (rc == SU_OK) {
		su_cmdrules_compile(&log, plugin.config, settings.sudo_rules, &rules);
		su_settings_free(&settings);
	} else {
		/* Missing or refused: the admin who loads the plugin meant it. */
		if (rc == SU_NOTFOUND)
			su_logf(&log, LOG_ERR, "%s: config file does not exist", plugin.config);
		rules.broken = true;
	}
	if (sudoedit) {
		command = sudoedit_form(&log, command_info, run_argv, argc);
		verdict = su_cmdrules_match(&rules, &target, command, &scope);
		path = "sudoedit";
	} else {
		/* run_argv[0] is the name sudo runs it as; the rules see the path. */
		command = su_cmdrule_join(path, argc > 0 ? (const char *const *)run_argv + 1 : NULL,
					  argc > 0 ? argc - 1 : 0);
		verdict = command_verdict(&log, &rules, &target, path, command, command_info,
					  run_argv, argc, &scope);
	}
	if (sudo_approves(verdict)) {
		result = 1;
	} else if (plugin.user == NULL || path == NULL) {
		*errstr = "step-up: the invoking user or the command is unknown";
		result = -1;
	} else {
		/* A command too long to form is shown by its path. */
		result = step_up(command != NULL ? command : path, runas != NULL ? runas : "?",
				 scope, errstr);
	}
	su_cmdrules_free(&rules);
	free(command);
	free(runas);
	if (logf != NULL)
		fclose(logf);
	return result;
}

static int stepup_show_version(int verbose)
{
	(void)verbose;
	if (plugin.printf != NULL)
		plugin.printf(SUDO_CONV_INFO_MSG, "stepup_sudo approval plugin %s\n",
			      PACKAGE_VERSION);
	return 1;
}

__attribute__((visibility("default"))) struct approval_plugin stepup_approval = {
	.type = SUDO_APPROVAL_PLUGIN,
	.version = SUDO_API_VERSION,
	.open = stepup_open,
	.close = stepup_close,
	.check = stepup_check,
	.show_version = stepup_show_version,
};
