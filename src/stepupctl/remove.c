/* stepupctl remove USER [METHOD] and unlock USER: a user's record and
 * state, or one method; the lockout and the failure tally. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "lockout.h"
#include "util.h"

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

int cmd_remove(ctl *c, char **args, int nargs)
{
	const ctl_method *m = NULL;
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (nargs >= 2 && (m = find_method(args[1])) == NULL)
		return unknown_method("remove");
	if (nargs == 3 && strcmp(m->name, "sshkey") != 0)
		return usage_error("remove: only sshkey takes a FINGERPRINT after the method name");
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	if (nargs == 3)
		return remove_sshkey(c, user, args[2]);
	return m == NULL ? remove_user(c, user) : remove_method(c, user, m);
}

/* Clear the tally in one write: *locked and *until say what the lock was,
 * *count how many failures were cleared. SU_OK, SU_CONFLICT (another
 * host wrote first: nothing cleared), SU_ERR. */
static int clear_tally(ctl *c, const char *user, int *locked, time_t *until,
		       uint64_t *count)
{
	su_state_txn *txn = NULL;
	su_kv *state;
	int rc = su_state_begin(c->store, user, &txn, &state);

	if (rc == SU_OK) {
		*locked = su_lockout_locked(&ctl_log, su_state_name(txn), state, time(NULL),
					    until);
		*count = su_lockout_failures(state);
		su_lockout_clear(state);
		/* A malformed lock is cleared too: that is what unlock is for. */
		rc = su_state_commit(txn);
	}
	su_state_end(txn);
	return rc;
}

int cmd_unlock(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1], until_text[64] = "", failures[24];
	su_kv record = { 0 };
	time_t until = 0;
	uint64_t count = 0;
	bool known;
	int rc, locked = 0;

	(void)nargs;
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	rc = load_record(c, user, &record, true);
	su_kv_free(&record);
	if (rc != CTL_OK)
		return rc;
	do
		rc = clear_tally(c, user, &locked, &until, &count);
	while (rc == SU_CONFLICT && su_store_may_retry(c->store));
	if (rc != SU_OK)
		return CTL_REFUSED;
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
