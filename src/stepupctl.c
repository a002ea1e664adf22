/* stepupctl: the administrator's tool (stepupctl(8); docs/design.md).
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
 * Adding a command is one entry in commands[] and its cmd_ function in a
 * file of src/stepupctl/ (ctl.h: what the commands share); adding a
 * method (email, recovery) is one entry in methods[], below. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "email.h"
#include "recovery.h"
#include "secret.h"
#include "sshsk_record.h"
#include "stepupctl/ctl.h"
#include "totp.h"
#include "util.h"

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

/* A number of a header in --help: STR(SU_TOTP_PERIOD_MAX) is "300". */
#define STR(x) STR_(x)
#define STR_(x) #x

enum { OPT_SECRET = 256, OPT_DIGITS, OPT_PERIOD, OPT_ISSUER, OPT_FORCE, OPT_COUNT,
       OPT_FROM, OPT_ALL };

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
	{ "--count N", "how many codes, 1 to " STR(SU_RECOVERY_COUNT_MAX)
	  " (default " STR(SU_RECOVERY_COUNT_DEFAULT) ")" },
	{ NULL, NULL },
};

static const struct option ldap_options[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const ldap_help[][2] = {
	{ "--from FILESCONFIG", "this host's config with store = files: where the users are" },
	{ "--all", "every user enrolled in those files, instead of USER" },
	{ "--force", "replace the record of a user who has an entry already" },
	{ NULL, NULL },
};

static const char *const enroll_help[][2] = {
	{ "--secret BASE32|-", "use this secret ('-': read it from stdin)" },
	{ "--digits " STR(SU_TOTP_DIGITS_MIN) "|" STR(SU_TOTP_DIGITS_MAX),
	  "code length (default " STR(SU_TOTP_DEFAULT_DIGITS) ")" },
	{ "--period SECONDS", "time step, " STR(SU_TOTP_PERIOD_MIN) " to "
	  STR(SU_TOTP_PERIOD_MAX) " (default " STR(SU_TOTP_DEFAULT_PERIOD) ")" },
	{ "--issuer NAME", "name shown in the app (default: the host name)" },
	{ "--force", "replace an existing TOTP enrolment" },
	{ NULL, NULL },
};

static const ctl_command commands[] = {
	{ "init", cmd_init, 0, 0, "",
	  "create the directories and the host key", plain_options, NULL, false },
	{ "enroll", cmd_enroll, 2, 3,
	  "USER totp [OPTIONS] | USER email ADDRESS | USER sshkey FILE|-",
	  "enrol USER for TOTP (prints the otpauth URI and QR code), email, or "
	  "their OpenSSH security keys (FILE.pub lines; '-': stdin)",
	  enroll_options, enroll_help, true },
	{ "status", cmd_status, 0, 1, "[USER]",
	  "list enrolled users, or show one user", plain_options, NULL, true },
	{ "recovery", cmd_recovery, 1, 1, "USER [--count N]",
	  "print new single-use recovery codes for USER; earlier ones stop working",
	  recovery_options, recovery_help, true },
	{ "unlock", cmd_unlock, 1, 1, "USER",
	  "end USER's lockout and clear the failure tally", plain_options, NULL, true },
	{ "remove", cmd_remove, 1, 3, "USER [totp|email|recovery|sshkey [FINGERPRINT]]",
	  "remove USER entirely, or only one method, or one security key", plain_options,
	  NULL, true },
	{ "check-config", cmd_check_config, 0, 0, "",
	  "check the config file, print every error; with store = ldap, check the "
	  "directory too", plain_options, NULL, true },
	{ "grace", cmd_grace, 1, 2, "list|revoke [USER]",
	  "list the grace records (of USER), or revoke them", plain_options,
	  NULL, false },
	{ "test-email", cmd_test_email, 1, 1, "USER",
	  "send USER a test message; print the mail server's answer",
	  plain_options, NULL, true },
	{ "import", cmd_import, 3, 3, "google-authenticator USER FILE",
	  "enrol USER from their google-authenticator FILE: the TOTP secret, "
	  "and the scratch codes as recovery codes", plain_options, NULL, true },
	{ "fleet-key", cmd_fleet_key, 1, 2, "init|rotate|retire KID|show",
	  "make the fleet key that hosts keeping users in a directory share, add a "
	  "new current key, remove an older one, or list the key ids",
	  plain_options, NULL, false },
	{ "ldap", cmd_ldap, 1, 2, "import USER|--all --from FILESCONFIG [--force]",
	  "move users from this host's files (the config --from names) into the "
	  "directory of -c: TOTP, email, the replay barrier; not recovery codes",
	  ldap_options, ldap_help, true },
};

static const ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < COUNT(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* How each method is enrolled (enroll.c), removed (its module) and shown
 * (status.c); the commands reach it through find_method and method_at. */
static const ctl_method methods[] = {
	{ "totp", "TOTP", su_totp_enrolled, su_totp_remove, 0, enroll_totp,
	  totp_summary, totp_details },
	{ "email", "email", su_email_enrolled, su_email_remove, 1, enroll_email,
	  email_summary, email_details },
	{ "recovery", "recovery codes", su_recovery_enrolled, su_recovery_remove, 0,
	  NULL, recovery_summary, recovery_details },
	{ "sshkey", "security keys", su_sshsk_enrolled_in, su_sshsk_remove, 1, enroll_sshkey,
	  sshkey_summary, sshkey_details },
};

const ctl_method *method_at(size_t i)
{
	return i < COUNT(methods) ? &methods[i] : NULL;
}

const ctl_method *find_method(const char *name)
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
int unknown_method(const char *command)
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
	case OPT_FROM:
		o->from = value;
		return CTL_OK;
	case OPT_ALL:
		o->all = true;
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

static int run(ctl *c, const ctl_command *cmd, char **args, int nargs)
{
	int rc = ctl_open(c, cmd->needs_store);

	if (rc != CTL_OK)
		return rc;
	rc = cmd->run(c, args, nargs);
	ctl_close(c);
	return rc;
}

/* The exit status is what the command returned (ctl.h): CTL_OK = 0 done,
 * CTL_REFUSED = 1 refused, CTL_USAGE = 2 usage error. */
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
