/* Mail text: addresses, the masked form users see, and RFC 5322 messages.
 * Pure functions with no I/O, so every rule here has a unit test. */
#ifndef SU_MAIL_H
#define SU_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define SU_MAIL_ADDRESS_MAX 254 /* RFC 5321 path limit */

/* One bare address (local@domain) that is safe in a header and in the SMTP
 * envelope: exactly one '@' with text on both sides, no blank, no control
 * character, none of <>()[],;:"\ , at most SU_MAIL_ADDRESS_MAX bytes, a
 * domain with no empty label. On failure why (if not NULL) says what is
 * wrong without repeating the address. */
bool su_mail_address_ok(const char *address, char *why, size_t why_size);

/* "alice@example.com" -> "a***@example.com" (what a user is shown: enough
 * to recognise their mailbox, not enough to learn someone else's). */
void su_mail_mask(const char *address, char *out, size_t out_size);

/* A message to compose. body is plain text with '\n' line ends, printable
 * ASCII otherwise; the header values must not contain CR or LF. */
typedef struct su_mail {
	const char *from;
	const char *to;
	const char *subject;
	const char *body;
	const char *message_id_domain; /* right of '@' in Message-ID */
	time_t date;
} su_mail;

/* The whole message with CRLF line ends: Date (RFC 5322, numeric zone,
 * English names whatever the locale), Message-ID (<128 random bits in
 * hex@domain>), From, To, Subject, MIME-Version, Content-Type text/plain
 * us-ascii, a blank line, the body. NULL with why set if a header value
 * holds CR or LF (or another control character), the body holds a byte
 * that is not printable ASCII, a line would exceed 998 bytes, or memory
 * or randomness fail. *len gets the length. Free with free(). */
char *su_mail_compose(const su_mail *mail, size_t *len, char *why,
		      size_t why_size);

#endif
