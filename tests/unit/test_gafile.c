/* Unit tests: google-authenticator files (src/gafile.c), rule by rule as
 * numbered in gafile.h. The files are made up here; none is anyone's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "gafile.h"
#include "secret.h"
#include "totp.h"

#define PROG "test"
#define PATH "/home/alice/.google_authenticator"
/* 16 bytes, as Debian's google-authenticator writes (26 characters) */
#define SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY"
#define SECRET_BYTES 16

static const su_log test_log = {.pamh = NULL, .prog = PROG, .debug = false};

/* What google-authenticator -t -d -f -r 3 -R 30 -w 3 -e 5 writes. */
static const char ga_totp[] =
	SECRET "\n"
	"\" RATE_LIMIT 3 30\n"
	"\" WINDOW_SIZE 3\n"
	"\" DISALLOW_REUSE\n"
	"\" TOTP_AUTH\n"
	"94285593\n"
	"24064900\n"
	"51543088\n"
	"65384648\n"
	"52303647\n";

static int parse_logged(const char *text, size_t len, su_ga_file *f, char **msg)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_ga_parse(&test_log, PATH, text, len, f);
	*msg = capture_end(&cap);
	return rc;
}

static void parse_ok(const char *text, su_ga_file *f)
{
	char *msg;

	if (parse_logged(text, strlen(text), f, &msg) != 0)
		fail_msg("refused: %s", msg);
	assert_string_equal(msg, "");
	free(msg);
}

/* Refused with exactly one line "test: PATH:LINE: ..." that has want, and
 * nothing of secret (a piece of the file that must not be shown). The
 * struct is wiped. */
static void parse_bad_n(const char *text, size_t len, unsigned line, const char *want,
			const char *secret)
{
	su_ga_file f;
	char head[128], *msg;

	memset(&f, 0x55, sizeof(f));
	assert_int_equal(parse_logged(text, len, &f, &msg), -1);
	snprintf(head, sizeof(head), PROG ": " PATH ":%u: ", line);
	if (strncmp(msg, head, strlen(head)) != 0 || strstr(msg, want) == NULL)
		fail_msg("logged \"%s\", want \"%s...%s...\"", msg, head, want);
	assert_string_equal(strchr(msg, '\n'), "\n");
	if (secret != NULL && strstr(msg, secret) != NULL)
		fail_msg("logged \"%s\", which shows \"%s\"", msg, secret);
	assert_null(f.key);
	assert_int_equal(f.code_count, 0);
	for (size_t i = 0; i < sizeof(f.codes); i++)
		assert_int_equal(((char *)f.codes)[i], 0);
	free(msg);
}

static void parse_bad(const char *text, unsigned line, const char *want, const char *secret)
{
	parse_bad_n(text, strlen(text), line, want, secret);
}

static void assert_secret(const su_ga_file *f, const char *base32)
{
	char *text = su_base32_encode(f->key, f->key_len);

	assert_non_null(text);
	assert_string_equal(text, base32);
	su_free_string(text);
}

/* ---- a file as google-authenticator writes it ---------------------------- */

static void parses_a_totp_file(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(ga_totp, &f);
	assert_int_equal(f.key_len, SECRET_BYTES);
	assert_secret(&f, SECRET);
	assert_int_equal(su_ga_mode(&f), SU_GA_TOTP);
	assert_int_equal(f.step_size, 30); /* no STEP_SIZE: the default */
	assert_int_equal(f.line[SU_GA_STEP_SIZE], 0);
	assert_int_equal(f.line[SU_GA_RATE_LIMIT], 2);
	assert_int_equal(f.rate_attempts, 3);
	assert_int_equal(f.rate_seconds, 30);
	assert_int_equal(f.line[SU_GA_WINDOW_SIZE], 3);
	assert_int_equal(f.window_size, 3);
	assert_int_equal(f.line[SU_GA_DISALLOW_REUSE], 4);
	assert_int_equal(f.used_steps, 0);
	assert_int_equal(f.line[SU_GA_TOTP_AUTH], 5);
	assert_int_equal(f.line[SU_GA_HOTP_COUNTER], 0);
	assert_int_equal(f.unknown_count, 0);
	assert_string_equal(su_ga_option_name(SU_GA_DISALLOW_REUSE), "DISALLOW_REUSE");
	su_ga_clear(&f);
}

