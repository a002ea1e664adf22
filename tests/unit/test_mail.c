/* Unit tests: mail text (mail.c). Addresses, the masked form, and composed
 * messages: header order, CRLF only, refusals of anything that could add a
 * header or break a line, and a Date that reads back as the time given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "mail.h"

/* 2026-11-23 12:00:00 UTC, a Monday. */
#define MONDAY_NOON 1795435200LL

/* --- addresses ---------------------------------------------------------------- */

static void address_accepts_plain_addresses(void **state)
{
	static const char *const good[] = {
		"alice@example.com", "a@b", "first.last+tag@mail.example.co.uk",
		"o'brien@example.ie", "x_y-z@example-host.com", "u@h.i",
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why[0] = '\0';
		if (!su_mail_address_ok(good[i], why, sizeof(why)))
			fail_msg("refused \"%s\": %s", good[i], why);
	}
	assert_true(su_mail_address_ok("alice@example.com", NULL, 0));
}

/* address must be refused, with a reason that has want and does not echo
 * the address back (it may come from a user's record). */
static void expect_refused(const char *address, const char *want)
{
	char why[128] = "";

	if (su_mail_address_ok(address, why, sizeof(why)))
		fail_msg("accepted \"%s\"", address ? address : "(null)");
	if (strstr(why, want) == NULL)
		fail_msg("refused \"%s\" with \"%s\", want \"%s\"", address ? address : "(null)",
			 why, want);
	if (address != NULL && address[0] != '\0' && strstr(why, address) != NULL)
		fail_msg("reason \"%s\" repeats the address", why);
	/* why may be NULL */
	assert_false(su_mail_address_ok(address, NULL, 0));
}

static void address_refuses_every_special_and_control(void **state)
{
	static const char specials[] = "<>()[],;:\"\\";
	char addr[64];

	(void)state;
	for (const char *c = specials; *c != '\0'; c++) {
		snprintf(addr, sizeof(addr), "al%cice@example.com", *c);
		expect_refused(addr, "contains one of");
		snprintf(addr, sizeof(addr), "alice@exa%cmple.com", *c);
		expect_refused(addr, "contains one of");
	}
	/* Every control character, blank and DEL, in both halves. */
	for (int c = 1; c <= 0x20; c++) {
		snprintf(addr, sizeof(addr), "al%cice@example.com", c);
		expect_refused(addr, "blank or a control character");
		snprintf(addr, sizeof(addr), "alice@example.co%cm", c);
		expect_refused(addr, "blank or a control character");
	}
	expect_refused("al\x7fice@example.com", "blank or a control character");
	expect_refused("alice@example.com\r\nBcc: eve@example.net", "blank or a control character");
	expect_refused("al\xc3\xa9ice@example.com", "non-ASCII");
	expect_refused("alice@exampl\xc3\xa9.com", "non-ASCII");
}

static void address_refuses_bad_shapes(void **state)
{
	(void)state;
	expect_refused(NULL, "empty");
	expect_refused("", "empty");
	expect_refused("alice", "exactly one '@'");
	expect_refused("alice@example.com@evil.example", "exactly one '@'");
	expect_refused("a@@example.com", "exactly one '@'");
	expect_refused("@example.com", "nothing before");
	expect_refused("alice@", "nothing after");
	expect_refused("alice@example..com", "empty label");
	expect_refused("alice@.example.com", "empty label");
	expect_refused("alice@example.com.", "empty label");
	expect_refused("alice@.", "empty label");
}

static void address_length_limit_is_254(void **state)
{
	char addr[300];
	const char *domain = "@example.com";
	size_t local;

	(void)state;
	local = 254 - strlen(domain);
	memset(addr, 'a', local);
	strcpy(addr + local, domain);
	assert_int_equal(strlen(addr), 254);
	assert_true(su_mail_address_ok(addr, NULL, 0));

	memset(addr, 'a', local + 1);
	strcpy(addr + local + 1, domain);
	assert_int_equal(strlen(addr), 255);
	expect_refused(addr, "longer than 254");
}

/* --- mask --------------------------------------------------------------------- */

static void mask_shows_first_letter_and_domain(void **state)
{
	char out[64];

	(void)state;
	su_mail_mask("alice@example.com", out, sizeof(out));
	assert_string_equal(out, "a***@example.com");
	su_mail_mask("a@b", out, sizeof(out));
	assert_string_equal(out, "a***@b");
	/* The length of the local part is not shown either. */
	su_mail_mask("averyveryverylongname@example.com", out, sizeof(out));
	assert_string_equal(out, "a***@example.com");
}

