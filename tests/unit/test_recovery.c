/* Unit tests: recovery codes (src/recovery.c): shape, storage, matching,
 * single use, and voiding by a new set; imported sets of 8-digit codes
 * (google-authenticator scratch codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "conv.h"
#include "recovery.h"
#include "secret.h"

static const su_log quiet = { .pamh = NULL, .prog = "test", .debug = false };
static const unsigned char key[SU_HOSTKEY_BYTES] = { 1, 2, 3, 4, 5 };

/* The shown form as the module sees an answer for record's set:
 * su_normalise_code, then su_recovery_canonical. */
static bool canon_in(const su_kv *record, const char *typed, char *canon)
{
	char norm[64];

	return su_normalise_code(typed, norm, sizeof(norm)) > 0 &&
	       su_recovery_canonical(record, norm, canon);
}

/* The same for a set of our own codes. */
static bool canon_of(const char *typed, char *canon)
{
	static const su_kv ours = { 0 };

	return canon_in(&ours, typed, canon);
}

static void generate(su_kv *record, unsigned count, char (*shown)[SU_RECOVERY_SHOWN])
{
	assert_int_equal(su_recovery_generate(key, "alice", count, record, shown), 0);
}

/* Code index of a set of three is used: the first use is new, the second
 * was used already, and two of three are left. */
static void use_once_of_three(const su_kv *record, su_kv *st, unsigned index)
{
	unsigned left, total;
	bool was_used;

	assert_int_equal(su_recovery_use(&quiet, "s", record, st, index, &was_used), 0);
	assert_false(was_used);
	assert_int_equal(su_recovery_use(&quiet, "s", record, st, index, &was_used), 0);
	assert_true(was_used);
	assert_int_equal(su_recovery_left(&quiet, "s", record, st, &left, &total), 0);
	assert_int_equal(left, 2);
	assert_int_equal(total, 3);
}

static void codes_have_the_documented_shape(void **state)
{
	char shown[SU_RECOVERY_COUNT_MAX][SU_RECOVERY_SHOWN];
	su_kv record = { 0 };

	(void)state;
	generate(&record, SU_RECOVERY_COUNT_MAX, shown);
	for (unsigned i = 0; i < SU_RECOVERY_COUNT_MAX; i++) {
		assert_int_equal(strlen(shown[i]), 14);
		assert_true(shown[i][4] == '-' && shown[i][9] == '-');
		for (int j = 0; j < 14; j++)
			if (j != 4 && j != 9)
				assert_non_null(strchr("0123456789abcdefghjkmnpqrstvwxyz", shown[i][j]));
		for (unsigned k = 0; k < i; k++)
			assert_string_not_equal(shown[i], shown[k]);
	}
	/* nothing of a code is stored in clear */
	for (unsigned i = 0; i < SU_RECOVERY_COUNT_MAX; i++) {
		char *formatted;
		size_t len;
		char canon[SU_RECOVERY_CHARS + 1];

		assert_true(canon_of(shown[i], canon));
		formatted = su_kv_format(&record, &len);
		assert_null(strstr(formatted, canon));
		assert_null(strstr(formatted, shown[i]));
		free(formatted);
	}
	assert_true(su_recovery_enrolled(&record));
	su_kv_free(&record);
}

static void each_code_matches_itself_only(void **state)
{
	char shown[5][SU_RECOVERY_SHOWN], canon[SU_RECOVERY_CHARS + 1];
	su_kv record = { 0 };
	unsigned index;

	(void)state;
	generate(&record, 5, shown);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(canon_of(shown[i], canon));
		assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon,
						   &index), 0);
		assert_int_equal(index, i + 1);
		/* another user, another key: no match */
		assert_int_equal(su_recovery_match(&quiet, "rec", key, "bob", &record, canon,
						   &index), 0);
		assert_int_equal(index, 0);
	}
	assert_true(canon_of("0000-0000-0000", canon));
	assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon, &index), 0);
	assert_int_equal(index, 0);
	su_kv_free(&record);
}

static void typing_is_forgiving(void **state)
{
	char canon[SU_RECOVERY_CHARS + 1];

	(void)state;
	assert_true(canon_of("ab1c-0d2e-fg3h", canon));
	assert_string_equal(canon, "AB1C0D2EFG3H");
	assert_true(canon_of(" AB1C 0D2E FG3H ", canon));
	assert_string_equal(canon, "AB1C0D2EFG3H");
	/* O, I and L read as 0, 1, 1 */
	assert_true(canon_of("abIc-Od2e-fgL3", canon));
	assert_string_equal(canon, "AB1C0D2EFG13");
	/* U is not in the alphabet; wrong lengths are not codes */
	assert_false(canon_of("abuc-0d2e-fg3h", canon));
	assert_false(canon_of("ab1c-0d2e-fg3", canon));
	assert_false(canon_of("ab1c-0d2e-fg3hh", canon));
	assert_false(canon_of("123456", canon));
}

