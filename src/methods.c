/* The methods a user can step up with, as a table of hooks (struct method
 * in flow.h): whether a record enrols the user, what judging needs from
 * the record, the judge itself, and what an acceptance says. The flow
 * walks the table and never asks for a method by name; a new method is a
 * new entry here. Each judge runs inside the attempt's state transaction
 * (attempt.c) and changes only the state it is given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "conv.h"
#include "email.h"
#include "flow.h"
#include "recovery.h"
#include "secret.h"

/* The host key, read once per call and only when a method needs it. */
int su_flow_need_hostkey(struct stepup *s)
{
	if (s->have_hostkey)
		return 0;
	if (su_hostkey_load(&s->log, s->settings.hostkey, s->hostkey) != SU_OK)
		return -1;
	s->have_hostkey = true;
	return 0;
}

/* ---- TOTP ------------------------------------------------------------------ */

static int totp_load(struct stepup *s)
{
	char *name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	int rc = name != NULL && su_totp_load(&s->log, name, &s->record, &s->totp) == 0 ?
		 SU_OK : SU_ERR;

	free(name);
	return rc;
}

static bool totp_shaped(const struct stepup *s, const char *code)
{
	return su_totp_code_shaped(&s->totp, code);
}

/* Every step of the window, made and compared (totp.c). */
static void totp_work(struct stepup *s, struct answer *a)
{
	a->totp = su_totp_verify(&s->totp, a->code, time(NULL), s->settings.totp_window,
				 &a->totp_step);
}

/* The step the code matched must be later than the last one used. The
 * state keeps the start time of the step in seconds, not its index: a
 * re-enrolment with another period then keeps every second that an
 * accepted code covered used, with no conversion. */
static enum verdict totp_check(struct stepup *s, struct answer *a, su_state_txn *txn,
			       su_kv *state)
{
	uint64_t last = 0, start;

	if (a->totp < 0)
		return VERDICT_ERROR;
	if (a->totp == 0)
		return VERDICT_WRONG;
	if (a->totp_step > UINT64_MAX / s->totp.period)
		return VERDICT_ERROR;
	start = a->totp_step * s->totp.period;
	if (su_totp_barrier(&s->log, su_state_name(txn), state, &last) < 0)
		return VERDICT_ERROR;
	if (start <= last)
		return VERDICT_REPLAYED;
	return su_totp_set_barrier(state, start) == 1 ? VERDICT_ACCEPTED : VERDICT_ERROR;
}

/* ---- email ------------------------------------------------------------------- */

/* The enrolled address, checked as stepupctl checked it when enrolling:
 * it goes into a mail header and the SMTP envelope. */
static int email_load(struct stepup *s)
{
	char why[128] = "";
	char *name;

	s->address = su_email_address(&s->record);
	if (s->address != NULL && su_mail_address_ok(s->address, why, sizeof(why))) {
		su_mail_mask(s->address, s->masked, sizeof(s->masked));
		return SU_OK;
	}
	name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	su_logf(&s->log, LOG_ERR, "%s: key 'email_address': %s", name ? name : s->user,
		why[0] ? why : "missing");
	free(name);
	return SU_ERR;
}

static enum verdict email_verdict(enum su_email_verdict v)
{
	switch (v) {
	case SU_EMAIL_MATCH: return VERDICT_ACCEPTED;
	case SU_EMAIL_USED: return VERDICT_REPLAYED;
	case SU_EMAIL_EXPIRED: return VERDICT_EXPIRED;
	case SU_EMAIL_VOIDED: return VERDICT_VOIDED;
	case SU_EMAIL_NO_CODE:
	case SU_EMAIL_WRONG: break;
	}
	return VERDICT_WRONG;
}

static bool email_shaped(const struct stepup *s, const char *code)
{
	return su_email_code_shaped(code, s->settings.email_code_length);
}

static void email_work(struct stepup *s, struct answer *a)
{
	a->email = su_email_code_hmac(s->hostkey, s->user, a->code, a->email_hmac);
}

/* A match marks the emailed code used and a miss counts against it, in
 * the attempt's one write. */
static enum verdict email_check(struct stepup *s, struct answer *a, su_state_txn *txn,
				su_kv *state)
{
	enum su_email_verdict ev = SU_EMAIL_NO_CODE;

	if (a->email != 0 ||
	    su_email_judge(&s->log, su_state_name(txn), state, a->email_hmac, time(NULL), &ev) != 0)
		return VERDICT_ERROR;
	return email_verdict(ev);
}

/* ---- recovery codes ---------------------------------------------------------------- */

static bool recovery_shaped(const struct stepup *s, const char *code)
{
	char canon[SU_RECOVERY_CHARS + 1];
	bool shaped = su_recovery_canonical(&s->record, code, canon);

	su_erase(canon, sizeof(canon));
	return shaped;
}

/* Which code it is (every code's HMAC is made, match or not), and the
 * record as it is now, read under the lock whether or not one matched:
 * new codes made while the prompt waited void the set the answer
 * matched. */
