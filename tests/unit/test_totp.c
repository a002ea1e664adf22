/* Unit tests: TOTP (totp.c). Expected codes come from oathtool, an
 * independent implementation run as a separate program, or from the table
 * printed in RFC 6238 appendix B -- never from liboath or our own code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "kv.h"
#include "secret.h"
#include "totp.h"

#define PATH "/etc/stepup/users/alice"
/* RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890". */
#define RFC_SEED "12345678901234567890"
#define RFC_B32 "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#define NOW 1111111109LL

static const su_log test_log = {.pamh = NULL, .prog = "test_totp", .debug = false};

static int group_setup(void **state)
{
	(void)state;
	return su_totp_init();
}

static int group_teardown(void **state)
{
	(void)state;
	su_totp_done();
	return 0;
}

/* --- oracles ----------------------------------------------------------------- */

/* The code oathtool computes; skips the test when oathtool is missing. */
static void oathtool_code(const char *b32, unsigned digits, unsigned period,
			  long long epoch, char *out, size_t size)
{
	char cmd[256];
	FILE *p;
	size_t len;

	snprintf(cmd, sizeof(cmd),
		 "command -v oathtool >/dev/null 2>&1 || exit 0; "
		 "oathtool --totp -b -d %u -s %us -N @%lld '%s'",
		 digits, period, epoch, b32);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fgets(out, (int)size, p) == NULL)
		out[0] = '\0';
	assert_int_equal(pclose(p), 0);
	if (out[0] == '\0') {
		print_message("# oathtool not installed: skipped\n");
		skip();
	}
	len = strcspn(out, "\n");
	out[len] = '\0';
	assert_int_equal(len, digits);
}

/* Build a record from text and load it; returns su_totp_load's result and
 * what it logged (caller frees). */
static char *load_logged(const char *text, su_totp *t, int *rc)
{
	su_kv kv = {0};
	capture cap;
	char *msg;

	capture_begin(&cap);
	*rc = su_kv_parse(&test_log, PATH, text, strlen(text), &kv);
	msg = capture_end(&cap);
	if (*rc != 0)
		fail_msg("test record does not parse: %s", msg);
	free(msg);
	capture_begin(&cap);
	*rc = su_totp_load(&test_log, PATH, &kv, t);
	msg = capture_end(&cap);
	su_kv_free(&kv);
	return msg;
}

static void load_ok(const char *text, su_totp *t)
{
	char *msg;
	int rc = -1;

	msg = load_logged(text, t, &rc);
	if (rc != 0)
		fail_msg("su_totp_load refused a good record: %s", msg);
	assert_string_equal(msg, "");
	free(msg);
}

static void expect_load_refused(const char *text, const char *want)
{
	su_totp t = {(unsigned char *)"x", 1, 99, 99};
	char *msg;
	int rc = 0;

	msg = load_logged(text, &t, &rc);
	assert_int_equal(rc, -1);
	assert_null(t.key); /* out left empty */
	assert_int_equal(t.key_len, 0);
	assert_int_equal(t.digits, 0);
	if (strncmp(msg, "test_totp: ", 11) != 0 || strncmp(msg + 11, want, strlen(want)) != 0)
		fail_msg("logged \"%s\", want \"test_totp: %s...\"", msg, want);
	free(msg);
}

static int verify(const su_totp *t, const char *code, long long now, unsigned window,
		  uint64_t *step)
{
	*step = 0xdeadbeef;
	return su_totp_verify(t, code, (time_t)now, window, step);
}

/* --- verification --------------------------------------------------------- */

static void verify_current_code(void **state)
{
	su_totp t;
	char code[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 6, 30, NOW, code, sizeof(code));
	load_ok("version=1\ntotp_secret=" RFC_B32 "\n", &t);
	assert_int_equal(t.digits, 6);
	assert_int_equal(t.period, 30);
	assert_int_equal(verify(&t, code, NOW, 0, &step), 1);
	assert_int_equal(step, NOW / 30);
	assert_int_equal(verify(&t, code, NOW, 1, &step), 1);
	assert_int_equal(step, NOW / 30);
	su_totp_clear(&t);
	assert_null(t.key);
}

