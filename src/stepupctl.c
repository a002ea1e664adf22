/* stepupctl: the administrator's tool (DESIGN.md "stepupctl").
 *
 * It reaches users' records and state only through store.h; only init names
 * paths, because creating the directories and the host key is its job.
 *
 * Rules every command obeys:
 *  1. Exit status 0 when done, 1 when the operation is refused (not root, a
 *     bad user name, not enrolled, a file the store refuses, a config error),
 *     2 for a usage error. The command line is checked before the root
 *     check and before any file is read, except for the method name and
 *     the secret, which the command itself checks.
 *  2. Every error is one line on stderr, "stepupctl: ...", that says what to
 *     do; usage errors end with "(see stepupctl --help)". Library refusals
 *     are printed by the library, naming the file and the reason.
 *  3. A secret is never printed except the otpauth URI of a new enrolment,
 *     and every copy of it (argv, buffers, records) is wiped on every path.
 *  4. Messages echo user names, command names and option names (not their
 *     values), never other arguments: a secret typed without --secret, or
 *     in the wrong place, would end up in scrollback, logs and tickets.
 *
 * Adding a command is one entry in commands[]; adding a method (email,
 * recovery) is one entry in methods[]. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "email.h"
#include "gafile.h"
#include "grace.h"
#include "hostkey.h"
#include "kv.h"
#include "lockout.h"
#include "log.h"
#include "mail.h"
#include "qr.h"
#include "recovery.h"
#include "safefile.h"
#include "secret.h"
#include "store.h"
#include "totp.h"
#include "userdb.h"
#include "util.h"

#define PROG "stepupctl"
#define ISSUER_MAX 64
#define SECRET_LINE_MAX 512

/* Exit statuses, and CTL_STOP: finished early and well (--help). */
enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2, CTL_STOP = -1 };

static const su_log ctl_log = { .pamh = NULL, .prog = PROG, .debug = false };

/* Everything a command line may carry besides positional arguments. */
typedef struct ctl_opts {
	char *secret;       /* --secret: BASE32 or "-"; points into argv */
	unsigned digits;
	unsigned period;
	const char *issuer; /* NULL: the host name */
	const char *totp_option; /* the first TOTP-only option given, or NULL */
	bool force;
	unsigned count;     /* recovery --count */
} ctl_opts;

typedef struct ctl {
	const char *config_path; /* -c, or NULL for SU_DEFAULT_CONFIG */
	bool config_found;       /* false: built-in defaults */
	su_settings settings;
	su_store *store;         /* open while a command that needs it runs */
	ctl_opts opts;
} ctl;

typedef struct ctl_command {
	const char *name;
	int (*run)(ctl *c, char **args, int nargs);
	int min_args, max_args;
	const char *args;                 /* synopsis after the name */
	const char *summary;
	const struct option *options;     /* always includes --help */
	const char *const (*option_help)[2];
	bool needs_store;
} ctl_command;

/* What status shows of one user. */
typedef struct user_view {
	const char *user;
	su_kv record;
	su_kv state;
	char *record_path; /* names files in messages */
	char *state_path;
} user_view;

typedef struct ctl_method {
	const char *name;   /* as typed: "totp" */
	const char *label;  /* in messages: "TOTP" */
	bool (*enrolled)(const su_kv *record);
	void (*remove)(su_kv *record); /* its record keys */
	int enroll_args;    /* positional arguments after the method name */
	int (*enroll)(ctl *c, const char *user, char **args);
	int (*summary)(const user_view *v, char *buf, size_t size);
	int (*details)(const user_view *v);
} ctl_method;

/* ---- messages ------------------------------------------------------------ */

static int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int refuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	su_vlogf(&ctl_log, LOG_ERR, fmt, ap);
	va_end(ap);
	return CTL_REFUSED;
}

static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	su_logf(&ctl_log, LOG_ERR, "%s (see " PROG " --help)", msg);
	return CTL_USAGE;
}

static int bad_user(const char *user)
{
	return refuse("'%s' is not a valid user name (1 to %d printable characters, "
		      "no '/' or ':', not starting with '.' or '-')",
		      user, SU_USER_MAX);
}

/* The user a command names, as the module will look it up: validated, and
 * spelled as the user database spells it ("ALICE" resolving to alice is
 * alice, su_userdb_canonical), so that the record written is the record
 * the module reads. *known says whether the user database knows the name
 * at all, and *uid (if not NULL) is its uid when it does. A user database
 * that cannot answer is refused, never taken as "no such user": the name
 * may be an enrolled user's other spelling, and the record written or
 * removed would be the wrong one. */
static int user_arg(const char *given, char *out, size_t size, bool *known, uid_t *uid)
{
	su_pwent e = { 0 };
	const char *canon;
	int err = 0, rc = CTL_OK;

	switch (su_userdb_canonical(&e, given, &canon, uid, &err)) {
	case SU_USERDB_INVALID:
		rc = bad_user(canon);
		break;
	case SU_USERDB_ERROR:
		rc = refuse("cannot look up user '%s' in the user database: %s; "
			    "nothing was changed", given, strerror(err));
		break;
	case SU_USERDB_KNOWN:
		if (strcmp(canon, given) != 0)
			su_logf(&ctl_log, LOG_NOTICE, "note: '%s' is '%s' in the user "
				"database; using '%s'", given, canon, canon);
		*known = true;
		break;
	default:
		*known = false;
		break;
	}
	if (rc == CTL_OK)
		snprintf(out, size, "%s", canon);
	su_pwent_free(&e);
	return rc;
}

static int out_of_memory(void)
{
	return refuse("out of memory");
}

/* ---- commands and methods ----------------------------------------------- */

static int cmd_init(ctl *c, char **args, int nargs);
static int cmd_enroll(ctl *c, char **args, int nargs);
static int cmd_status(ctl *c, char **args, int nargs);
static int cmd_remove(ctl *c, char **args, int nargs);
static int cmd_check_config(ctl *c, char **args, int nargs);
static int cmd_test_email(ctl *c, char **args, int nargs);
static int cmd_grace(ctl *c, char **args, int nargs);
static int end_grace(ctl *c, const char *user);
static int cmd_recovery(ctl *c, char **args, int nargs);
static int cmd_unlock(ctl *c, char **args, int nargs);
static int cmd_import(ctl *c, char **args, int nargs);
static void local_time(time_t when, char *buf, size_t size);
static int recovery_summary(const user_view *v, char *buf, size_t size);
static int recovery_details(const user_view *v);
static int enroll_totp(ctl *c, const char *user, char **args);
static int enroll_email(ctl *c, const char *user, char **args);
static int email_summary(const user_view *v, char *buf, size_t size);
static int email_details(const user_view *v);
static int totp_summary(const user_view *v, char *buf, size_t size);
static int totp_details(const user_view *v);

enum { OPT_SECRET = 256, OPT_DIGITS, OPT_PERIOD, OPT_ISSUER, OPT_FORCE, OPT_COUNT };