static void a_code_is_used_once(void **state)
{
	char shown[3][SU_RECOVERY_SHOWN];
	su_kv record = { 0 }, st = { 0 };
	unsigned left, total;

	(void)state;
	generate(&record, 3, shown);
	assert_int_equal(su_recovery_left(&quiet, "s", &record, &st, &left, &total), 0);
	assert_int_equal(left, 3);
	use_once_of_three(&record, &st, 2);
	su_kv_free(&record);
	su_kv_free(&st);
}

static void a_new_set_voids_the_old(void **state)
{
	char old[2][SU_RECOVERY_SHOWN], fresh[2][SU_RECOVERY_SHOWN];
	char canon[SU_RECOVERY_CHARS + 1];
	su_kv record = { 0 }, st = { 0 };
	unsigned index, left, total;
	bool was_used;

	(void)state;
	generate(&record, 2, old);
	assert_int_equal(su_recovery_use(&quiet, "s", &record, &st, 1, &was_used), 0);
	generate(&record, 2, fresh);
	assert_true(canon_of(old[1], canon));
	assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon, &index), 0);
	assert_int_equal(index, 0);
	/* the used list was about the old set: the new set is whole */
	assert_int_equal(su_recovery_left(&quiet, "s", &record, &st, &left, &total), 0);
	assert_int_equal(left, 2);
	su_recovery_remove(&record);
	assert_false(su_recovery_enrolled(&record));
	su_kv_free(&record);
	su_kv_free(&st);
}

static void malformed_records_and_states_fail_closed(void **state)
{
	char shown[2][SU_RECOVERY_SHOWN], canon[SU_RECOVERY_CHARS + 1];
	static const char *const bad_record[][2] = {
		{ "recovery_count", "99" }, { "recovery_count", "x" },
		{ "recovery_set", "zz" }, { "recovery_2", "abc:def" },
	};
	unsigned index, left, total;
	bool was_used;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_record) / sizeof(bad_record[0]); i++) {
		su_kv record = { 0 };
		capture c;
		char *msg;
		int rc;

		generate(&record, 2, shown);
		assert_true(canon_of(shown[0], canon));
		assert_int_equal(su_kv_set(&record, bad_record[i][0], bad_record[i][1]), 0);
		capture_begin(&c);
		rc = su_recovery_match(&quiet, "rec", key, "alice", &record, canon, &index);
		msg = capture_end(&c);
		assert_int_equal(rc, -1);
		assert_int_equal(index, 0);
		assert_non_null(strstr(msg, "rec"));
		free(msg);
		su_kv_free(&record);
	}
	{
		su_kv record = { 0 }, st = { 0 };
		capture c;
		char *msg;
		int rc;

		generate(&record, 2, shown);
		assert_int_equal(su_kv_set(&st, "recovery_set", su_kv_get(&record, "recovery_set")), 0);
		assert_int_equal(su_kv_set(&st, "recovery_used", "1,7"), 0);
		capture_begin(&c);
		rc = su_recovery_use(&quiet, "st", &record, &st, 2, &was_used);
		rc |= su_recovery_left(&quiet, "st", &record, &st, &left, &total);
		msg = capture_end(&c);
		assert_int_not_equal(rc, 0);
		assert_non_null(strstr(msg, "recovery_used"));
		free(msg);
		su_kv_free(&record);
		su_kv_free(&st);
	}
}


/* --- imported sets (google-authenticator scratch codes) --------------------- */

static const char ga_codes[3][SU_RECOVERY_DIGITS + 1] = { "12345678", "87654321", "10000000" };

static void import(su_kv *record)
{
	assert_int_equal(su_recovery_import(key, "alice", 3, ga_codes, record), 0);
}

static void imported_codes_are_stored_as_macs_only(void **state)
{
	su_kv record = { 0 };
	char *formatted;
	size_t len;

	(void)state;
	import(&record);
	assert_true(su_recovery_enrolled(&record));
	assert_true(su_recovery_imported(&record));
	assert_string_equal(su_kv_get(&record, "recovery_format"), "digits8");
	assert_string_equal(su_kv_get(&record, "recovery_count"), "3");
	formatted = su_kv_format(&record, &len);
	for (unsigned i = 0; i < 3; i++)
		assert_null(strstr(formatted, ga_codes[i]));
	su_free_string(formatted);
	su_kv_free(&record);
}

static void imported_codes_match_and_are_used_once(void **state)
{
	char canon[SU_RECOVERY_CHARS + 1];
	su_kv record = { 0 }, st = { 0 };
	unsigned index;

	(void)state;
	import(&record);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(canon_in(&record, ga_codes[i], canon));
		assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon,
						   &index), 0);
		assert_int_equal(index, i + 1);
		/* bound to the user like our own codes */
		assert_int_equal(su_recovery_match(&quiet, "rec", key, "bob", &record, canon,
						   &index), 0);
		assert_int_equal(index, 0);
	}
	/* typed with blanks or dashes */
	assert_true(canon_in(&record, "1234-5678", canon));
	assert_string_equal(canon, "12345678");
	assert_true(canon_in(&record, " 8765 4321 ", canon));
	assert_string_equal(canon, "87654321");
	/* another 8-digit number: shaped, but no match */
	assert_true(canon_in(&record, "12345679", canon));
	assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon, &index), 0);
	assert_int_equal(index, 0);
	/* single use, as ours */
	use_once_of_three(&record, &st, 3);
	su_kv_free(&record);
	su_kv_free(&st);
}