static void mask_hides_invalid_addresses_entirely(void **state)
{
	char out[64];

	(void)state;
	su_mail_mask("alice", out, sizeof(out));
	assert_string_equal(out, "***");
	su_mail_mask("alice@example.com\nBcc: x@y", out, sizeof(out));
	assert_string_equal(out, "***");
	su_mail_mask(NULL, out, sizeof(out));
	assert_string_equal(out, "***");
}

static void mask_truncates_to_the_buffer(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'X', sizeof(out));
	su_mail_mask("alice@example.com", out, sizeof(out));
	assert_string_equal(out, "a***@ex");
	su_mail_mask("alice@example.com", out, 1);
	assert_string_equal(out, "");
}

/* --- compose: helpers ----------------------------------------------------------- */

static su_mail sample(void)
{
	return (su_mail){
		.from = "stepup@example.org",
		.to = "alice@example.com",
		.subject = "Verification code for sudo on host1",
		.body = "Your code is:\n\n    12345678\n",
		.message_id_domain = "example.org",
		.date = (time_t)MONDAY_NOON,
	};
}

static char *compose_ok(const su_mail *m, size_t *len)
{
	char why[128] = "";
	char *msg = su_mail_compose(m, len, why, sizeof(why));

	if (msg == NULL)
		fail_msg("compose refused: %s", why);
	assert_int_equal(strlen(msg), *len);
	return msg;
}

static void expect_compose_refused(const su_mail *m, const char *want)
{
	char why[128] = "";
	size_t len = 99;
	char *msg = su_mail_compose(m, &len, why, sizeof(why));

	if (msg != NULL) {
		free(msg);
		fail_msg("composed a message; want a refusal with \"%s\"", want);
	}
	assert_int_equal(len, 0);
	if (strstr(why, want) == NULL)
		fail_msg("refused with \"%s\", want \"%s\"", why, want);
}

/* The value of header name (up to CRLF) into out; false if absent. */
static bool header(const char *msg, const char *name, char *out, size_t size)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t nlen = strlen(name);

	for (const char *p = msg; p != NULL && p < end; p = strstr(p, "\r\n")) {
		if (p != msg)
			p += 2;
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':' && p[nlen + 1] == ' ') {
			size_t vlen = strcspn(p + nlen + 2, "\r\n");
			snprintf(out, size, "%.*s", (int)vlen, p + nlen + 2);
			return true;
		}
	}
	return false;
}

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

/* --- compose ------------------------------------------------------------------- */

static void compose_headers_in_order(void **state)
{
	static const char *const names[] = {
		"Date", "Message-ID", "From", "To", "Subject", "MIME-Version",
		"Content-Type", "Content-Transfer-Encoding",
	};
	su_mail m = sample();
	const char *p;
	size_t len;
	char *msg, value[256];

	(void)state;
	msg = compose_ok(&m, &len);
	p = msg;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (strncmp(p, names[i], n) != 0 || p[n] != ':')
			fail_msg("header %zu is \"%.20s\", want %s", i, p, names[i]);
		p = strstr(p, "\r\n");
		assert_non_null(p);
		p += 2;
	}
	assert_memory_equal(p, "\r\n", 2); /* then the blank line */
	assert_true(header(msg, "From", value, sizeof(value)));
	assert_string_equal(value, "stepup@example.org");
	assert_true(header(msg, "To", value, sizeof(value)));
	assert_string_equal(value, "alice@example.com");
	assert_true(header(msg, "Subject", value, sizeof(value)));
	assert_string_equal(value, "Verification code for sudo on host1");
	assert_true(header(msg, "MIME-Version", value, sizeof(value)));
	assert_string_equal(value, "1.0");
	assert_true(header(msg, "Content-Type", value, sizeof(value)));
	assert_string_equal(value, "text/plain; charset=us-ascii");
	assert_true(header(msg, "Content-Transfer-Encoding", value, sizeof(value)));
	assert_string_equal(value, "7bit");
	free(msg);
}

