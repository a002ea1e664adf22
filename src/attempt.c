/* The prompts, and each answer judged and counted in one state write.
 * The rules an attempt obeys against a hostile caller are at the top of
 * statefile.c; judge_and_record is where the flow keeps them: the failure
 * is counted before the answer is judged, one slot is written whatever the
 * outcome, and nothing is said until that write is durable. */
#include <stdio.h>
#include <string.h>
#include <security/pam_ext.h>
#include "conv.h"
#include "flow.h"
#include "lockout.h"
#include "secret.h"

#define ANSWER_MAX 64 /* longer answers are not codes: refused unparsed */

/* How telling a refusal is: the most specific one is reported. */
static int verdict_rank(enum verdict v)
{
	switch (v) {
	case VERDICT_MALFORMED: return 0;
	case VERDICT_WRONG:
	case VERDICT_BAD_SIGNATURE:
	case VERDICT_NO_PRESENCE:
	case VERDICT_NO_PIN:
	case VERDICT_CLONED: return 1;
	case VERDICT_VOIDED: return 2;
	case VERDICT_EXPIRED: return 3;
	case VERDICT_REPLAYED: return 4;
	case VERDICT_ACCEPTED:
	case VERDICT_LOCKED:
	case VERDICT_ERROR: break;
	}
	return 5;
}

/* Judge one answer against every usable method. First every method whose
 * shape the answer has does the work of judging that reads no state, all
 * of it whatever the outcome; then the judgements against the state. An
 * answer may have the shape of more than one (an 8-digit TOTP code and an
 * 8-digit email code): the first that accepts it wins, an error stops at
 * once, and otherwise the most specific refusal is reported. */
static enum verdict judge(struct stepup *s, struct answer *a, su_state_txn *txn,
			  su_kv *state, const struct method **by)
{
	enum verdict best = VERDICT_MALFORMED;
	bool shaped[SU_FLOW_METHODS_MAX] = {false};

	*by = s->offered;
	if (a->direct != NULL) {
		*by = a->direct;
		return a->direct->check(s, a, txn, state);
	}
	for (size_t i = 0; a->code != NULL && i < su_flow_method_count; i++) {
		const struct method *m = &su_flow_methods[i];

		shaped[i] = (s->usable & m->id) && m->shaped != NULL && m->shaped(s, a->code);
		if (shaped[i])
			m->work(s, a);
	}
	for (size_t i = 0; a->code != NULL && i < su_flow_method_count; i++) {
		const struct method *m = &su_flow_methods[i];
		enum verdict v;

		if (!shaped[i])
			continue;
		v = m->check(s, a, txn, state);
		if (v == VERDICT_ACCEPTED || v == VERDICT_ERROR) {
			*by = m;
			return v;
		}
		if (verdict_rank(v) > verdict_rank(best)) {
			best = v;
			*by = m;
		}
	}
	return best;
}

/* What one attempt came to, once its write is durable. */
struct attempt_result {
	enum verdict verdict;
	const struct method *by;
	time_t locked_until; /* this attempt's failure locked the user out */
	bool counted;        /* VERDICT_ERROR: the failure was written all the same */
};

/* The host key is read before an attempt, never inside it: a missing
 * key must not count every answer as a failure. */
static int prepare_attempt(struct stepup *s)
{
	for (size_t i = 0; i < su_flow_method_count; i++)
		if ((s->usable & su_flow_methods[i].id) && su_flow_methods[i].needs_hostkey)
			return su_flow_need_hostkey(s);
	return 0;
}

/* One answer, judged and counted in one state write (statefile.c rules 1
 * to 4): the failure is counted and kept as the fallback before the
 * answer is judged; the judgement then changes the state (a success
 * clears the tally) and exactly one slot is written, whatever the
 * outcome. Nothing is said here: the caller speaks once this returns.
 * SU_CONFLICT: another host wrote the user's entry first (the directory
 * store): nothing was written, the judgement's log lines are dropped, and
 * the caller judges again from the entry as it now is. */