static void step_size_is_read_and_checked(void **state)
{
	static const char *const bad[] = {"0", "61", "x", "30 30", "", "-5", "+30"};
	char text[256];
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\n\" STEP_SIZE 60\n\" TOTP_AUTH\n", &f);
	assert_int_equal(f.step_size, 60);
	assert_int_equal(f.line[SU_GA_STEP_SIZE], 2);
	su_ga_clear(&f);
	parse_ok(SECRET "\n\" TOTP_AUTH\n\" STEP_SIZE\t1 \n", &f);
	assert_int_equal(f.step_size, 1);
	su_ga_clear(&f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), SECRET "\n\" TOTP_AUTH\n\" STEP_SIZE %s\n", bad[i]);
		parse_bad(text, 3, "STEP_SIZE: not a number from 1 to 60", NULL);
	}
}

/* ---- rule 5: scratch codes ------------------------------------------------ */

static void scratch_codes_are_kept_in_order_once_each(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(ga_totp, &f);
	assert_int_equal(f.code_count, 5);
	assert_string_equal(f.codes[0], "94285593");
	assert_string_equal(f.codes[4], "52303647");
	assert_int_equal(f.code_repeats, 0);
	su_ga_clear(&f);
	/* a repeated code works once: counted, not kept twice */
	parse_ok(SECRET "\n\" TOTP_AUTH\n12345678\n87654321\n12345678\n", &f);
	assert_int_equal(f.code_count, 2);
	assert_int_equal(f.code_repeats, 1);
	su_ga_clear(&f);
	/* none at all is a file too */
	parse_ok(SECRET "\n\" TOTP_AUTH\n", &f);
	assert_int_equal(f.code_count, 0);
	su_ga_clear(&f);
}

/* Rule 6: nothing of the secret or the codes is left after su_ga_clear. */
static void clear_wipes_everything(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(ga_totp, &f);
	su_ga_clear(&f);
	for (size_t i = 0; i < sizeof(f); i++)
		assert_int_equal(((unsigned char *)&f)[i], 0);
	su_ga_clear(NULL);
}

static void too_many_scratch_codes_are_refused(void **state)
{
	size_t size = 64 + (SU_GA_CODES_MAX + 1) * 9;
	char *text = malloc(size), *p = text;
	su_ga_file f;

	(void)state;
	assert_non_null(text);
	p += sprintf(p, SECRET "\n\" TOTP_AUTH\n");
	for (int i = 0; i < SU_GA_CODES_MAX; i++)
		p += sprintf(p, "%08d\n", 10000000 + i);
	parse_ok(text, &f);
	assert_int_equal(f.code_count, SU_GA_CODES_MAX);
	su_ga_clear(&f);
	/* one more: named by its line (2 lines before the codes) */
	sprintf(p, "%08d\n", 10000000 + SU_GA_CODES_MAX);
	parse_bad(text, SU_GA_CODES_MAX + 3, "more than 50 scratch codes", "100000");
	free(text);
}

/* ---- google-authenticator's modes ----------------------------------------- */

static void hotp_files_are_told_apart(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\n\" WINDOW_SIZE 3\n\" HOTP_COUNTER 1\n66383232\n", &f);
	assert_int_equal(su_ga_mode(&f), SU_GA_HOTP);
	assert_int_equal(f.line[SU_GA_HOTP_COUNTER], 3);
	su_ga_clear(&f);
	/* both: HOTP, as google-authenticator's module decides */
	parse_ok(SECRET "\n\" TOTP_AUTH\n\" HOTP_COUNTER 17\n", &f);
	assert_int_equal(su_ga_mode(&f), SU_GA_HOTP);
	su_ga_clear(&f);
}

static void a_file_without_a_mode_has_none(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\n\" WINDOW_SIZE 3\n12345678\n", &f);
	assert_int_equal(su_ga_mode(&f), SU_GA_NO_MODE);
	su_ga_clear(&f);
	parse_ok(SECRET "\n", &f);
	assert_int_equal(su_ga_mode(&f), SU_GA_NO_MODE);
	su_ga_clear(&f);
}

