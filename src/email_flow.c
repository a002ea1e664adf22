/* Sending an email code from the prompt: the user presses Enter (or types
 * "email"), or email is their only method. The new code's HMAC is stored
 * under the user's state lock with the rate limits checked there; the mail
 * goes out after the lock is released, so a slow mail server never holds
 * up another attempt; a mail that does not go out is withdrawn. Judging
 * a typed email code is methods.c's. */
#include <stdio.h>
#include <string.h>
#include "conv.h"
#include "email.h"
#include "flow.h"
#include "lockout.h"
#include "secret.h"

static const char *email_name(void)
{
	return su_flow_method(SU_METHOD_EMAIL)->name;
}

/* Why no code can be sent now, as read under the lock. */
struct email_limit {
	enum su_email_limit limit;
	time_t retry_at;
	bool pending; /* a code sent earlier is still valid */
};

/* Tell the user and the log why no code is sent. Called after the state
 * lock is released: the conversation may block (a full pipe, a stopped
 * terminal), and no one may hold up the user's other attempts by it.
 * Returns whether a code sent earlier is still worth typing. */
static bool email_limited(struct stepup *s, time_t now, const struct email_limit *l)
{
	char when[32] = "";
	struct tm tm;

	su_audit(s->pamh, &s->who, email_name(), "failure",
		 l->limit == SU_EMAIL_TOO_SOON ? "email-too-soon" : "email-hourly-limit");
	if (l->limit == SU_EMAIL_TOO_SOON) {
		su_flow_say_error(s, l->pending ?
				  "A code was sent to %s a moment ago and is still valid; enter "
				  "it, or ask for a new one in %lld seconds." :
				  "A code was sent to %s a moment ago; you can ask for a new "
				  "one in %lld seconds.", s->masked, (long long)(l->retry_at - now));
		return l->pending;
	}
	if (localtime_r(&l->retry_at, &tm) == NULL ||
	    strftime(when, sizeof(when), "%H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "in %lld seconds", (long long)(l->retry_at - now));
	su_flow_say_error(s, "Too many codes were sent to %s in the last hour; you can ask "
			  "for a new one at %s.%s", s->masked, when,
			  l->pending ? " The last code sent is still valid." : "");
	return l->pending;
}

/* Under the state lock: check the rate limits, then store the new code's
 * HMAC and the send time. 0: issued; 1: a limit or a lockout holds (the
 * user was told of a limit; s->locked_until says a lockout); -1: error. */
static int issue_once(struct stepup *s, const char *hmac, time_t now, time_t expires,
		      struct email_limit *l, bool *conflict)
{
	su_state_txn *txn = NULL;
	su_kv *state;
	int rc = -1, commit;

	*l = (struct email_limit){SU_EMAIL_ALLOWED, 0, false};
	*conflict = false;
	if (su_state_begin(s->store, s->user, &txn, &state) != SU_OK)
		goto out;
	/* A prompt opened before a lock sends nothing after it. */
	switch (su_lockout_locked(&s->log, su_state_name(txn), state, now, &s->locked_until)) {
	case 0: break;
	case 1: rc = 2; /* fall through */
	default: goto out;
	}
	if (su_email_rate_check(&s->log, su_state_name(txn), state, &s->settings, now,
				&l->limit, &l->retry_at) != 0)
		goto out;
	if (l->limit != SU_EMAIL_ALLOWED) {
		l->pending = su_email_pending(state, now, NULL);
		rc = 1;
		goto out;
	}
	if (su_email_issue(&s->log, su_state_name(txn), state, hmac, now, expires) != 0)
		goto out;
	commit = su_state_commit(txn);
	*conflict = commit == SU_CONFLICT;
	rc = commit == SU_OK ? 0 : -1;
out:
	su_state_end(txn);
	return rc;
}

/* issue_once, again while another host writes the user's entry first. */
static int issue_email_code(struct stepup *s, const char *hmac, time_t now,
			    time_t expires, bool *worth_prompting)
{
	struct email_limit l;
	bool conflict;
	int rc;

	*worth_prompting = false;
	do
		rc = issue_once(s, hmac, now, expires, &l, &conflict);
	while (conflict && su_store_may_retry(s->store));
	if (rc == 1)
		*worth_prompting = email_limited(s, now, &l);
	return rc == 2 ? 1 : rc;
}

/* The mail did not go out: take the code and the send back, so that the
 * user is not told to type a code that never arrived, nor made to wait. */
static int withdraw_email_code(struct stepup *s, const char *hmac, time_t sent_at)
{
	int rc = SU_CONFLICT;

	while (rc == SU_CONFLICT) {
		su_state_txn *txn = NULL;
		su_kv *state;

		rc = su_state_begin(s->store, s->user, &txn, &state);
		if (rc == SU_OK)
			rc = su_email_withdraw(&s->log, su_state_name(txn), state, hmac, sent_at) == 0 ?
				     su_state_commit(txn) : SU_ERR;
		su_state_end(txn);
		if (rc == SU_CONFLICT && !su_store_may_retry(s->store))
			rc = SU_ERR;
	}
	return rc == SU_OK ? 0 : -1;
}

static void email_send_failed(struct stepup *s, const su_smtp_result *res)
{
	su_audit(s->pamh, &s->who, email_name(), "error", "email-not-sent");
	su_flow_say_error(s, "Could not send the code by email: %s.",
			  su_smtp_status_text(res->status));
	if (s->usable & SU_METHOD_TOTP)
		su_flow_say_error(s, "Use your authenticator app instead.");
}

/* Send the code whose HMAC was issued; withdraw it if the mail fails. */
static int deliver_email_code(struct stepup *s, const char *code, const char *hmac,
			      time_t now, time_t expires)
{
	su_email_context ctx = {s->who.user, s->who.service, s->who.tty, s->who.rhost,
				s->who.command, s->runas};
	su_smtp_result res = {0};

	if (su_email_send_code(&s->log, &s->settings, s->address, &ctx, code, now,
			       expires, &res) != 0) {
		email_send_failed(s, &res);
		return withdraw_email_code(s, hmac, now);
	}
	s->email_delivered = true;
	su_audit(s->pamh, &s->who, email_name(), "sent", "code-sent");
	if (!s->silent)
		su_conv_info(s->pamh, "A code was sent to %s. It expires in %u minutes.",
			     s->masked, (s->settings.email_code_ttl + 59) / 60);
	return 0;
}

/* Make, record and send a new email code. True when a prompt is worth
 * showing: the code went out, or one sent earlier is still valid.
 * *failed: a store or crypto error (the caller stops). */
static bool send_email_code(struct stepup *s, bool *failed)
{
	char code[SU_EMAIL_CODE_MAX + 1], hmac[SU_HMAC_HEX];
	time_t now = time(NULL);
	time_t expires = now + (time_t)s->settings.email_code_ttl;
	bool worth_prompting = false;
	int rc = -1;

	s->email_requested = true;
	if (su_flow_need_hostkey(s) == 0 &&
	    su_email_new_code(s->settings.email_code_length, code, sizeof(code)) == 0 &&
	    su_email_code_hmac(s->hostkey, s->user, code, hmac) == 0)
		rc = issue_email_code(s, hmac, now, expires, &worth_prompting);
	if (rc == 0) {
		rc = deliver_email_code(s, code, hmac, now, expires);
		worth_prompting = s->email_delivered;
	}
	*failed = rc < 0;
	su_erase(code, sizeof(code));
	su_erase(hmac, sizeof(hmac));
	return worth_prompting;
}

/* The prompt offers email while it can still be asked for in this call. */
bool su_flow_offers_email(const struct stepup *s)
{
	return (s->usable & SU_METHOD_EMAIL) && !s->email_requested;
}

/* An empty answer, or the word "email", asks for an email code. */
bool su_flow_asks_for_email(const struct stepup *s, const char *answer)
{
	char word[8];
	bool asks;
	int n;

	if (!(s->usable & SU_METHOD_EMAIL))
		return false;
	n = su_normalise_code(answer, word, sizeof(word));
	asks = n == 0 || (n == 5 && strcmp(word, "EMAIL") == 0);
	su_erase(word, sizeof(word)); /* may hold the start of a code */
	return asks;
}

/* An answer that asks for an email: a code is sent once per call. */
enum outcome su_flow_email_request(struct stepup *s)
{
	const struct method *email = su_flow_method(SU_METHOD_EMAIL);
	bool failed = false;

	if (s->email_requested)
		return su_flow_refuse(s, email, "no-answer", s->email_delivered ?
				      "A code was already sent by email; enter it." :
				      "No new code can be sent by email now.");
	send_email_code(s, &failed);
	if (s->locked_until != 0)
		return su_flow_locked_out(s, "locked-out");
	return failed ? su_flow_unavailable(s, email) : OUTCOME_EMAILED;
}

/* A user whose only usable method with a prompt is email gets the code
 * at once (after a security key, when there is one, was not used). False
 * when there is nothing worth prompting for (the send failed, or the rate
 * limit holds and no earlier code is valid).
 * Not when someone else runs the call (su USER by another user, with a
 * stack that reaches this module before the password was checked): each
 * call would void the user's pending code and spend their hourly quota.
 * That caller is offered "press Enter" like anyone, and only on purpose
 * can spend a send. */
bool su_flow_email_first(struct stepup *s, enum outcome *o)
{
	bool failed = false;

	if (su_flow_prompted(s) != SU_METHOD_EMAIL || !su_flow_caller_is_user(s))
		return true;
	if (send_email_code(s, &failed))
		return true;
	*o = s->locked_until != 0 ? su_flow_locked_out(s, "locked-out") :
	     failed ? su_flow_unavailable(s, su_flow_method(SU_METHOD_EMAIL)) : OUTCOME_RETRY;
	return false;
}
