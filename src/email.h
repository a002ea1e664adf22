/* The email method (docs/design.md, "Email"): codes, what the user's state
 * keeps of them, the rate limits, and the two messages we send.
 *
 * Record key: email_address.
 * State keys (all written inside the user's state transaction):
 *   email_code_hmac      HMAC (host key) of the pending code, lower-case hex
 *   email_code_expires   Unix time after which it is refused as expired
 *   email_code_attempts  wrong answers against it so far
 *   email_code_used      1 once accepted (kept to say "already used")
 *   email_code_host      the host that issued it (a fleet shares state:
 *                        another host neither matches nor spends it)
 *   email_sent           Unix times of the sends in the last hour,
 *                        comma-separated, oldest first
 * A new code replaces all email_code_* keys, so a newer code voids the
 * older one. Only the HMAC is stored: the state file is not a list of
 * valid codes even for someone who can read it. */
#ifndef SU_EMAIL_H
#define SU_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include "config.h"
#include "hostkey.h"
#include "kv.h"
#include "log.h"
#include "smtp.h"

#define SU_EMAIL_CODE_MIN 6
#define SU_EMAIL_CODE_MAX 10
/* Wrong answers a pending code survives; then it is void. */
#define SU_EMAIL_CODE_MAX_ATTEMPTS 5

bool su_email_enrolled(const su_kv *record);
/* The enrolled address, or NULL. */
const char *su_email_address(const su_kv *record);
/* Enrol address (replacing any other): 0, or -1 when su_mail_address_ok
 * refuses it (record untouched) or out of memory. */
int su_email_set_address(su_kv *record, const char *address);
/* Remove the email method's keys (email_*) from a record. */
void su_email_remove(su_kv *record);

/* A code of digits (SU_EMAIL_CODE_MIN..MAX) decimal digits from RAND_bytes,
 * each digit by rejection sampling (bytes >= 250 are drawn again) so no
 * digit is likelier than another. out_size > digits. 0 or -1. */
int su_email_new_code(unsigned digits, char *out, size_t out_size);

/* True if code (normalised) is exactly `digits` decimal digits. */
bool su_email_code_shaped(const char *code, unsigned digits);

/* HMAC of ("email-code", user, code) under the host key, as hex. */
int su_email_code_hmac(const unsigned char key[SU_HOSTKEY_BYTES],
		       const char *user, const char *code, char out[SU_HMAC_HEX]);

/* May another code be sent at now? SU_EMAIL_ALLOWED, or which limit holds
 * and *retry_at, the first second at which a send will be allowed.
 * -1 (logged with path, line and key) if email_sent is malformed. */
enum su_email_limit {
	SU_EMAIL_ALLOWED,
	SU_EMAIL_TOO_SOON,     /* email_min_interval since the last send */
	SU_EMAIL_HOURLY_LIMIT, /* email_max_per_hour sends in the last hour */
};
int su_email_rate_check(const su_log *log, const char *path, const su_kv *state,
			const su_settings *settings, time_t now,
			enum su_email_limit *limit, time_t *retry_at);

/* How many sends of email_sent fall in the hour before now (for stepupctl
 * status). 0 or -1 (logged) if email_sent is malformed. */
int su_email_sends_last_hour(const su_log *log, const char *path,
			     const su_kv *state, time_t now, unsigned *count);

/* Put a new pending code in state: its HMAC and expiry, attempts 0, not
 * used; append now to email_sent and drop sends older than an hour.
 * 0 or -1 (out of memory, or email_sent malformed: logged). */
int su_email_issue(const su_log *log, const char *path, su_kv *state,
		   const char *hmac_hex, time_t now, time_t expires);

/* Undo su_email_issue after the mail could not be sent: the code goes if
 * it is still the pending one (hmac_hex), and the send at sent_at no longer
 * counts against the limits, so the user is neither told to type a code
 * that never arrived nor made to wait for one. 0 or -1 (logged). */
int su_email_withdraw(const su_log *log, const char *path, su_kv *state,
		      const char *hmac_hex, time_t sent_at);

/* Judge an answer's HMAC against the pending code, changing state:
 * a match of a live code marks it used; a wrong answer counts an attempt
 * and voids the code at SU_EMAIL_CODE_MAX_ATTEMPTS. The comparison is in
 * constant time. -1 (logged) if the email keys of state are malformed. */
enum su_email_verdict {
	SU_EMAIL_NO_CODE,  /* nothing pending (never sent, or voided) */
	SU_EMAIL_MATCH,    /* accepted: state now marks it used */
	SU_EMAIL_WRONG,    /* does not match (attempt counted) */
	SU_EMAIL_EXPIRED,  /* matches, but past its expiry */
	SU_EMAIL_USED,     /* matches a code already accepted */
	SU_EMAIL_VOIDED,   /* wrong, and that was the last attempt allowed */
};
int su_email_judge(const su_log *log, const char *path, su_kv *state,
		   const char *hmac_hex, time_t now, enum su_email_verdict *out);

/* True if state holds a code that is neither used, voided nor expired at
 * now; *expires (if not NULL) gets its expiry. Malformed keys: false. */
bool su_email_pending(const su_kv *state, time_t now, time_t *expires);

/* Where the request came from, for the message body. NULL fields are left
 * out. Values are shown escaped (printable ASCII only). */
typedef struct su_email_context {
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	const char *command; /* a sudo command (display form) or NULL */
	const char *runas;   /* ... and whom it runs as */
} su_email_context;

/* Compose (mail.h) and send (smtp.h) the code to address: Subject
 * "Verification code for SERVICE on HOST", a body naming the code, host,
 * service, user, tty and/or remote host, the time of the request and the
 * expiry, and "If this was not you, tell your administrator". 0 or -1;
 * res says what happened (a compose failure is SU_SMTP_LOCAL_ERROR). */
int su_email_send_code(const su_log *log, const su_settings *settings,
		       const char *address, const su_email_context *ctx,
		       const char *code, time_t now, time_t expires,
		       su_smtp_result *res);

/* The message of `stepupctl test-email USER`: says it is a test, names the
 * host and user, carries no code. 0 or -1 as above. */
int su_email_send_test(const su_log *log, const su_settings *settings,
		       const char *user, const char *address,
		       su_smtp_result *res);

#endif
