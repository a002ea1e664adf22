/* Unit tests: the checked parsers and small helpers (util.c), the one
 * escaper (su_escape), code normalisation (conv.c) and audit field
 * escaping (audit.c). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "audit.h"
#include "conv.h"
#include "util.h"

/* --- su_parse_u64 / su_parse_uint ---------------------------------------- */

static void parse_u64_accepts_plain_decimal(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_true(su_parse_u64("0", 0, 10, &v));
	assert_int_equal(v, 0);
	assert_true(su_parse_u64("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(su_parse_u64("007", 0, 100, &v));
	assert_int_equal(v, 7);
	assert_true(su_parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
	assert_true(v == UINT64_MAX);
}

static void parse_u64_refuses_signs_spaces_and_prefixes(void **state)
{
	static const char *const bad[] = {
		"", "+1", "-1", "-0", " 1", "\t1", "1 ", "1\n", "0x10", "0X10",
		"1e3", "1.0", "1,000", "12abc", "abc", "1_000", "١", /* Arabic-Indic one */
	};
	uint64_t v = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (su_parse_u64(bad[i], 0, UINT64_MAX, &v))
			fail_msg("su_parse_u64 accepted \"%s\"", bad[i]);
		assert_int_equal(v, 12345); /* out untouched on failure */
	}
	assert_false(su_parse_u64(NULL, 0, UINT64_MAX, &v));
	assert_int_equal(v, 12345);
}

static void parse_u64_refuses_overflow(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_false(su_parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
	assert_false(su_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v));
	assert_int_equal(v, 1);
}

static void parse_u64_enforces_bounds(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(su_parse_u64("15", 15, 300, &v));
	assert_int_equal(v, 15);
	assert_true(su_parse_u64("300", 15, 300, &v));
	assert_int_equal(v, 300);
	v = 99;
	assert_false(su_parse_u64("14", 15, 300, &v));
	assert_false(su_parse_u64("301", 15, 300, &v));
	assert_false(su_parse_u64("0", 1, 1, &v));
	assert_int_equal(v, 99);
}

static void parse_uint_bounds_and_junk(void **state)
{
	unsigned v = 5;

	(void)state;
	assert_true(su_parse_uint("6", 6, 8, &v));
	assert_int_equal(v, 6);
	assert_true(su_parse_uint("8", 6, 8, &v));
	assert_int_equal(v, 8);
	assert_true(su_parse_uint("4294967295", 0, UINT_MAX, &v));
	assert_true(v == UINT_MAX);
	v = 5;
	assert_false(su_parse_uint("9", 6, 8, &v));
	assert_false(su_parse_uint("5", 6, 8, &v));
	assert_false(su_parse_uint("4294967296", 0, UINT_MAX, &v));
	assert_false(su_parse_uint("-1", 0, UINT_MAX, &v));
	assert_false(su_parse_uint("+7", 6, 8, &v));
	assert_false(su_parse_uint(" 7", 6, 8, &v));
	assert_false(su_parse_uint("7 ", 6, 8, &v));
	assert_false(su_parse_uint("0x7", 0, 8, &v));
	assert_false(su_parse_uint("", 0, 8, &v));
	assert_int_equal(v, 5);
}

/* --- su_valid_username ---------------------------------------------------- */

static void username_accepts_ordinary_names(void **state)
{
	static const char *const good[] = {
		"alice", "a", "bob.smith", "x-y", "user_1", "1234", "Admin",
		"a.", "host$", "a-", "svc@realm",
	};
	char name64[SU_USER_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!su_valid_username(good[i]))
			fail_msg("su_valid_username refused \"%s\"", good[i]);
	memset(name64, 'a', SU_USER_MAX);
	name64[SU_USER_MAX] = '\0';
	assert_int_equal(SU_USER_MAX, 64);
	assert_true(su_valid_username(name64));
}

static void username_refuses_unsafe_names(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", ".x", ".hidden", "-x", "-", "a/b", "/", "../root",
		"a b", " a", "a ", "a\tb", "a\nb", "a\rb", "a:b", ":", "a\x7f",
		"caf\xc3\xa9", "\xff", "a\x01",
	};
	char name65[SU_USER_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (su_valid_username(bad[i]))
			fail_msg("su_valid_username accepted bad name #%zu", i);
	assert_false(su_valid_username(NULL));
	memset(name65, 'a', SU_USER_MAX + 1);
	name65[SU_USER_MAX + 1] = '\0';
	assert_false(su_valid_username(name65));
}

/* --- su_has_control ------------------------------------------------------- */

static void has_control_finds_every_control_byte(void **state)
{
	char s[4] = "a?b";

	(void)state;
	assert_false(su_has_control(""));
	assert_false(su_has_control("plain text, with ~ and spaces"));
	assert_false(su_has_control("caf\xc3\xa9")); /* UTF-8 is not control */
	for (int c = 1; c < 0x20; c++) {
		s[1] = (char)c;
		if (!su_has_control(s))
			fail_msg("byte 0x%02x not seen as control", c);
	}
	s[1] = 0x7f;
	assert_true(su_has_control(s));
	assert_true(su_has_control("\r"));
	assert_true(su_has_control("trailing\n"));
}

/* --- su_path_join ----------------------------------------------------------- */

static void expect_join(const char *dir, const char *name, const char *want)
{
	char *got = su_path_join(dir, name);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void path_join_uses_one_slash(void **state)
{
	(void)state;
	expect_join("/etc/stepup", "users", "/etc/stepup/users");
	expect_join("/etc/stepup/", "users", "/etc/stepup/users");
	expect_join("/etc/stepup///", "users", "/etc/stepup/users");
	expect_join("rel", "x", "rel/x");
}

/* The root directory already ends in its one slash. */
static void path_join_root_dir(void **state)
{
	(void)state;
	expect_join("/", "etc", "/etc");
	expect_join("//", "etc", "/etc");
}

static void path_join_refuses_overlong(void **state)
{
	char *name = malloc(PATH_MAX + 1);

	(void)state;
	assert_non_null(name);
	memset(name, 'n', PATH_MAX);
	name[PATH_MAX] = '\0';
	assert_null(su_path_join("/etc", name));
	name[PATH_MAX - 5] = '\0'; /* one byte too many for PATH_MAX */
	assert_null(su_path_join("/etc", name));
	assert_null(su_path_join("/etc/", name));
	/* The longest that fits, with its NUL, is PATH_MAX bytes. */
	name[PATH_MAX - 6] = '\0'; /* "/etc" + "/" + name + NUL == PATH_MAX */
	{
		char *p = su_path_join("/etc", name);
		assert_non_null(p);
		assert_int_equal(strlen(p), PATH_MAX - 1);
		free(p);
	}
	free(name);
}

/* --- su_normalise_code ---------------------------------------------------- */

static void expect_code(const char *in, const char *want)
{
	char out[32];

	memset(out, 'Z', sizeof(out));
	assert_int_equal(su_normalise_code(in, out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

static void normalise_code_strips_blanks_and_dashes(void **state)
{
	(void)state;
	expect_code("123456", "123456");
	expect_code("123 456", "123456");
	expect_code(" 123 456 ", "123456");
	expect_code("abcd-efgh", "ABCDEFGH");
	expect_code("12\t34", "1234");
	expect_code("--1-2--", "12");
	expect_code("", "");
	expect_code("  - ", "");
}

static void normalise_code_refuses_other_characters(void **state)
{
	static const char *const bad[] = {
		"12.34", "12_34", "12+34", "1234\n", "12\r34", "12/34", "١٢٣",
		"caf\xc3\xa9", "12;34", "%s%s",
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (su_normalise_code(bad[i], out, sizeof(out)) != -1)
			fail_msg("su_normalise_code accepted bad code #%zu", i);
}

static void normalise_code_respects_the_buffer(void **state)
{
	char out[8], big[9];

	(void)state;
	/* Seven characters and the NUL fit exactly; eight do not. */
	assert_int_equal(su_normalise_code("1234567", out, sizeof(out)), 7);
	assert_string_equal(out, "1234567");
	memset(big, 'Z', sizeof(big));
	assert_int_equal(su_normalise_code("12345678", big, 8), -1);
	assert_int_equal(big[8], 'Z'); /* nothing written past the size given */
	/* Blanks do not count against the size. */
	assert_int_equal(su_normalise_code("123 4567", out, sizeof(out)), 7);
	assert_int_equal(su_normalise_code("12345678901234567890", out, sizeof(out)), -1);
}

/* --- su_escape ------------------------------------------------------------ */

/* Every byte that is not printable ASCII, in one string (no NUL). */
static void all_unprintable(char out[0x20 + 0x81 + 1])
{
	size_t n = 0;

	for (unsigned c = 1; c < 0x20; c++)
		out[n++] = (char)c;
	for (unsigned c = 0x7f; c <= 0xff; c++)
		out[n++] = (char)c;
	out[n] = '\0';
}

static void escape_printable_replaces_every_unprintable_byte(void **state)
{
	char in[0x20 + 0x81 + 1], out[sizeof(in)], expected[sizeof(in)];

	(void)state;
	assert_string_equal(su_escape("a b\"=\\~", &su_escape_printable, 64, out), "a b\"=\\~");
	all_unprintable(in);
	memset(expected, '?', strlen(in));
	expected[strlen(in)] = '\0';
	assert_string_equal(su_escape(in, &su_escape_printable, sizeof(out) - 1, out), expected);
	assert_string_equal(su_escape(NULL, &su_escape_printable, 8, out), "");
}

static void escape_printable_cuts_without_a_mark(void **state)
{
	char out[16];

	(void)state;
	memset(out, '#', sizeof(out));
	assert_string_equal(su_escape("abcdefgh", &su_escape_printable, 5, out), "abcde");
	assert_int_equal(out[6], '#'); /* max + 1 bytes written, no more */
	assert_string_equal(su_escape("ab\x1b", &su_escape_printable, 3, out), "ab?");
}

static void escape_hex_writes_held_and_unprintable_bytes(void **state)
{
	const su_escape_style token = { .held = " =" };
	char in[0x20 + 0x81 + 1], out[4 * sizeof(in)];

	(void)state;
	assert_string_equal(su_escape("a b=c\\\x7f\xc3", &token, 64, out),
			    "a\\x20b\\x3dc\\\\x7f\\xc3");
	all_unprintable(in);
	su_escape(in, &token, sizeof(out) - 1, out);
	for (size_t i = 0; in[i] != '\0'; i++) {
		char piece[5];

		snprintf(piece, sizeof(piece), "\\x%02x", (unsigned char)in[i]);
		assert_memory_equal(out + 4 * i, piece, 4);
	}
	assert_int_equal(strlen(out), 4 * strlen(in));
}

static void escape_doubles_a_backslash_when_told(void **state)
{
	const su_escape_style display = { .backslash_doubled = true };
	const su_escape_style held = { .held = "\\", .replacement = '?' };
	char out[32];

	(void)state;
	assert_string_equal(su_escape("a\\x41 \t", &display, 31, out), "a\\\\x41 \\x09");
	assert_string_equal(su_escape("a\\b", &held, 31, out), "a?b");
}

/* Cut within max: the marker counts, and a text that fits whole (even in
 * the marker's room) is not cut. */
static void escape_marker_within_max(void **state)
{
	const su_escape_style style = { .cut_marker = "..." };
	char out[16];

	(void)state;
	assert_string_equal(su_escape("abcdefgh", &style, 8, out), "abcdefgh");
	assert_string_equal(su_escape("abcdefghi", &style, 8, out), "abcde...");
	/* "\x01" does not fit in the 5 characters before the marker: not halved. */
	assert_string_equal(su_escape("abc\x01xyzw", &style, 8, out), "abc...");
	/* No room for the marker: cut without it, never past max. */
	assert_string_equal(su_escape("abcdefghi", &style, 2, out), "ab");
}

/* Cut after max: max characters of text, then the marker. */
static void escape_marker_after_max(void **state)
{
	const su_escape_style style = { .cut_marker = "...", .marker_after_max = true };
	char out[16];

	(void)state;
	assert_string_equal(su_escape("abcdefgh", &style, 8, out), "abcdefgh");
	assert_string_equal(su_escape("abcdefghi", &style, 8, out), "abcdefgh...");
	assert_string_equal(su_escape("abcdefg\x01", &style, 8, out), "abcdefg...");
}

/* --- su_audit_escape ------------------------------------------------------ */

static void audit_escape_passes_plain_tokens(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(su_audit_escape("alice", buf, sizeof(buf)), "alice");
	assert_string_equal(su_audit_escape("/dev/pts/3", buf, sizeof(buf)), "/dev/pts/3");
	assert_string_equal(su_audit_escape("host.example.com", buf, sizeof(buf)),
			    "host.example.com");
}

static void audit_escape_null_and_empty_become_dash(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(su_audit_escape(NULL, buf, sizeof(buf)), "-");
	assert_string_equal(su_audit_escape("", buf, sizeof(buf)), "-");
}

static void audit_escape_hex_escapes_separators_and_controls(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(su_audit_escape("a b", buf, sizeof(buf)), "a\\x20b");
	assert_string_equal(su_audit_escape("x=y", buf, sizeof(buf)), "x\\x3dy");
	assert_string_equal(su_audit_escape("\"q\"", buf, sizeof(buf)), "\\x22q\\x22");
	assert_string_equal(su_audit_escape("a\\b", buf, sizeof(buf)), "a\\x5cb");
	assert_string_equal(su_audit_escape("l1\nl2", buf, sizeof(buf)), "l1\\x0al2");
	assert_string_equal(su_audit_escape("\r\t\x1b\x7f", buf, sizeof(buf)),
			    "\\x0d\\x09\\x1b\\x7f");
	assert_string_equal(su_audit_escape("\xc3\xa9", buf, sizeof(buf)), "\\xc3\\xa9");
	/* A forged field never appears as a separate token. */
	su_audit_escape("evil result=success", buf, sizeof(buf));
	assert_null(strchr(buf, ' '));
	assert_null(strchr(buf, '='));
}

static void audit_escape_truncates_within_buffer(void **state)
{
	char value[501], area[64 + 16];
	const size_t size = 64;
	const char *got;
	size_t len;

	(void)state;
	memset(value, 'v', 500);
	value[500] = '\0';
	memset(area, '#', sizeof(area));
	got = su_audit_escape(value, area, size);
	assert_ptr_equal(got, area);
	len = strnlen(area, size);
	assert_true(len < size); /* NUL-terminated inside the buffer */
	assert_true(len >= 4);
	assert_memory_equal(area + len - 3, "...", 3);
	for (size_t i = 0; i + 3 < len; i++)
		assert_int_equal(area[i], 'v');
	for (size_t i = size; i < sizeof(area); i++)
		assert_int_equal(area[i], '#'); /* nothing written past size */

	/* Same with escapes that do not fit whole. */
	memset(value, ' ', 500);
	memset(area, '#', sizeof(area));
	su_audit_escape(value, area, size);
	len = strnlen(area, size);
	assert_true(len < size);
	assert_memory_equal(area + len - 3, "...", 3);
	for (size_t i = size; i < sizeof(area); i++)
		assert_int_equal(area[i], '#');
}

/* Truncation must not leave half an escape ("\x2...") in the field, or a
 * reader cannot tell which byte was there. */
static void audit_escape_truncation_keeps_escapes_whole(void **state)
{
	char value[64], buf[32];

	(void)state;
	for (size_t pad = 0; pad < 8; pad++) {
		size_t len;
		const char *dots;

		memset(value, 'a', pad);
		memset(value + pad, '=', sizeof(value) - pad - 1);
		value[sizeof(value) - 1] = '\0';
		su_audit_escape(value, buf, sizeof(buf));
		len = strlen(buf);
		assert_true(len < sizeof(buf));
		dots = buf + len - 3;
		assert_string_equal(dots, "...");
		/* Everything before "..." is whole "\x3d" groups after the a's. */
		assert_int_equal((size_t)(dots - buf - pad) % 4, 0);
		for (const char *p = buf + pad; p < dots; p += 4)
			assert_memory_equal(p, "\\x3d", 4);
	}
}

static void audit_escape_short_value_fits_exactly(void **state)
{
	char buf[8];

	(void)state;
	/* "abc" needs 4 bytes: fits in 8 without truncation marks. */
	assert_string_equal(su_audit_escape("abc", buf, sizeof(buf)), "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_u64_accepts_plain_decimal),
		cmocka_unit_test(parse_u64_refuses_signs_spaces_and_prefixes),
		cmocka_unit_test(parse_u64_refuses_overflow),
		cmocka_unit_test(parse_u64_enforces_bounds),
		cmocka_unit_test(parse_uint_bounds_and_junk),
		cmocka_unit_test(username_accepts_ordinary_names),
		cmocka_unit_test(username_refuses_unsafe_names),
		cmocka_unit_test(has_control_finds_every_control_byte),
		cmocka_unit_test(path_join_uses_one_slash),
		cmocka_unit_test(path_join_root_dir),
		cmocka_unit_test(path_join_refuses_overlong),
		cmocka_unit_test(normalise_code_strips_blanks_and_dashes),
		cmocka_unit_test(normalise_code_refuses_other_characters),
		cmocka_unit_test(normalise_code_respects_the_buffer),
		cmocka_unit_test(escape_printable_replaces_every_unprintable_byte),
		cmocka_unit_test(escape_printable_cuts_without_a_mark),
		cmocka_unit_test(escape_hex_writes_held_and_unprintable_bytes),
		cmocka_unit_test(escape_doubles_a_backslash_when_told),
		cmocka_unit_test(escape_marker_within_max),
		cmocka_unit_test(escape_marker_after_max),
		cmocka_unit_test(audit_escape_passes_plain_tokens),
		cmocka_unit_test(audit_escape_null_and_empty_become_dash),
		cmocka_unit_test(audit_escape_hex_escapes_separators_and_controls),
		cmocka_unit_test(audit_escape_truncates_within_buffer),
		cmocka_unit_test(audit_escape_truncation_keeps_escapes_whole),
		cmocka_unit_test(audit_escape_short_value_fits_exactly),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