static const struct option plain_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option enroll_options[] = {
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "digits", required_argument, NULL, OPT_DIGITS },
	{ "period", required_argument, NULL, OPT_PERIOD },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option recovery_options[] = {
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const recovery_help[][2] = {
	{ "--count N", "how many codes, 1 to 50 (default 10)" },
	{ NULL, NULL },
};

static const char *const enroll_help[][2] = {
	{ "--secret BASE32|-", "use this secret ('-': read it from stdin)" },
	{ "--digits 6|8", "code length (default 6)" },
	{ "--period SECONDS", "time step, 15 to 300 (default 30)" },
	{ "--issuer NAME", "name shown in the app (default: the host name)" },
	{ "--force", "replace an existing TOTP enrolment" },
	{ NULL, NULL },
};

static const ctl_command commands[] = {
	{ "init", cmd_init, 0, 0, "",
	  "create the directories and the host key", plain_options, NULL, false },
	{ "enroll", cmd_enroll, 2, 3, "USER totp [OPTIONS] | USER email ADDRESS",
	  "enrol USER for TOTP (prints the otpauth URI and QR code) or email",
	  enroll_options, enroll_help, true },
	{ "status", cmd_status, 0, 1, "[USER]",
	  "list enrolled users, or show one user", plain_options, NULL, true },
	{ "recovery", cmd_recovery, 1, 1, "USER [--count N]",
	  "print new single-use recovery codes for USER; earlier ones stop working",
	  recovery_options, recovery_help, true },
	{ "unlock", cmd_unlock, 1, 1, "USER",
	  "end USER's lockout and clear the failure tally", plain_options, NULL, true },
	{ "remove", cmd_remove, 1, 2, "USER [totp|email|recovery]",
	  "remove USER entirely, or only one method", plain_options,
	  NULL, true },
	{ "check-config", cmd_check_config, 0, 0, "",
	  "check the config file, print every error", plain_options, NULL, false },
	{ "grace", cmd_grace, 1, 2, "list|revoke [USER]",
	  "list the grace records (of USER), or revoke them", plain_options,
	  NULL, false },
	{ "test-email", cmd_test_email, 1, 1, "USER",
	  "send USER a test message; print the mail server's answer",
	  plain_options, NULL, true },
	{ "import", cmd_import, 3, 3, "google-authenticator USER FILE",
	  "enrol USER from their google-authenticator FILE: the TOTP secret, "
	  "and the scratch codes as recovery codes", plain_options, NULL, true },
};

static const ctl_method methods[] = {
	{ "totp", "TOTP", su_totp_enrolled, su_totp_remove, 0, enroll_totp,
	  totp_summary, totp_details },
	{ "email", "email", su_email_enrolled, su_email_remove, 1, enroll_email,
	  email_summary, email_details },
	{ "recovery", "recovery codes", su_recovery_enrolled, su_recovery_remove, 0,
	  NULL, recovery_summary, recovery_details },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < COUNT(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const ctl_method *find_method(const char *name)
{
	for (size_t i = 0; i < COUNT(methods); i++)
		if (strcmp(methods[i].name, name) == 0)
			return &methods[i];
	return NULL;
}

/* "totp" or "totp, email", for "use ..." hints. */
static const char *method_names(void)
{
	static char names[64];

	names[0] = '\0';
	for (size_t i = 0; i < COUNT(methods); i++) {
		if (i > 0)
			strncat(names, ", ", sizeof(names) - strlen(names) - 1);
		strncat(names, methods[i].name, sizeof(names) - strlen(names) - 1);
	}
	return names;
}

/* The word is not echoed: in the method's place may be a secret typed
 * without --secret ("enroll alice JBSW..."), and stderr ends up in
 * terminals' scrollback, logs and tickets. */
static int unknown_method(const char *command)
{
	return usage_error("%s: unknown method (not shown: it may be a secret); "
			   "use %s", command, method_names());
}

/* ---- help ---------------------------------------------------------------- */

static void print_command(FILE *out, const ctl_command *cmd)
{
	char synopsis[64];

	snprintf(synopsis, sizeof(synopsis), "%s%s%s", cmd->name,
		 cmd->args[0] != '\0' ? " " : "", cmd->args);
	fprintf(out, "  %-28s %s\n", synopsis, cmd->summary);
	for (size_t i = 0; cmd->option_help != NULL && cmd->option_help[i][0] != NULL; i++)
		fprintf(out, "      %-24s %s\n", cmd->option_help[i][0],
			cmd->option_help[i][1]);
}

static void print_usage(FILE *out)
{
	fputs("Usage: " PROG " [-c CONFIG] COMMAND [ARGUMENTS]\n"
	      "Administer pam_stepup step-up authentication. Run as root.\n"
	      "\nCommands:\n", out);
	for (size_t i = 0; i < COUNT(commands); i++)
		print_command(out, &commands[i]);
	fputs("\nOptions:\n"
	      "  -c, --config CONFIG          config file (default " SU_DEFAULT_CONFIG ")\n"
	      "  -h, --help                   show this help\n"
	      "\nExit status: 0 done, 1 refused, 2 usage error.\n", out);
}

static void print_command_usage(FILE *out, const ctl_command *cmd)
{
	fprintf(out, "Usage: " PROG " [-c CONFIG] %s%s%s\n%s.\n", cmd->name,
		cmd->args[0] != '\0' ? " " : "", cmd->args, cmd->summary);
	for (size_t i = 0; cmd->option_help != NULL && cmd->option_help[i][0] != NULL; i++)
		fprintf(out, "  %-28s %s\n", cmd->option_help[i][0], cmd->option_help[i][1]);
}

/* ---- command line -------------------------------------------------------- */

/* getopt's error for the option just scanned, as one usage line. */
static int option_error(int ch, char **argv, const char *command)
{
	const char *arg = argv[optind - 1];
	bool is_long = strncmp(arg, "--", 2) == 0;
	int len = is_long ? (int)strcspn(arg, "=") : 2;
	char short_opt[3] = { '-', (char)optopt, '\0' };
	const char *where = command != NULL ? command : "";
	const char *colon = command != NULL ? ": " : "";

	if (!is_long)
		arg = short_opt;
	if (ch == ':')
		return usage_error("%s%soption '%.*s' needs a value", where, colon, len, arg);
	if (is_long && optopt != 0 && arg[len] == '=')
		return usage_error("%s%soption '%.*s' takes no value", where, colon, len, arg);
	return usage_error("%s%sunknown option '%.*s'", where, colon, len, arg);
}

static int parse_global(int argc, char **argv, const char **config, int *first)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	opterr = 0;
	/* '+': stop at the command name, its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:c:h", options, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			print_usage(stdout);
			return CTL_STOP;
		default:
			return option_error(ch, argv, NULL);
		}
	}
	if (optind == argc)
		return usage_error("no command given");
	*first = optind;
	return CTL_OK;
}

static bool valid_issuer(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= ISSUER_MAX && !su_has_control(s) &&
	       strchr(s, ':') == NULL;
}

static int set_option(ctl_opts *o, int id, char *value)
{
	switch (id) {
	case OPT_SECRET:
		o->secret = value;
		o->totp_option = o->totp_option ? o->totp_option : "--secret";
		return CTL_OK;
	case OPT_DIGITS:
		o->totp_option = o->totp_option ? o->totp_option : "--digits";
		/* One digit: "06" is not a length. */
		if (strlen(value) != 1 || !su_parse_uint(value, SU_TOTP_DIGITS_MIN,
							  SU_TOTP_DIGITS_MAX, &o->digits) ||
		    !su_totp_digits_ok(o->digits))
			return usage_error("enroll: --digits must be %d or %d",
					   SU_TOTP_DIGITS_MIN, SU_TOTP_DIGITS_MAX);
		return CTL_OK;
	case OPT_PERIOD:
		o->totp_option = o->totp_option ? o->totp_option : "--period";
		if (!su_parse_uint(value, SU_TOTP_PERIOD_MIN, SU_TOTP_PERIOD_MAX, &o->period))
			return usage_error("enroll: --period must be %d to %d seconds",
					   SU_TOTP_PERIOD_MIN, SU_TOTP_PERIOD_MAX);
		return CTL_OK;
	case OPT_ISSUER:
		o->totp_option = o->totp_option ? o->totp_option : "--issuer";
		if (!valid_issuer(value))
			return usage_error("enroll: --issuer must be 1 to %d characters "
					   "without ':' or control characters", ISSUER_MAX);
		o->issuer = value;
		return CTL_OK;
	case OPT_FORCE:
		o->force = true;
		return CTL_OK;
	case OPT_COUNT:
		if (!su_parse_uint(value, 1, SU_RECOVERY_COUNT_MAX, &o->count))
			return usage_error("recovery: --count must be 1 to %d",
					   SU_RECOVERY_COUNT_MAX);
		return CTL_OK;
	default:
		return usage_error("internal error: option %d has no handler", id);
	}
}

/* Parse argv (argv[0] is the command name) into o; the positional
 * arguments are argv[*first..argc). */
static int parse_command(const ctl_command *cmd, int argc, char **argv,
			 ctl_opts *o, int *first)
{
	int ch, rc, nargs;

	optind = 0; /* glibc: start afresh, permuting options after arguments */
	while ((ch = getopt_long(argc, argv, ":h", cmd->options, NULL)) != -1) {
		if (ch == 'h') {
			print_command_usage(stdout, cmd);
			return CTL_STOP;
		}
		if (ch == '?' || ch == ':')
			return option_error(ch, argv, cmd->name);
		rc = set_option(o, ch, optarg);
		if (rc != CTL_OK)
			return rc;
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args)
		return usage_error("%s: missing argument; usage: " PROG " %s %s",
				   cmd->name, cmd->name, cmd->args);
	if (nargs > cmd->max_args) {
		/* Neither echoed nor left in argv: a secret typed without
		 * --secret lands here. */
		for (int i = optind + cmd->max_args; i < argc; i++)
			su_erase(argv[i], strlen(argv[i]));
		return usage_error("%s: unexpected extra argument (%d given, at most %d)",
				   cmd->name, nargs, cmd->max_args);
	}
	*first = optind;
	return CTL_OK;
}

/* ---- running a command --------------------------------------------------- */

static int load_settings(ctl *c)
{
	const char *path = c->config_path ? c->config_path : SU_DEFAULT_CONFIG;
	int rc = su_config_load(&ctl_log, path, NULL, &c->settings);

	if (rc == SU_OK) {
		c->config_found = true;
		return CTL_OK;
	}
	if (rc != SU_NOTFOUND)
		return CTL_REFUSED; /* the loader printed every error */
	if (c->config_path != NULL)
		return refuse("%s does not exist; check the path given to -c", path);
	if (su_settings_defaults(&c->settings) != 0)
		return out_of_memory();
	return CTL_OK;
}

static int run_with_settings(ctl *c, const ctl_command *cmd, char **args, int nargs)
{
	int rc;

	if (!cmd->needs_store)
		return cmd->run(c, args, nargs);
	if (su_store_open(&ctl_log, &c->settings, &c->store) != SU_OK)
		return CTL_REFUSED;
	rc = cmd->run(c, args, nargs);
	su_store_close(c->store);
	c->store = NULL;
	return rc;
}

static int run(ctl *c, const ctl_command *cmd, char **args, int nargs)
{
	int rc;

	if (geteuid() != 0)
		return refuse("must be run as root");
	rc = load_settings(c);
	if (rc != CTL_OK)
		return rc;
	rc = run_with_settings(c, cmd, args, nargs);
	su_settings_free(&c->settings);
	return rc;
}

int main(int argc, char **argv)
{
	ctl c = { .opts = { .digits = SU_TOTP_DEFAULT_DIGITS,
			    .period = SU_TOTP_DEFAULT_PERIOD } };
	const ctl_command *cmd;
	int first = 0, rc;

	rc = parse_global(argc, argv, &c.config_path, &first);
	if (rc != CTL_OK)
		return rc == CTL_STOP ? CTL_OK : rc;
	cmd = find_command(argv[first]);
	if (cmd == NULL)
		return usage_error("unknown command '%s'", argv[first]);
	argc -= first;
	argv += first;
	rc = parse_command(cmd, argc, argv, &c.opts, &first);
	if (rc == CTL_OK)
		rc = run(&c, cmd, argv + first, argc - first);
	if (rc == CTL_STOP)
		rc = CTL_OK;
	/* --secret BASE32 is wiped once used; this covers a usage error
	 * found after it on the command line. */
	if (c.opts.secret != NULL)
		su_erase(c.opts.secret, strlen(c.opts.secret));
	if (fflush(stdout) != 0 && rc == CTL_OK)
		rc = refuse("cannot write to standard output: %s", strerror(errno));
	return rc;
}

/* ---- init ---------------------------------------------------------------- */

/* Create dir with mode if absent; say so, or that it was kept. */
static int make_dir(const char *dir, mode_t mode, bool report_kept)
{
	struct stat st;
	bool existed = lstat(dir, &st) == 0;

	if (su_make_dir(&ctl_log, dir, mode) != SU_OK)
		return CTL_REFUSED;
	if (!existed) {
		printf("created %s (mode %04o)\n", (const char *)dir, (unsigned)mode);
		return CTL_OK;
	}
	if (!report_kept)
		return CTL_OK;
	printf("kept %s\n", dir);
	if (stat(dir, &st) == 0 && (st.st_mode & ~mode & 07777) != 0)
		su_logf(&ctl_log, LOG_WARNING,
			"warning: %s has mode %04o; run 'chmod %04o %s' to keep it private",
			dir, (unsigned)(st.st_mode & 07777), (unsigned)mode, dir);
	return CTL_OK;
}

/* The directory that will hold path: private (0700), like /etc/stepup. */
static int make_parent(const char *path)
{
	char *parent = su_strdup(path), *slash;
	int rc = CTL_OK;

	if (parent == NULL)
		return out_of_memory();
	slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		rc = make_dir(parent, 0700, false);
	}
	free(parent);
	return rc;
}

