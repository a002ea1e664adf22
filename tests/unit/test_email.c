/* Unit tests: the email method (email.c) and the host key (hostkey.c).
 * Expected HMACs come from an independent implementation (Python's hmac
 * module, checked against `openssl dgst -mac HMAC`), never from our code.
 * Nothing here talks to a mail server.
 *
 * The host key tests need root-owned files: they skip when not root. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture.h"
#include "config.h"
#include "email.h"
#include "hostkey.h"
#include "kv.h"
#include "safefile.h"
#include "secret.h"
#include "smtp.h"

#define PROG "test_email"
#define PATH "/var/lib/stepup/state/alice"
#define NOW 1795435200LL /* 2026-11-23 12:00:00 UTC */
#define HOUR 3600

static const su_log test_log = {.pamh = NULL, .prog = PROG, .debug = false};

/* Two HMAC-shaped values standing for two codes. */
#define HMAC_A "5c87d5683bf52cb6a9df639c2c4a2bfb527d6a5f11ca1c314160bfcd52f21d63"
#define HMAC_B "fef8b69a1989fabcbdb954b7f931cf1b5447fa60ac3b0ab1c073737755d4bf48"
#define HMAC_AB_C "c3be357a5b3bed1965015d7fedd4253d32fc19fba41f6c74bc96b2a38f4c69ff"
#define HMAC_NO_PARTS "d38b42096d80f45f826b44a9d5607de72496a415d3f4a1a8c88e3bb9da8dc1cb"
#define HMAC_A_UPPER "5C87D5683BF52CB6A9DF639C2C4A2BFB527D6A5F11CA1C314160BFCD52F21D63"
/* A pending code's first lines, for the malformed-key tests. */
#define CODE_HEAD "version=1\nemail_code_hmac=" HMAC_A "\nemail_code_expires=1795435500\n"

/* --- helpers ------------------------------------------------------------------ */

static void state_from(const char *text, su_kv *kv)
{
	capture cap;
	char *msg;
	int rc;

	capture_begin(&cap);
	rc = su_kv_parse(&test_log, PATH, text, strlen(text), kv);
	msg = capture_end(&cap);
	if (rc != 0)
		fail_msg("test state does not parse: %s", msg);
	free(msg);
}

/* msg must be exactly one line "PROG: " followed by something with want. */
static void assert_one_line_with(const char *msg, const char *want)
{
	if (strncmp(msg, PROG ": ", strlen(PROG ": ")) != 0 || strstr(msg, want) == NULL)
		fail_msg("logged \"%s\", want \"%s: ...%s...\"", msg, PROG, want);
	assert_non_null(strchr(msg, '\n'));
	assert_string_equal(strchr(msg, '\n'), "\n");
}

static su_settings settings_with(unsigned min_interval, unsigned max_per_hour)
{
	su_settings s;

	assert_int_equal(su_settings_defaults(&s), 0);
	s.email_min_interval = min_interval;
	s.email_max_per_hour = max_per_hour;
	return s;
}

/* "version=1\nemail_sent=T,T,...\n" for now minus each of ago[]. */
static void sent_state(const long long *ago, size_t n, su_kv *kv)
{
	char text[8192];
	size_t off = (size_t)snprintf(text, sizeof(text), "version=1\nemail_sent=");

	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%lld",
					i ? "," : "", NOW - ago[i]);
	snprintf(text + off, sizeof(text) - off, "\n");
	state_from(text, kv);
}

static int rate(const su_kv *state, const su_settings *s, long long now,
		enum su_email_limit *limit, long long *retry_at, char **logged)
{
	time_t retry = 0;
	capture cap;
	char *msg;
	int rc;

	capture_begin(&cap);
	rc = su_email_rate_check(&test_log, PATH, state, s, (time_t)now, limit, &retry);
	msg = capture_end(&cap);
	*retry_at = (long long)retry;
	if (logged != NULL)
		*logged = msg;
	else
		free(msg);
	return rc;
}

static int judge(su_kv *state, const char *hmac, long long now,
		 enum su_email_verdict *v, char **logged)
{
	capture cap;
	char *msg;
	int rc;

	capture_begin(&cap);
	rc = su_email_judge(&test_log, PATH, state, hmac, (time_t)now, v);
	msg = capture_end(&cap);
	if (logged != NULL) {
		*logged = msg;
	} else {
		if (msg[0] != '\0')
			fail_msg("unexpected log: %s", msg);
		free(msg);
	}
	return rc;
}

static void expect_verdict(su_kv *state, const char *hmac, long long now,
			   enum su_email_verdict want)
{
	enum su_email_verdict v = (enum su_email_verdict)-1;

	assert_int_equal(judge(state, hmac, now, &v, NULL), 0);
	assert_int_equal(v, want);
}

static void issue(su_kv *state, const char *hmac, long long now, long long expires)
{
	capture cap;
	char *msg;
	int rc;

	capture_begin(&cap);
	rc = su_email_issue(&test_log, PATH, state, hmac, (time_t)now, (time_t)expires);
	msg = capture_end(&cap);
	if (rc != 0)
		fail_msg("issue failed: %s", msg);
	assert_string_equal(msg, "");
	free(msg);
}