static void verify_refuses_wrong_codes(void **state)
{
	su_totp t;
	char code[16], wrong[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 6, 30, NOW, code, sizeof(code));
	load_ok("version=1\ntotp_secret=" RFC_B32 "\n", &t);
	/* Same code, last digit changed. */
	strcpy(wrong, code);
	wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
	assert_int_equal(verify(&t, wrong, NOW, 1, &step), 0);
	assert_int_equal(verify(&t, "", NOW, 1, &step), 0);
	/* A prefix, and the code with a digit added. */
	code[5] = '\0';
	assert_int_equal(verify(&t, code, NOW, 1, &step), 0);
	oathtool_code(RFC_B32, 6, 30, NOW, code, sizeof(code));
	strcat(code, "0");
	assert_int_equal(verify(&t, code, NOW, 1, &step), 0);
	/* Another seed's code. */
	oathtool_code("JBSWY3DPEHPK3PXP", 6, 30, NOW, code, sizeof(code));
	assert_int_equal(verify(&t, code, NOW, 1, &step), 0);
	su_totp_clear(&t);
}

static void verify_previous_step_needs_window(void **state)
{
	su_totp t;
	char prev[16], next[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 6, 30, NOW - 30, prev, sizeof(prev));
	oathtool_code(RFC_B32, 6, 30, NOW + 30, next, sizeof(next));
	load_ok("version=1\ntotp_secret=" RFC_B32 "\n", &t);
	assert_int_equal(verify(&t, prev, NOW, 0, &step), 0);
	assert_int_equal(verify(&t, prev, NOW, 1, &step), 1);
	assert_int_equal(step, NOW / 30 - 1);
	assert_int_equal(verify(&t, next, NOW, 0, &step), 0);
	assert_int_equal(verify(&t, next, NOW, 1, &step), 1);
	assert_int_equal(step, NOW / 30 + 1);
	su_totp_clear(&t);
}

static void verify_two_steps_away_needs_window_two(void **state)
{
	su_totp t;
	char old[16], ahead[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 6, 30, NOW - 60, old, sizeof(old));
	oathtool_code(RFC_B32, 6, 30, NOW + 60, ahead, sizeof(ahead));
	load_ok("version=1\ntotp_secret=" RFC_B32 "\n", &t);
	assert_int_equal(verify(&t, old, NOW, 1, &step), 0);
	assert_int_equal(verify(&t, old, NOW, 2, &step), 1);
	assert_int_equal(step, NOW / 30 - 2);
	assert_int_equal(verify(&t, ahead, NOW, 1, &step), 0);
	assert_int_equal(verify(&t, ahead, NOW, 2, &step), 1);
	assert_int_equal(step, NOW / 30 + 2);
	su_totp_clear(&t);
}

static void verify_eight_digits(void **state)
{
	su_totp t;
	char code[16], six[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 8, 30, NOW, code, sizeof(code));
	oathtool_code(RFC_B32, 6, 30, NOW, six, sizeof(six));
	load_ok("version=1\ntotp_secret=" RFC_B32 "\ntotp_digits=8\n", &t);
	assert_int_equal(t.digits, 8);
	assert_int_equal(verify(&t, code, NOW, 1, &step), 1);
	assert_int_equal(step, NOW / 30);
	/* The 6-digit code is the 8-digit one's tail: it must not pass. */
	assert_string_equal(six, code + 2);
	assert_int_equal(verify(&t, six, NOW, 1, &step), 0);
	su_totp_clear(&t);
	/* And an 8-digit code does not pass for a 6-digit user. */
	load_ok("version=1\ntotp_secret=" RFC_B32 "\n", &t);
	assert_int_equal(verify(&t, code, NOW, 1, &step), 0);
	assert_int_equal(verify(&t, six, NOW, 1, &step), 1);
	su_totp_clear(&t);
}