/* ---- rule 1: the secret --------------------------------------------------- */

static void a_malformed_secret_is_refused(void **state)
{
	su_ga_file f;

	(void)state;
	parse_bad("GEZDGNBV!Y3TQOJQGEZDGNBVGY\n\" TOTP_AUTH\n", 1,
		  "the secret is not base32 (A-Z, 2-7)", "GEZDGNBV");
	parse_bad("GEZDGNBV GY3TQOJQGEZDGNBVGY\n\" TOTP_AUTH\n", 1, "not base32", "GEZDGNBV");
	parse_bad("GEZDGNBVGY3TQOJQGEZDGNBVGY==\n", 1, "not base32", "GEZDGNBV");
	/* 5 bytes: too short to be a TOTP secret here */
	parse_bad("GEZDGNBV\n\" TOTP_AUTH\n", 1, "the secret is 5 bytes; pam_stepup takes 10 to 64",
		  "GEZDGNBV");
	parse_bad("\" TOTP_AUTH\n12345678\n", 1, "no secret: the first line must be", NULL);
	parse_bad("\n" SECRET "\n", 1, "no secret", NULL);
	parse_bad("", 1, "no secret: the file is empty", NULL);
	/* 80 bits (google-authenticator's old size) and lower case are taken */
	parse_ok("jbswy3dpehpk3pxp\n\" TOTP_AUTH\n", &f);
	assert_int_equal(f.key_len, 10);
	assert_secret(&f, "JBSWY3DPEHPK3PXP");
	su_ga_clear(&f);
}

/* ---- rule 4: malformed lines, named by number, never shown ---------------- */

static void a_malformed_line_is_named_not_shown(void **state)
{
	static const char with_nul[] = SECRET "\n\" TOTP_AUTH\n1234\0" "5678\n";

	(void)state;
	parse_bad(SECRET "\n\" TOTP_AUTH\n12345678\nhunter2 is my password\n", 4,
		  "not an option (\" NAME), a scratch code (8 digits) or a blank line", "hunter2");
	parse_bad(SECRET "\n\" TOTP_AUTH\n1234567\n", 3,
		  "not a scratch code (8 digits, the first not 0)", "1234567");
	parse_bad(SECRET "\n\" TOTP_AUTH\n123456789\n", 3, "not a scratch code", "1234567");
	parse_bad(SECRET "\n\" TOTP_AUTH\n01234567\n", 3, "not a scratch code", "1234567");
	parse_bad(SECRET "\n\" TOTP_AUTH\n 12345678x\n", 3, "not an option", "1234567");
	parse_bad(SECRET "\n\"TOTP_AUTH\n", 2, "not an option", "TOTP");
	parse_bad(SECRET "\n\" \n", 2, "an option line without a name", NULL);
	/* an option's bad value: its name (ours), not its value */
	parse_bad(SECRET "\n\" TOTP_AUTH yes\n", 2, "TOTP_AUTH: takes no value", "yes");
	parse_bad(SECRET "\n\" WINDOW_SIZE 101\n", 2, "WINDOW_SIZE: not a number from 1 to 100",
		  "101");
	parse_bad(SECRET "\n\" RATE_LIMIT 0 30\n", 2, "RATE_LIMIT: not ATTEMPTS", NULL);
	parse_bad(SECRET "\n\" RATE_LIMIT 3 30 1700000000 x\n", 2,
		  "RATE_LIMIT: a time stamp that is not a number", "1700000000");
	parse_bad(SECRET "\n\" DISALLOW_REUSE 56666666 z\n", 2,
		  "DISALLOW_REUSE: a time step that is not a number", "56666666");
	parse_bad(SECRET "\n\" TIME_SKEW 1.5\n", 2, "TIME_SKEW: not a number of steps", "1.5");
	parse_bad(SECRET "\n\" TOTP_AUTH\n\" STEP_SIZE 30\n\" STEP_SIZE 60\n", 4,
		  "STEP_SIZE given twice (first on line 3)", NULL);
	/* a NUL byte, on the line it is on */
	parse_bad_n(with_nul, sizeof(with_nul) - 1, 3, "a NUL byte", "1234");
}