static void compose_uses_crlf_only(void **state)
{
	su_mail m = sample();
	size_t len;
	char *msg;

	(void)state;
	m.body = "line one\nline two\n\n.a line with a leading dot\nlast line without newline";
	msg = compose_ok(&m, &len);
	for (size_t i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			fail_msg("bare LF at offset %zu", i);
		if (msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n'))
			fail_msg("bare CR at offset %zu", i);
	}
	/* The body, converted, ending with CRLF; the leading dot untouched
	 * (libcurl dot-stuffs on the wire). */
	assert_string_equal(strstr(msg, "\r\n\r\n") + 4,
			    "line one\r\nline two\r\n\r\n.a line with a leading dot\r\n"
			    "last line without newline\r\n");
	free(msg);
}

static void compose_body_ending_in_newline_gets_no_extra_line(void **state)
{
	su_mail m = sample();
	size_t len;
	char *msg;

	(void)state;
	msg = compose_ok(&m, &len);
	assert_string_equal(strstr(msg, "\r\n\r\n") + 4, "Your code is:\r\n\r\n    12345678\r\n");
	free(msg);
	m.body = "";
	msg = compose_ok(&m, &len);
	assert_string_equal(strstr(msg, "\r\n\r\n") + 4, "");
	free(msg);
}

static void compose_refuses_line_breaks_in_headers(void **state)
{
	su_mail m;

	(void)state;
	m = sample();
	m.from = "stepup@example.org\r\nBcc: eve@example.net";
	expect_compose_refused(&m, "From contains a line break");
	m = sample();
	m.to = "alice@example.com\nBcc: eve@example.net";
	expect_compose_refused(&m, "To contains a line break");
	m = sample();
	m.subject = "hello\rBcc: eve@example.net";
	expect_compose_refused(&m, "Subject contains a line break");
	m = sample();
	m.subject = "hello\nworld";
	expect_compose_refused(&m, "Subject contains a line break");
	m = sample();
	m.subject = "tab\there";
	expect_compose_refused(&m, "Subject contains a control");
	m = sample();
	m.subject = "caf\xc3\xa9";
	expect_compose_refused(&m, "Subject contains a control or non-ASCII");
	m = sample();
	m.message_id_domain = "example.org>\r\nX: y";
	expect_compose_refused(&m, "Message-ID domain contains a line break");
}

static void compose_refuses_bad_addresses_and_fields(void **state)
{
	su_mail m;

	(void)state;
	m = sample();
	m.to = "alice";
	expect_compose_refused(&m, "To: expected exactly one '@'");
	m = sample();
	m.from = "Step Up <stepup@example.org>";
	expect_compose_refused(&m, "From: address contains a blank");
	m = sample();
	m.to = NULL;
	expect_compose_refused(&m, "no To");
	m = sample();
	m.body = NULL;
	expect_compose_refused(&m, "no body");
	m = sample();
	m.message_id_domain = "";
	expect_compose_refused(&m, "Message-ID domain");
	m = sample();
	m.message_id_domain = "a b";
	expect_compose_refused(&m, "Message-ID domain");
}

static void compose_refuses_non_ascii_body(void **state)
{
	su_mail m = sample();

	(void)state;
	m.body = "Your code is 1234\nvoil\xc3\xa0\n";
	expect_compose_refused(&m, "body line 2 has a byte that is not printable ASCII");
	m.body = "tab\tinside\n";
	expect_compose_refused(&m, "body line 1 has a byte");
	m.body = "dos\r\nline ends\n";
	expect_compose_refused(&m, "body line 1 has a byte");
	m.body = "escape \x1b[31m\n";
	expect_compose_refused(&m, "not printable ASCII");
	m.body = "del \x7f\n";
	expect_compose_refused(&m, "not printable ASCII");
}

static void compose_line_length_limit_is_998(void **state)
{
	su_mail m = sample();
	char body[1200], subject[1000];
	size_t len;
	char *msg;

	(void)state;
	memset(body, 'x', 998);
	strcpy(body + 998, "\nshort\n");
	m.body = body;
	msg = compose_ok(&m, &len);
	free(msg);

	memset(body, 'x', 999);
	strcpy(body + 999, "\n");
	expect_compose_refused(&m, "body line 1 is longer than 998 bytes");
	strcpy(body, "ok\n");
	memset(body + 3, 'y', 999);
	body[3 + 999] = '\0'; /* the last line, without a newline */
	expect_compose_refused(&m, "body line 2 is longer than 998 bytes");

	m = sample();
	memset(subject, 's', 998 - strlen("Subject: "));
	subject[998 - strlen("Subject: ")] = '\0';
	m.subject = subject;
	msg = compose_ok(&m, &len);
	free(msg);
	subject[998 - strlen("Subject: ")] = 's';
	subject[998 - strlen("Subject: ") + 1] = '\0';
	expect_compose_refused(&m, "Subject longer");
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Parse an RFC 5322 date as we write it back into a Unix time. */
static long long parse_date(const char *value)
{
	char wday[4], mon[4], sign;
	int mday, year, hh, mm, ss, zone, month = -1, n = 0;
	struct tm tm = {0};
	long long t;

	if (sscanf(value, "%3s %2d %3s %4d %2d:%2d:%2d %c%4d%n", wday, &mday, mon, &year,
		   &hh, &mm, &ss, &sign, &zone, &n) != 9 || value[n] != '\0')
		fail_msg("Date \"%s\" does not parse", value);
	assert_int_equal(strlen(wday), 3);
	assert_true(wday[3] == '\0');
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, month_names[i]) == 0)
			month = i;
	assert_true(month >= 0);
	assert_true(sign == '+' || sign == '-');
	tm.tm_year = year - 1900;
	tm.tm_mon = month;
	tm.tm_mday = mday;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = (long long)timegm(&tm);
	t -= (sign == '-' ? -1 : 1) * ((zone / 100) * 3600LL + (zone % 100) * 60LL);
	return t;
}