/* --- enrolment ----------------------------------------------------------------- */

static void enrolled_by_address(void **state)
{
	su_kv rec = {0};

	(void)state;
	assert_false(su_email_enrolled(&rec));
	assert_null(su_email_address(&rec));
	state_from("version=1\nemail_address=alice@example.com\n", &rec);
	assert_true(su_email_enrolled(&rec));
	assert_string_equal(su_email_address(&rec), "alice@example.com");
	su_kv_free(&rec);
}

/* su_email_set_address writes what su_email_address reads, only for an
 * address the module would send to; su_email_remove takes the email keys
 * and nothing else. */
static void set_and_remove_address(void **state)
{
	su_kv rec = {0};

	(void)state;
	assert_int_equal(su_email_set_address(&rec, "alice@example.com"), 0);
	assert_true(su_email_enrolled(&rec));
	assert_string_equal(su_email_address(&rec), "alice@example.com");
	assert_int_equal(su_email_set_address(&rec, "bob@example.com"), 0);
	assert_string_equal(su_email_address(&rec), "bob@example.com");
	assert_int_equal(su_email_set_address(&rec, "no at sign"), -1);
	assert_int_equal(su_email_set_address(&rec, ""), -1);
	assert_string_equal(su_email_address(&rec), "bob@example.com");
	assert_int_equal(su_kv_set(&rec, "totp_secret", "GEZDGNBVGY3TQOJQ"), 0);
	su_email_remove(&rec);
	assert_false(su_email_enrolled(&rec));
	assert_string_equal(su_kv_get(&rec, "totp_secret"), "GEZDGNBVGY3TQOJQ");
	su_kv_free(&rec);
}

/* --- codes --------------------------------------------------------------------- */

static void new_code_has_the_length_asked(void **state)
{
	char code[16];

	(void)state;
	for (unsigned digits = SU_EMAIL_CODE_MIN; digits <= SU_EMAIL_CODE_MAX; digits++) {
		memset(code, 'X', sizeof(code));
		assert_int_equal(su_email_new_code(digits, code, sizeof(code)), 0);
		assert_int_equal(strlen(code), digits);
		assert_int_equal(strspn(code, "0123456789"), digits);
		assert_true(su_email_code_shaped(code, digits));
	}
}

static void new_code_refuses_bad_lengths(void **state)
{
	char code[16];

	(void)state;
	assert_int_equal(su_email_new_code(SU_EMAIL_CODE_MIN - 1, code, sizeof(code)), -1);
	assert_string_equal(code, "");
	assert_int_equal(su_email_new_code(SU_EMAIL_CODE_MAX + 1, code, sizeof(code)), -1);
	/* out_size must exceed digits: room for the NUL. */
	assert_int_equal(su_email_new_code(8, code, 8), -1);
	assert_int_equal(su_email_new_code(8, code, 9), 0);
	assert_int_equal(strlen(code), 8);
}

/* 20000 codes of 10 digits: each digit must be 10% +- 1.5%, and the
 * chi-square statistic (9 degrees of freedom) below 45 (p ~ 1e-6). The
 * modulo bias of "byte % 10" without rejection would give about 80. */
static void new_code_digits_are_uniform(void **state)
{
	enum { CODES = 20000, DIGITS = 10 };
	unsigned long count[10] = {0};
	const double total = (double)CODES * DIGITS, expected = total / 10;
	double chi2 = 0;
	char code[16];

	(void)state;
	for (int i = 0; i < CODES; i++) {
		assert_int_equal(su_email_new_code(DIGITS, code, sizeof(code)), 0);
		for (int j = 0; j < DIGITS; j++)
			count[code[j] - '0']++;
	}
	for (int d = 0; d < 10; d++) {
		double share = (double)count[d] / total;
		if (share < 0.085 || share > 0.115)
			fail_msg("digit %d is %.2f%% of all digits", d, share * 100);
		chi2 += ((double)count[d] - expected) * ((double)count[d] - expected) / expected;
	}
	if (chi2 >= 45.0)
		fail_msg("chi-square %.1f: digits are not uniform", chi2);
}

static void code_shaped(void **state)
{
	(void)state;
	assert_true(su_email_code_shaped("12345678", 8));
	assert_true(su_email_code_shaped("000000", 6));
	assert_false(su_email_code_shaped("1234567", 8));
	assert_false(su_email_code_shaped("123456789", 8));
	assert_false(su_email_code_shaped("1234567a", 8));
	assert_false(su_email_code_shaped("1234 678", 8));
	assert_false(su_email_code_shaped("+1234567", 8));
	assert_false(su_email_code_shaped("", 8));
	assert_false(su_email_code_shaped(NULL, 8));
}

/* --- HMAC ---------------------------------------------------------------------- */

/* Key 00 01 02 ... 1f. The expected values were computed with Python:
 *   m = b"".join(struct.pack(">I", len(p)) + p for p in parts)
 *   hmac.new(bytes(range(32)), m, hashlib.sha256).hexdigest()
 * and the first also with
 *   printf '\0\0\0\nemail-code\0\0\0\5alice\0\0\0\b12345678' |
 *     openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f */
