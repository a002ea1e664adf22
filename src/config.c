/* /etc/security/stepup.conf and the module arguments: what may be set.
 *
 * Every key is one row of keys[] below: its type, its range or words, where
 * it may appear and which field it fills. The file parser, the module
 * arguments and the built-in defaults all go through that one table, so a
 * key cannot be checked one way in the file and another way as an argument.
 * The names of the sections and of [gate]'s key are here too: every name a
 * stepup.conf may hold is in this file (tests/docs_coverage.sh reads them
 * from it and holds the manual page to them).
 *
 * Here too is the settings object the table describes (defaults, copy,
 * free, a module argument applied) and reading the file. How one value
 * is checked is in config_value.c, the file's sections and lines in
 * config_parse.c. The file is read and parsed on every call: nothing is
 * kept between calls (docs/decisions.md, "Nothing cached between
 * calls"). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_internal.h"
#include "safefile.h"
#include "util.h"

static const char *const missing_words[] = { "deny", "allow", NULL };
static const char *const tls_words[] = { "required", "none", NULL };
static const char *const bool_words[] = { "no", "yes", NULL };
static const char *const identity_words[] = { "user", "ruser", NULL };
static const char *const store_words[] = { "files", "ldap", NULL };

/* words[] order is the enum order: index 0 is the zero value. */
static void set_missing(su_settings *s, unsigned v)
{
	s->missing = v == 1 ? SU_MISSING_ALLOW : SU_MISSING_DENY;
}

static void set_smtp_tls(su_settings *s, unsigned v)
{
	s->smtp_tls = v == 1 ? SU_SMTP_TLS_NONE : SU_SMTP_TLS_REQUIRED;
}

static void set_identity(su_settings *s, unsigned v)
{
	s->identity = v == 1 ? SU_IDENTITY_RUSER : SU_IDENTITY_USER;
}

static void set_store(su_settings *s, unsigned v)
{
	s->store = v == 1 ? SU_STORE_LDAP : SU_STORE_FILES;
}

static void set_debug(su_settings *s, unsigned v)
{
	s->debug = v == 1;
}

static void set_sshsk_require_pin(su_settings *s, unsigned v)
{
	s->sshsk_require_pin = v == 1;
}

