/* The step-up flow (DESIGN.md "The step-up flow"): who, which rule, whether
 * enrolled, then prompt and verify. The result starts as a failure and
 * becomes PAM_SUCCESS in exactly two places: a code accepted and durably
 * recorded, or a rule that lets a user who is not enrolled through. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modutil.h>
#include "audit.h"
#include "config.h"
#include "conv.h"
#include "email.h"
#include "grace.h"
#include "hostkey.h"
#include "lockout.h"
#include "mail.h"
#include "recovery.h"
#include "secret.h"
#include "stepup.h"
#include "store.h"
#include "totp.h"
#include "userdb.h"
#include "util.h"

#define ANSWER_MAX 64 /* longer answers are not codes: refused unparsed */

enum verdict {
	VERDICT_ACCEPTED,
	VERDICT_WRONG,     /* well-formed, does not match */
	VERDICT_REPLAYED,  /* matched a code that was already used */
	VERDICT_EXPIRED,   /* matched an emailed code past its expiry */
	VERDICT_VOIDED,    /* wrong, and the emailed code is now void */
	VERDICT_MALFORMED, /* not the shape of any accepted code */
	VERDICT_LOCKED,    /* the user is locked out: not judged */
	VERDICT_ERROR,     /* store or crypto failure: fail closed */
};

/* Everything one pam_authenticate call knows. */
struct stepup {
	pam_handle_t *pamh;
	su_log log;
	bool silent;
	const char *user;
	const char *service;
	su_audit_who who;
	su_settings settings;
	su_store *store;
	su_kv record;
	su_totp totp;
	unsigned usable;     /* methods enrolled and accepted by the rule */
	const char *offered; /* the method the prompt asks for, for the log */
	unsigned char hostkey[SU_HOSTKEY_BYTES];
	bool have_hostkey;
	su_file_id hostkey_id; /* the version of the file it came from */
	const char *address; /* enrolled email address (in record) */
	char masked[SU_MAIL_ADDRESS_MAX + 1]; /* a***@example.com */
	bool email_requested; /* one email per call: a second Enter is a try */
	bool email_delivered; /* ... and the mail went out */
	bool have_uid;        /* NSS knows the user: uid is theirs */
	uid_t uid;
	unsigned accepted;    /* the method whose answer was accepted */
	time_t locked_until;  /* set when a lockout is found or imposed */
	unsigned recovery_left; /* after a recovery code was accepted */
	su_pwent pw;          /* the user's entry and its strings */
	/* identity = ruser from the real uid: a copy, since pw is reused by
	 * the next lookup (a name looked up from inside the buffer the lookup
	 * overwrites matched the first passwd line: root). */
	char caller_name[SU_USER_MAX + 1];
};

/* A method the flow can offer: whether a user is enrolled, and the judge
 * of an answer. */
struct method {
	enum su_method id;
	const char *name;
	bool (*enrolled)(const su_kv *record);
	/* Judges code against state, inside the attempt's transaction (txn
	 * names it in messages), changing state as an accepted or refused
	 * answer must. */
	enum verdict (*check)(struct stepup *s, const char *code, su_state_txn *txn,
			      su_kv *state);
};

static enum verdict totp_check(struct stepup *s, const char *code, su_state_txn *txn,
			       su_kv *state);
static enum verdict email_check(struct stepup *s, const char *code, su_state_txn *txn,
				su_kv *state);
static enum verdict recovery_check(struct stepup *s, const char *code, su_state_txn *txn,
				   su_kv *state);

static const struct method methods[] = {
	{SU_METHOD_TOTP, "totp", su_totp_enrolled, totp_check},
	{SU_METHOD_EMAIL, "email", su_email_enrolled, email_check},
	{SU_METHOD_RECOVERY, "recovery", su_recovery_enrolled, recovery_check},
};