static void verify_period_60(void **state)
{
	su_totp t;
	char code[16], code30[16], prev[16];
	uint64_t step;

	(void)state;
	oathtool_code(RFC_B32, 6, 60, NOW, code, sizeof(code));
	oathtool_code(RFC_B32, 6, 60, NOW - 60, prev, sizeof(prev));
	oathtool_code(RFC_B32, 6, 30, NOW, code30, sizeof(code30));
	load_ok("version=1\ntotp_period=60\ntotp_secret=" RFC_B32 "\n", &t);
	assert_int_equal(t.period, 60);
	assert_int_equal(verify(&t, code, NOW, 0, &step), 1);
	assert_int_equal(step, NOW / 60);
	assert_int_equal(verify(&t, prev, NOW, 0, &step), 0);
	assert_int_equal(verify(&t, prev, NOW, 1, &step), 1);
	assert_int_equal(step, NOW / 60 - 1);
	assert_int_equal(verify(&t, code30, NOW, 1, &step), 0);
	su_totp_clear(&t);
}

/* The values printed in RFC 6238 appendix B (SHA-1, 8 digits, 30 s). */
static void verify_rfc6238_table(void **state)
{
	static const struct {
		long long time;
		const char *code;
	} table[] = {
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	};
	su_totp t;
	uint64_t step;

	(void)state;
	load_ok("version=1\ntotp_secret=" RFC_B32 "\ntotp_digits=8\n", &t);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (verify(&t, table[i].code, table[i].time, 0, &step) != 1)
			fail_msg("RFC 6238 code %s at %lld refused", table[i].code,
				 table[i].time);
		assert_int_equal(step, table[i].time / 30);
	}
	su_totp_clear(&t);
}

static void code_shaped(void **state)
{
	su_totp six = {.digits = 6}, eight = {.digits = 8};

	(void)state;
	assert_true(su_totp_code_shaped(&six, "123456"));
	assert_true(su_totp_code_shaped(&six, "000000"));
	assert_false(su_totp_code_shaped(&six, "12345"));
	assert_false(su_totp_code_shaped(&six, "1234567"));
	assert_false(su_totp_code_shaped(&six, "12345a"));
	assert_false(su_totp_code_shaped(&six, "12 456"));
	assert_false(su_totp_code_shaped(&six, "-12345"));
	assert_false(su_totp_code_shaped(&six, ""));
	assert_false(su_totp_code_shaped(&six, "\xd9\xa1\xd9\xa2\xd9\xa3")); /* Arabic digits */
	assert_true(su_totp_code_shaped(&eight, "12345678"));
	assert_false(su_totp_code_shaped(&eight, "123456"));
	assert_false(su_totp_code_shaped(&eight, "ABCDEFGH")); /* a recovery code */
}

/* --- loading a record --------------------------------------------------------- */

static void load_good_record(void **state)
{
	su_totp t;

	(void)state;
	load_ok("version=1\ntotp_secret=" RFC_B32 "\ntotp_digits=8\ntotp_period=60\n", &t);
	assert_int_equal(t.key_len, 20);
	assert_memory_equal(t.key, RFC_SEED, 20);
	assert_int_equal(t.digits, 8);
	assert_int_equal(t.period, 60);
	su_totp_clear(&t);
	assert_null(t.key);
	assert_int_equal(t.key_len, 0);
	su_totp_clear(&t); /* twice is harmless */
	su_totp_clear(NULL);

	/* As admins and apps write it: lower case, grouped, padded. */
	load_ok("version=1\ntotp_secret=gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n", &t);
	assert_int_equal(t.key_len, 20);
	assert_memory_equal(t.key, RFC_SEED, 20);
	assert_int_equal(t.digits, 6);
	assert_int_equal(t.period, 30);
	su_totp_clear(&t);
}

static void load_enrolled(void **state)
{
	su_kv kv = {0};

	(void)state;
	assert_false(su_totp_enrolled(&kv));
	assert_int_equal(su_kv_set(&kv, "email", "a@example.com"), 0);
	assert_false(su_totp_enrolled(&kv));
	assert_int_equal(su_kv_set(&kv, "totp_secret", RFC_B32), 0);
	assert_true(su_totp_enrolled(&kv));
	su_kv_free(&kv);
}