static int init_hostkey(const char *path)
{
	enum su_hostkey_made made;

	if (su_hostkey_create(&ctl_log, path, &made) != SU_OK)
		return CTL_REFUSED;
	if (made == SU_HOSTKEY_CREATED)
		printf("created %s (%d random bytes, mode 0600)\n", path, SU_HOSTKEY_BYTES);
	else
		printf("kept %s%s\n", path, made == SU_HOSTKEY_RACED ?
		       " (made by another run just now)" : "");
	return CTL_OK;
}

static int cmd_init(ctl *c, char **args, int nargs)
{
	const su_settings *s = &c->settings;
	const struct { const char *dir; mode_t mode; } dirs[] = {
		{ s->user_dir, 0700 }, { s->state_dir, 0700 }, { s->grace_dir, 0700 },
	};
	int rc;

	(void)args;
	(void)nargs;
	rc = make_parent(s->user_dir);
	if (rc == CTL_OK)
		rc = make_parent(s->hostkey);
	for (size_t i = 0; rc == CTL_OK && i < COUNT(dirs); i++)
		rc = make_dir(dirs[i].dir, dirs[i].mode, true);
	if (rc == CTL_OK)
		rc = init_hostkey(s->hostkey);
	return rc;
}

/* ---- check-config -------------------------------------------------------- */

static int cmd_check_config(ctl *c, char **args, int nargs)
{
	(void)args;
	(void)nargs;
	/* run() loaded it: had it an error, we would not be here. */
	if (c->config_found)
		printf("%s: OK\n", c->config_path ? c->config_path : SU_DEFAULT_CONFIG);
	else
		printf("%s: not present; the built-in defaults apply\n", SU_DEFAULT_CONFIG);
	return CTL_OK;
}

/* ---- records and state --------------------------------------------------- */

/* Load user's record; a missing one is an error only if must_exist. */
static int load_record(ctl *c, const char *user, su_kv *record, bool must_exist)
{
	int rc = su_store_load_user(c->store, user, record);

	if (rc == SU_OK)
		return CTL_OK;
	if (rc == SU_NOTFOUND && !must_exist)
		return CTL_OK;
	if (rc == SU_NOTFOUND)
		return refuse("%s is not enrolled", user);
	return CTL_REFUSED; /* the store named the file and the reason */
}

/* ---- enroll -------------------------------------------------------------- */

/* Arguments left on the command line are wiped before a usage error: a
 * secret typed in the wrong place would otherwise stay in argv. */
static void erase_args(char **args, int from, int to)
{
	for (int i = from; i < to; i++)
		su_erase(args[i], strlen(args[i]));
}

static int cmd_enroll(ctl *c, char **args, int nargs)
{
	const ctl_method *m = find_method(args[1]);
	char user[SU_USER_MAX + 1];
	bool known = false;
	int rc;

	if (m != NULL && m->enroll == NULL) {
		erase_args(args, 2, nargs);
		return usage_error("enroll: %s are made with '" PROG " recovery USER'", m->label);
	}
	if (m == NULL) {
		erase_args(args, 2, nargs);
		return unknown_method("enroll");
	}
	if (nargs - 2 != m->enroll_args) {
		erase_args(args, 2, nargs);
		return usage_error("enroll: %s takes %s", m->name, m->enroll_args == 0 ?
				   "nothing after the method name" :
				   "one argument after the method name");
	}
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	rc = m->enroll(c, user, args + 2);
	if (rc == CTL_OK) {
		su_audit_admin("enroll", user, "success", "method", m->name);
		rc = end_grace(c, user);
	}
	/* After the fact, so that a refusal stays one line. */
	if (rc == CTL_OK && !known)
		su_logf(&ctl_log, LOG_WARNING,
			"warning: no user '%s' in the user database (yet); "
			"enrolled anyway", user);
	return rc;
}