static void say_error(struct stepup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say_error(struct stepup *s, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	if (s->silent)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	su_conv_error(s->pamh, "%s", text);
}

/* Inside a state transaction: whether the user is locked out now (a
 * concurrent attempt may have locked them since the prompt was shown).
 * -1: malformed state. */
static int locked_now(struct stepup *s, su_state_txn *txn, const su_kv *state)
{
	return su_lockout_locked(&s->log, su_state_name(txn), state, time(NULL),
				 &s->locked_until);
}

/* A TOTP code: the step it matches must be later than the last one used.
 * The state keeps the start time of the step in seconds, not its index:
 * a re-enrolment with another period then keeps every second that an
 * accepted code covered used, with no conversion. */
static enum verdict totp_check(struct stepup *s, const char *code, su_state_txn *txn,
			       su_kv *state)
{
	uint64_t step = 0, last = 0, start;
	int rc;

	if (!su_totp_code_shaped(&s->totp, code))
		return VERDICT_MALFORMED;
	rc = su_totp_verify(&s->totp, code, time(NULL), s->settings.totp_window, &step);
	if (rc < 0)
		return VERDICT_ERROR;
	if (rc == 0)
		return VERDICT_WRONG;
	if (step > UINT64_MAX / s->totp.period)
		return VERDICT_ERROR;
	start = step * s->totp.period;
	if (su_kv_get_u64(&s->log, su_state_name(txn), state, "totp_last_time", 0,
			  UINT64_MAX, &last) < 0)
		return VERDICT_ERROR;
	if (start <= last)
		return VERDICT_REPLAYED;
	return su_kv_set_u64(state, "totp_last_time", start) == 0 ? VERDICT_ACCEPTED :
								    VERDICT_ERROR;
}

/* The host key, read once per call and only when a method needs it. */
static int need_hostkey(struct stepup *s)
{
	if (s->have_hostkey)
		return 0;
	if (su_hostkey_load_id(&s->log, s->settings.hostkey, s->hostkey, &s->hostkey_id) !=
	    SU_OK)
		return -1;
	s->have_hostkey = true;
	return 0;
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

/* An emailed code: a match marks it used and a miss counts against it,
 * in the attempt's one write. */
static enum verdict email_check(struct stepup *s, const char *code, su_state_txn *txn,
				su_kv *state)
{
	enum su_email_verdict ev = SU_EMAIL_NO_CODE;
	enum verdict v = VERDICT_ERROR;
	char hmac[SU_HMAC_HEX];

	if (!su_email_code_shaped(code, s->settings.email_code_length))
		return VERDICT_MALFORMED;
	if (su_email_code_hmac(s->hostkey, s->user, code, hmac) == 0 &&
	    su_email_judge(&s->log, su_state_name(txn), state, hmac, time(NULL), &ev) == 0)
		v = email_verdict(ev);
	su_erase(hmac, sizeof(hmac));
	return v;
}

/* Code index of the set in before is still there, the same, in now. */
static bool same_recovery_code(const su_kv *before, const su_kv *now, unsigned index)
{
	char key[32];
	const char *a, *b;

	snprintf(key, sizeof(key), "recovery_%u", index);
	a = su_kv_get(before, key);
	b = su_kv_get(now, key);
	return a != NULL && b != NULL && strcmp(a, b) == 0 &&
	       su_kv_get(before, "recovery_set") != NULL && su_kv_get(now, "recovery_set") != NULL &&
	       strcmp(su_kv_get(before, "recovery_set"), su_kv_get(now, "recovery_set")) == 0;
}

/* A recovery code: which one it is (up to SU_RECOVERY_COUNT_MAX HMACs),
 * then whether the record still holds that code and the state has not
 * used it, so 16 concurrent attempts with one code give one success. */
static enum verdict recovery_check(struct stepup *s, const char *code, su_state_txn *txn,
				   su_kv *state)
{
	enum verdict v = VERDICT_ERROR;
	char canon[SU_RECOVERY_CHARS + 1];
	unsigned index = 0, total = 0;
	bool was_used = false;
	char *name = NULL;
	su_kv now = {0};

	if (!su_recovery_canonical(&s->record, code, canon))
		return VERDICT_MALFORMED;
	name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	if (name == NULL ||
	    su_recovery_match(&s->log, name, s->hostkey, s->user, &s->record, canon, &index) != 0)
		goto out;
	if (index == 0) {
		v = VERDICT_WRONG;
		goto out;
	}
	/* The record as it is now, under the lock: new codes made while the
	 * prompt waited void the set this answer matched. */
	if (su_store_load_user(s->store, s->user, &now) != SU_OK)
		goto out;
	if (!same_recovery_code(&s->record, &now, index)) {
		v = VERDICT_WRONG;
		goto out;
	}
	if (su_recovery_use(&s->log, su_state_name(txn), &now, state, index, &was_used) != 0)
		goto out;
	if (was_used) {
		v = VERDICT_REPLAYED;
		goto out;
	}
	if (su_recovery_left(&s->log, name, &now, state, &s->recovery_left, &total) != 0)
		goto out;
	v = VERDICT_ACCEPTED;
out:
	su_kv_free(&now);
	su_erase(canon, sizeof(canon));
	free(name);
	return v;
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
	enum su_email_limit limit = l->limit;
	time_t retry_at = l->retry_at;
	bool pending = l->pending;
	char when[32] = "";
	struct tm tm;

	su_audit(s->pamh, &s->who, "email", "failure",
		 limit == SU_EMAIL_TOO_SOON ? "email-too-soon" : "email-hourly-limit");
	if (limit == SU_EMAIL_TOO_SOON) {
		say_error(s, pending ?
			  "A code was sent to %s a moment ago and is still valid; enter "
			  "it, or ask for a new one in %lld seconds." :
			  "A code was sent to %s a moment ago; you can ask for a new "
			  "one in %lld seconds.", s->masked, (long long)(retry_at - now));
		return pending;
	}
	if (localtime_r(&retry_at, &tm) == NULL || strftime(when, sizeof(when), "%H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "in %lld seconds", (long long)(retry_at - now));
	say_error(s, "Too many codes were sent to %s in the last hour; you can ask "
		  "for a new one at %s.%s", s->masked, when,
		  pending ? " The last code sent is still valid." : "");
	return pending;
}

/* Under the state lock: check the rate limits, then store the new code's
 * HMAC and the send time. The mail goes out after the lock is released,
 * so a slow mail server never holds up another attempt. 0: issued; 1: a
 * limit holds (the user was told); -1: error. */
static int issue_email_code(struct stepup *s, const char *hmac, time_t now,
			    time_t expires, bool *worth_prompting)
{
	struct email_limit l = {SU_EMAIL_ALLOWED, 0, false};
	su_state_txn *txn = NULL;
	su_kv *state;
	int rc = -1;

	*worth_prompting = false;
	if (su_state_begin(s->store, s->user, &txn, &state) != SU_OK)
		goto out;
	/* A prompt opened before a lock sends nothing after it. */
	switch (locked_now(s, txn, state)) {
	case 0: break;
	case 1: rc = 2; /* fall through */
	default: goto out;
	}
	if (su_email_rate_check(&s->log, su_state_name(txn), state, &s->settings, now,
				&l.limit, &l.retry_at) != 0)
		goto out;
	if (l.limit != SU_EMAIL_ALLOWED) {
		l.pending = su_email_pending(state, now, NULL);
		rc = 1;
		goto out;
	}
	if (su_email_issue(&s->log, su_state_name(txn), state, hmac, now, expires) != 0 ||
	    su_state_commit(txn) != SU_OK)
		goto out;
	rc = 0;
out:
	su_state_end(txn);
	if (rc == 1)
		*worth_prompting = email_limited(s, now, &l);
	if (rc == 2)
		rc = 1; /* s->locked_until says why; the caller tells */
	return rc;
}

/* The mail did not go out: take the code and the send back, so that the
 * user is not told to type a code that never arrived, nor made to wait. */
static int withdraw_email_code(struct stepup *s, const char *hmac, time_t sent_at)
{
	su_state_txn *txn = NULL;
	su_kv *state;
	int rc = -1;

	if (su_state_begin(s->store, s->user, &txn, &state) == SU_OK &&
	    su_email_withdraw(&s->log, su_state_name(txn), state, hmac, sent_at) == 0 &&
	    su_state_commit(txn) == SU_OK)
		rc = 0;
	su_state_end(txn);
	return rc;
}

static void email_send_failed(struct stepup *s, const su_smtp_result *res)
{
	su_audit(s->pamh, &s->who, "email", "error", "email-not-sent");
	say_error(s, "Could not send the code by email: %s.",
		  su_smtp_status_text(res->status));
	if (s->usable & SU_METHOD_TOTP)
		say_error(s, "Use your authenticator app instead.");
}

/* Send the code whose HMAC was issued; withdraw it if the mail fails. */
static int deliver_email_code(struct stepup *s, const char *code, const char *hmac,
			      time_t now, time_t expires)
{
	su_email_context ctx = {s->who.user, s->who.service, s->who.tty, s->who.rhost};
	su_smtp_result res = {0};

	if (su_email_send_code(&s->log, &s->settings, s->address, &ctx, code, now,
			       expires, &res) != 0) {
		email_send_failed(s, &res);
		return withdraw_email_code(s, hmac, now);
	}
	s->email_delivered = true;
	su_audit(s->pamh, &s->who, "email", "sent", "code-sent");
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
	if (need_hostkey(s) == 0 &&
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

static unsigned enrolled_methods(const struct stepup *s)
{
	unsigned bits = 0;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].enrolled(&s->record))
			bits |= methods[i].id;
	return bits;
}

static int load_settings(struct stepup *s, const su_args *args)
{
	const char *path = args->config_path ? args->config_path : SU_DEFAULT_CONFIG;
	int rc;

	/* A relative path would be resolved in the caller's working directory. */
	if (path[0] != '/')
		return su_fail(&s->log, "module argument 'config=%s': not an absolute path", path);
	rc = su_config_load(&s->log, path, s->service, &s->settings);

	if (rc == SU_NOTFOUND && args->config_path != NULL)
		return su_fail(&s->log, "%s: config file does not exist", path);
	if (rc == SU_NOTFOUND) {
		su_debug(&s->log, "%s does not exist; using built-in defaults", path);
		rc = su_settings_defaults(&s->settings);
	}
	if (rc != SU_OK)
		return -1;
	for (int i = 0; i < args->override_count; i++)
		if (su_settings_apply_arg(&s->log, &s->settings, args->overrides[i]) != 0)
			return -1;
	s->log.debug = s->log.debug || s->settings.debug;
	return 0;
}

static int not_enrolled(struct stepup *s)
{
	if (s->settings.missing == SU_MISSING_ALLOW) {
		su_audit(s->pamh, &s->who, NULL, "allow", "not-enrolled");
		return PAM_SUCCESS;
	}
	su_audit(s->pamh, &s->who, NULL, "deny", "not-enrolled");
	if (!s->silent)
		su_conv_error(s->pamh,
			      "Step-up authentication is required for %s, but %s is not "
			      "enrolled. Ask an administrator to run: stepupctl enroll %s totp",
			      s->service, s->user, s->user);
	return PAM_AUTH_ERR;
}

/* The enrolled address, checked as stepupctl checked it when enrolling:
 * it goes into a mail header and the SMTP envelope. */
static int load_email(struct stepup *s)
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

static int load_user(struct stepup *s)
{
	int rc = su_store_open(&s->log, &s->settings, &s->store);

	s->usable = 0;
	if (rc == SU_OK)
		rc = su_store_load_user(s->store, s->user, &s->record);
	if (rc != SU_OK)
		return rc;
	s->usable = enrolled_methods(s) & s->settings.methods;
	if (s->usable & SU_METHOD_TOTP) {
		char *name = su_store_name(s->store, s->user, SU_STORE_RECORD);
		rc = name && su_totp_load(&s->log, name, &s->record, &s->totp) == 0 ?
			SU_OK : SU_ERR;
		free(name);
	}
	if (rc == SU_OK && (s->usable & SU_METHOD_EMAIL))
		rc = load_email(s);
	return rc;
}

/* How telling a refusal is: the most specific one is reported. */
static int verdict_rank(enum verdict v)
{
	switch (v) {
	case VERDICT_MALFORMED: return 0;
	case VERDICT_WRONG: return 1;
	case VERDICT_VOIDED: return 2;
	case VERDICT_EXPIRED: return 3;
	case VERDICT_REPLAYED: return 4;
	case VERDICT_ACCEPTED:
	case VERDICT_LOCKED:
	case VERDICT_ERROR: break;
	}
	return 5;
}

/* Judge one answer against every usable method. An answer may have the
 * shape of more than one (an 8-digit TOTP code and an 8-digit email
 * code): the first that accepts it wins, an error stops at once, and
 * otherwise the most specific refusal is reported. code NULL: an answer
 * that is no code at all. */
static enum verdict judge(struct stepup *s, const char *code, su_state_txn *txn,
			  su_kv *state, const char **method_name)
{
	enum verdict best = VERDICT_MALFORMED;

	*method_name = s->offered;
	for (size_t i = 0; code != NULL && i < sizeof(methods) / sizeof(methods[0]); i++) {
		enum verdict v;
		if (!(s->usable & methods[i].id))
			continue;
		v = methods[i].check(s, code, txn, state);
		if (v == VERDICT_MALFORMED)
			continue;
		if (v == VERDICT_ACCEPTED || v == VERDICT_ERROR) {
			*method_name = methods[i].name;
			return v;
		}
		if (verdict_rank(v) > verdict_rank(best)) {
			best = v;
			*method_name = methods[i].name;
		}
	}
	return best;
}

/* What one attempt came to, once its write is durable. */
struct attempt_result {
	enum verdict verdict;
	const char *method;
	time_t locked_until; /* this attempt's failure locked the user out */
	bool counted;        /* VERDICT_ERROR: the failure was written all the same */
};

/* The host key is read before an attempt, never inside it: a missing
 * key must not count every answer as a failure. */
static int prepare_attempt(struct stepup *s)
{
	return (s->usable & (SU_METHOD_EMAIL | SU_METHOD_RECOVERY)) ? need_hostkey(s) : 0;
}

/* One answer, judged and counted in one state write, by the rules at the
 * top of statefile.c: the failure is counted and kept as the fallback
 * before the answer is judged; the judgement then changes the state (a
 * success clears the tally) and exactly one slot is written, whatever the
 * outcome. Nothing is said here: the caller speaks once this returns. */
static void judge_and_record(struct stepup *s, const char *code, struct attempt_result *r)
{
	su_lockout_rule rule = {s->settings.lockout_attempts, s->settings.lockout_time};
	su_state_txn *txn = NULL;
	su_kv *state;
	time_t until = 0;

	*r = (struct attempt_result){VERDICT_ERROR, s->offered, 0, false};
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
	r->verdict = judge(s, code, txn, state, &r->method);
	if (r->verdict == VERDICT_ACCEPTED)
		su_lockout_clear(state);
	if (r->verdict == VERDICT_ERROR || su_state_commit(txn) != SU_OK) {
		r->verdict = VERDICT_ERROR;
		r->counted = su_state_commit_armed(txn) == SU_OK;
	}
	if (r->verdict != VERDICT_ACCEPTED && (r->verdict != VERDICT_ERROR || r->counted))
		r->locked_until = until;
out:
	su_state_end(txn);
}

static const char *reason_of(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPTED: return "code-accepted";
	case VERDICT_WRONG: return "wrong-code";
	case VERDICT_REPLAYED: return "replayed-code";
	case VERDICT_MALFORMED: return "malformed-code";
	case VERDICT_EXPIRED: return "expired-code";
	case VERDICT_VOIDED: return "too-many-wrong-codes";
	case VERDICT_LOCKED: return "locked-out";
	case VERDICT_ERROR: break;
	}
	return "store-error";
}

enum outcome {
	OUTCOME_ACCEPTED,
	OUTCOME_RETRY,      /* a wrong or malformed answer: ask again */
	OUTCOME_EMAILED,    /* the answer asked for an email: ask again, free */
	OUTCOME_CONV_ENDED, /* no answer could be had (EOF, Ctrl-C) */
	OUTCOME_LOCKED,     /* locked out (now or by a concurrent attempt) */
	OUTCOME_ERROR,      /* store or crypto failure: stop */
};

/* Log and tell the user about one bad answer. */
static enum outcome refuse_answer(struct stepup *s, const char *method,
				  const char *reason, const char *message)
{
	su_audit(s->pamh, &s->who, method, "failure", reason);
	say_error(s, "%s", message);
	return OUTCOME_RETRY;
}

static enum outcome unavailable(struct stepup *s, const char *method)
{
	su_audit(s->pamh, &s->who, method, "error", "store-error");
	say_error(s, "Step-up authentication is unavailable; see the system log.");
	return OUTCOME_ERROR;
}

/* Tell the user and the log that the user is locked out. */
static enum outcome locked_out(struct stepup *s, const char *reason)
{
	char when[32], until[24];

	snprintf(until, sizeof(until), "%lld", (long long)s->locked_until);
	su_audit_extra(s->pamh, &s->who, NULL, "deny", reason, "locked_until", until);
	say_error(s, "Too many failed attempts: step-up authentication for %s is locked "
		  "until %s. An administrator can unlock it with 'stepupctl unlock %s'.",
		  s->user, su_local_time(s->locked_until, time(NULL), when, sizeof(when)),
		  s->user);
	return OUTCOME_LOCKED;
}

/* A lock ends every grace period the user has: the grace path does not
 * read the state, so a record earned before the lockout must not outlive
 * it (docs/decisions.md, "Lockout"). */
static void end_grace(struct stepup *s)
{
	unsigned removed = 0;

	if (su_grace_revoke(&s->log, s->settings.grace_dir, s->user, &removed) != SU_OK)
		su_logf(&s->log, LOG_ERR, "lockout of %s: its grace records could not all be "
			"revoked (%u were); revoke them: stepupctl grace revoke %s", s->user,
			removed, s->user);
	else if (removed > 0)
		su_logf(&s->log, LOG_NOTICE, "lockout of %s: %u grace record(s) revoked",
			s->user, removed);
}

/* The prompt offers email while it can still be asked for in this call. */
static bool offers_email(const struct stepup *s)
{
	return (s->usable & SU_METHOD_EMAIL) && !s->email_requested;
}

/* An empty answer, or the word "email", asks for an email code. */
static bool asks_for_email(const struct stepup *s, const char *answer)
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

static enum outcome on_email_request(struct stepup *s)
{
	bool failed = false;

	if (s->email_requested)
		return refuse_answer(s, "email", "no-answer", s->email_delivered ?
				     "A code was already sent by email; enter it." :
				     "No new code can be sent by email now.");
	send_email_code(s, &failed);
	if (s->locked_until != 0)
		return locked_out(s, "locked-out");
	return failed ? unavailable(s, "email") : OUTCOME_EMAILED;
}

static enum outcome judged_refusal(struct stepup *s, enum verdict v, const char *method);

/* After a recovery code: how many are left, and what to do at none. */
static void recovery_accepted(struct stepup *s)
{
	if (s->silent)
		return;
	if (s->recovery_left == 0)
		su_conv_info(s->pamh, "Recovery code accepted. That was your last one: ask an "
			     "administrator for new codes (stepupctl recovery %s).", s->user);
	else
		su_conv_info(s->pamh, "Recovery code accepted. %u recovery code%s left.",
			     s->recovery_left, s->recovery_left == 1 ? "" : "s");
}

/* An attempt's outcome said and logged; its write is already durable. */
static enum outcome judged(struct stepup *s, const struct attempt_result *r)
{
	char left[16];

	if (r->locked_until != 0) {
		s->locked_until = r->locked_until;
		end_grace(s);
	}
	switch (r->verdict) {
	case VERDICT_ACCEPTED:
		if (strcmp(r->method, "recovery") == 0) {
			snprintf(left, sizeof(left), "%u", s->recovery_left);
			su_audit_extra(s->pamh, &s->who, r->method, "success", reason_of(r->verdict),
				       "recovery_left", left);
			recovery_accepted(s);
		} else {
			su_audit(s->pamh, &s->who, r->method, "success", reason_of(r->verdict));
		}
		su_parse_methods(r->method, &s->accepted);
		return OUTCOME_ACCEPTED;
	case VERDICT_ERROR:
		return unavailable(s, r->method);
	case VERDICT_LOCKED:
		return locked_out(s, "locked-out");
	default:
		judged_refusal(s, r->verdict, r->method);
		return r->locked_until != 0 ? locked_out(s, "lockout") : OUTCOME_RETRY;
	}
}

static enum outcome judged_refusal(struct stepup *s, enum verdict v, const char *method)
{
	/* Only an app's code has a next one to wait for. */
	bool totp = method != NULL && strcmp(method, "totp") == 0;

	switch (v) {
	case VERDICT_REPLAYED:
		return refuse_answer(s, method, reason_of(v), totp ?
				     "That code has already been used. Wait for the next one." :
				     "That code has already been used.");
	case VERDICT_EXPIRED:
		return refuse_answer(s, method, reason_of(v),
				     "That code has expired. Ask for a new one.");
	case VERDICT_VOIDED:
		return refuse_answer(s, method, reason_of(v),
				     "Invalid verification code. Too many wrong codes: "
				     "the code sent by email is void; ask for a new one.");
	default:
		break;
	}
	return refuse_answer(s, method, reason_of(v), "Invalid verification code.");
}

/* One prompt and its answer. */
static enum outcome attempt(struct stepup *s)
{
	char prompt[SU_MAIL_ADDRESS_MAX + 80] = "Verification code: ";
	char code[ANSWER_MAX + 1];
	struct attempt_result r;
	char *answer = NULL;
	int rc;

	if (offers_email(s))
		snprintf(prompt, sizeof(prompt), "Verification code (press Enter to get "
			 "a code by email to %s): ", s->masked);
	rc = su_conv_ask_secret(s->pamh, prompt, &answer);
	/* The user decides how long the prompt waits: what was found safe
	 * before it is checked again after it. */
	su_dir_memo_begin();
	if (rc != PAM_SUCCESS || answer == NULL) {
		su_free_string(answer);
		return OUTCOME_CONV_ENDED;
	}
	if (asks_for_email(s, answer)) {
		su_free_string(answer);
		return on_email_request(s);
	}
	rc = answer[0] == '\0' ? 0 : su_normalise_code(answer, code, sizeof(code));
	su_free_string(answer);
	if (rc == 0) {
		su_erase(code, sizeof(code));
		return refuse_answer(s, s->offered, "no-answer", "No code entered.");
	}
	judge_and_record(s, rc > 0 ? code : NULL, &r);
	su_erase(code, sizeof(code));
	return judged(s, &r);
}

/* The real uid is root or the user's own. */
static bool caller_is_user(const struct stepup *s)
{
	uid_t caller = getuid();

	return caller == 0 || (s->have_uid && s->uid == caller);
}

/* A user whose only usable method is email gets the code at once. False
 * when there is nothing worth prompting for (the send failed, or the rate
 * limit holds and no earlier code is valid).
 * Not when someone else runs the call (su USER by another user, with a
 * stack that reaches this module before the password was checked): each
 * call would void the user's pending code and spend their hourly quota.
 * That caller is offered "press Enter" like anyone, and only on purpose
 * can spend a send. */
static bool email_first(struct stepup *s, enum outcome *o)
{
	bool failed = false;

	if (s->usable != SU_METHOD_EMAIL || !caller_is_user(s))
		return true;
	if (send_email_code(s, &failed))
		return true;
	*o = s->locked_until != 0 ? locked_out(s, "locked-out") :
	     failed ? unavailable(s, "email") : OUTCOME_RETRY;
	return false;
}

static int prompt_and_verify(struct stepup *s)
{
	enum outcome o = OUTCOME_RETRY;
	unsigned tries = 0;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (s->usable & methods[i].id) {
			s->offered = methods[i].name;
			break;
		}
	}
	/* Each failed call costs a guesser this long (libpam randomises it and
	 * applies the longest any module asked for), as pam_unix does. */
	if (s->settings.fail_delay > 0)
		pam_fail_delay(s->pamh, s->settings.fail_delay * 1000000u);
	if (!s->silent)
		su_conv_info(s->pamh, "Step-up authentication required for %s.", s->service);
	/* Asking for an email costs no try; it can happen once per call
	 * (email_requested), so the loop is bounded by tries + 1 prompts. */
	if (email_first(s, &o)) {
		while (tries < s->settings.tries &&
		       (o == OUTCOME_RETRY || o == OUTCOME_EMAILED)) {
			o = attempt(s);
			if (o != OUTCOME_EMAILED)
				tries++;
		}
	}
	if (o == OUTCOME_ACCEPTED)
		return PAM_SUCCESS;
	/* Each answer was logged; this line is the outcome of the step-up,
	 * however it ended, so that one line per failure can be alerted on. */
	su_audit(s->pamh, &s->who, s->offered, o == OUTCOME_ERROR ? "error" : "failure",
		 o == OUTCOME_CONV_ENDED ? "conversation-ended" :
		 o == OUTCOME_ERROR ? "store-error" :
		 o == OUTCOME_LOCKED ? "locked-out" :
		 tries == 0 ? "email-not-sent" : "tries-exhausted");
	return o == OUTCOME_CONV_ENDED ? PAM_CONV_ERR : PAM_AUTH_ERR;
}

/* lookup_user's answer when the user database could not say (a directory
 * down, an I/O error): the user is neither known nor unknown. */
#define USERDB_ERROR (-2)

/* The user database, without pam_modutil_getpw*: those keep every result
 * in the PAM handle under a fresh name, so a handle used for many calls
 * (a screen locker, a daemon) grows and slows each lookup. One entry per
 * call is all the flow needs; it lives in s. 0 with *pw (NULL: no such
 * user), or USERDB_ERROR, logged with the user and the error. */
static int lookup_user(struct stepup *s, const char *name, uid_t uid, bool by_uid,
		       const struct passwd **pw)
{
	int err = by_uid ? su_userdb_uid(&s->pw, uid, pw) : su_userdb_name(&s->pw, name, pw);

	if (err == 0)
		return 0;
	if (by_uid)
		su_logf(&s->log, LOG_ERR, "cannot look up uid %u in the user database: %s",
			(unsigned)uid, strerror(err));
	else
		su_logf(&s->log, LOG_ERR, "cannot look up user '%s' in the user database: %s",
			name, strerror(err));
	return USERDB_ERROR;
}

/* Records are keyed by the account's name as NSS spells it: "ALICE" or
 * "alice@corp" resolving to alice must find alice's record, not slip
 * through as a user who is not enrolled. A name NSS does not know is
 * used as given (it can own no session to protect); a name NSS cannot
 * answer for is USERDB_ERROR, since it may be an enrolled user's alias. */
static int canonical_user(struct stepup *s)
{
	const struct passwd *pw;

	if (!su_valid_username(s->user))
		return -1;
	if (lookup_user(s, s->user, 0, false, &pw) != 0)
		return USERDB_ERROR;
	s->have_uid = pw != NULL;
	s->uid = pw != NULL ? pw->pw_uid : 0;
	if (pw == NULL || strcmp(pw->pw_name, s->user) == 0)
		return 0;
	if (!su_valid_username(pw->pw_name))
		return -1;
	su_debug(&s->log, "user '%s' is '%s' in the user database", s->user, pw->pw_name);
	s->user = pw->pw_name;
	s->who.user = pw->pw_name;
	return 0;
}

/* identity = ruser: the person at the keyboard, not the account they ask
 * for (su - : PAM_USER is root). PAM_RUSER as the application set it, or
 * the real uid's user (a setuid program's caller) when it is empty. */
static int who_steps_up(struct stepup *s)
{
	const void *ruser = NULL;
	const struct passwd *pw;

	if (s->settings.identity != SU_IDENTITY_RUSER)
		return 0;
	if (pam_get_item(s->pamh, PAM_RUSER, &ruser) == PAM_SUCCESS && ruser != NULL &&
	    ((const char *)ruser)[0] != '\0') {
		s->user = ruser;
	} else {
		if (lookup_user(s, NULL, getuid(), true, &pw) != 0)
			return USERDB_ERROR;
		if (pw == NULL)
			return su_fail(&s->log, "identity=ruser: no PAM_RUSER and no user "
				       "for uid %u", (unsigned)getuid());
		if (strlen(pw->pw_name) >= sizeof(s->caller_name))
			return su_fail(&s->log, "identity=ruser: the name of uid %u is too long",
				       (unsigned)getuid());
		strcpy(s->caller_name, pw->pw_name);
		s->user = s->caller_name;
	}
	s->who.user = s->user;
	return 0;
}

/* Members of an exempt group are never asked (DESIGN.md exempt_groups). */
static bool exempt(struct stepup *s)
{
	const char *g = s->settings.exempt_groups;
	char group[257];

	while (g != NULL && *g != '\0') {
		size_t len = strcspn(g, ",");
		if (len < sizeof(group)) {
			memcpy(group, g, len);
			group[len] = '\0';
			if (pam_modutil_user_in_group_nam_nam(s->pamh, s->user, group))
				return true;
		}
		g += len + (g[len] == ',');
	}
	return false;
}

/* The grace record of this user and session, earned in this service or
 * one its rule's grace_from names, if any: checked before the user's
 * record is even read, so the grace path costs the config, the host key
 * and (grace_from unset) one small file. Any trouble means no grace: the
 * user is asked. */
static bool in_grace(struct stepup *s, su_grace_here *here)
{
	su_grace_want want = {s->user, s->uid, here, s->who.rhost ? s->who.rhost : "",
			      time(NULL), s->settings.grace,
			      s->settings.methods, s->who.service, s->settings.grace_from};
	unsigned method = 0;
	char name[32];

	if (s->settings.grace == 0 || !s->have_uid || su_grace_here_now(&s->log, here) != 0)
		return false;
	if (su_grace_check_seen(&s->log, s->settings.grace_dir, s->settings.hostkey, &want,
				&method) != SU_OK &&
	    (need_hostkey(s) != 0 ||
	     su_grace_check(&s->log, s->settings.grace_dir, s->hostkey, &s->hostkey_id, &want,
			    &method) != SU_OK))
		return false;
	su_audit(s->pamh, &s->who, su_methods_str(method, name, sizeof(name)), "success",
		 "grace");
	return true;
}

/* A success is remembered for the session (not when no binding exists). */
static void remember(struct stepup *s, const su_grace_here *here)
{
	su_grace_want want = {s->user, s->uid, here, s->who.rhost ? s->who.rhost : "",
			      time(NULL), s->settings.grace,
			      s->settings.methods, s->who.service, s->settings.grace_from};

	if (s->settings.grace == 0 || !s->have_uid || here->binding[0] == '\0' ||
	    s->accepted == 0 || need_hostkey(s) != 0)
		return;
	su_grace_write(&s->log, s->settings.grace_dir, s->hostkey, &want, s->accepted);
}

/* DESIGN.md step 3: a locked-out user is told until when and refused
 * without a prompt. Read without the lock (every judgement checks again
 * under it). 1: locked; 0: not; -1: the state cannot be read. */
static int lockout_before_prompt(struct stepup *s)
{
	su_kv state = {0};
	char *name;
	int rc = su_state_peek(s->store, s->user, &state);

	if (rc == SU_NOTFOUND)
		return 0;
	if (rc != SU_OK)
		return -1;
	name = su_store_name(s->store, s->user, SU_STORE_STATE);
	rc = name == NULL ? -1 : su_lockout_locked(&s->log, name, &state, time(NULL),
						   &s->locked_until);
	free(name);
	su_kv_free(&state);
	if (rc == 1) {
		locked_out(s, "locked-out");
		if (s->settings.fail_delay > 0)
			pam_fail_delay(s->pamh, s->settings.fail_delay * 1000000u);
	}
	return rc;
}

/* After the grace check: the user's record, then the prompts. */
static int prompt_if_enrolled(struct stepup *s, const su_grace_here *here)
{
	int rc = load_user(s);

	if (rc == SU_ERR) {
		su_audit(s->pamh, &s->who, NULL, "error", "store-error");
		say_error(s, "Step-up authentication is unavailable; see the system log.");
		return PAM_AUTH_ERR;
	}
	if (rc == SU_NOTFOUND || s->usable == 0)
		return not_enrolled(s);
	switch (lockout_before_prompt(s)) {
	case 0: break;
	case 1: return PAM_AUTH_ERR;
	default:
		unavailable(s, NULL);
		return PAM_AUTH_ERR;
	}
	rc = prompt_and_verify(s);
	if (rc == PAM_SUCCESS)
		remember(s, here);
	return rc;
}

static int run(struct stepup *s, const su_args *args)
{
	su_grace_here here = {{0}, {0}};
	int rc;

	if (load_settings(s, args) != 0) {
		su_audit(s->pamh, &s->who, NULL, "error", "config-error");
		return PAM_SERVICE_ERR;
	}
	rc = who_steps_up(s);
	if (rc == 0)
		rc = canonical_user(s);
	if (rc == USERDB_ERROR) {
		su_audit(s->pamh, &s->who, NULL, "error", "userdb-unavailable");
		say_error(s, "Step-up authentication is unavailable; see the system log.");
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (rc != 0) {
		su_audit(s->pamh, &s->who, NULL, "error", "invalid-user");
		return PAM_AUTH_ERR;
	}
	if (exempt(s)) {
		su_audit(s->pamh, &s->who, NULL, "allow", "exempt-group");
		return PAM_SUCCESS;
	}
	if (in_grace(s, &here))
		return PAM_SUCCESS;
	/* liboath only from here: the grace path has no use for it. */
	if (su_totp_init() != 0) {
		su_logf(&s->log, LOG_ERR, "cannot initialise liboath");
		su_audit(s->pamh, &s->who, NULL, "error", "liboath");
		return PAM_SERVICE_ERR;
	}
	rc = prompt_if_enrolled(s, &here);
	su_totp_done();
	return rc;
}

static void stepup_free(struct stepup *s)
{
	su_erase(s->hostkey, sizeof(s->hostkey));
	su_totp_clear(&s->totp);
	su_kv_free(&s->record);
	su_pwent_free(&s->pw);
	su_store_close(s->store);
	su_settings_free(&s->settings);
}

int su_stepup_authenticate(pam_handle_t *pamh, const su_args *args)
{
	struct stepup s = {0};
	int rc;

	s.pamh = pamh;
	s.log = (su_log){.pamh = pamh, .debug = args->debug != 0};
	s.silent = (args->flags & PAM_SILENT) != 0;
	if (geteuid() != 0) {
		su_logf(&s.log, LOG_ERR, "refusing to run: effective uid is %u, not 0",
			(unsigned)geteuid());
		return PAM_AUTHINFO_UNAVAIL;
	}
	rc = pam_get_user(pamh, &s.user, NULL);
	if (rc != PAM_SUCCESS || s.user == NULL) {
		su_logf(&s.log, LOG_ERR, "cannot determine the user: %s", pam_strerror(pamh, rc));
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	su_audit_who_from_pam(pamh, s.user, &s.who);
	s.service = s.who.service ? s.who.service : "this action";
	su_dir_memo_begin();
	rc = run(&s, args);
	su_dir_memo_end();
	stepup_free(&s);
	return rc;
}
