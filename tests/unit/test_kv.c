/* Unit tests: key=value records (kv.c). Every refusal is checked for the
 * message it logs: it must name the file and, for a line, the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "kv.h"
#include "secret.h"

#define PATH "/etc/stepup/users/alice"

static const su_log test_log = {.pamh = NULL, .prog = "test_kv", .debug = false};

/* Parse text; return what was logged (caller frees). */
static char *parse_logged(const char *text, size_t len, su_kv *kv, int *rc)
{
	capture cap;

	capture_begin(&cap);
	*rc = su_kv_parse(&test_log, PATH, text, len, kv);
	return capture_end(&cap);
}

static void assert_kv_empty(const su_kv *kv)
{
	assert_int_equal(kv->count, 0);
	assert_null(kv->items);
}

/* text must be refused, out left empty, and the one logged line must be
 * "test_kv: " followed by want (which starts with the path). */
static void expect_malformed(const char *text, size_t len, const char *want)
{
	su_kv_entry junk[1] = {{NULL, NULL, 0}};
	su_kv kv = {junk, 1, 1}; /* must come back empty, not untouched */
	char *msg;
	int rc = 0;

	msg = parse_logged(text, len, &kv, &rc);
	assert_int_equal(rc, -1);
	assert_kv_empty(&kv);
	if (strncmp(msg, "test_kv: ", 9) != 0 || strncmp(msg + 9, want, strlen(want)) != 0)
		fail_msg("logged \"%s\", want \"test_kv: %s...\"", msg, want);
	/* One line only. */
	assert_non_null(strchr(msg, '\n'));
	assert_string_equal(strchr(msg, '\n'), "\n");
	free(msg);
	su_kv_free(&kv);
}

#define EXPECT_MALFORMED(lit, want) expect_malformed((lit), sizeof(lit) - 1, (want))

/* --- good records ----------------------------------------------------------- */

