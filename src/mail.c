/* Mail text. Everything that goes into a header or the SMTP envelope is
 * checked here, so that no value from a record, the config or a PAM item
 * can add a header, a recipient or a second message.
 *
 * Dot-stuffing: a body line that starts with '.' is left as it is.
 * libcurl doubles a leading dot of every line it uploads over SMTP (RFC
 * 5321 4.5.2) and ends the DATA itself; see curl commit 7ba07c8 "smtp:
 * Fixed non-escaping of dot character at beginning of line" and curl's
 * test 901 "SMTP with CRLF-dot-CRLF in data". Stuffing here as well would
 * put two dots in the delivered mail. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mail.h"
#include "secret.h"
#include "util.h"

#define LINE_MAX_BYTES 998 /* RFC 5322 2.1.1, without the CRLF */
#define MESSAGE_ID_RANDOM 16
#define DOMAIN_MAX 253

void su_mail_mask(const char *address, char *out, size_t out_size)
{
	if (out == NULL || out_size == 0)
		return;
	/* Only what we would send to: anything else shows no part of itself. */
	if (!su_mail_address_ok(address, NULL, 0)) {
		snprintf(out, out_size, "***");
		return;
	}
	snprintf(out, out_size, "%c***%s", address[0], strchr(address, '@'));
}

/* --- composing -------------------------------------------------------------- */

/* A header value: printable ASCII only, so it can neither end its line nor
 * carry bytes a us-ascii message must not have. */
static bool header_value_ok(const char *name, const char *value, char *why,
			    size_t size)
{
	if (value == NULL)
		return su_why(why, size, "no %s", name);
	for (const char *p = value; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\r' || c == '\n')
			return su_why(why, size, "%s contains a line break", name);
		if (c < ' ' || c > '~')
			return su_why(why, size,
					"%s contains a control or non-ASCII character", name);
	}
	return true;
}

static bool headers_ok(const su_mail *m, char *why, size_t size)
{
	char reason[128];

	if (!header_value_ok("From", m->from, why, size) ||
	    !header_value_ok("To", m->to, why, size) ||
	    !header_value_ok("Subject", m->subject, why, size) ||
	    !header_value_ok("Message-ID domain", m->message_id_domain, why, size))
		return false;
	if (!su_mail_address_ok(m->from, reason, sizeof(reason)))
		return su_why(why, size, "From: %s", reason);
	if (!su_mail_address_ok(m->to, reason, sizeof(reason)))
		return su_why(why, size, "To: %s", reason);
	if (strlen("Subject: ") + strlen(m->subject) > LINE_MAX_BYTES)
		return su_why(why, size, "Subject longer than a mail line may be");
	if (m->message_id_domain[0] == '\0' ||
	    strlen(m->message_id_domain) > DOMAIN_MAX ||
	    strpbrk(m->message_id_domain, " <>@") != NULL)
		return su_why(why, size, "Message-ID domain is not a host name");
	return true;
}

/* Check the body; count its line ends, for the CRLF it will need. */
static bool body_ok(const char *body, size_t *newlines, char *why, size_t size)
{
	size_t line = 0, n = 0;
	unsigned lineno = 1;

	for (const char *p = body; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n') {
			n++;
			lineno++;
			line = 0;
			continue;
		}
		if (c < ' ' || c > '~')
			return su_why(why, size,
					"body line %u has a byte that is not printable ASCII",
					lineno);
		if (++line > LINE_MAX_BYTES)
			return su_why(why, size, "body line %u is longer than %d bytes",
					lineno, LINE_MAX_BYTES);
	}
	*newlines = n;
	return true;
}

/* RFC 5322 3.3 with English names whatever LC_TIME says, and the zone as
 * a number (+0100), which every reader understands. */
static bool format_date(time_t t, char *out, size_t size)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	long off, abs_off;
	int n;

	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return false;
	off = tm.tm_gmtoff / 60;
	abs_off = off < 0 ? -off : off;
	n = snprintf(out, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
		     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     off < 0 ? '-' : '+', abs_off / 60, abs_off % 60);
	return n > 0 && (size_t)n < size;
}

static bool message_id(char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[MESSAGE_ID_RANDOM];

	if (size < 2 * MESSAGE_ID_RANDOM + 1 || su_random(raw, sizeof(raw)) != 0)
		return false;
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	out[2 * sizeof(raw)] = '\0';
	return true;
}

/* The header block, ending with the blank line; caller frees. */
static char *format_headers(const su_mail *m, size_t *len, char *why, size_t size)
{
	static const char fmt[] =
		"Date: %s\r\n"
		"Message-ID: <%s@%s>\r\n"
		"From: %s\r\n"
		"To: %s\r\n"
		"Subject: %s\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=us-ascii\r\n"
		"Content-Transfer-Encoding: 7bit\r\n"
		"\r\n";
	char date[64], id[2 * MESSAGE_ID_RANDOM + 1], *out;
	int n;

	if (!format_date(m->date, date, sizeof(date))) {
		su_why(why, size, "cannot format the date");
		return NULL;
	}
	if (!message_id(id, sizeof(id))) {
		su_why(why, size, "no random bytes for the Message-ID");
		return NULL;
	}
	n = snprintf(NULL, 0, fmt, date, id, m->message_id_domain, m->from, m->to,
		     m->subject);
	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL) {
		su_why(why, size, "out of memory");
		return NULL;
	}
	snprintf(out, (size_t)n + 1, fmt, date, id, m->message_id_domain, m->from,
		 m->to, m->subject);
	*len = (size_t)n;
	return out;
}

/* Copy body to out with CRLF line ends and a final CRLF; returns bytes. */
static size_t copy_body(const char *body, char *out)
{
	size_t n = 0;

	for (const char *p = body; *p != '\0'; p++) {
		if (*p == '\n')
			out[n++] = '\r';
		out[n++] = *p;
	}
	if (n > 0 && out[n - 1] != '\n') {
		out[n++] = '\r';
		out[n++] = '\n';
	}
	return n;
}

char *su_mail_compose(const su_mail *mail, size_t *len, char *why,
		      size_t why_size)
{
	char *headers = NULL, *msg = NULL;
	size_t hlen = 0, newlines = 0, blen, cap;

	*len = 0;
	if (!headers_ok(mail, why, why_size))
		return NULL;
	if (mail->body == NULL) {
		su_why(why, why_size, "no body");
		return NULL;
	}
	if (!body_ok(mail->body, &newlines, why, why_size))
		return NULL;
	headers = format_headers(mail, &hlen, why, why_size);
	if (headers == NULL)
		return NULL;
	blen = strlen(mail->body);
	/* Each '\n' gains a '\r'; a last line without one gains CRLF. */
	cap = hlen + blen + newlines + 2 + 1;
	msg = malloc(cap);
	if (msg == NULL) {
		free(headers);
		su_why(why, why_size, "out of memory");
		return NULL;
	}
	memcpy(msg, headers, hlen);
	free(headers);
	*len = hlen + copy_body(mail->body, msg + hlen);
	msg[*len] = '\0';
	return msg;
}