static void test_key(unsigned char key[SU_HOSTKEY_BYTES])
{
	for (int i = 0; i < SU_HOSTKEY_BYTES; i++)
		key[i] = (unsigned char)i;
}

static void hmac_matches_independent_values(void **state)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	const char *ab_c[] = {"ab", "c"};
	char out[SU_HMAC_HEX];

	(void)state;
	test_key(key);
	assert_int_equal(su_email_code_hmac(key, "alice", "12345678", out), 0);
	assert_string_equal(out, HMAC_A);
	assert_int_equal(su_email_code_hmac(key, "bob", "12345678", out), 0);
	assert_string_equal(out, HMAC_B);
	assert_int_equal(su_hmac_hex(key, ab_c, 2, out), 0);
	assert_string_equal(out, HMAC_AB_C);
	assert_int_equal(su_hmac_hex(key, NULL, 0, out), 0);
	assert_string_equal(out, HMAC_NO_PARTS);
}

static void hmac_differs_per_user_code_key_and_split(void **state)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"};
	char a[SU_HMAC_HEX], b[SU_HMAC_HEX];

	(void)state;
	test_key(key);
	assert_int_equal(su_email_code_hmac(key, "alice", "12345678", a), 0);
	assert_int_equal(su_email_code_hmac(key, "alice", "12345679", b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(su_email_code_hmac(key, "alicf", "12345678", b), 0);
	assert_string_not_equal(a, b);
	/* The user and the code cannot trade characters. */
	assert_int_equal(su_email_code_hmac(key, "alice1", "2345678", b), 0);
	assert_string_not_equal(a, b);
	key[31] ^= 1;
	assert_int_equal(su_email_code_hmac(key, "alice", "12345678", b), 0);
	assert_string_not_equal(a, b);
	key[31] ^= 1;
	assert_int_equal(su_hmac_hex(key, ab_c, 2, a), 0);
	assert_int_equal(su_hmac_hex(key, a_bc, 2, b), 0);
	assert_string_not_equal(a, b);
	/* Lower-case hex, 64 digits. */
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
}

static void hmac_refuses_null_part(void **state)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	const char *parts[] = {"email-code", NULL};
	char out[SU_HMAC_HEX];

	(void)state;
	test_key(key);
	memset(out, 'x', sizeof(out));
	assert_int_equal(su_hmac_hex(key, parts, 2, out), -1);
	assert_string_equal(out, "");
}

/* --- rate limits --------------------------------------------------------------- */