static void load_refuses_missing_secret(void **state)
{
	(void)state;
	expect_load_refused("version=1\nemail=a@example.com\n", PATH);
}

static void load_refuses_digits_7(void **state)
{
	(void)state;
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_digits=7\n",
			    PATH ":3: key 'totp_digits'");
}

static void load_refuses_bad_digits(void **state)
{
	(void)state;
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_digits=x\n",
			    PATH ":3: key 'totp_digits'");
	expect_load_refused("version=1\ntotp_digits=5\ntotp_secret=" RFC_B32 "\n",
			    PATH ":2: key 'totp_digits'");
	expect_load_refused("version=1\ntotp_digits=9\ntotp_secret=" RFC_B32 "\n",
			    PATH ":2: key 'totp_digits'");
	expect_load_refused("version=1\ntotp_digits=\ntotp_secret=" RFC_B32 "\n",
			    PATH ":2: key 'totp_digits'");
	expect_load_refused("version=1\ntotp_digits= 6\ntotp_secret=" RFC_B32 "\n",
			    PATH ":2: key 'totp_digits'");
}

static void load_refuses_period_out_of_range(void **state)
{
	su_totp t;

	(void)state;
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=14\n",
			    PATH ":3: key 'totp_period'");
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=301\n",
			    PATH ":3: key 'totp_period'");
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=0\n",
			    PATH ":3: key 'totp_period'");
	expect_load_refused("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=30s\n",
			    PATH ":3: key 'totp_period'");
	load_ok("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=15\n", &t);
	assert_int_equal(t.period, 15);
	su_totp_clear(&t);
	load_ok("version=1\ntotp_secret=" RFC_B32 "\ntotp_period=300\n", &t);
	assert_int_equal(t.period, 300);
	su_totp_clear(&t);
}

static void load_refuses_secret_not_base32(void **state)
{
	(void)state;
	expect_load_refused("version=1\ntotp_secret=GEZDGNBVGY3TQOJ!\n",
			    PATH ":2: key 'totp_secret'");
	/* 0, 1, 8 and 9 are not in the base32 alphabet. */
	expect_load_refused("version=1\ntotp_digits=6\ntotp_secret=GEZDGNBVGY3TQOJ0GEZDGNBVGY3TQOJ1\n",
			    PATH ":3: key 'totp_secret'");
	expect_load_refused("version=1\ntotp_secret=\n", PATH ":2: key 'totp_secret'");
	expect_load_refused("version=1\ntotp_secret= = \n", PATH ":2: key 'totp_secret'");
}

static void load_refuses_short_and_long_secrets(void **state)
{
	char text[256], *b32;
	unsigned char raw[65];
	su_totp t;

	(void)state;
	/* 8 bytes ("12345678"), padded and not. */
	expect_load_refused("version=1\ntotp_secret=GEZDGNBVGY3TQ===\n",
			    PATH ":2: key 'totp_secret'");
	expect_load_refused("version=1\ntotp_secret=GEZDGNBVGY3TQ\n",
			    PATH ":2: key 'totp_secret'");
	/* 9 bytes ("123456789") refused, 10 ("1234567890") the minimum. */
	expect_load_refused("version=1\ntotp_secret=GEZDGNBVGY3TQOI=\n",
			    PATH ":2: key 'totp_secret'");
	load_ok("version=1\ntotp_secret=GEZDGNBVGY3TQOJQ\n", &t);
	assert_int_equal(t.key_len, 10);
	assert_memory_equal(t.key, "1234567890", 10);
	su_totp_clear(&t);

	/* 64 bytes the maximum, 65 refused. */
	memset(raw, 'A', sizeof(raw));
	b32 = su_base32_encode(raw, 64);
	assert_non_null(b32);
	snprintf(text, sizeof(text), "version=1\ntotp_secret=%s\n", b32);
	free(b32);
	load_ok(text, &t);
	assert_int_equal(t.key_len, 64);
	su_totp_clear(&t);
	b32 = su_base32_encode(raw, 65);
	assert_non_null(b32);
	snprintf(text, sizeof(text), "version=1\ntotp_secret=%s\n", b32);
	free(b32);
	expect_load_refused(text, PATH ":2: key 'totp_secret'");
}