static int issuer_name(const ctl_opts *o, char *buf, size_t size)
{
	if (o->issuer != NULL) {
		snprintf(buf, size, "%s", o->issuer);
		return CTL_OK;
	}
	memset(buf, 0, size);
	if (gethostname(buf, size - 1) != 0)
		return refuse("cannot read the host name (%s); pass --issuer NAME",
			      strerror(errno));
	if (!valid_issuer(buf))
		return refuse("the host name '%s' cannot be an issuer; pass --issuer NAME",
			      buf);
	return CTL_OK;
}

/* One line of base32 from stdin, not echoed on a terminal. */
static int read_secret_line(char *buf, size_t size)
{
	struct termios saved, quiet;
	bool echo_off = false;
	size_t len;
	int rc = CTL_USAGE;

	/* Unbuffered: no copy of the secret is left in a stdio buffer. */
	setvbuf(stdin, NULL, _IONBF, 0);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		fputs("TOTP secret (base32): ", stderr);
	}
	if (fgets(buf, (int)size, stdin) == NULL) {
		usage_error("enroll: --secret -: no secret on standard input");
		goto out;
	}
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == size - 1) {
		usage_error("enroll: --secret -: the line is longer than %zu characters",
			    size - 2);
		goto out;
	}
	buf[len] = '\0';
	rc = CTL_OK;
out:
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	return rc;
}

static int decode_secret(const char *text, unsigned char **key, size_t *len)
{
	if (su_base32_decode(text, key, len) != 0)
		return usage_error("enroll: the secret is not base32 (letters A-Z, digits 2-7)");
	if (*len >= SU_TOTP_MIN_SECRET_BYTES && *len <= SU_TOTP_MAX_SECRET_BYTES)
		return CTL_OK;
	su_free_secret(*key, *len);
	*key = NULL;
	return usage_error("enroll: the secret is %zu bytes; it must be %d to %d "
			   "(16 to 103 base32 characters)", *len,
			   SU_TOTP_MIN_SECRET_BYTES, SU_TOTP_MAX_SECRET_BYTES);
}

/* The secret bytes: random, from --secret BASE32, or from stdin. */
static int secret_bytes(char *opt, unsigned char **key, size_t *len)
{
	char line[SECRET_LINE_MAX];
	int rc;

	*key = NULL;
	*len = 0;
	if (opt == NULL) {
		*key = malloc(SU_TOTP_SECRET_BYTES);
		if (*key == NULL)
			return out_of_memory();
		*len = SU_TOTP_SECRET_BYTES;
		if (su_random(*key, *len) == 0)
			return CTL_OK;
		su_free_secret(*key, *len);
		*key = NULL;
		return refuse("cannot get random bytes for the secret; try again");
	}
	if (strcmp(opt, "-") != 0) {
		rc = decode_secret(opt, key, len);
		su_erase(opt, strlen(opt)); /* out of argv, i.e. /proc/PID/cmdline */
		return rc;
	}
	rc = read_secret_line(line, sizeof(line));
	if (rc == CTL_OK)
		rc = decode_secret(line, key, len);
	su_erase(line, sizeof(line));
	return rc;
}

/* RFC 3986: everything but the unreserved characters as %XX. */
static char *percent_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}

/* otpauth://totp/ISSUER:USER?secret=...; free with su_free_string. */
static char *otpauth_uri(const char *issuer, const char *user, const char *secret,
			 unsigned digits, unsigned period)
{
	static const char fmt[] = "otpauth://totp/%s:%s?secret=%s&issuer=%s"
				  "&algorithm=SHA1&digits=%u&period=%u";
	char *iss = percent_encode(issuer), *usr = percent_encode(user), *uri = NULL;
	int len;

	if (iss == NULL || usr == NULL)
		goto out;
	len = snprintf(NULL, 0, fmt, iss, usr, secret, iss, digits, period);
	if (len < 0 || (uri = malloc((size_t)len + 1)) == NULL)
		goto out;
	snprintf(uri, (size_t)len + 1, fmt, iss, usr, secret, iss, digits, period);
out:
	free(iss);
	free(usr);
	return uri;
}

/* enroll and import refuse to replace a TOTP enrolment alike: replacing
 * it silently would break the user's app. */
static int refuse_totp_enrolled(const char *user, bool can_force)
{
	return refuse("%s already has TOTP enrolled; run '" PROG " remove %s totp' first%s",
		      user, user, can_force ? ", or add --force" : "");
}

static void print_enrolment(const char *uri, const char *user)
{
	printf("%s\n", uri);
	if (isatty(STDOUT_FILENO)) {
		fflush(stdout);
		if (su_qr_print(stdout, uri) != 0)
			su_logf(&ctl_log, LOG_WARNING,
				"warning: cannot draw the QR code; give %s the URI above",
				user);
	}
	printf("Give this URI%s to %s only, to add to an authenticator app.\n"
	       "Test it: have %s run 'sudo -v' and enter a code from the app.\n",
	       isatty(STDOUT_FILENO) ? " or QR code" : "", user, user);
	fflush(stdout);
}

static int enroll_totp(ctl *c, const char *user, char **args)
{
	su_kv record = { 0 };
	char issuer[HOST_NAME_MAX + 1];
	char *secret = NULL, *uri = NULL;
	unsigned char *key = NULL;
	size_t len = 0;
	int rc;

	(void)args;
	rc = issuer_name(&c->opts, issuer, sizeof(issuer));
	if (rc == CTL_OK)
		rc = load_record(c, user, &record, false);
	if (rc != CTL_OK)
		goto out;
	if (su_totp_enrolled(&record) && !c->opts.force) {
		rc = refuse_totp_enrolled(user, true);
		goto out;
	}
	rc = secret_bytes(c->opts.secret, &key, &len);
	if (rc != CTL_OK)
		goto out;
	if (su_totp_store(&record, key, len, c->opts.digits, c->opts.period) != 0 ||
	    (secret = su_base32_encode(key, len)) == NULL ||
	    (uri = otpauth_uri(issuer, user, secret, c->opts.digits, c->opts.period)) == NULL) {
		rc = out_of_memory();
		goto out;
	}
	/* The state is not touched: the replay barrier is a time, not a step
	 * (su_totp_barrier), so it bars every code of the old enrolment from
	 * the new one whatever the new period, and the same secret enrolled
	 * again cannot bring an accepted code back. */
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	print_enrolment(uri, user);
out:
	su_kv_free(&record);
	su_free_secret(key, len);
	su_free_string(secret);
	su_free_string(uri);
	return rc;
}

static int enroll_email(ctl *c, const char *user, char **args)
{
	const char *address = args[0];
	su_kv record = { 0 };
	char why[128];
	int rc;

	if (c->opts.totp_option != NULL)
		return usage_error("enroll: %s is for totp only", c->opts.totp_option);
	if (!su_mail_address_ok(address, why, sizeof(why)))
		return usage_error("enroll: not a usable email address: %s", why);
	rc = load_record(c, user, &record, false);
	if (rc != CTL_OK)
		goto out;
	if (su_email_enrolled(&record) && !c->opts.force) {
		rc = refuse("%s already has email enrolled; run '" PROG " remove %s email' "
			    "first, or add --force", user, user);
		goto out;
	}
	if (su_email_set_address(&record, address) != 0) {
		rc = out_of_memory();
		goto out;
	}
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("enrolled %s for email codes to %s\n"
	       "Test it: " PROG " test-email %s\n", user, address, user);
	if (c->settings.smtp_url == NULL || c->settings.smtp_from == NULL)
		su_logf(&ctl_log, LOG_WARNING, "warning: smtp_url and smtp_from are not "
			"both set in [global] of the config: no code can be sent "
			"until they are");
out:
	su_kv_free(&record);
	return rc;
}

/* ---- import google-authenticator ---------------------------------------- */

#define GA_FORMAT "google-authenticator"

