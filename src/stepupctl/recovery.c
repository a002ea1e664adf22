/* stepupctl recovery USER [--count N]: new single-use recovery codes. */
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "hostkey.h"
#include "recovery.h"
#include "secret.h"
#include "util.h"

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
	const ctl_method *m;

	for (size_t i = 0; (m = method_at(i)) != NULL; i++)
		if (m->enroll != NULL && m->enrolled(record))
			return true;
	return false;
}

int cmd_recovery(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1], (*shown)[SU_RECOVERY_SHOWN] = NULL;
	unsigned char key[SU_HOSTKEY_BYTES];
	const unsigned char *keys[1];
	size_t nkeys = 0;
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
	if (rc == CTL_OK && (su_hostkey_load(&ctl_log, c->settings.hostkey, key) != SU_OK ||
			     su_store_verifier_keys(c->store, key, keys, 1, &nkeys) != SU_OK))
		rc = CTL_REFUSED;
	if (rc == CTL_OK && su_recovery_generate(keys[0], user, count, &record, shown) != 0)
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