#define F(field) offsetof(su_settings, field)
#define UINT(name, lo, hi, flags, def) \
	{ #name, K_UINT, flags, F(name), lo, hi, NULL, NULL, #def }
#define WORD(name, words, setter, flags, def) \
	{ #name, K_WORD, flags, 0, 0, 0, words, setter, def }
#define STR(name, kind, flags, def) \
	{ #name, kind, flags, F(name), 0, 0, NULL, NULL, def }

/* Defaults as stepup.conf(5) gives them. "debug" is an argument only as the bare flag,
 * handled in su_settings_apply_arg, so it carries no KEY_ARG here. */
/* lockout_* are [global] only: the tally is one per user, whatever the
 * service, and a service with its own rule would reset or shorten it for
 * all the others. */
static const struct key keys[] = {
	STR(methods, K_METHODS, KEY_ARG, "totp,email,recovery,sshsk"),
	UINT(grace, 0, 86400, KEY_ARG, 300),
	WORD(missing, missing_words, set_missing, KEY_ARG, "deny"),
	UINT(tries, 1, 10, KEY_ARG, 3),
	UINT(fail_delay, 0, 10, KEY_ARG, 2),
	/* At most 300: lockout_attempts - 1 failure times must fit in one
	 * state value (lockout.c); from the 373rd the state could not be
	 * written, so a higher setting never locked. */
	UINT(lockout_attempts, 0, 300, KEY_GLOBAL, 5),
	UINT(lockout_time, 1, 604800, KEY_GLOBAL, 900),
	UINT(totp_window, 0, 10, 0, 1),
	UINT(email_code_length, 6, 10, 0, 8),
	UINT(email_code_ttl, 30, 3600, 0, 300),
	UINT(email_min_interval, 0, 3600, 0, 30),
	UINT(email_max_per_hour, 1, 300, 0, 10),
	UINT(sshsk_timeout, 1, 120, 0, 30),
	WORD(sshsk_require_pin, bool_words, set_sshsk_require_pin, 0, "no"),
	STR(exempt_groups, K_GROUPS, 0, NULL),
	/* Grace is per service: a step-up for su is not one for sudo unless
	 * sudo's rule says so (docs/decisions.md). */
	STR(grace_from, K_SERVICES, 0, NULL),
	WORD(identity, identity_words, set_identity, KEY_ARG, "user"),
	WORD(debug, bool_words, set_debug, 0, "no"),
	STR(smtp_url, K_URL, KEY_GLOBAL, NULL),
	STR(smtp_from, K_EMAIL, KEY_GLOBAL, NULL),
	STR(smtp_credentials, K_PATH, KEY_GLOBAL, "/etc/stepup/smtp-credentials"),
	STR(smtp_ca_file, K_PATH, KEY_GLOBAL, NULL),
	WORD(smtp_tls, tls_words, set_smtp_tls, KEY_GLOBAL, "required"),
	UINT(smtp_timeout, 1, 120, KEY_GLOBAL, 10),
	STR(user_dir, K_PATH, KEY_GLOBAL, "/etc/stepup/users"),
	STR(state_dir, K_PATH, KEY_GLOBAL, "/var/lib/stepup/state"),
	STR(grace_dir, K_PATH, KEY_GLOBAL, "/run/stepup/grace"),
	STR(hostkey, K_PATH, KEY_GLOBAL, "/etc/stepup/hostkey"),
	/* Read only where users are kept in a directory (fleetkey.h). */
	STR(fleet_key, K_PATH, KEY_GLOBAL, "/etc/stepup/fleetkey"),
	/* The directory store (store_ldap.c, docs/design.md "The directory
	 * store"): where records and state live is one choice per host. */
	WORD(store, store_words, set_store, KEY_GLOBAL, "files"),
	STR(ldap_uri, K_LDAP_URIS, KEY_GLOBAL, NULL),
	STR(ldap_base, K_DN, KEY_GLOBAL, NULL),
	STR(ldap_ca_file, K_PATH, KEY_GLOBAL, NULL),
	STR(ldap_cert, K_PATH, KEY_GLOBAL, NULL),
	STR(ldap_key, K_PATH, KEY_GLOBAL, NULL),
	STR(ldap_bind_dn, K_DN, KEY_GLOBAL, NULL),
	STR(ldap_password_file, K_PATH, KEY_GLOBAL, NULL),
	UINT(ldap_timeout, 1, 60, KEY_GLOBAL, 5),
	UINT(ldap_retries, 1, 64, KEY_GLOBAL, 16),
};

#undef F
#undef UINT
#undef WORD
#undef STR

_Static_assert(sizeof keys / sizeof keys[0] == CONF_KEY_COUNT,
	       "CONF_KEY_COUNT (config_internal.h) must count the rows of keys[]");

const struct key *const conf_keys = keys;

const struct key *conf_find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (strlen(keys[i].name) == len &&
		    memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

enum conf_section conf_section(char *inner, char **name)
{
	if (strcmp(inner, "global") == 0)
		return CONF_GLOBAL;
	if (strcmp(inner, "gate") == 0)
		return CONF_GATE;
	if (strcmp(inner, "sudo") == 0)
		return CONF_SUDO;
	if (strncmp(inner, "service", 7) == 0 &&
	    (inner[7] == '\0' || is_blank(inner[7]))) {
		*name = inner + 7;
		return CONF_SERVICE;
	}
	return CONF_UNKNOWN;
}

/* The one key of [gate], stepup-gate's own (config_parse.c gathers its
 * values into gate_exempt, a field keys[] does not describe). */
bool conf_gate_key(const char *key)
{
	return strcmp(key, "exempt_command") == 0;
}

/* The keys of [sudo], the approval plugin's (gathered into sudo_rules;
 * their values are cmdrule.c's to judge). */
bool conf_sudo_key(const char *key)
{
	return strcmp(key, "stepup_command") == 0 ||
	       strcmp(key, "exempt_command") == 0;
}

/* ------------------------------------------------------------------------ */
/* Settings */

void su_settings_free(su_settings *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (is_string_kind(keys[i].kind))
			free(*(char **)(void *)((char *)s + keys[i].off));
	free(s->gate_exempt);
	free(s->sudo_rules);
	memset(s, 0, sizeof(*s));
}

int su_settings_defaults(su_settings *out)
{
	char why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		union val v;

		if (keys[i].def == NULL)
			continue;
		/* Only fails on allocation: the defaults are tested. */
		if (!conf_parse_value(&keys[i], keys[i].def, &v, why, sizeof(why))) {
			su_settings_free(out);
			return SU_ERR;
		}
		conf_store(out, &keys[i], &v);
	}
	return SU_OK;
}

int su_settings_apply_arg(const su_log *log, su_settings *s, const char *arg)
{
	char why[WHY_MAX];
	const struct key *k;
	const char *eq;
	union val v;

	if (arg == NULL || arg[0] == '\0')
		return su_fail(log, "empty module argument");
	/* PAM arguments end up in syslog lines: do not echo control bytes */
	if (su_has_control(arg))
		return su_fail(log, "module argument contains a control character");
	if (strcmp(arg, "debug") == 0) {
		s->debug = true;
		return SU_OK;
	}
	eq = strchr(arg, '=');
	if (eq != NULL && (size_t)(eq - arg) == 6 && strncmp(arg, "config", 6) == 0)
		return su_fail(log, "module argument '%s': config= is read before the file, not here",
			       arg);
	k = eq == NULL ? NULL : conf_find_key(arg, (size_t)(eq - arg));
	if (k == NULL || !(k->flags & KEY_ARG))
		return su_fail(log, "unknown module argument '%s'", arg);
	if (!conf_parse_value(k, eq + 1, &v, why, sizeof(why)))
		return su_fail(log, "module argument '%s': %s", arg, why);
	conf_store(s, k, &v);
	return SU_OK;
}

int su_config_load(const su_log *log, const char *path, const char *service,
		   su_settings *out)
{
	su_buf buf = {NULL, 0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = su_read_file(log, path, SU_FILE_PUBLIC, SU_CONFIG_MAX_SIZE, &buf);
	if (rc == SU_OK) /* SU_NOTFOUND unlogged: the caller decides */
		rc = conf_parse_text(log, path, buf.data, buf.len, service, out);
	su_buf_free(&buf);
	return rc;
}