/* What an import did with DISALLOW_REUSE, for the report. */
enum seed { SEED_NONE, SEED_SET, SEED_KEPT, SEED_FUTURE };

typedef struct ga_import {
	const char *path;   /* FILE, as given */
	const char *user;
	bool known;         /* the user database knows user */
	uid_t uid;          /* its uid, if known */
	bool readable;      /* FILE is readable by group or others */
	su_ga_file ga;
	enum seed seed;
	uint64_t seed_time; /* start of the highest step DISALLOW_REUSE lists */
} ga_import;

/* The file is the user's own (as pam_google_authenticator wants it) or
 * root's (a copy an administrator made; safefile read it only through
 * root's directories, rule 7). Another user's file would put their secret
 * into this user's record: whoever controls the user's home can point a
 * path there through a directory symlink. */
static int ga_owner_ok(const ga_import *im, const su_file_id *id)
{
	if (id->uid == 0 || (im->known && im->uid == id->uid))
		return CTL_OK;
	return refuse("refusing %s: owned by uid %u, not by %s or root; import only "
		      "the user's own file", im->path, (unsigned)id->uid, im->user);
}

/* Read and parse FILE; nothing of it is printed, errors name the file and
 * the line. */
static int ga_read(ga_import *im)
{
	su_file_id id;
	su_buf buf = { 0 };
	int rc = su_read_file_id(&ctl_log, im->path, SU_FILE_FOREIGN, SU_GA_FILE_MAX, &buf, &id);

	if (rc == SU_NOTFOUND)
		return refuse("%s does not exist; give the path of the user's "
			      ".google_authenticator", im->path);
	if (rc != SU_OK)
		return CTL_REFUSED; /* safefile said why */
	rc = ga_owner_ok(im, &id);
	if (rc == CTL_OK && su_ga_parse(&ctl_log, im->path, buf.data, buf.len, &im->ga) != 0)
		rc = CTL_REFUSED;
	im->readable = (id.mode & 044) != 0;
	su_buf_free(&buf);
	return rc;
}

/* What pam_stepup can take: TOTP codes in steps it supports. */
static int ga_usable(const ga_import *im)
{
	switch (su_ga_mode(&im->ga)) {
	case SU_GA_HOTP:
		return refuse("%s: HOTP (counter-based) files cannot be imported; pam_stepup "
			      "supports TOTP only: enrol the user afresh with '" PROG " enroll "
			      "%s totp'", im->path, im->user);
	case SU_GA_NO_MODE:
		return refuse("%s: neither TOTP_AUTH nor HOTP_COUNTER: not a time-based "
			      "google-authenticator file; enrol the user afresh with '" PROG
			      " enroll %s totp'", im->path, im->user);
	case SU_GA_TOTP:
		break;
	}
	if (im->ga.step_size < SU_TOTP_PERIOD_MIN)
		return refuse("%s:%u: STEP_SIZE %u is shorter than pam_stepup's %d s: the "
			      "app could not be kept; enrol the user afresh with '" PROG
			      " enroll %s totp'", im->path, im->ga.line[SU_GA_STEP_SIZE],
			      im->ga.step_size, SU_TOTP_PERIOD_MIN, im->user);
	return CTL_OK;
}

/* Nothing of the user's enrolment is replaced: their app or codes would
 * stop working without a word. */
static int ga_fits_record(const ga_import *im, const su_kv *record)
{
	if (su_totp_enrolled(record))
		return refuse_totp_enrolled(im->user, false);
	if (im->ga.code_count > 0 && su_recovery_enrolled(record))
		return refuse("%s already has recovery codes; run '" PROG " remove %s "
			      "recovery' first", im->user, im->user);
	return CTL_OK;
}

/* The TOTP keys exactly as 'enroll USER totp --secret' writes them, and
 * the scratch codes as an imported recovery set. */
static int ga_record(ctl *c, const ga_import *im, su_kv *record)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	int rc = CTL_OK;

	if (su_totp_store(record, im->ga.key, im->ga.key_len, SU_TOTP_DEFAULT_DIGITS,
			  im->ga.step_size) != 0)
		return out_of_memory();
	if (im->ga.code_count == 0)
		return CTL_OK;
	if (su_hostkey_load(&ctl_log, c->settings.hostkey, key) != SU_OK)
		rc = CTL_REFUSED;
	else if (su_recovery_import(key, im->user, im->ga.code_count, im->ga.codes, record) != 0)
		rc = refuse("cannot store the scratch codes (out of memory or no randomness)");
	su_erase(key, sizeof(key));
	return rc;
}

/* DISALLOW_REUSE lists the steps of the codes google-authenticator
 * accepted lately. The module refuses every code whose step starts at or
 * before the replay barrier (su_totp_barrier), so the start of the highest listed step, when
 * later than what the state holds, bars those codes here too. A code the
 * module accepts is at most window steps ahead of now; a listed step
 * further ahead than window + 1 (one for a step that began while the file
 * was copied) was accepted by no clock near this one, and would bar every
 * code of the user's until then, with no command to undo it: not carried
 * over. *changed: state to commit. */
static int ga_seed(ga_import *im, unsigned window, su_state_txn *txn, su_kv *state,
		   bool *changed)
{
	uint64_t last = 0, now_step = (uint64_t)time(NULL) / im->ga.step_size;
	uint64_t start = im->ga.last_used_step * im->ga.step_size; /* < 2^31 * 60 */

	*changed = false;
	if (im->ga.used_steps == 0)
		return CTL_OK;
	im->seed_time = start;
	if (im->ga.last_used_step > now_step + window + 1) {
		im->seed = SEED_FUTURE;
		return CTL_OK;
	}
	if (su_totp_barrier(&ctl_log, su_state_name(txn), state, &last) < 0)
		return CTL_REFUSED;
	switch (su_totp_set_barrier(state, start)) {
	case 0:
		im->seed = SEED_KEPT;
		return CTL_OK;
	case 1:
		im->seed = SEED_SET;
		*changed = true;
		return CTL_OK;
	default:
		return out_of_memory();
	}
}

/* Record and state under the user's lock, so no enrolment or login can
 * come between the check and the writes. The state first: a replay
 * barrier alone is harmless, a record without it would let a code used
 * under google-authenticator work once more. */
static int ga_write(ctl *c, ga_import *im)
{
	su_state_txn *txn = NULL;
	su_kv record = { 0 }, *state;
	bool changed = false;
	int rc = CTL_REFUSED;

	if (su_state_begin(c->store, im->user, &txn, &state) != SU_OK)
		goto out;
	rc = load_record(c, im->user, &record, false);
	if (rc == CTL_OK)
		rc = ga_fits_record(im, &record);
	if (rc == CTL_OK)
		rc = ga_record(c, im, &record);
	if (rc == CTL_OK)
		rc = ga_seed(im, c->settings.totp_window, txn, state, &changed);
	if (rc == CTL_OK && changed && su_state_commit(txn) != SU_OK)
		rc = CTL_REFUSED;
	if (rc == CTL_OK && su_state_save_record(txn, &record) != SU_OK)
		rc = CTL_REFUSED;
out:
	su_state_end(txn);
	su_kv_free(&record);
	return rc;
}

/* "-c CONFIG" or the default, for "pam_stepup uses ... from WHERE". */
static const char *settings_source(const ctl *c)
{
	if (!c->config_found)
		return "the built-in defaults";
	return c->config_path != NULL ? c->config_path : SU_DEFAULT_CONFIG;
}

static void report_codes(const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	if (g->code_count == 0)
		printf("  scratch codes: none in the file\n");
	else
		printf("  scratch codes: %u carried over as single-use recovery codes "
		       "(stored hashed; typed at any step-up prompt)\n", g->code_count);
	if (g->code_repeats > 0)
		printf("  scratch codes: %u repeated line(s) not carried over (each code "
		       "works once)\n", g->code_repeats);
}

