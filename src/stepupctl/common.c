/* stepupctl: what every command uses (ctl.h): the settings and the store
 * opened before it runs, messages, the user argument, the record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "ctl.h"
#include "userdb.h"
#include "util.h"

const su_log ctl_log = { .pamh = NULL, .prog = PROG, .debug = false };

int refuse(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	su_vlogf(&ctl_log, LOG_ERR, fmt, ap);
	va_end(ap);
	return CTL_REFUSED;
}

int usage_error(const char *fmt, ...)
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
int user_arg(const char *given, char *out, size_t size, bool *known, uid_t *uid)
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

int out_of_memory(void)
{
	return refuse("out of memory");
}

/* enroll and import refuse to replace a TOTP enrolment alike: replacing
 * it silently would break the user's app. */
int refuse_totp_enrolled(const char *user, bool can_force)
{
	return refuse("%s already has TOTP enrolled; run '" PROG " remove %s totp' first%s",
		      user, user, can_force ? ", or add --force" : "");
}

/* "2024-05-01 12:00:00 CEST" */
void local_time(time_t when, char *buf, size_t size)
{
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)when);
}

bool valid_issuer(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= ISSUER_MAX && !su_has_control(s) &&
	       strchr(s, ':') == NULL;
}

/* Load user's record; a missing one is an error only if must_exist. */
int load_record(ctl *c, const char *user, su_kv *record, bool must_exist)
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

int ctl_open(ctl *c, bool needs_store)
{
	int rc;

	if (geteuid() != 0)
		return refuse("must be run as root");
	rc = load_settings(c);
	if (rc != CTL_OK || !needs_store)
		return rc;
	if (su_store_open(&ctl_log, &c->settings, &c->store) == SU_OK)
		return CTL_OK;
	c->store = NULL;
	su_settings_free(&c->settings);
	return CTL_REFUSED;
}

void ctl_close(ctl *c)
{
	if (c->store != NULL)
		su_store_close(c->store);
	c->store = NULL;
	su_settings_free(&c->settings);
}