static void expect_date(const char *tz, long long when, const char *want)
{
	su_mail m = sample();
	char value[128], wday_comma[8];
	size_t len;
	char *msg;

	set_tz(tz);
	m.date = (time_t)when;
	msg = compose_ok(&m, &len);
	assert_true(header(msg, "Date", value, sizeof(value)));
	free(msg);
	assert_string_equal(value, want);
	/* "Mon," : the day name is followed by a comma. */
	snprintf(wday_comma, sizeof(wday_comma), "%.4s", value);
	assert_int_equal(wday_comma[3], ',');
	value[3] = ' ';
	assert_int_equal(parse_date(value), when);
}

static void compose_date_reads_back_in_every_zone(void **state)
{
	const char *saved = getenv("TZ");
	char *old = saved ? strdup(saved) : NULL;

	(void)state;
	expect_date("UTC0", MONDAY_NOON, "Mon, 23 Nov 2026 12:00:00 +0000");
	expect_date("EST5", MONDAY_NOON, "Mon, 23 Nov 2026 07:00:00 -0500");
	expect_date("IST-5:30", MONDAY_NOON, "Mon, 23 Nov 2026 17:30:00 +0530");
	expect_date("NST3:30", MONDAY_NOON, "Mon, 23 Nov 2026 08:30:00 -0330");
	expect_date("UTC0", 0, "Thu, 01 Jan 1970 00:00:00 +0000");
	expect_date("UTC0", 951782400LL, "Tue, 29 Feb 2000 00:00:00 +0000");
	expect_date("EST5", 0, "Wed, 31 Dec 1969 19:00:00 -0500");
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
}

static void compose_message_id_is_random_and_well_formed(void **state)
{
	su_mail m = sample();
	char a[128], b[128];
	size_t len;
	char *msg;

	(void)state;
	msg = compose_ok(&m, &len);
	assert_true(header(msg, "Message-ID", a, sizeof(a)));
	free(msg);
	msg = compose_ok(&m, &len);
	assert_true(header(msg, "Message-ID", b, sizeof(b)));
	free(msg);
	assert_string_not_equal(a, b);
	/* <32 lower-case hex digits@example.org> */
	assert_int_equal(strlen(a), 1 + 32 + 1 + strlen("example.org") + 1);
	assert_int_equal(a[0], '<');
	assert_int_equal(strspn(a + 1, "0123456789abcdef"), 32);
	assert_string_equal(a + 33, "@example.org>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_accepts_plain_addresses),
		cmocka_unit_test(address_refuses_every_special_and_control),
		cmocka_unit_test(address_refuses_bad_shapes),
		cmocka_unit_test(address_length_limit_is_254),
		cmocka_unit_test(mask_shows_first_letter_and_domain),
		cmocka_unit_test(mask_hides_invalid_addresses_entirely),
		cmocka_unit_test(mask_truncates_to_the_buffer),
		cmocka_unit_test(compose_headers_in_order),
		cmocka_unit_test(compose_uses_crlf_only),
		cmocka_unit_test(compose_body_ending_in_newline_gets_no_extra_line),
		cmocka_unit_test(compose_refuses_line_breaks_in_headers),
		cmocka_unit_test(compose_refuses_bad_addresses_and_fields),
		cmocka_unit_test(compose_refuses_non_ascii_body),
		cmocka_unit_test(compose_line_length_limit_is_998),
		cmocka_unit_test(compose_date_reads_back_in_every_zone),
		cmocka_unit_test(compose_message_id_is_random_and_well_formed),
	};

	return cmocka_run_group_tests_name("mail", tests, NULL, NULL);
}