static void report_reuse(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;
	char when[64];

	local_time((time_t)im->seed_time, when, sizeof(when));
	if (g->line[SU_GA_DISALLOW_REUSE] == 0)
		printf("  DISALLOW_REUSE absent: google-authenticator let a code be used "
		       "twice; pam_stepup never does\n");
	else if (im->seed == SEED_NONE)
		printf("  DISALLOW_REUSE: no used steps listed; pam_stepup never accepts "
		       "a code twice\n");
	else if (im->seed == SEED_SET)
		printf("  DISALLOW_REUSE: carried over: codes up to the step starting %s "
		       "are refused; pam_stepup never accepts a code twice\n", when);
	else if (im->seed == SEED_KEPT)
		printf("  DISALLOW_REUSE: already covered: %s's state refuses codes up to "
		       "a later step; pam_stepup never accepts a code twice\n", im->user);
	else
		printf("  DISALLOW_REUSE: not carried over: its last step (%s) is ahead of "
		       "this clock by more than totp_window + 1 = %u step(s); pam_stepup "
		       "never accepts a code twice\n", when, c->settings.totp_window + 1);
}

/* The settings pam_stepup keeps in stepup.conf instead. */
static void report_settings(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;
	const su_settings *s = &c->settings;
	const char *src = settings_source(c);

	if (g->line[SU_GA_WINDOW_SIZE] != 0)
		printf("  WINDOW_SIZE %u: not carried over: pam_stepup accepts codes "
		       "totp_window = %u step(s) either side of now, from %s (the same as "
		       "WINDOW_SIZE %u)\n", g->window_size, s->totp_window, src,
		       2 * s->totp_window + 1);
	if (g->line[SU_GA_RATE_LIMIT] != 0)
		printf("  RATE_LIMIT %u %u: not carried over: pam_stepup locks a user out "
		       "after lockout_attempts = %u failures for lockout_time = %u s, from "
		       "%s\n", g->rate_attempts, g->rate_seconds, s->lockout_attempts,
		       s->lockout_time, src);
	if (g->line[SU_GA_TIME_SKEW] != 0)
		printf("  TIME_SKEW %ld: not carried over: pam_stepup learns no clock "
		       "skew; %s's device clock must be right to within totp_window = %u "
		       "step(s)\n", g->time_skew, im->user, s->totp_window);
	if (g->line[SU_GA_RESETTING_TIME_SKEW] != 0)
		printf("  RESETTING_TIME_SKEW: not carried over: google-authenticator's "
		       "own bookkeeping\n");
}

/* Options a later google-authenticator may write: listed, by line. */
static void report_unknown(const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	for (unsigned i = 0; i < g->unknown_count && i < SU_GA_UNKNOWN_MAX; i++) {
		if (g->unknown[i].name[0] != '\0')
			printf("  line %u: option %s: not carried over: unknown to this "
			       "version\n", g->unknown[i].line, g->unknown[i].name);
		else
			printf("  line %u: an option (name not shown: not in "
			       "google-authenticator's form): not carried over\n",
			       g->unknown[i].line);
	}
	if (g->unknown_count > SU_GA_UNKNOWN_MAX)
		printf("  %u more unknown option(s): not carried over\n",
		       g->unknown_count - SU_GA_UNKNOWN_MAX);
}

static void report_import(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	printf("imported %s from %s:\n", im->user, im->path);
	printf("  secret: carried over (TOTP, %d digits, %u s steps): %s's "
	       "authenticator app keeps working\n", SU_TOTP_DEFAULT_DIGITS, g->step_size,
	       im->user);
	printf("  TOTP_AUTH: carried over (time-based codes)\n");
	if (g->line[SU_GA_STEP_SIZE] != 0)
		printf("  STEP_SIZE %u: carried over\n", g->step_size);
	report_codes(im);
	report_reuse(c, im);
	report_settings(c, im);
	report_unknown(im);
	printf("Test it: have %s run 'sudo -v' and enter a code from the app.\n"
	       "%s still holds the secret%s: remove it once pam_google_authenticator "
	       "is no longer used for %s (until then a code used with one still "
	       "works with the other).\n", im->user, im->path,
	       g->code_count > 0 ? " and the scratch codes" : "", im->user);
	fflush(stdout);
}

/* After the report, so that a refusal stays one line. */
static void import_warnings(const ctl *c, const ga_import *im)
{
	if (im->readable)
		su_logf(&ctl_log, LOG_WARNING, "warning: %s is readable by group or others: "
			"the secret may be known; consider enrolling %s afresh",
			im->path, im->user);
	if (!(c->settings.methods & SU_METHOD_TOTP))
		su_logf(&ctl_log, LOG_WARNING, "warning: the config's methods do not "
			"include totp: the codes are not accepted yet");
	if (im->ga.code_count > 0 && !(c->settings.methods & SU_METHOD_RECOVERY))
		su_logf(&ctl_log, LOG_WARNING, "warning: the config's methods do not "
			"include recovery: the scratch codes are not accepted yet");
	if (!im->known)
		su_logf(&ctl_log, LOG_WARNING, "warning: no user '%s' in the user database "
			"(yet); imported anyway", im->user);
}

static int import_ga(ctl *c, ga_import *im)
{
	char count[16];
	int rc = ga_read(im);

	if (rc == CTL_OK)
		rc = ga_usable(im);
	if (rc == CTL_OK)
		rc = ga_write(c, im);
	if (rc != CTL_OK)
		return rc;
	snprintf(count, sizeof(count), "%u", im->ga.code_count);
	su_audit_admin("import", im->user, "success", "recovery_codes", count);
	report_import(c, im);
	rc = end_grace(c, im->user);
	import_warnings(c, im);
	return rc;
}

/* import google-authenticator USER FILE */
static int cmd_import(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	ga_import im = { .path = args[2], .user = user };
	int rc;

	(void)nargs;
	/* Not echoed, like a method name: it may be anything. */
	if (strcmp(args[0], GA_FORMAT) != 0)
		return usage_error("import: unknown file format (not shown); use " GA_FORMAT);
	rc = user_arg(args[1], user, sizeof(user), &im.known, &im.uid);
	if (rc == CTL_OK)
		rc = import_ga(c, &im);
	su_ga_clear(&im.ga);
	return rc;
}

/* ---- test-email ---------------------------------------------------------- */

static int cmd_test_email(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	su_smtp_result res = { 0 };
	su_kv record = { 0 };
	const char *address;
	bool known;
	int rc;

	(void)nargs;
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc == CTL_OK)
		rc = load_record(c, user, &record, true);
	if (rc != CTL_OK)
		goto out;
	address = su_email_address(&record);
	if (address == NULL) {
		rc = refuse("%s has no email enrolled; run '" PROG " enroll %s email "
			    "ADDRESS' first", user, user);
		goto out;
	}
	/* On failure su_smtp_send has printed what failed, with libcurl's
	 * error and the server's last reply, in one line. */
	if (su_email_send_test(&ctl_log, &c->settings, user, address, &res) != 0) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("sent a test message to %s via %s\nthe mail server answered: %s\n",
	       address, c->settings.smtp_url, res.reply[0] ? res.reply : "(nothing)");
out:
	su_kv_free(&record);
	return rc;
}

/* "2024-05-01 12:00:00 CEST" */
static void local_time(time_t when, char *buf, size_t size)
{
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)when);
}

/* ---- grace --------------------------------------------------------------- */

static const char *grace_status_name(enum su_grace_status st)
{
	return st == SU_GRACE_VALID ? "valid" : st == SU_GRACE_EXPIRED ? "expired" : "invalid";
}

static int grace_list(ctl *c, const char *user)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	su_grace_entry *e = NULL;
	size_t n = 0;
	char until[64];
	int rc;

	if (su_hostkey_load(&ctl_log, c->settings.hostkey, key) != SU_OK)
		return CTL_REFUSED;
	rc = su_grace_list(&ctl_log, c->settings.grace_dir, key, user, time(NULL), &e, &n);
	su_erase(key, sizeof(key));
	if (rc != SU_OK)
		return CTL_REFUSED;
	if (n == 0)
		printf("no grace records%s%s\n", user ? " for " : "", user ? user : "");
	for (size_t i = 0; i < n; i++) {
		local_time((time_t)e[i].expires, until, sizeof(until));
		printf("%s  %s  %s  until %s  service=%s  %s%s%s\n", e[i].user,
		       e[i].method ? e[i].method : "-", grace_status_name(e[i].status),
		       until, e[i].service ? e[i].service : "-", e[i].binding ? e[i].binding : "-",
		       e[i].why ? "  " : "", e[i].why ? e[i].why : "");
	}
	su_grace_list_free(e, n);
	return CTL_OK;
}