static void parse_good_record(void **state)
{
	static const char text[] =
		"version=1\n"
		"totp_secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n"
		"totp_digits=6\n"
		"email=alice@example.com\n"
		"note=a=b c\n"
		"empty=\n";
	su_kv kv = {0};
	char *msg;
	int rc = -1;

	(void)state;
	msg = parse_logged(text, sizeof(text) - 1, &kv, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(msg, ""); /* success is silent */
	free(msg);
	assert_int_equal(kv.count, 5);
	assert_string_equal(su_kv_get(&kv, "totp_secret"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_string_equal(su_kv_get(&kv, "totp_digits"), "6");
	assert_string_equal(su_kv_get(&kv, "email"), "alice@example.com");
	assert_string_equal(su_kv_get(&kv, "note"), "a=b c");
	assert_string_equal(su_kv_get(&kv, "empty"), "");
	assert_null(su_kv_get(&kv, "version")); /* the header is not a key */
	assert_null(su_kv_get(&kv, "missing"));
	assert_int_equal(su_kv_find(&kv, "totp_secret")->line, 2);
	assert_int_equal(su_kv_find(&kv, "empty")->line, 6);
	su_kv_free(&kv);
	assert_kv_empty(&kv);
	su_kv_free(&kv); /* twice is harmless */
}

static void parse_version_only(void **state)
{
	su_kv kv = {0};
	char *msg;
	int rc = -1;

	(void)state;
	msg = parse_logged("version=1\n", 10, &kv, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(msg, "");
	assert_int_equal(kv.count, 0);
	free(msg);
	su_kv_free(&kv);
}

/* Only len bytes are read: what follows in memory is not part of the file. */
static void parse_honours_length(void **state)
{
	static const char text[] = "version=1\na=1\nb=2\n";
	su_kv kv = {0};
	char *msg;
	int rc = -1;

	(void)state;
	msg = parse_logged(text, strlen("version=1\na=1\n"), &kv, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(kv.count, 1);
	assert_null(su_kv_get(&kv, "b"));
	free(msg);
	su_kv_free(&kv);
}

static void round_trip_keeps_unknown_keys_and_order(void **state)
{
	static const char text[] =
		"version=1\n"
		"zz_future=keep me\n"
		"totp_secret=GEZDGNBVGY3TQOJQ\n"
		"x9=\n"
		"aa_unknown=1=2=3\n"
		"totp_period=30\n";
	su_kv kv = {0}, again = {0};
	char *out, *msg;
	size_t len = 0;
	int rc = -1;

	(void)state;
	msg = parse_logged(text, sizeof(text) - 1, &kv, &rc);
	assert_int_equal(rc, 0);
	free(msg);
	out = su_kv_format(&kv, &len);
	assert_non_null(out);
	assert_int_equal(len, sizeof(text) - 1);
	assert_int_equal(strlen(out), len);
	assert_string_equal(out, text); /* byte for byte, same order */
	msg = parse_logged(out, len, &again, &rc);
	assert_int_equal(rc, 0);
	free(msg);
	assert_int_equal(again.count, kv.count);
	for (size_t i = 0; i < kv.count; i++) {
		assert_string_equal(again.items[i].key, kv.items[i].key);
		assert_string_equal(again.items[i].value, kv.items[i].value);
	}
	su_free_string(out);
	su_kv_free(&kv);
	su_kv_free(&again);
}

static void format_empty_record(void **state)
{
	su_kv kv = {0};
	size_t len = 99;
	char *out;

	(void)state;
	out = su_kv_format(&kv, &len);
	assert_non_null(out);
	assert_string_equal(out, "version=1\n");
	assert_int_equal(len, 10);
	su_free_string(out);
	out = su_kv_format(&kv, NULL); /* len_out is optional */
	assert_non_null(out);
	su_free_string(out);
}

/* --- set / del ------------------------------------------------------------- */

static void set_appends_and_replaces_in_place(void **state)
{
	static const char text[] = "version=1\na=1\nb=2\nc=3\n";
	su_kv kv = {0};
	char *msg, *out;
	int rc = -1;

	(void)state;
	msg = parse_logged(text, sizeof(text) - 1, &kv, &rc);
	assert_int_equal(rc, 0);
	free(msg);
	assert_int_equal(su_kv_set(&kv, "b", "twenty"), 0);
	assert_int_equal(su_kv_set(&kv, "d", "4"), 0);
	assert_int_equal(su_kv_set_u64(&kv, "e", UINT64_MAX), 0);
	assert_int_equal(su_kv_set_u64(&kv, "a", 0), 0);
	assert_int_equal(kv.count, 5);
	assert_int_equal(su_kv_find(&kv, "b")->line, 0); /* set in memory */
	assert_int_equal(su_kv_find(&kv, "c")->line, 4);
	out = su_kv_format(&kv, NULL);
	assert_string_equal(out, "version=1\na=0\nb=twenty\nc=3\nd=4\ne=18446744073709551615\n");
	su_free_string(out);
	su_kv_free(&kv);
}

static void del_and_del_prefix(void **state)
{
	su_kv kv = {0};
	char *out;

	(void)state;
	assert_int_equal(su_kv_set(&kv, "totp_secret", "S"), 0);
	assert_int_equal(su_kv_set(&kv, "email", "e@x"), 0);
	assert_int_equal(su_kv_set(&kv, "totp_digits", "6"), 0);
	assert_int_equal(su_kv_set(&kv, "recovery_1", "h1"), 0);
	assert_int_equal(su_kv_set(&kv, "totp_period", "30"), 0);
	assert_int_equal(su_kv_set(&kv, "xtotp_other", "kept"), 0);
	assert_int_equal(su_kv_set(&kv, "recovery_2", "h2"), 0);

	su_kv_del(&kv, "email");
	su_kv_del(&kv, "email"); /* absent: no-op */
	su_kv_del(&kv, "nothing");
	assert_null(su_kv_get(&kv, "email"));
	assert_int_equal(kv.count, 6);

	su_kv_del_prefix(&kv, "totp_");
	out = su_kv_format(&kv, NULL);
	assert_string_equal(out, "version=1\nrecovery_1=h1\nxtotp_other=kept\nrecovery_2=h2\n");
	su_free_string(out);

	su_kv_del_prefix(&kv, "nomatch_");
	assert_int_equal(kv.count, 3);
	su_kv_del_prefix(&kv, "recovery_");
	out = su_kv_format(&kv, NULL);
	assert_string_equal(out, "version=1\nxtotp_other=kept\n");
	su_free_string(out);
	su_kv_del_prefix(&kv, "");
	assert_int_equal(kv.count, 0);
	su_kv_free(&kv);
}

static void set_refuses_bad_keys_and_values(void **state)
{
	static const char *const bad_keys[] = {
		"version", "Key", "a-b", "", "a b", "a=b", "a.b", "é", "a\n",
		"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", /* 65 */
	};
	static const char *const bad_values[] = {
		"a\nb=c", "1\r", "\t", "x\x7f", "\x1b[31m", "\n",
	};
	char *long_value = malloc(4098);
	su_kv kv = {0};

	(void)state;
	assert_non_null(long_value);
	assert_int_equal(su_kv_set(&kv, "a", "old"), 0);
	for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		if (su_kv_set(&kv, bad_keys[i], "1") != -1)
			fail_msg("su_kv_set accepted key #%zu", i);
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		if (su_kv_set(&kv, "a", bad_values[i]) != -1 ||
		    su_kv_set(&kv, "b", bad_values[i]) != -1)
			fail_msg("su_kv_set accepted value #%zu", i);
	}
	memset(long_value, 'v', 4097);
	long_value[4097] = '\0';
	assert_int_equal(su_kv_set(&kv, "a", long_value), -1);
	/* Nothing changed by the refusals. */
	assert_int_equal(kv.count, 1);
	assert_string_equal(su_kv_get(&kv, "a"), "old");
	/* The limits themselves are allowed. */
	long_value[4096] = '\0';
	assert_int_equal(su_kv_set(&kv, "a", long_value), 0);
	assert_int_equal(su_kv_set(&kv,
		"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "1"), 0);
	assert_int_equal(su_kv_set(&kv, "a_0_z_9", ""), 0);
	free(long_value);
	su_kv_free(&kv);
}

/* A record the writer produces is one the reader accepts: su_kv_set may not
 * build a record that su_kv_parse then refuses (too many keys, say), or the
 * next read of a user's state fails closed for good. */
static void set_never_builds_an_unreadable_record(void **state)
{
	su_kv kv = {0}, again = {0};
	char key[16], *out, *msg;
	size_t len = 0, accepted = 0;
	int rc = -1;

	(void)state;
	for (unsigned i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		if (su_kv_set(&kv, key, "v") != 0)
			break;
		accepted++;
	}
	assert_true(accepted >= 1);
	out = su_kv_format(&kv, &len);
	assert_non_null(out);
	msg = parse_logged(out, len, &again, &rc);
	if (rc != 0)
		fail_msg("su_kv_set accepted %zu keys but parsing them back fails: %s",
			 accepted, msg);
	assert_int_equal(again.count, accepted);
	free(msg);
	su_free_string(out);
	su_kv_free(&kv);
	su_kv_free(&again);
}

/* --- typed reads ------------------------------------------------------------ */

static void get_u64_reads_absent_and_bad(void **state)
{
	static const char text[] = "version=1\nn=42\nbig=18446744073709551616\nneg=-1\nword=ten\n";
	su_kv kv = {0};
	uint64_t v = 7;
	capture cap;
	char *msg;
	int rc = -1;

	(void)state;
	msg = parse_logged(text, sizeof(text) - 1, &kv, &rc);
	assert_int_equal(rc, 0);
	free(msg);

	capture_begin(&cap);
	rc = su_kv_get_u64(&test_log, PATH, &kv, "absent", 0, 100, &v);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_KV_ABSENT);
	assert_int_equal(v, 7); /* untouched */
	assert_string_equal(msg, "");
	free(msg);

	capture_begin(&cap);
	rc = su_kv_get_u64(&test_log, PATH, &kv, "n", 0, 100, &v);
	msg = capture_end(&cap);
	assert_int_equal(rc, 0);
	assert_int_equal(v, 42);
	assert_string_equal(msg, "");
	free(msg);

	/* Out of range, overflow, sign, word: each -1, naming path:line: key. */
	{
		static const struct {
			const char *key;
			const char *want;
			uint64_t max;
		} cases[] = {
			{"n", "test_kv: " PATH ":2: key 'n'", 41},
			{"big", "test_kv: " PATH ":3: key 'big'", UINT64_MAX},
			{"neg", "test_kv: " PATH ":4: key 'neg'", UINT64_MAX},
			{"word", "test_kv: " PATH ":5: key 'word'", UINT64_MAX},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			v = 7;
			capture_begin(&cap);
			rc = su_kv_get_u64(&test_log, PATH, &kv, cases[i].key, 0,
					   cases[i].max, &v);
			msg = capture_end(&cap);
			assert_int_equal(rc, -1);
			if (strncmp(msg, cases[i].want, strlen(cases[i].want)) != 0)
				fail_msg("logged \"%s\", want \"%s...\"", msg, cases[i].want);
			free(msg);
		}
	}
	su_kv_free(&kv);
}

/* --- malformed records: each refused, naming the file and line ------------- */

static void malformed_empty_text(void **state)
{
	(void)state;
	expect_malformed("", 0, PATH ": ");
}

static void malformed_missing_version_line(void **state)
{
	(void)state;
	EXPECT_MALFORMED("totp_digits=6\n", PATH ":1: ");
}

static void malformed_version_2(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=2\na=1\n", PATH ":1: ");
	EXPECT_MALFORMED("version=1 \n", PATH ":1: ");
	EXPECT_MALFORMED("version=\n", PATH ":1: ");
}

static void malformed_line_without_equals(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\njunk\n", PATH ":3: ");
}

static void malformed_bad_key_chars(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\nKey=1\n", PATH ":2: ");
	EXPECT_MALFORMED("version=1\na=1\na-b=1\n", PATH ":3: ");
	EXPECT_MALFORMED("version=1\n=1\n", PATH ":2: ");
	EXPECT_MALFORMED("version=1\n a=1\n", PATH ":2: ");
	EXPECT_MALFORMED("version=1\na =1\n", PATH ":2: ");
	EXPECT_MALFORMED("version=1\n"
			 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk=1\n",
			 PATH ":2: ");
}

static void malformed_duplicate_key(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\nb=2\na=3\n", PATH ":4: key 'a'");
}

static void malformed_duplicate_version(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\nversion=1\n", PATH ":2: key 'version'");
}

static void malformed_cr_in_value(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\r\n", PATH ":2: key 'a'");
	EXPECT_MALFORMED("version=1\r\na=1\r\n", PATH ":1: ");
	EXPECT_MALFORMED("version=1\na=1\tx\n", PATH ":2: key 'a'");
	EXPECT_MALFORMED("version=1\na=x\x7f\n", PATH ":2: key 'a'");
}

static void malformed_nul_byte(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\nb=x\0y\n", PATH ":3: ");
}

static void malformed_missing_final_newline(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\nb=2", PATH ":3: ");
}

static void malformed_blank_line(void **state)
{
	(void)state;
	EXPECT_MALFORMED("version=1\na=1\n\nb=2\n", PATH ":3: ");
	EXPECT_MALFORMED("version=1\na=1\n\n", PATH ":3: ");
	EXPECT_MALFORMED("\nversion=1\n", PATH ":1: ");
}

static void malformed_overlong_value(void **state)
{
	size_t len = strlen("version=1\nx=") + 5000 + 1;
	char *text = malloc(len + 1);
	su_kv kv = {0};
	char *msg;
	int rc = -1;

	(void)state;
	assert_non_null(text);
	strcpy(text, "version=1\nx=");
	memset(text + strlen(text), 'v', 5000);
	text[len - 1] = '\n';
	text[len] = '\0';
	expect_malformed(text, len, PATH ":2: key 'x'");

	/* 4096 is the limit and is accepted. */
	strcpy(text + strlen("version=1\nx=") + 4096, "\n");
	msg = parse_logged(text, strlen(text), &kv, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(su_kv_get(&kv, "x")), 4096);
	free(msg);
	su_kv_free(&kv);
	free(text);
}

static char *many_keys(unsigned n, size_t *len)
{
	char *text = malloc(16 + (size_t)n * 16), *p = text;

	assert_non_null(text);
	p += sprintf(p, "version=1\n");
	for (unsigned i = 0; i < n; i++)
		p += sprintf(p, "k%u=%u\n", i, i);
	*len = (size_t)(p - text);
	return text;
}

static void malformed_too_many_keys(void **state)
{
	su_kv kv = {0};
	size_t len = 0;
	char *text, *msg;
	int rc = -1;

	(void)state;
	text = many_keys(256, &len); /* the cap itself is fine */
	msg = parse_logged(text, len, &kv, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(kv.count, 256);
	free(msg);
	su_kv_free(&kv);
	free(text);

	text = many_keys(257, &len); /* key 257 is on line 258 */
	expect_malformed(text, len, PATH ":258: ");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_good_record),
		cmocka_unit_test(parse_version_only),
		cmocka_unit_test(parse_honours_length),
		cmocka_unit_test(round_trip_keeps_unknown_keys_and_order),
		cmocka_unit_test(format_empty_record),
		cmocka_unit_test(set_appends_and_replaces_in_place),
		cmocka_unit_test(del_and_del_prefix),
		cmocka_unit_test(set_refuses_bad_keys_and_values),
		cmocka_unit_test(set_never_builds_an_unreadable_record),
		cmocka_unit_test(get_u64_reads_absent_and_bad),
		cmocka_unit_test(malformed_empty_text),
		cmocka_unit_test(malformed_missing_version_line),
		cmocka_unit_test(malformed_version_2),
		cmocka_unit_test(malformed_line_without_equals),
		cmocka_unit_test(malformed_bad_key_chars),
		cmocka_unit_test(malformed_duplicate_key),
		cmocka_unit_test(malformed_duplicate_version),
		cmocka_unit_test(malformed_cr_in_value),
		cmocka_unit_test(malformed_nul_byte),
		cmocka_unit_test(malformed_missing_final_newline),
		cmocka_unit_test(malformed_blank_line),
		cmocka_unit_test(malformed_overlong_value),
		cmocka_unit_test(malformed_too_many_keys),
	};

	return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