/* --- base32 --------------------------------------------------------------------- */

static void expect_decode(const char *in, const void *want, size_t want_len)
{
	unsigned char *out = NULL;
	size_t len = 99;

	if (su_base32_decode(in, &out, &len) != 0)
		fail_msg("su_base32_decode refused \"%s\"", in);
	assert_non_null(out);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	su_free_secret(out, len);
}

static void base32_decode_accepts_what_people_write(void **state)
{
	(void)state;
	expect_decode(RFC_B32, RFC_SEED, 20);
	expect_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", RFC_SEED, 20);
	expect_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ", RFC_SEED, 20);
	expect_decode("GeZd-GnBv-Gy3t-QoJq", "1234567890", 10);
	/* RFC 4648 section 10 vectors, padded and not. */
	expect_decode("MY======", "f", 1);
	expect_decode("MY", "f", 1);
	expect_decode("MZXQ====", "fo", 2);
	expect_decode("MZXW6===", "foo", 3);
	expect_decode("mzxw6", "foo", 3);
	expect_decode("MZXW6YQ=", "foob", 4);
	expect_decode("MZXW6YTB", "fooba", 5);
	expect_decode("MZXW6YTBOI======", "foobar", 6);
	expect_decode("MZXW6YTBOI", "foobar", 6);
}

static void base32_decode_refuses_junk(void **state)
{
	static const char *const bad[] = {"", "   ", "====", "MZXW6!", "MZ1W6", "MZXW\n6", "MZXW6\xc3\xa9"};
	unsigned char *out = (unsigned char *)"sentinel";
	size_t len = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (unsigned char *)"sentinel";
		len = 99;
		if (su_base32_decode(bad[i], &out, &len) != -1)
			fail_msg("su_base32_decode accepted bad input #%zu", i);
		assert_null(out);
		assert_int_equal(len, 0);
	}
}

static void base32_encode_is_unpadded(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} vectors[] = {
		{"f", "MY"}, {"fo", "MZXQ"}, {"foo", "MZXW6"}, {"foob", "MZXW6YQ"},
		{"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"}, {RFC_SEED, RFC_B32},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *out = su_base32_encode((const unsigned char *)vectors[i].in,
					     strlen(vectors[i].in));
		assert_non_null(out);
		assert_string_equal(out, vectors[i].out);
		free(out);
	}
}

static void base32_round_trip(void **state)
{
	unsigned char raw[64];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 1; n <= sizeof(raw); n++) {
		unsigned char *back = NULL;
		size_t back_len = 0;
		char *b32 = su_base32_encode(raw, n);

		assert_non_null(b32);
		assert_null(strchr(b32, '='));
		assert_int_equal(strlen(b32), (n * 8 + 4) / 5);
		assert_int_equal(su_base32_decode(b32, &back, &back_len), 0);
		assert_int_equal(back_len, n);
		assert_memory_equal(back, raw, n);
		su_free_secret(back, back_len);
		free(b32);
	}
}

/* What stepupctl writes, oathtool reads: our encoding is the one others use. */
static void base32_encoding_agrees_with_oathtool(void **state)
{
	char *b32, ours[16], theirs[16];
	su_totp t;
	uint64_t step;
	char text[128];

	(void)state;
	b32 = su_base32_encode((const unsigned char *)"pam_stepup test seed", 20);
	assert_non_null(b32);
	oathtool_code(b32, 6, 30, NOW, theirs, sizeof(theirs));
	snprintf(text, sizeof(text), "version=1\ntotp_secret=%s\n", b32);
	load_ok(text, &t);
	strcpy(ours, theirs);
	assert_int_equal(verify(&t, ours, NOW, 0, &step), 1);
	su_totp_clear(&t);
	free(b32);
}

/* --- writing a record ----------------------------------------------------------- */

/* su_totp_store writes what su_totp_load reads back, in canonical base32,
 * and replaces every earlier totp_* key. */
