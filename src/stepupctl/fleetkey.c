/* stepupctl fleet-key init|rotate|retire KID|show: the fleet key, which
 * every host that keeps users in a directory shares (fleetkey.h). The
 * file is made on one host and copied to the others by the administrator;
 * each command says what to copy and when. No key is ever printed. */
#include <stdio.h>
#include <string.h>

#include "audit_admin.h"
#include "ctl.h"
#include "fleetkey.h"
#include "safefile.h"

static void say_copy(const char *path)
{
	printf("Next: copy %s to the same path on every host that keeps users in the "
	       "directory (root, mode 0600), replacing the copy there.\n", path);
}

static int fleet_init(const char *path)
{
	char kid[SU_FLEETKEY_KID_MAX + 1];
	int rc = su_fleetkey_create(&ctl_log, path, kid);

	if (rc == SU_EXISTS)
		return refuse("%s already exists; a fleet key is never replaced (add a new "
			      "current key with '" PROG " fleet-key rotate')", path);
	if (rc != SU_OK)
		return CTL_REFUSED; /* the library said why */
	printf("created %s (key id %s, mode 0600)\n", path, kid);
	say_copy(path);
	su_audit_admin("fleet-key-init", "*", "success", "kid", kid);
	return CTL_OK;
}

static int fleet_rotate(const char *path)
{
	char kid[SU_FLEETKEY_KID_MAX + 1];

	if (su_fleetkey_rotate(&ctl_log, path, kid) != SU_OK)
		return CTL_REFUSED;
	printf("added key %s to %s as the current key; the older keys are kept\n", kid, path);
	say_copy(path);
	printf("Do it before anything is sealed under %s (an enrolment): a host with the "
	       "old copy cannot open that.\n"
	       "Secrets sealed under an older key keep opening, and recovery codes made "
	       "under it keep working, while its line stays in the file.\n"
	       "Once nothing is sealed under an older key any more and its users have "
	       "new recovery codes, run '" PROG " fleet-key retire KID' and copy the "
	       "file again.\n", kid);
	su_audit_admin("fleet-key-rotate", "*", "success", "kid", kid);
	return CTL_OK;
}

static int fleet_retire(const char *path, const char *kid)
{
	if (su_fleetkey_retire(&ctl_log, path, kid) != SU_OK)
		return CTL_REFUSED;
	printf("retired key %s from %s: secrets sealed under it no longer open, and "
	       "recovery codes made under it no longer work\n", kid, path);
	say_copy(path);
	su_audit_admin("fleet-key-retire", "*", "success", "kid", kid);
	return CTL_OK;
}

static int fleet_show(const char *path)
{
	su_fleetkey *fk = NULL;

	if (su_fleetkey_load(&ctl_log, path, &fk) != SU_OK)
		return CTL_REFUSED;
	printf("%s: %zu key(s)\n", path, su_fleetkey_count(fk));
	for (size_t i = 0; i < su_fleetkey_count(fk); i++)
		printf("  %-16s  %s\n", su_fleetkey_kid(fk, i), i == 0 ?
		       "current: seals new secrets" :
		       "older: opens what was sealed or made under it");
	su_fleetkey_free(fk);
	return CTL_OK;
}

int cmd_fleet_key(ctl *c, char **args, int nargs)
{
	const char *path = c->settings.fleet_key;
	const char *what = args[0];

	if (strcmp(what, "retire") == 0) {
		/* Not echoed when it is not an id: it may be a key pasted. */
		if (nargs != 2 || !su_fleetkey_valid_kid(args[1]))
			return usage_error("fleet-key retire: give the key id (1 to %d of "
					   "a-z 0-9) that 'fleet-key show' lists",
					   SU_FLEETKEY_KID_MAX);
		return fleet_retire(path, args[1]);
	}
	if (strcmp(what, "init") != 0 && strcmp(what, "rotate") != 0 &&
	    strcmp(what, "show") != 0)
		return usage_error("fleet-key: expected 'init', 'rotate', 'retire KID' or 'show'");
	if (nargs != 1)
		return usage_error("fleet-key %s: unexpected extra argument", what);
	if (strcmp(what, "init") == 0)
		return fleet_init(path);
	return strcmp(what, "rotate") == 0 ? fleet_rotate(path) : fleet_show(path);
}
