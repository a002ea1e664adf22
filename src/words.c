/* What the user is told and what the log says about a step-up: one place
 * for the words of every refusal, so that the flow only decides. Every
 * message goes through the conversation (conv.c) and every log line
 * through the audit helper (audit.c); neither ever holds a code. */
#include <stdarg.h>
#include <stdio.h>
#include "conv.h"
#include "flow.h"
#include "grace.h"

void su_flow_say_error(struct stepup *s, const char *fmt, ...)
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

const char *su_flow_name(const struct method *m)
{
	return m != NULL ? m->name : NULL;
}

/* The log's reason= for a verdict. */
const char *su_flow_reason(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPTED: return "code-accepted";
	case VERDICT_WRONG: return "wrong-code";
	case VERDICT_REPLAYED: return "replayed-code";
	case VERDICT_MALFORMED: return "malformed-code";
	case VERDICT_EXPIRED: return "expired-code";
	case VERDICT_VOIDED: return "too-many-wrong-codes";
	case VERDICT_LOCKED: return "locked-out";
	case VERDICT_BAD_SIGNATURE: return "bad-signature";
	case VERDICT_NO_PRESENCE: return "no-user-presence";
	case VERDICT_NO_PIN: return "no-user-verification";
	case VERDICT_CLONED: return "counter-backwards";
	case VERDICT_ERROR: break;
	}
	return "store-error";
}

/* Log and tell the user about one bad answer. */
enum outcome su_flow_refuse(struct stepup *s, const struct method *m, const char *reason,
			    const char *message)
{
	su_audit(s->pamh, &s->who, su_flow_name(m), "failure", reason);
	su_flow_say_error(s, "%s", message);
	return OUTCOME_RETRY;
}

/* A refused answer, in the most telling words its verdict allows. */
enum outcome su_flow_refused(struct stepup *s, enum verdict v, const struct method *m)
{
	const char *reason = su_flow_reason(v);

	switch (v) {
	case VERDICT_REPLAYED:
		return su_flow_refuse(s, m, reason, m != NULL ? m->replayed_words :
				      "That code has already been used.");
	case VERDICT_EXPIRED:
		return su_flow_refuse(s, m, reason, "That code has expired. Ask for a new one.");
	case VERDICT_VOIDED:
		return su_flow_refuse(s, m, reason,
				      "Invalid verification code. Too many wrong codes: "
				      "the code sent by email is void; ask for a new one.");
	case VERDICT_BAD_SIGNATURE:
		return su_flow_refuse(s, m, reason, "Security key refused: the signature "
				      "does not verify.");
	case VERDICT_NO_PRESENCE:
		return su_flow_refuse(s, m, reason, "Security key refused: it was not "
				      "touched (a key made with no-touch-required cannot step up).");
	case VERDICT_NO_PIN:
		return su_flow_refuse(s, m, reason, "Security key refused: a PIN is "
				      "required (a key made with verify-required).");
	case VERDICT_CLONED:
		return su_flow_refuse(s, m, reason, "Security key refused: its signature "
				      "counter went backwards; see the system log.");
	default:
		return su_flow_refuse(s, m, reason, "Invalid verification code.");
	}
}

enum outcome su_flow_unavailable(struct stepup *s, const struct method *m)
{
	su_audit(s->pamh, &s->who, su_flow_name(m), "error", "store-error");
	su_flow_say_error(s, "Step-up authentication is unavailable; see the system log.");
	return OUTCOME_ERROR;
}

/* Tell the user and the log that the user is locked out. */
enum outcome su_flow_locked_out(struct stepup *s, const char *reason)
{
	char when[32], until[24];

	snprintf(until, sizeof(until), "%lld", (long long)s->locked_until);
	su_audit_extra(s->pamh, &s->who, NULL, "deny", reason, "locked_until", until);
	su_flow_say_error(s, "Too many failed attempts: step-up authentication for %s is "
			  "locked until %s. An administrator can unlock it with 'stepupctl "
			  "unlock %s'.", s->user,
			  su_local_time(s->locked_until, time(NULL), when, sizeof(when)), s->user);
	return OUTCOME_LOCKED;
}

/* A lock ends every grace period the user has: the grace path does not
 * read the state, so a record earned before the lockout must not outlive
 * it (docs/decisions.md, "Lockout"). */
void su_flow_end_grace(struct stepup *s)
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