static void store_round_trip(void **state)
{
	su_kv kv = {0};
	su_totp t;

	(void)state;
	assert_int_equal(su_kv_set(&kv, "totp_secret", "AAAAAAAAAAAAAAAA"), 0);
	assert_int_equal(su_kv_set(&kv, "totp_other", "x"), 0);
	assert_int_equal(su_kv_set(&kv, "email_address", "a@example.com"), 0);
	assert_int_equal(su_totp_store(&kv, (const unsigned char *)RFC_SEED, 20, 8, 60), 0);
	assert_string_equal(su_kv_get(&kv, "totp_secret"), RFC_B32);
	assert_string_equal(su_kv_get(&kv, "totp_digits"), "8");
	assert_string_equal(su_kv_get(&kv, "totp_period"), "60");
	assert_null(su_kv_get(&kv, "totp_other"));
	assert_string_equal(su_kv_get(&kv, "email_address"), "a@example.com");
	assert_true(su_totp_enrolled(&kv));
	assert_int_equal(su_totp_load(&test_log, PATH, &kv, &t), 0);
	assert_int_equal(t.key_len, 20);
	assert_memory_equal(t.key, RFC_SEED, 20);
	assert_int_equal(t.digits, 8);
	assert_int_equal(t.period, 60);
	su_totp_clear(&t);
	su_kv_free(&kv);
}

/* The ranges are the loader's: nothing is stored that it would refuse. */
static void store_refuses_what_load_refuses(void **state)
{
	static const unsigned char key[SU_TOTP_MAX_SECRET_BYTES + 1] = {1};
	static const struct { size_t len; unsigned digits, period; } bad[] = {
		{ SU_TOTP_MIN_SECRET_BYTES - 1, 6, 30 },
		{ SU_TOTP_MAX_SECRET_BYTES + 1, 6, 30 },
		{ 20, 7, 30 }, { 20, 5, 30 }, { 20, 9, 30 },
		{ 20, 6, SU_TOTP_PERIOD_MIN - 1 }, { 20, 6, SU_TOTP_PERIOD_MAX + 1 },
	};
	su_kv kv = {0};
	su_totp t;

	(void)state;
	assert_int_equal(su_kv_set(&kv, "totp_secret", RFC_B32), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(su_totp_store(&kv, key, bad[i].len, bad[i].digits,
					       bad[i].period), -1);
		assert_string_equal(su_kv_get(&kv, "totp_secret"), RFC_B32); /* untouched */
	}
	assert_int_equal(su_totp_store(&kv, key, SU_TOTP_MIN_SECRET_BYTES,
				       SU_TOTP_DIGITS_MIN, SU_TOTP_PERIOD_MIN), 0);
	assert_int_equal(su_totp_load(&test_log, PATH, &kv, &t), 0);
	su_totp_clear(&t);
	assert_int_equal(su_totp_store(&kv, key, SU_TOTP_MAX_SECRET_BYTES,
				       SU_TOTP_DIGITS_MAX, SU_TOTP_PERIOD_MAX), 0);
	assert_int_equal(su_totp_load(&test_log, PATH, &kv, &t), 0);
	su_totp_clear(&t);
	assert_true(su_totp_digits_ok(6));
	assert_false(su_totp_digits_ok(7));
	assert_true(su_totp_digits_ok(8));
	su_kv_free(&kv);
}

static void remove_takes_totp_keys_only(void **state)
{
	su_kv kv = {0};

	(void)state;
	assert_int_equal(su_totp_store(&kv, (const unsigned char *)RFC_SEED, 20, 6, 30), 0);
	assert_int_equal(su_kv_set(&kv, "email_address", "a@example.com"), 0);
	su_totp_remove(&kv);
	assert_false(su_totp_enrolled(&kv));
	assert_null(su_kv_get(&kv, "totp_digits"));
	assert_null(su_kv_get(&kv, "totp_period"));
	assert_string_equal(su_kv_get(&kv, "email_address"), "a@example.com");
	su_kv_free(&kv);
}

/* --- the replay barrier ------------------------------------------------------------ */