/* Each set takes answers of its own shape only. */
static void each_set_takes_its_own_shape(void **state)
{
	char shown[1][SU_RECOVERY_SHOWN], canon[SU_RECOVERY_CHARS + 1];
	su_kv imported = { 0 }, ours = { 0 };

	(void)state;
	import(&imported);
	generate(&ours, 1, shown);
	assert_false(canon_in(&imported, shown[0], canon));
	assert_false(canon_in(&imported, "1234567", canon));
	assert_false(canon_in(&imported, "123456789", canon));
	assert_false(canon_in(&imported, "1234567O", canon)); /* no O for 0 here */
	assert_false(canon_in(&ours, "12345678", canon));
	assert_true(canon_in(&ours, shown[0], canon));
	su_kv_free(&imported);
	su_kv_free(&ours);
}

static void import_refuses_codes_of_another_shape(void **state)
{
	static const char bad[][SU_RECOVERY_DIGITS + 1] = { "1234567", "1234567a", "" };
	char good_and_bad[2][SU_RECOVERY_DIGITS + 1] = { "12345678", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		su_kv record = { 0 };

		import(&record); /* an earlier set, which the failure removes too */
		memcpy(good_and_bad[1], bad[i], sizeof(bad[i]));
		assert_int_equal(su_recovery_import(key, "alice", 2,
						    (const char (*)[SU_RECOVERY_DIGITS + 1])good_and_bad,
						    &record), -1);
		assert_false(su_recovery_enrolled(&record));
		assert_null(su_kv_get(&record, "recovery_format"));
		assert_null(su_kv_get(&record, "recovery_1"));
		su_kv_free(&record);
	}
	{
		su_kv record = { 0 };

		/* a count out of range leaves the record as it was */
		import(&record);
		assert_int_equal(su_recovery_import(key, "alice", 0, ga_codes, &record), -1);
		assert_int_equal(su_recovery_import(key, "alice", SU_RECOVERY_COUNT_MAX + 1,
						    ga_codes, &record), -1);
		assert_true(su_recovery_imported(&record));
		assert_string_equal(su_kv_get(&record, "recovery_count"), "3");
		su_kv_free(&record);
	}
}

/* `stepupctl recovery USER` after an import: a set of our own codes, the
 * imported ones void. */
static void new_codes_replace_an_imported_set(void **state)
{
	char shown[2][SU_RECOVERY_SHOWN], canon[SU_RECOVERY_CHARS + 1];
	su_kv record = { 0 };
	unsigned index;

	(void)state;
	import(&record);
	generate(&record, 2, shown);
	assert_false(su_recovery_imported(&record));
	assert_null(su_kv_get(&record, "recovery_format"));
	assert_false(canon_in(&record, ga_codes[0], canon));
	assert_true(canon_in(&record, shown[1], canon));
	assert_int_equal(su_recovery_match(&quiet, "rec", key, "alice", &record, canon, &index), 0);
	assert_int_equal(index, 2);
	su_kv_free(&record);
}

static void an_unknown_format_fails_closed(void **state)
{
	char canon[SU_RECOVERY_CHARS + 1];
	su_kv record = { 0 }, st = { 0 };
	unsigned index = 9, left, total;
	capture c;
	char *msg;
	int rc;

	(void)state;
	import(&record);
	assert_int_equal(su_kv_set(&record, "recovery_format", "digits9"), 0);
	assert_false(canon_in(&record, ga_codes[0], canon));
	assert_false(su_recovery_imported(&record));
	capture_begin(&c);
	rc = su_recovery_left(&quiet, "rec", &record, &st, &left, &total);
	rc |= su_recovery_match(&quiet, "rec", key, "alice", &record, "12345678", &index);
	msg = capture_end(&c);
	assert_int_not_equal(rc, 0);
	assert_int_equal(index, 0);
	assert_non_null(strstr(msg, "rec:0: key 'recovery_format'"));
	free(msg);
	su_kv_free(&record);
	su_kv_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(codes_have_the_documented_shape),
		cmocka_unit_test(each_code_matches_itself_only),
		cmocka_unit_test(typing_is_forgiving),
		cmocka_unit_test(a_code_is_used_once),
		cmocka_unit_test(a_new_set_voids_the_old),
		cmocka_unit_test(malformed_records_and_states_fail_closed),
		cmocka_unit_test(imported_codes_are_stored_as_macs_only),
		cmocka_unit_test(imported_codes_match_and_are_used_once),
		cmocka_unit_test(each_set_takes_its_own_shape),
		cmocka_unit_test(import_refuses_codes_of_another_shape),
		cmocka_unit_test(new_codes_replace_an_imported_set),
		cmocka_unit_test(an_unknown_format_fails_closed),
	};

	return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