static int judge_once(struct stepup *s, const struct answer *given, struct attempt_result *r)
{
	su_lockout_rule rule = {s->settings.lockout_attempts, s->settings.lockout_time};
	struct answer a = *given;
	su_state_txn *txn = NULL;
	su_kv *state;
	time_t until = 0;
	int rc = SU_ERR;

	*r = (struct attempt_result){VERDICT_ERROR, given->direct ? given->direct : s->offered,
				     0, false};
	if (prepare_attempt(s) != 0 || su_state_begin(s->store, s->user, &txn, &state) != SU_OK)
		goto out;
	switch (su_lockout_locked(&s->log, su_state_name(txn), state, time(NULL),
				  &s->locked_until)) {
	case 0: break;
	case 1: r->verdict = VERDICT_LOCKED; /* fall through: not judged */
	default: goto out;
	}
	if (su_lockout_fail(&s->log, su_state_name(txn), state, rule, time(NULL), &until) != 0 ||
	    su_state_arm(txn) != SU_OK)
		goto out;
	su_log_hold();
	r->verdict = judge(s, &a, txn, state, &r->by);
	if (r->verdict == VERDICT_ACCEPTED)
		su_lockout_clear(state);
	rc = r->verdict == VERDICT_ERROR ? SU_ERR : su_state_commit(txn);
	if (rc != SU_OK && rc != SU_CONFLICT) {
		r->verdict = VERDICT_ERROR;
		rc = su_state_commit_armed(txn);
		r->counted = rc == SU_OK;
	}
	if (rc == SU_CONFLICT) {
		su_log_drop();
		*r = (struct attempt_result){VERDICT_ERROR,
					     given->direct ? given->direct : s->offered, 0, false};
		goto out;
	}
	if (r->verdict != VERDICT_ACCEPTED && (r->verdict != VERDICT_ERROR || r->counted))
		r->locked_until = until;
out:
	su_state_end(txn);
	su_log_release();
	su_kv_free(&a.record_now);
	su_erase(&a, sizeof(a));
	return rc;
}

static void judge_and_record(struct stepup *s, const struct answer *a,
			     struct attempt_result *r)
{
	while (judge_once(s, a, r) == SU_CONFLICT)
		if (!su_store_may_retry(s->store)) {
			su_logf(&s->log, LOG_ERR, "%s: other hosts kept writing the user's entry; "
				"the answer was not judged (ldap_retries, ldap_timeout)", s->user);
			break;
		}
}

/* An attempt's outcome said and logged; its write is already durable. */
static enum outcome judged(struct stepup *s, const struct attempt_result *r)
{
	if (r->locked_until != 0) {
		s->locked_until = r->locked_until;
		su_flow_end_grace(s);
	}
	switch (r->verdict) {
	case VERDICT_ACCEPTED:
		if (r->by->accepted != NULL)
			r->by->accepted(s, r->by);
		else
			su_audit(s->pamh, &s->who, r->by->name, "success",
				 su_flow_reason(r->verdict));
		s->accepted = r->by->id;
		return OUTCOME_ACCEPTED;
	case VERDICT_ERROR:
		return su_flow_unavailable(s, r->by);
	case VERDICT_LOCKED:
		return su_flow_locked_out(s, "locked-out");
	default:
		su_flow_refused(s, r->verdict, r->by);
		return r->locked_until != 0 ? su_flow_locked_out(s, "lockout") : OUTCOME_RETRY;
	}
}

/* One prompt and its answer. */
static enum outcome attempt(struct stepup *s)
{
	char prompt[SU_MAIL_ADDRESS_MAX + 80] = "Verification code: ";
	char code[ANSWER_MAX + 1];
	struct attempt_result r;
	char *answer = NULL;
	int rc;