static void recovery_work(struct stepup *s, struct answer *a)
{
	const unsigned char *keys[SU_VERIFIER_KEYS_MAX];
	char canon[SU_RECOVERY_CHARS + 1];
	char *name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	size_t nkeys = 0;

	a->recovery = -1;
	if (name != NULL && su_recovery_canonical(&s->record, a->code, canon) &&
	    su_store_verifier_keys(s->store, s->hostkey, keys, SU_VERIFIER_KEYS_MAX, &nkeys) ==
		    SU_OK &&
	    su_recovery_match_keys(&s->log, name, keys, nkeys, s->user, &s->record, canon,
				   &a->recovery_index) == 0 &&
	    su_store_load_user(s->store, s->user, &a->record_now) == SU_OK)
		a->recovery = 0;
	su_erase(canon, sizeof(canon));
	free(name);
}

/* The code matched must still be in the record and not used in the state,
 * so 16 concurrent attempts with one code give one success. */
static enum verdict recovery_check(struct stepup *s, struct answer *a, su_state_txn *txn,
				   su_kv *state)
{
	unsigned total = 0;
	bool was_used = false;
	char *name;
	enum verdict v;

	if (a->recovery != 0)
		return VERDICT_ERROR;
	if (a->recovery_index == 0 || !su_recovery_same_code(&s->record, &a->record_now,
							     a->recovery_index))
		return VERDICT_WRONG;
	if (su_recovery_use(&s->log, su_state_name(txn), &a->record_now, state,
			    a->recovery_index, &was_used) != 0)
		return VERDICT_ERROR;
	if (was_used)
		return VERDICT_REPLAYED;
	name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	v = name != NULL && su_recovery_left(&s->log, name, &a->record_now, state,
					     &s->recovery_left, &total) == 0 ?
	    VERDICT_ACCEPTED : VERDICT_ERROR;
	free(name);
	return v;
}

/* How many are left, in the log and to the user, and what to do at none. */
static void recovery_accepted(struct stepup *s, const struct method *m)
{
	char left[16];

	snprintf(left, sizeof(left), "%u", s->recovery_left);
	su_audit_extra(s->pamh, &s->who, m->name, "success", su_flow_reason(VERDICT_ACCEPTED),
		       "recovery_left", left);
	if (s->silent)
		return;
	if (s->recovery_left == 0)
		su_conv_info(s->pamh, "Recovery code accepted. That was your last one: ask an "
			     "administrator for new codes (stepupctl recovery %s).", s->user);
	else
		su_conv_info(s->pamh, "Recovery code accepted. %u recovery code%s left.",
			     s->recovery_left, s->recovery_left == 1 ? "" : "s");
}

/* ---- the table ---------------------------------------------------------------------- */

/* In the order an answer is judged and the prompt offers them. Only an
 * app's code has a next one to wait for. */
const struct method su_flow_methods[] = {
	{SU_METHOD_TOTP, "totp", false, su_totp_enrolled, totp_load, NULL, totp_shaped,
	 totp_work, totp_check, NULL, "That code has already been used. Wait for the next one."},
	{SU_METHOD_EMAIL, "email", true, su_email_enrolled, email_load, NULL, email_shaped,
	 email_work, email_check, NULL, "That code has already been used."},
	{SU_METHOD_RECOVERY, "recovery", true, su_recovery_enrolled, NULL, NULL,
	 recovery_shaped, recovery_work, recovery_check, recovery_accepted,
	 "That code has already been used."},
	/* No typed code: asked for before the first prompt (sshsk_flow.c). */
	{SU_METHOD_SSHSK, "sshsk", false, su_flow_sshsk_enrolled, su_flow_sshsk_load,
	 su_flow_sshsk_ask, NULL, NULL, su_flow_sshsk_check, su_flow_sshsk_accepted, NULL},
};
const size_t su_flow_method_count = sizeof(su_flow_methods) / sizeof(su_flow_methods[0]);
_Static_assert(sizeof(su_flow_methods) / sizeof(su_flow_methods[0]) <= SU_FLOW_METHODS_MAX,
	       "attempt.c keeps a flag per method");

const struct method *su_flow_method(enum su_method id)
{
	for (size_t i = 0; i < su_flow_method_count; i++)
		if (su_flow_methods[i].id == id)
			return &su_flow_methods[i];
	return NULL;
}

/* The methods record enrols its user in. */
unsigned su_flow_enrolled(const su_kv *record)
{
	unsigned bits = 0;

	for (size_t i = 0; i < su_flow_method_count; i++)
		if (su_flow_methods[i].enrolled(record))
			bits |= su_flow_methods[i].id;
	return bits;
}

unsigned su_flow_prompted(const struct stepup *s)
{
	unsigned bits = 0;

	for (size_t i = 0; i < su_flow_method_count; i++)
		if ((s->usable & su_flow_methods[i].id) && su_flow_methods[i].ask == NULL)
			bits |= su_flow_methods[i].id;
	return bits;
}
