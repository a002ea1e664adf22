/* stepupctl grace list|revoke [USER], and the end of a user's grace when
 * their enrolment changes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "grace.h"
#include "hostkey.h"
#include "secret.h"
#include "util.h"

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
int end_grace(ctl *c, const char *user)
{
	unsigned removed = 0;

	if (su_grace_revoke(&ctl_log, c->settings.grace_dir, user, &removed) == SU_ERR)
		return CTL_REFUSED;
	if (removed > 0)
		printf("revoked %u grace record(s) of %s\n", removed, user);
	return CTL_OK;
}

int cmd_grace(ctl *c, char **args, int nargs)
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