static int grace_revoke(ctl *c, const char *user)
{
	unsigned removed = 0;

	if (su_grace_revoke(&ctl_log, c->settings.grace_dir, user, &removed) != SU_OK)
		return CTL_REFUSED;
	printf("revoked %u grace record(s)%s%s\n", removed, user ? " of " : "",
	       user ? user : "");
	su_audit_admin("grace-revoke", user ? user : "*", "success", NULL, NULL);
	return CTL_OK;
}

/* A change of a user's enrolment (a lost phone replaced, a method
 * removed) ends the grace earned with the old one; said only if there was
 * any. */
static int end_grace(ctl *c, const char *user)
{
	unsigned removed = 0;

	if (su_grace_revoke(&ctl_log, c->settings.grace_dir, user, &removed) == SU_ERR)
		return CTL_REFUSED;
	if (removed > 0)
		printf("revoked %u grace record(s) of %s\n", removed, user);
	return CTL_OK;
}

static int cmd_grace(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (strcmp(args[0], "list") != 0 && strcmp(args[0], "revoke") != 0)
		return usage_error("grace: expected 'list' or 'revoke'");
	if (nargs == 2) {
		rc = user_arg(args[1], user, sizeof(user), &known, NULL);
		if (rc != CTL_OK)
			return rc;
	}
	return strcmp(args[0], "list") == 0 ? grace_list(c, nargs == 2 ? user : NULL) :
					      grace_revoke(c, nargs == 2 ? user : NULL);
}

/* ---- status (email) ------------------------------------------------------- */


static int email_summary(const user_view *v, char *buf, size_t size)
{
	snprintf(buf, size, "email %s", su_email_address(&v->record));
	return CTL_OK;
}

static int email_details(const user_view *v)
{
	time_t now = time(NULL), expires = 0;
	unsigned sent = 0;
	char when[64];

	if (su_email_sends_last_hour(&ctl_log, v->state_path, &v->state, now, &sent) != 0)
		return CTL_REFUSED;
	printf("email address: %s\n", su_email_address(&v->record));
	if (su_email_pending(&v->state, now, &expires)) {
		local_time(expires, when, sizeof(when));
		printf("email code: pending, expires %s\n", when);
	} else {
		printf("email code: none pending\n");
	}
	printf("email codes sent in the last hour: %u\n", sent);
	return CTL_OK;
}

/* ---- status -------------------------------------------------------------- */

static void user_view_free(user_view *v)
{
	su_kv_free(&v->record);
	su_kv_free(&v->state);
	free(v->record_path);
	free(v->state_path);
	*v = (user_view){ 0 };
}

/* Record and state of user; CTL_REFUSED if not enrolled or refused. */
static int user_view_load(ctl *c, const char *user, user_view *v)
{
	int rc;

	*v = (user_view){ .user = user };
	v->record_path = su_store_name(c->store, user, SU_STORE_RECORD);
	v->state_path = su_store_name(c->store, user, SU_STORE_STATE);
	if (v->record_path == NULL || v->state_path == NULL)
		return out_of_memory();
	rc = load_record(c, user, &v->record, true);
	if (rc != CTL_OK)
		return rc;
	rc = su_state_peek(c->store, user, &v->state);
	return rc == SU_ERR ? CTL_REFUSED : CTL_OK;
}

/* The replay barrier (the start, in Unix seconds, of the last accepted
 * time step) as "2024-05-01 12:00:00 CEST", or "never". */
static int last_code_time(const user_view *v, char *buf, size_t size)
{
	uint64_t secs = 0;
	int rc = su_totp_barrier(&ctl_log, v->state_path, &v->state, &secs);

	if (rc < 0)
		return CTL_REFUSED;
	if (rc == SU_KV_ABSENT)
		snprintf(buf, size, "never");
	else if (secs > (uint64_t)INT64_MAX) /* no time_t: as local_time says it */
		snprintf(buf, size, "@%llu", (unsigned long long)secs);
	else
		local_time((time_t)secs, buf, size);
	return CTL_OK;
}

static int totp_params(const user_view *v, unsigned *digits, unsigned *period)
{
	su_totp t;

	if (su_totp_load(&ctl_log, v->record_path, &v->record, &t) != 0)
		return CTL_REFUSED;
	*digits = t.digits;
	*period = t.period;
	su_totp_clear(&t);
	return CTL_OK;
}

/* What status shows of a TOTP enrolment; no secret in it. */
static int totp_view(const user_view *v, unsigned *digits, unsigned *period,
		     char *last, size_t last_size)
{
	int rc = totp_params(v, digits, period);

	if (rc == CTL_OK)
		rc = last_code_time(v, last, last_size);
	return rc;
}

static int totp_summary(const user_view *v, char *buf, size_t size)
{
	unsigned digits, period;
	char last[64];
	int rc = totp_view(v, &digits, &period, last, sizeof(last));

	if (rc != CTL_OK)
		return rc;
	snprintf(buf, size, "totp (%u digits, %u s)%s%s", digits, period,
		 strcmp(last, "never") != 0 ? ", last code " : "",
		 strcmp(last, "never") != 0 ? last : "");
	return CTL_OK;
}

static int totp_details(const user_view *v)
{
	unsigned digits, period;
	char last[64];
	int rc = totp_view(v, &digits, &period, last, sizeof(last));

	if (rc != CTL_OK)
		return rc;
	printf("totp digits: %u\ntotp period: %u s\ntotp last code: %s\n", digits,
	       period, last);
	return CTL_OK;
}

/* Failures and lock of a user, appended to a status line. */
static int lockout_summary(const user_view *v, char *line, size_t size)
{
	char part[96], when[64];
	uint64_t failures = su_lockout_failures(&v->state);
	time_t until = 0;
	int locked = su_lockout_locked(&ctl_log, v->state_path, &v->state, time(NULL), &until);

	if (locked < 0)
		return CTL_REFUSED;
	part[0] = '\0';
	if (locked == 1) {
		local_time(until, when, sizeof(when));
		snprintf(part, sizeof(part), "; LOCKED OUT until %s", when);
	} else if (failures > 0) {
		snprintf(part, sizeof(part), "; %llu failure(s)", (unsigned long long)failures);
	}
	strncat(line, part, size - strlen(line) - 1);
	return CTL_OK;
}

static int lockout_details(const user_view *v)
{
	char when[64];
	time_t until = 0;
	int locked = su_lockout_locked(&ctl_log, v->state_path, &v->state, time(NULL), &until);

	if (locked < 0)
		return CTL_REFUSED;
	printf("failures since the last success: %llu\n",
	       (unsigned long long)su_lockout_failures(&v->state));
	if (locked == 1) {
		local_time(until, when, sizeof(when));
		printf("locked out until: %s (" PROG " unlock %s ends it now)\n", when, v->user);
	} else {
		printf("locked out: no\n");
	}
	return CTL_OK;
}

/* "alice  totp (6 digits, 30 s), ..." */
static int status_line(ctl *c, const char *user)
{
	user_view v;
	char line[512] = "", part[256];
	int rc = user_view_load(c, user, &v);

	for (size_t i = 0; rc == CTL_OK && i < COUNT(methods); i++) {
		if (!methods[i].enrolled(&v.record))
			continue;
		rc = methods[i].summary(&v, part, sizeof(part));
		if (line[0] != '\0')
			strncat(line, "; ", sizeof(line) - strlen(line) - 1);
		strncat(line, part, sizeof(line) - strlen(line) - 1);
	}
	if (rc == CTL_OK)
		rc = lockout_summary(&v, line, sizeof(line));
	if (rc == CTL_OK)
		printf("%s  %s\n", user, line[0] != '\0' ? line : "no methods");
	user_view_free(&v);
	return rc;
}