static void rate_allows_first_send(void **state)
{
	su_settings s = settings_with(30, 10);
	enum su_email_limit limit = SU_EMAIL_TOO_SOON;
	long long retry;
	su_kv kv = {0};

	(void)state;
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	state_from("version=1\nemail_sent=\n", &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void rate_too_soon_until_min_interval(void **state)
{
	su_settings s = settings_with(30, 10);
	const long long ago[] = {500, 10};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	sent_state(ago, 2, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_TOO_SOON);
	assert_int_equal(retry, NOW - 10 + 30);
	/* One second before: still too soon; at retry_at: allowed. */
	assert_int_equal(rate(&kv, &s, NOW + 19, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_TOO_SOON);
	assert_int_equal(rate(&kv, &s, NOW + 20, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void rate_hourly_limit_until_oldest_is_an_hour_old(void **state)
{
	su_settings s = settings_with(30, 10);
	long long ago[10];
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	for (int i = 0; i < 10; i++)
		ago[i] = 3000 - 300 * i; /* 3000 ... 300 seconds ago */
	sent_state(ago, 10, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_HOURLY_LIMIT);
	assert_int_equal(retry, NOW - 3000 + HOUR);
	assert_int_equal(rate(&kv, &s, retry - 1, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_HOURLY_LIMIT);
	assert_int_equal(rate(&kv, &s, NOW - 3000 + HOUR, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	/* Nine sends: one more is allowed. */
	su_kv_free(&kv);
	sent_state(ago + 1, 9, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void rate_ignores_sends_older_than_an_hour(void **state)
{
	su_settings s = settings_with(30, 3);
	const long long ago[] = {7200, HOUR, HOUR, 1000, 100};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	sent_state(ago, 5, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void rate_checks_too_soon_first(void **state)
{
	su_settings s = settings_with(60, 2);
	const long long ago[] = {1000, 5};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	sent_state(ago, 2, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_TOO_SOON);
	assert_int_equal(retry, NOW - 5 + 60);
	/* Past the interval, the hourly limit still holds. */
	assert_int_equal(rate(&kv, &s, NOW + 55, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_HOURLY_LIMIT);
	assert_int_equal(retry, NOW - 1000 + HOUR);
	su_kv_free(&kv);
	su_settings_free(&s);
}

/* The limit was lowered with more sends on record than it now allows. */
static void rate_lowered_limit_waits_for_enough_to_expire(void **state)
{
	su_settings s = settings_with(0, 2);
	const long long ago[] = {3000, 2000, 1000, 500};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	sent_state(ago, 4, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_HOURLY_LIMIT);
	/* Allowed once only one send is left in the hour: 1000 s ago + 1 h. */
	assert_int_equal(retry, NOW - 1000 + HOUR);
	assert_int_equal(rate(&kv, &s, retry, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

/* A send recorded in the future (clock set back) counts as now. */
static void rate_future_send_counts_as_now(void **state)
{
	su_settings s = settings_with(30, 10);
	const long long ago[] = {-40};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	/* The clock went back 40 s since the send: it counts as now. */
	sent_state(ago, 1, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_TOO_SOON);
	assert_int_equal(retry, NOW + 30);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void rate_ignores_sends_far_in_the_future(void **state)
{
	su_settings s = settings_with(30, 1);
	const long long ago[] = {-86400, -3600 * 24 * 30};
	enum su_email_limit limit;
	long long retry;
	su_kv kv = {0};

	(void)state;
	/* Written under a clock a day or a month ahead: no limit holds on
	 * them until real time catches up. */
	sent_state(ago, 2, &kv);
	assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, NULL), 0);
	assert_int_equal(limit, SU_EMAIL_ALLOWED);
	su_kv_free(&kv);
	su_settings_free(&s);
}

static void judge_expiry_far_ahead_is_expired(void **state)
{
	su_kv kv = {0};

	(void)state;
	/* Issued under a clock a day ahead: not valid for a day and a TTL. */
	issue(&kv, HMAC_A, NOW + 86400, NOW + 86400 + 300);
	assert_false(su_email_pending(&kv, NOW, NULL));
	expect_verdict(&kv, HMAC_A, NOW, SU_EMAIL_EXPIRED);
	su_kv_free(&kv);
}

static void rate_refuses_malformed_email_sent(void **state)
{
	static const char *const bad[] = {
		"abc", "1795435000,,1795435100", "1795435000,", ",1795435000",
		"-5", " 1795435000", "1795435000 ", "0x10", "99999999999999999999",
		"1795435000;1795435100",
	};
	su_settings s = settings_with(30, 10);
	enum su_email_limit limit;
	long long retry;
	char text[256], *msg;
	su_kv kv = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "version=1\nemail_code_used=0\nemail_sent=%s\n",
			 bad[i]);
		state_from(text, &kv);
		assert_int_equal(rate(&kv, &s, NOW, &limit, &retry, &msg), -1);
		assert_one_line_with(msg, PATH ":3: key 'email_sent': ");
		free(msg);
		su_kv_free(&kv);
	}
	su_settings_free(&s);
}

/* --- issue --------------------------------------------------------------------- */

static void issue_sets_a_fresh_code_and_voids_the_old(void **state)
{
	su_kv kv = {0};
	time_t expires = 0;

	(void)state;
	state_from("version=1\n"
		   "totp_last_time=1795435170\n"
		   "email_code_hmac=" HMAC_A "\n"
		   "email_code_expires=1795435300\n"
		   "email_code_attempts=3\n"
		   "email_code_used=1\n"
		   "email_sent=1795428000,1795432000,1795435100\n",
		   &kv);
	issue(&kv, HMAC_B, NOW, NOW + 300);
	assert_string_equal(su_kv_get(&kv, "email_code_hmac"), HMAC_B);
	assert_string_equal(su_kv_get(&kv, "email_code_expires"), "1795435500");
	assert_string_equal(su_kv_get(&kv, "email_code_attempts"), "0");
	assert_string_equal(su_kv_get(&kv, "email_code_used"), "0");
	/* 1795428000 is two hours old: dropped; now appended, oldest first. */
	assert_string_equal(su_kv_get(&kv, "email_sent"), "1795432000,1795435100,1795435200");
	/* Other keys are left alone. */
	assert_string_equal(su_kv_get(&kv, "totp_last_time"), "1795435170");
	assert_true(su_email_pending(&kv, NOW, &expires));
	assert_int_equal(expires, NOW + 300);
	/* The older code is void: it is now a wrong answer. */
	expect_verdict(&kv, HMAC_A, NOW + 1, SU_EMAIL_WRONG);
	expect_verdict(&kv, HMAC_B, NOW + 2, SU_EMAIL_MATCH);
	su_kv_free(&kv);
}

static void issue_keeps_email_sent_bounded(void **state)
{
	long long ago[350];
	su_kv kv = {0};
	const char *sent;
	size_t commas = 0;

	(void)state;
	for (int i = 0; i < 350; i++)
		ago[i] = 3500 - i * 10;
	sent_state(ago, 350, &kv);
	issue(&kv, HMAC_A, NOW, NOW + 300);
	sent = su_kv_get(&kv, "email_sent");
	for (const char *p = sent; *p != '\0'; p++)
		commas += *p == ',';
	assert_true(commas + 1 <= 300);
	/* The newest are kept, now last. */
	assert_string_equal(sent + strlen(sent) - strlen(",1795435200"), ",1795435200");
	su_kv_free(&kv);
}

static void issue_refuses_malformed_state_and_bad_hmac(void **state)
{
	su_kv kv = {0};
	capture cap;
	char *msg;
	int rc;

	(void)state;
	state_from("version=1\nemail_code_hmac=" HMAC_A "\nemail_sent=yesterday\n", &kv);
	capture_begin(&cap);
	rc = su_email_issue(&test_log, PATH, &kv, HMAC_B, (time_t)NOW, (time_t)(NOW + 300));
	msg = capture_end(&cap);
	assert_int_equal(rc, -1);
	assert_one_line_with(msg, PATH ":3: key 'email_sent': ");
	free(msg);
	/* Nothing was changed. */
	assert_string_equal(su_kv_get(&kv, "email_code_hmac"), HMAC_A);
	su_kv_free(&kv);

	capture_begin(&cap);
	rc = su_email_issue(&test_log, PATH, &kv, "ABCDEF", (time_t)NOW, (time_t)(NOW + 300));
	msg = capture_end(&cap);
	assert_int_equal(rc, -1);
	assert_null(su_kv_get(&kv, "email_code_hmac"));
	free(msg);
}

/* --- withdraw (a send that failed) -------------------------------------------- */

static void withdraw(su_kv *kv, const char *hmac, long long sent_at)
{
	capture cap;
	char *msg;
	int rc;

	capture_begin(&cap);
	rc = su_email_withdraw(&test_log, PATH, kv, hmac, (time_t)sent_at);
	msg = capture_end(&cap);
	if (rc != 0)
		fail_msg("withdraw failed: %s", msg);
	assert_string_equal(msg, "");
	free(msg);
}

static void withdraw_takes_back_the_code_and_the_send(void **state)
{
	const long long ago[] = {600};
	su_kv kv = {0};

	(void)state;
	sent_state(ago, 1, &kv);
	issue(&kv, HMAC_A, NOW, NOW + 300);
	assert_true(su_email_pending(&kv, NOW, NULL));
	withdraw(&kv, HMAC_A, NOW);
	assert_false(su_email_pending(&kv, NOW, NULL));
	assert_null(su_kv_get(&kv, "email_code_hmac"));
	assert_null(su_kv_get(&kv, "email_code_expires"));
	/* the earlier send still counts, ours does not */
	assert_string_equal(su_kv_get(&kv, "email_sent"), "1795434600");
	su_kv_free(&kv);

	/* the only send: the key goes */
	issue(&kv, HMAC_A, NOW, NOW + 300);
	withdraw(&kv, HMAC_A, NOW);
	assert_null(su_kv_get(&kv, "email_sent"));
	assert_int_equal(kv.count, 0);
	su_kv_free(&kv);
}

static void withdraw_keeps_a_newer_code(void **state)
{
	su_kv kv = {0};

	(void)state;
	/* Our send at NOW failed; meanwhile a concurrent call issued B. */
	issue(&kv, HMAC_A, NOW, NOW + 300);
	issue(&kv, HMAC_B, NOW + 1, NOW + 301);
	withdraw(&kv, HMAC_A, NOW);
	assert_string_equal(su_kv_get(&kv, "email_code_hmac"), HMAC_B);
	assert_true(su_email_pending(&kv, NOW + 1, NULL));
	assert_string_equal(su_kv_get(&kv, "email_sent"), "1795435201");
	su_kv_free(&kv);
}

static void withdraw_refuses_malformed_email_sent(void **state)
{
	su_kv kv = {0};
	capture cap;
	char *msg;

	(void)state;
	state_from("version=1\nemail_sent=soon\n", &kv);
	capture_begin(&cap);
	assert_int_equal(su_email_withdraw(&test_log, PATH, &kv, HMAC_A, (time_t)NOW), -1);
	msg = capture_end(&cap);
	assert_non_null(strstr(msg, PATH ":2: key 'email_sent': "));
	free(msg);
	su_kv_free(&kv);
}

/* --- judge --------------------------------------------------------------------- */

static void judge_no_code(void **state)
{
	su_kv kv = {0};

	(void)state;
	expect_verdict(&kv, HMAC_A, NOW, SU_EMAIL_NO_CODE);
	assert_int_equal(kv.count, 0); /* nothing pending, nothing counted */
	assert_false(su_email_pending(&kv, NOW, NULL));
}

static void judge_match_then_used(void **state)
{
	su_kv kv = {0};

	(void)state;
	issue(&kv, HMAC_A, NOW, NOW + 300);
	expect_verdict(&kv, HMAC_A, NOW + 10, SU_EMAIL_MATCH);
	assert_string_equal(su_kv_get(&kv, "email_code_used"), "1");
	assert_false(su_email_pending(&kv, NOW + 10, NULL));
	/* Typed again: "already used", not "no code". */
	expect_verdict(&kv, HMAC_A, NOW + 20, SU_EMAIL_USED);
	expect_verdict(&kv, HMAC_A, NOW + 20, SU_EMAIL_USED);
	su_kv_free(&kv);
}

static void judge_expired(void **state)
{
	su_kv kv = {0};

	(void)state;
	issue(&kv, HMAC_A, NOW, NOW + 300);
	expect_verdict(&kv, HMAC_A, NOW + 301, SU_EMAIL_EXPIRED);
	assert_string_equal(su_kv_get(&kv, "email_code_used"), "0");
	assert_false(su_email_pending(&kv, NOW + 301, NULL));
	/* The expiry second itself is still valid. */
	assert_true(su_email_pending(&kv, NOW + 300, NULL));
	expect_verdict(&kv, HMAC_A, NOW + 300, SU_EMAIL_MATCH);
	su_kv_free(&kv);
}

static void judge_counts_wrong_answers_and_voids_at_the_fifth(void **state)
{
	su_kv kv = {0};
	char want[16];

	(void)state;
	issue(&kv, HMAC_A, NOW, NOW + 300);
	for (int i = 1; i < SU_EMAIL_CODE_MAX_ATTEMPTS; i++) {
		expect_verdict(&kv, HMAC_B, NOW + i, SU_EMAIL_WRONG);
		snprintf(want, sizeof(want), "%d", i);
		assert_string_equal(su_kv_get(&kv, "email_code_attempts"), want);
		assert_true(su_email_pending(&kv, NOW + i, NULL));
	}
	expect_verdict(&kv, HMAC_B, NOW + 10, SU_EMAIL_VOIDED);
	assert_string_equal(su_kv_get(&kv, "email_code_attempts"), "5");
	assert_null(su_kv_get(&kv, "email_code_hmac"));
	assert_false(su_email_pending(&kv, NOW + 10, NULL));
	/* Nothing matches any more, not even the right code. */
	expect_verdict(&kv, HMAC_A, NOW + 11, SU_EMAIL_NO_CODE);
	expect_verdict(&kv, HMAC_B, NOW + 12, SU_EMAIL_NO_CODE);
	su_kv_free(&kv);
}

static void judge_right_code_after_four_wrong(void **state)
{
	su_kv kv = {0};

	(void)state;
	issue(&kv, HMAC_A, NOW, NOW + 300);
	for (int i = 1; i < SU_EMAIL_CODE_MAX_ATTEMPTS; i++)
		expect_verdict(&kv, HMAC_B, NOW + i, SU_EMAIL_WRONG);
	expect_verdict(&kv, HMAC_A, NOW + 10, SU_EMAIL_MATCH);
	su_kv_free(&kv);
}

/* A stored count already at the limit (written by an older run) is void. */
static void judge_attempts_at_limit_is_no_code(void **state)
{
	su_kv kv = {0};

	(void)state;
	state_from(CODE_HEAD "email_code_attempts=5\nemail_code_used=0\n", &kv);
	expect_verdict(&kv, HMAC_A, NOW, SU_EMAIL_NO_CODE);
	assert_false(su_email_pending(&kv, NOW, NULL));
	su_kv_free(&kv);
}

static void judge_answer_of_wrong_length_is_wrong(void **state)
{
	su_kv kv = {0};

	(void)state;
	issue(&kv, HMAC_A, NOW, NOW + 300);
	expect_verdict(&kv, "5c87d568", NOW, SU_EMAIL_WRONG);
	expect_verdict(&kv, HMAC_A "00", NOW, SU_EMAIL_WRONG);
	expect_verdict(&kv, "", NOW, SU_EMAIL_WRONG);
	assert_string_equal(su_kv_get(&kv, "email_code_attempts"), "3");
	su_kv_free(&kv);
}

static void expect_judge_malformed(const char *text, const char *want)
{
	enum su_email_verdict v;
	su_kv kv = {0};
	char *msg;

	state_from(text, &kv);
	assert_int_equal(judge(&kv, HMAC_A, NOW, &v, &msg), -1);
	assert_one_line_with(msg, want);
	free(msg);
	assert_false(su_email_pending(&kv, NOW, NULL));
	su_kv_free(&kv);
}

static void judge_refuses_malformed_keys(void **state)
{
	(void)state;
	expect_judge_malformed("version=1\nemail_code_hmac=" HMAC_A "X\n"
			       "email_code_expires=1795435500\n",
			       PATH ":2: key 'email_code_hmac': ");
	expect_judge_malformed("version=1\nemail_code_hmac=" HMAC_A_UPPER "\n"
			       "email_code_expires=1795435500\n",
			       PATH ":2: key 'email_code_hmac': ");
	expect_judge_malformed("version=1\nemail_code_hmac=" HMAC_A "\nemail_code_expires=soon\n",
			       PATH ":3: key 'email_code_expires': ");
	expect_judge_malformed("version=1\nemail_code_hmac=" HMAC_A "\n",
			       PATH ":2: key 'email_code_hmac' without 'email_code_expires'");
	expect_judge_malformed(CODE_HEAD "email_code_attempts=x\n",
			       PATH ":4: key 'email_code_attempts': ");
	expect_judge_malformed(CODE_HEAD "email_code_attempts=6\n",
			       PATH ":4: key 'email_code_attempts': ");
	expect_judge_malformed(CODE_HEAD "email_code_used=2\n",
			       PATH ":4: key 'email_code_used': ");
}

/* Without an HMAC nothing is pending, whatever the other keys hold. */
static void judge_without_hmac_is_no_code(void **state)
{
	su_kv kv = {0};

	(void)state;
	state_from("version=1\nemail_code_expires=soon\nemail_code_attempts=x\n", &kv);
	expect_verdict(&kv, HMAC_A, NOW, SU_EMAIL_NO_CODE);
	su_kv_free(&kv);
}

/* --- sending without a server ----------------------------------------------------- */

static void send_refuses_when_not_configured(void **state)
{
	su_settings s;
	su_smtp_result res;
	capture cap;
	char *msg;
	int rc;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), 0);
	assert_null(s.smtp_url);
	capture_begin(&cap);
	rc = su_email_send_code(&test_log, &s, "alice@example.com", NULL, "12345678",
				(time_t)NOW, (time_t)(NOW + 300), &res);
	msg = capture_end(&cap);
	assert_int_equal(rc, -1);
	assert_int_equal(res.status, SU_SMTP_NOT_CONFIGURED);
	assert_one_line_with(msg, "smtp_url is not set");
	assert_non_null(strstr(msg, "a***@example.com"));
	assert_null(strstr(msg, "12345678"));
	free(msg);
	assert_string_equal(su_smtp_status_text(res.status), "email is not set up on this host");
	su_settings_free(&s);
}

static void send_refuses_a_code_that_is_not_digits(void **state)
{
	su_settings s;
	su_smtp_result res;
	capture cap;
	char *msg;
	int rc;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), 0);
	capture_begin(&cap);
	rc = su_email_send_code(&test_log, &s, "alice@example.com", NULL, "1234\n5678",
				(time_t)NOW, (time_t)(NOW + 300), &res);
	msg = capture_end(&cap);
	assert_int_equal(rc, -1);
	assert_int_equal(res.status, SU_SMTP_LOCAL_ERROR);
	assert_string_equal(su_smtp_status_text(res.status), "an internal error occurred");
	free(msg);
	su_settings_free(&s);
}

/* --- host key ------------------------------------------------------------------- */

typedef struct fixture {
	char dir[PATH_MAX];
} fixture;

static int hostkey_setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	if (geteuid() != 0)
		return 0;
	safe_tmpdir_make(fx->dir, sizeof(fx->dir), "tmp-hk");
	return 0;
}

static int hostkey_teardown(void **state)
{
	fixture *fx = *state;

	tmpdir_remove(fx->dir);
	free(fx);
	return 0;
}

static void make_key_file(const char *path, const unsigned char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchown(fd, 0, 0), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static int load_logged(const char *path, unsigned char key[SU_HOSTKEY_BYTES], char **logged)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_hostkey_load(&test_log, path, key);
	*logged = capture_end(&cap);
	return rc;
}

static void hostkey_loads_32_bytes(void **state)
{
	fixture *fx = *state;
	unsigned char want[SU_HOSTKEY_BYTES], key[SU_HOSTKEY_BYTES];
	char path[PATH_MAX + 16], *msg, hmac[SU_HMAC_HEX];

	NEED_ROOT();
	test_key(want);
	snprintf(path, sizeof(path), "%s/hostkey", fx->dir);
	make_key_file(path, want, sizeof(want), 0600);
	memset(key, 0xee, sizeof(key));
	assert_int_equal(load_logged(path, key, &msg), SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_memory_equal(key, want, sizeof(key));
	assert_int_equal(su_email_code_hmac(key, "alice", "12345678", hmac), 0);
	assert_string_equal(hmac, HMAC_A);
	su_erase(key, sizeof(key));
}

static void hostkey_refuses_wrong_lengths(void **state)
{
	static const size_t lengths[] = {0, 31, 33, 64};
	fixture *fx = *state;
	unsigned char data[64], key[SU_HOSTKEY_BYTES];
	char path[PATH_MAX + 16], want[PATH_MAX + 64], *msg;

	NEED_ROOT();
	memset(data, 0x41, sizeof(data));
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		snprintf(path, sizeof(path), "%s/hostkey%zu", fx->dir, lengths[i]);
		make_key_file(path, data, lengths[i], 0600);
		memset(key, 0xee, sizeof(key));
		assert_int_equal(load_logged(path, key, &msg), SU_ERR);
		snprintf(want, sizeof(want), "%s holds %zu bytes, not 32; ", path, lengths[i]);
		assert_one_line_with(msg, want);
		free(msg);
		/* key is untouched: no partial key is ever used. */
		for (size_t j = 0; j < sizeof(key); j++)
			assert_int_equal(key[j], 0xee);
	}
}

static void hostkey_missing_says_run_init(void **state)
{
	fixture *fx = *state;
	unsigned char key[SU_HOSTKEY_BYTES];
	char path[PATH_MAX + 16], *msg;

	NEED_ROOT();
	snprintf(path, sizeof(path), "%s/absent", fx->dir);
	assert_int_equal(load_logged(path, key, &msg), SU_NOTFOUND);
	assert_one_line_with(msg, path);
	assert_non_null(strstr(msg, "run 'stepupctl init'"));
	free(msg);
}

static void hostkey_refuses_a_readable_file(void **state)
{
	fixture *fx = *state;
	unsigned char data[SU_HOSTKEY_BYTES], key[SU_HOSTKEY_BYTES];
	char path[PATH_MAX + 16], *msg;

	NEED_ROOT();
	test_key(data);
	snprintf(path, sizeof(path), "%s/readable", fx->dir);
	make_key_file(path, data, sizeof(data), 0640);
	assert_int_equal(load_logged(path, key, &msg), SU_ERR);
	assert_one_line_with(msg, "refusing ");
	assert_non_null(strstr(msg, "mode 0640"));
	free(msg);
}

/* stepupctl init's key: created once, then kept, never replaced; a file
 * of another size is refused, not overwritten. */
static void hostkey_create_makes_then_keeps(void **state)
{
	fixture *fx = *state;
	unsigned char key[SU_HOSTKEY_BYTES], again[SU_HOSTKEY_BYTES];
	unsigned char data[SU_HOSTKEY_BYTES + 1] = {0};
	enum su_hostkey_made made = SU_HOSTKEY_KEPT;
	char path[PATH_MAX + 16], want[PATH_MAX + 64], *msg;
	capture cap;
	struct stat st;
	int rc;

	NEED_ROOT();
	snprintf(path, sizeof(path), "%s/created", fx->dir);
	assert_int_equal(su_hostkey_create(&test_log, path, &made), SU_OK);
	assert_int_equal(made, SU_HOSTKEY_CREATED);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, SU_HOSTKEY_BYTES);
	assert_int_equal(load_logged(path, key, &msg), SU_OK);
	free(msg);
	assert_int_equal(su_hostkey_create(&test_log, path, &made), SU_OK);
	assert_int_equal(made, SU_HOSTKEY_KEPT);
	assert_int_equal(load_logged(path, again, &msg), SU_OK);
	free(msg);
	assert_memory_equal(key, again, sizeof(key));

	snprintf(path, sizeof(path), "%s/long", fx->dir);
	make_key_file(path, data, sizeof(data), 0600);
	capture_begin(&cap);
	rc = su_hostkey_create(&test_log, path, &made);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	snprintf(want, sizeof(want), "%s holds 33 bytes, not 32; ", path);
	assert_one_line_with(msg, want);
	free(msg);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SU_HOSTKEY_BYTES + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(enrolled_by_address),
		cmocka_unit_test(set_and_remove_address),
		cmocka_unit_test(new_code_has_the_length_asked),
		cmocka_unit_test(new_code_refuses_bad_lengths),
		cmocka_unit_test(new_code_digits_are_uniform),
		cmocka_unit_test(code_shaped),
		cmocka_unit_test(hmac_matches_independent_values),
		cmocka_unit_test(hmac_differs_per_user_code_key_and_split),
		cmocka_unit_test(hmac_refuses_null_part),
		cmocka_unit_test(rate_allows_first_send),
		cmocka_unit_test(rate_too_soon_until_min_interval),
		cmocka_unit_test(rate_hourly_limit_until_oldest_is_an_hour_old),
		cmocka_unit_test(rate_ignores_sends_older_than_an_hour),
		cmocka_unit_test(rate_checks_too_soon_first),
		cmocka_unit_test(rate_lowered_limit_waits_for_enough_to_expire),
		cmocka_unit_test(rate_future_send_counts_as_now),
		cmocka_unit_test(rate_ignores_sends_far_in_the_future),
		cmocka_unit_test(rate_refuses_malformed_email_sent),
		cmocka_unit_test(issue_sets_a_fresh_code_and_voids_the_old),
		cmocka_unit_test(issue_keeps_email_sent_bounded),
		cmocka_unit_test(issue_refuses_malformed_state_and_bad_hmac),
		cmocka_unit_test(withdraw_takes_back_the_code_and_the_send),
		cmocka_unit_test(withdraw_keeps_a_newer_code),
		cmocka_unit_test(withdraw_refuses_malformed_email_sent),
		cmocka_unit_test(judge_expiry_far_ahead_is_expired),
		cmocka_unit_test(judge_no_code),
		cmocka_unit_test(judge_match_then_used),
		cmocka_unit_test(judge_expired),
		cmocka_unit_test(judge_counts_wrong_answers_and_voids_at_the_fifth),
		cmocka_unit_test(judge_right_code_after_four_wrong),
		cmocka_unit_test(judge_attempts_at_limit_is_no_code),
		cmocka_unit_test(judge_answer_of_wrong_length_is_wrong),
		cmocka_unit_test(judge_refuses_malformed_keys),
		cmocka_unit_test(judge_without_hmac_is_no_code),
		cmocka_unit_test(send_refuses_when_not_configured),
		cmocka_unit_test(send_refuses_a_code_that_is_not_digits),
		cmocka_unit_test_setup_teardown(hostkey_loads_32_bytes, hostkey_setup,
						hostkey_teardown),
		cmocka_unit_test_setup_teardown(hostkey_refuses_wrong_lengths, hostkey_setup,
						hostkey_teardown),
		cmocka_unit_test_setup_teardown(hostkey_missing_says_run_init, hostkey_setup,
						hostkey_teardown),
		cmocka_unit_test_setup_teardown(hostkey_refuses_a_readable_file, hostkey_setup,
						hostkey_teardown),
		cmocka_unit_test_setup_teardown(hostkey_create_makes_then_keeps, hostkey_setup,
						hostkey_teardown),
	};

	return cmocka_run_group_tests_name("email", tests, NULL, NULL);
}