static void barrier_read(void **state)
{
	su_kv st = {0};
	uint64_t last = 99;
	capture cap;
	char *msg;

	(void)state;
	assert_int_equal(su_totp_barrier(&test_log, PATH, &st, &last), SU_KV_ABSENT);
	assert_int_equal(last, 0);
	assert_int_equal(su_kv_set(&st, "totp_last_time", "1700000010"), 0);
	assert_int_equal(su_totp_barrier(&test_log, PATH, &st, &last), 0);
	assert_int_equal(last, 1700000010);
	assert_int_equal(su_kv_set(&st, "totp_last_time", "18446744073709551615"), 0);
	assert_int_equal(su_totp_barrier(&test_log, PATH, &st, &last), 0);
	assert_true(last == UINT64_MAX);
	assert_int_equal(su_kv_set(&st, "totp_last_time", "-1"), 0);
	capture_begin(&cap);
	assert_int_equal(su_totp_barrier(&test_log, PATH, &st, &last), -1);
	msg = capture_end(&cap);
	assert_non_null(strstr(msg, PATH ":0: key 'totp_last_time'"));
	free(msg);
	su_kv_free(&st);
}

/* Keep the highest: a later start raises it, an earlier or equal one
 * (a replay) leaves it; absent counts as 0. */
static void barrier_keeps_the_highest(void **state)
{
	su_kv st = {0};
	uint64_t last = 0;

	(void)state;
	assert_int_equal(su_totp_set_barrier(&st, 0), 0);
	assert_null(su_kv_get(&st, "totp_last_time"));
	assert_int_equal(su_totp_set_barrier(&st, 1700000010), 1);
	assert_int_equal(su_totp_barrier(&test_log, PATH, &st, &last), 0);
	assert_int_equal(last, 1700000010);
	assert_int_equal(su_totp_set_barrier(&st, 1700000010), 0);
	assert_int_equal(su_totp_set_barrier(&st, 1699999980), 0);
	assert_string_equal(su_kv_get(&st, "totp_last_time"), "1700000010");
	assert_int_equal(su_totp_set_barrier(&st, 1700000040), 1);
	assert_string_equal(su_kv_get(&st, "totp_last_time"), "1700000040");
	/* A malformed barrier is never overwritten. */
	assert_int_equal(su_kv_set(&st, "totp_last_time", "x"), 0);
	assert_int_equal(su_totp_set_barrier(&st, 1800000000), -1);
	assert_string_equal(su_kv_get(&st, "totp_last_time"), "x");
	su_kv_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verify_current_code),
		cmocka_unit_test(verify_refuses_wrong_codes),
		cmocka_unit_test(verify_previous_step_needs_window),
		cmocka_unit_test(verify_two_steps_away_needs_window_two),
		cmocka_unit_test(verify_eight_digits),
		cmocka_unit_test(verify_period_60),
		cmocka_unit_test(verify_rfc6238_table),
		cmocka_unit_test(code_shaped),
		cmocka_unit_test(load_good_record),
		cmocka_unit_test(load_enrolled),
		cmocka_unit_test(load_refuses_missing_secret),
		cmocka_unit_test(load_refuses_digits_7),
		cmocka_unit_test(load_refuses_bad_digits),
		cmocka_unit_test(load_refuses_period_out_of_range),
		cmocka_unit_test(load_refuses_secret_not_base32),
		cmocka_unit_test(load_refuses_short_and_long_secrets),
		cmocka_unit_test(base32_decode_accepts_what_people_write),
		cmocka_unit_test(base32_decode_refuses_junk),
		cmocka_unit_test(base32_encode_is_unpadded),
		cmocka_unit_test(base32_round_trip),
		cmocka_unit_test(base32_encoding_agrees_with_oathtool),
		cmocka_unit_test(store_round_trip),
		cmocka_unit_test(store_refuses_what_load_refuses),
		cmocka_unit_test(remove_takes_totp_keys_only),
		cmocka_unit_test(barrier_read),
		cmocka_unit_test(barrier_keeps_the_highest),
	};

	return cmocka_run_group_tests_name("totp", tests, group_setup, group_teardown);
}