static int status_all(ctl *c)
{
	char **names = NULL;
	size_t count = 0;
	int rc = CTL_OK;

	if (su_store_list_users(c->store, &names, &count) != SU_OK)
		return CTL_REFUSED;
	if (count == 0)
		su_logf(&ctl_log, LOG_NOTICE, "no users are enrolled; enrol one with '"
			PROG " enroll USER totp'");
	/* A refused record does not hide the others; it still fails the run. */
	for (size_t i = 0; i < count; i++)
		if (status_line(c, names[i]) != CTL_OK)
			rc = CTL_REFUSED;
	su_store_free_list(names, count);
	return rc;
}

static int status_user(ctl *c, const char *user)
{
	user_view v;
	char list[128] = "";
	int rc = user_view_load(c, user, &v);

	for (size_t i = 0; rc == CTL_OK && i < COUNT(methods); i++) {
		if (!methods[i].enrolled(&v.record))
			continue;
		if (list[0] != '\0')
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, methods[i].name, sizeof(list) - strlen(list) - 1);
	}
	if (rc == CTL_OK)
		printf("user: %s\nmethods: %s\n", user, list[0] ? list : "none");
	for (size_t i = 0; rc == CTL_OK && i < COUNT(methods); i++)
		if (methods[i].enrolled(&v.record))
			rc = methods[i].details(&v);
	if (rc == CTL_OK)
		rc = lockout_details(&v);
	user_view_free(&v);
	return rc;
}

static int cmd_status(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (nargs == 0)
		return status_all(c);
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	return rc != CTL_OK ? rc : status_user(c, user);
}

/* ---- remove -------------------------------------------------------------- */

static int remove_user(ctl *c, const char *user)
{
	int rc = su_store_remove_user(c->store, user);

	if (rc == SU_NOTFOUND)
		return refuse("%s is not enrolled", user);
	if (rc != SU_OK)
		return CTL_REFUSED;
	printf("removed %s: record and state\n", user);
	su_audit_admin("remove", user, "success", "method", "all");
	return end_grace(c, user);
}

/* Only the method's record keys go. The state stays, and so does a record
 * left with no method (the module treats it as not enrolled): the state
 * holds the TOTP replay barrier (su_totp_barrier), and enrolling the same
 * secret again must not make a code accepted before valid again. 'remove USER' deletes
 * record and state. */
static int remove_method(ctl *c, const char *user, const ctl_method *m)
{
	su_kv record = { 0 };
	int rc = load_record(c, user, &record, true);

	if (rc != CTL_OK)
		goto out;
	if (!m->enrolled(&record)) {
		rc = refuse("%s has no %s enrolled; '" PROG " status %s' shows what is",
			    user, m->label, user);
		goto out;
	}
	m->remove(&record);
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("removed %s from %s\n", m->name, user);
	su_audit_admin("remove", user, "success", "method", m->name);
	rc = end_grace(c, user);
	if (record.count == 0)
		printf("%s has no method left; '" PROG " remove %s' deletes the "
		       "record and the state\n", user, user);
out:
	su_kv_free(&record);
	return rc;
}

static int cmd_remove(ctl *c, char **args, int nargs)
{
	const ctl_method *m = NULL;
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (nargs == 2 && (m = find_method(args[1])) == NULL)
		return unknown_method("remove");
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	return m == NULL ? remove_user(c, user) : remove_method(c, user, m);
}

/* ---- recovery codes ------------------------------------------------------ */

static int recovery_view(const user_view *v, unsigned *left, unsigned *total)
{
	return su_recovery_left(&ctl_log, v->record_path, &v->record, &v->state, left,
				total) == 0 ? CTL_OK : CTL_REFUSED;
}

static int recovery_summary(const user_view *v, char *buf, size_t size)
{
	unsigned left, total;
	int rc = recovery_view(v, &left, &total);

	if (rc == CTL_OK)
		snprintf(buf, size, "recovery (%u of %u left%s)", left, total,
			 su_recovery_imported(&v->record) ? ", imported 8-digit" : "");
	return rc;
}

static int recovery_details(const user_view *v)
{
	unsigned left, total;
	int rc = recovery_view(v, &left, &total);

	if (rc == CTL_OK)
		printf("recovery codes: %u of %u left%s%s\n", left, total,
		       su_recovery_imported(&v->record) ?
		       " (8-digit scratch codes imported from google-authenticator)" : "",
		       left == 0 ? " (make new ones: " PROG " recovery USER)" : "");
	return rc;
}

static void print_codes(const char *user, char (*shown)[SU_RECOVERY_SHOWN], unsigned count)
{
	printf("New recovery codes for %s. Each works once, at any step-up prompt; "
	       "the earlier codes no longer work.\nGive them to %s only, to keep "
	       "somewhere safe and offline:\n\n", user, user);
	for (unsigned i = 0; i < count; i++)
		printf("  %2u.  %s\n", i + 1, shown[i]);
	printf("\n");
	fflush(stdout);
}

static bool has_other_method(const su_kv *record)
{
	for (size_t i = 0; i < COUNT(methods); i++)
		if (methods[i].enroll != NULL && methods[i].enrolled(record))
			return true;
	return false;
}

static int cmd_recovery(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1], (*shown)[SU_RECOVERY_SHOWN] = NULL;
	unsigned char key[SU_HOSTKEY_BYTES];
	unsigned count = c->opts.count ? c->opts.count : SU_RECOVERY_COUNT_DEFAULT;
	su_kv record = { 0 };
	char count_text[16];
	bool known;
	int rc;

	(void)nargs;
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	shown = calloc(count, sizeof(*shown));
	if (shown == NULL)
		return out_of_memory();
	rc = load_record(c, user, &record, false);
	if (rc == CTL_OK && su_hostkey_load(&ctl_log, c->settings.hostkey, key) != SU_OK)
		rc = CTL_REFUSED;
	if (rc == CTL_OK && su_recovery_generate(key, user, count, &record, shown) != 0)
		rc = refuse("cannot make recovery codes (out of memory or no randomness)");
	if (rc == CTL_OK && su_store_save_user(c->store, user, &record) != SU_OK)
		rc = CTL_REFUSED;
	if (rc == CTL_OK) {
		print_codes(user, shown, count);
		snprintf(count_text, sizeof(count_text), "%u", count);
		su_audit_admin("recovery", user, "success", "count", count_text);
		if (!has_other_method(&record))
			su_logf(&ctl_log, LOG_WARNING, "warning: %s has no other method: "
				"once the codes are used up, step-up fails", user);
		if (!(c->settings.methods & SU_METHOD_RECOVERY))
			su_logf(&ctl_log, LOG_WARNING, "warning: the config's methods do "
				"not include recovery: the codes are not accepted yet");
	}
	su_erase(key, sizeof(key));
	su_erase(shown, count * sizeof(*shown));
	free(shown);
	su_kv_free(&record);
	return rc;
}

/* ---- unlock -------------------------------------------------------------- */

static int cmd_unlock(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1], until_text[64] = "", failures[24];
	su_state_txn *txn = NULL;
	su_kv record = { 0 }, *state;
	time_t until = 0;
	uint64_t count;
	bool known;
	int rc, locked;

	(void)nargs;
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	rc = load_record(c, user, &record, true);
	su_kv_free(&record);
	if (rc != CTL_OK)
		return rc;
	if (su_state_begin(c->store, user, &txn, &state) != SU_OK) {
		su_state_end(txn);
		return CTL_REFUSED;
	}
	locked = su_lockout_locked(&ctl_log, su_state_name(txn), state, time(NULL), &until);
	count = su_lockout_failures(state);
	su_lockout_clear(state);
	/* A malformed lock is cleared too: that is what unlock is for. */
	rc = su_state_commit(txn) == SU_OK ? CTL_OK : CTL_REFUSED;
	su_state_end(txn);
	if (rc != CTL_OK)
		return rc;
	if (locked == 1) {
		local_time(until, until_text, sizeof(until_text));
		printf("%s: unlocked (the lock would have ended %s); %llu failure(s) "
		       "cleared\n", user, until_text, (unsigned long long)count);
	} else {
		printf("%s: was not locked out; %llu failure(s) cleared\n", user,
		       (unsigned long long)count);
	}
	snprintf(failures, sizeof(failures), "%llu", (unsigned long long)count);
	su_audit_admin("unlock", user, "success", "failures", failures);
	return CTL_OK;
}