	if (su_flow_offers_email(s))
		snprintf(prompt, sizeof(prompt), "Verification code (press Enter to get "
			 "a code by email to %s): ", s->masked);
	rc = su_conv_ask_secret(s->pamh, prompt, &answer);
	if (rc != PAM_SUCCESS || answer == NULL) {
		su_free_string(answer);
		return OUTCOME_CONV_ENDED;
	}
	if (su_flow_asks_for_email(s, answer)) {
		su_free_string(answer);
		return su_flow_email_request(s);
	}
	rc = answer[0] == '\0' ? 0 : su_normalise_code(answer, code, sizeof(code));
	su_free_string(answer);
	if (rc == 0) {
		su_erase(code, sizeof(code));
		return su_flow_refuse(s, s->offered, "no-answer", "No code entered.");
	}
	judge_and_record(s, &(struct answer){.code = rc > 0 ? code : NULL}, &r);
	su_erase(code, sizeof(code));
	return judged(s, &r);
}

enum outcome su_flow_judge(struct stepup *s, struct answer *a)
{
	struct attempt_result r;

	judge_and_record(s, a, &r);
	return judged(s, &r);
}

/* The methods that ask for their answer themselves (a security key),
 * before the first prompt: each refusal costs one of the tries. */
static enum outcome ask_first(struct stepup *s, unsigned *tries)
{
	enum outcome o = OUTCOME_FALLBACK;

	for (size_t i = 0; i < su_flow_method_count; i++) {
		const struct method *m = &su_flow_methods[i];

		if (!(s->usable & m->id) || m->ask == NULL || *tries >= s->settings.tries)
			continue;
		o = m->ask(s, m);
		if (o == OUTCOME_RETRY)
			(*tries)++;
		if (o != OUTCOME_RETRY && o != OUTCOME_FALLBACK)
			break;
	}
	return o;
}

/* The log line that ends a step-up that did not succeed, however it
 * ended, so that one line per failure can be alerted on. */
static enum step not_stepped_up(struct stepup *s, enum outcome o, unsigned tries)
{
	su_audit(s->pamh, &s->who, su_flow_name(s->offered),
		 o == OUTCOME_ERROR ? "error" : "failure",
		 o == OUTCOME_CONV_ENDED ? "conversation-ended" :
		 o == OUTCOME_ERROR ? "store-error" :
		 o == OUTCOME_LOCKED ? "locked-out" :
		 o == OUTCOME_FALLBACK ? "no-method-left" :
		 tries == 0 ? "email-not-sent" : "tries-exhausted");
	s->deny = o == OUTCOME_CONV_ENDED ? PAM_CONV_ERR : PAM_AUTH_ERR;
	return STEP_DENY;
}

enum step su_flow_prompts(struct stepup *s)
{
	enum outcome o = OUTCOME_RETRY;
	unsigned tries = 0;

	for (size_t i = 0; s->offered == NULL && i < su_flow_method_count; i++)
		if ((s->usable & su_flow_methods[i].id) && su_flow_methods[i].ask == NULL)
			s->offered = &su_flow_methods[i];
	/* Each failed call costs a guesser this long (libpam randomises it and
	 * applies the longest any module asked for), as pam_unix does. */
	if (s->settings.fail_delay > 0)
		pam_fail_delay(s->pamh, s->settings.fail_delay * 1000000u);
	if (!s->silent && s->who.command != NULL)
		su_conv_info(s->pamh, "Step-up required to run as %s: %s", s->runas, s->command);
	if (!s->silent)
		su_conv_info(s->pamh, "Step-up authentication required for %s.", s->service);
	o = ask_first(s, &tries);
	if (o == OUTCOME_ACCEPTED)
		return STEP_ALLOW;
	if (o != OUTCOME_RETRY && o != OUTCOME_FALLBACK)
		return not_stepped_up(s, o, tries);
	/* Nothing left to prompt for: a security key was all there was. */
	if (s->offered == NULL || tries >= s->settings.tries)
		return not_stepped_up(s, o, tries);
	o = OUTCOME_RETRY;
	/* Asking for an email costs no try; it can happen once per call
	 * (email_requested), so the loop is bounded by tries + 1 prompts. */
	if (su_flow_email_first(s, &o)) {
		while (tries < s->settings.tries &&
		       (o == OUTCOME_RETRY || o == OUTCOME_EMAILED)) {
			o = attempt(s);
			if (o != OUTCOME_EMAILED)
				tries++;
		}
	}
	return o == OUTCOME_ACCEPTED ? STEP_ALLOW : not_stepped_up(s, o, tries);
}