/* ---- rule 2: line ends and blank lines ------------------------------------ */

static void crlf_and_blank_lines_are_read(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\r\n\r\n\" STEP_SIZE 60\r\n  \n\t\r\n\" TOTP_AUTH\r\n"
		 "12345678\r\n\r\n87654321", &f);
	assert_secret(&f, SECRET);
	assert_int_equal(su_ga_mode(&f), SU_GA_TOTP);
	assert_int_equal(f.step_size, 60);
	assert_int_equal(f.line[SU_GA_TOTP_AUTH], 6);
	assert_int_equal(f.code_count, 2);
	assert_string_equal(f.codes[0], "12345678");
	assert_string_equal(f.codes[1], "87654321"); /* no final line end */
	su_ga_clear(&f);
}

/* ---- rule 3: options ------------------------------------------------------- */

static void option_values_are_read(void **state)
{
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\n\" DISALLOW_REUSE 56666666 56666668 56666667\n"
		 "\" RATE_LIMIT 5 60 1700000000 1700000030\n\" TIME_SKEW -2\n"
		 "\" RESETTING_TIME_SKEW 56666666+2 56666667+2\n\" WINDOW_SIZE 17\n"
		 "\" TOTP_AUTH\n", &f);
	assert_int_equal(f.used_steps, 3);
	assert_int_equal(f.last_used_step, 56666668);
	assert_int_equal(f.rate_attempts, 5);
	assert_int_equal(f.rate_seconds, 60);
	assert_int_equal(f.time_skew, -2);
	assert_int_equal(f.line[SU_GA_RESETTING_TIME_SKEW], 5);
	assert_int_equal(f.window_size, 17);
	su_ga_clear(&f);
}

static void unknown_options_are_listed_not_refused(void **state)
{
	char text[1024], *p = text;
	su_ga_file f;

	(void)state;
	parse_ok(SECRET "\n\" TOTP_AUTH\n\" FUTURE_THING 1 2\n\" lower_case\n"
		 "\" JBSWY3DPEHPK3PXP\n12345678\n", &f);
	assert_int_equal(su_ga_mode(&f), SU_GA_TOTP);
	assert_int_equal(f.unknown_count, 3);
	assert_int_equal(f.unknown[0].line, 3);
	assert_string_equal(f.unknown[0].name, "FUTURE_THING");
	/* not FILEFORMAT's shape of a name: could be anything, not shown */
	assert_int_equal(f.unknown[1].line, 4);
	assert_string_equal(f.unknown[1].name, "");
	assert_int_equal(f.unknown[2].line, 5);
	assert_string_equal(f.unknown[2].name, "");
	assert_int_equal(f.code_count, 1);
	su_ga_clear(&f);
	/* more than are listed: all counted */
	p += sprintf(p, SECRET "\n\" TOTP_AUTH\n");
	for (int i = 0; i < SU_GA_UNKNOWN_MAX + 3; i++)
		p += sprintf(p, "\" NEW_%d\n", i);
	parse_ok(text, &f);
	assert_int_equal(f.unknown_count, SU_GA_UNKNOWN_MAX + 3);
	assert_string_equal(f.unknown[SU_GA_UNKNOWN_MAX - 1].name, "NEW_7");
	su_ga_clear(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_totp_file),
		cmocka_unit_test(step_size_is_read_and_checked),
		cmocka_unit_test(scratch_codes_are_kept_in_order_once_each),
		cmocka_unit_test(clear_wipes_everything),
		cmocka_unit_test(too_many_scratch_codes_are_refused),
		cmocka_unit_test(hotp_files_are_told_apart),
		cmocka_unit_test(a_file_without_a_mode_has_none),
		cmocka_unit_test(a_malformed_secret_is_refused),
		cmocka_unit_test(a_malformed_line_is_named_not_shown),
		cmocka_unit_test(crlf_and_blank_lines_are_read),
		cmocka_unit_test(option_values_are_read),
		cmocka_unit_test(unknown_options_are_listed_not_refused),
	};

	return cmocka_run_group_tests_name("gafile", tests, NULL, NULL);
}
