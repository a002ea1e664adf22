/* Unit tests: the lockout tally (src/lockout.c) on a state in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "lockout.h"

static const su_log quiet = { .pamh = NULL, .prog = "test", .debug = false };
#define T0 1700000000

static void fail_n(su_kv *st, su_lockout_rule r, time_t start, unsigned n, unsigned gap,
		   time_t *until)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(su_lockout_fail(&quiet, "state", st, r, start + (time_t)(i * gap),
						 until), 0);
}

static void locks_after_attempts_within_time(void **state)
{
	su_lockout_rule r = { 3, 900 };
	su_kv st = { 0 };
	time_t until = 0, u2 = 0;

	(void)state;
	fail_n(&st, r, T0, 2, 10, &until);
	assert_int_equal(until, 0);
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 20, &u2), 0);
	fail_n(&st, r, T0 + 20, 1, 0, &until);
	assert_int_equal(until, T0 + 20 + 900); /* lockout_time after the last failure */
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 21, &u2), 1);
	assert_int_equal(u2, T0 + 920);
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 919, &u2), 1);
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 920, &u2), 0);
	assert_int_equal(su_lockout_failures(&st), 3);
	su_kv_free(&st);
}

static void old_failures_fall_out_of_the_window(void **state)
{
	su_lockout_rule r = { 3, 60 };
	su_kv st = { 0 };
	time_t until = 0;

	(void)state;
	/* one failure a minute: never three within 60 s */
	fail_n(&st, r, T0, 10, 61, &until);
	assert_int_equal(until, 0);
	assert_int_equal(su_lockout_failures(&st), 10);
	/* only the stamps inside the window are kept: here the last one */
	assert_string_equal(su_kv_get(&st, "fail_times"), "1700000549");
	su_kv_free(&st);
}

static void zero_attempts_never_locks(void **state)
{
	su_lockout_rule r = { 0, 900 };
	su_kv st = { 0 };
	time_t until = 0, u2;

	(void)state;
	fail_n(&st, r, T0, 50, 1, &until);
	assert_int_equal(until, 0);
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 50, &u2), 0);
	assert_int_equal(su_lockout_failures(&st), 50);
	su_kv_free(&st);
}

static void clear_forgets_everything(void **state)
{
	su_lockout_rule r = { 2, 900 };
	su_kv st = { 0 };
	time_t until = 0, u2;

	(void)state;
	assert_int_equal(su_kv_set(&st, "totp_last_time", "123"), 0);
	fail_n(&st, r, T0, 2, 1, &until);
	assert_int_not_equal(until, 0);
	su_lockout_clear(&st);
	assert_int_equal(su_lockout_locked(&quiet, "state", &st, T0 + 2, &u2), 0);
	assert_int_equal(su_lockout_failures(&st), 0);
	assert_null(su_kv_get(&st, "fail_times"));
	assert_string_equal(su_kv_get(&st, "totp_last_time"), "123"); /* untouched */
	su_kv_free(&st);
}

static void window_starts_afresh_after_a_lock(void **state)
{
	su_lockout_rule r = { 2, 100 };
	su_kv st = { 0 };
	time_t until = 0;

	(void)state;
	fail_n(&st, r, T0, 2, 1, &until);
	assert_int_equal(until, T0 + 1 + 100);
	/* after the lock, one failure does not lock again at once */
	fail_n(&st, r, T0 + 200, 1, 0, &until);
	assert_int_equal(until, 0);
	fail_n(&st, r, T0 + 201, 1, 0, &until);
	assert_int_equal(until, T0 + 301);
	su_kv_free(&st);
}

static void future_stamps_are_dropped(void **state)
{
	su_lockout_rule r = { 2, 900 };
	su_kv st = { 0 };
	time_t until = 0;

	(void)state;
	/* written under a clock far ahead, then set back: not counted */
	assert_int_equal(su_kv_set(&st, "fail_times", "1800000000"), 0);
	fail_n(&st, r, T0, 1, 0, &until);
	assert_int_equal(until, 0);
	su_kv_free(&st);
}

static void malformed_values_fail_closed(void **state)
{
	static const char *const bad[][2] = {
		{ "locked_until", "soon" }, { "locked_until", "-5" },
		{ "fail_count", "x" }, { "fail_times", "1,,2" }, { "fail_times", "1,a" },
	};
	su_lockout_rule r = { 3, 900 };
	time_t until;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		su_kv st = { 0 };
		capture c;
		char *msg;
		int locked, failed;

		assert_int_equal(su_kv_set(&st, bad[i][0], bad[i][1]), 0);
		capture_begin(&c);
		locked = su_lockout_locked(&quiet, "state", &st, T0, &until);
		failed = su_lockout_fail(&quiet, "state", &st, r, T0, &until);
		msg = capture_end(&c);
		/* every key is checked before a judgement, not only the lock */
		assert_int_equal(locked, -1);
		if (strcmp(bad[i][0], "locked_until") != 0)
			assert_int_equal(failed, -1);
		assert_non_null(strstr(msg, "state"));
		free(msg);
		su_kv_free(&st);
	}
}

/* The failure times of the largest lockout_attempts fit in the state
 * (found by tests/fuzz: with 1000 allowed, the 373rd failure could not be
 * stored and no lock ever came), and with lockout_attempts = 0 none pile
 * up (they did, until the state could not be written). */
static void many_failures_still_lock_and_count(void **state)
{
	su_lockout_rule most = { 300, 604800 }, never = { 0, 604800 };
	su_kv st = { 0 };
	time_t until = 0;

	(void)state;
	fail_n(&st, most, T0, 299, 1, &until);
	assert_int_equal(until, 0);
	fail_n(&st, most, T0 + 299, 1, 0, &until);
	assert_int_equal(until, T0 + 299 + 604800);
	su_kv_free(&st);

	st = (su_kv){ 0 };
	fail_n(&st, never, T0, 1000, 1, &until);
	assert_int_equal(until, 0);
	assert_int_equal(su_lockout_failures(&st), 1000);
	assert_null(su_kv_get(&st, "fail_times"));
	su_kv_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(locks_after_attempts_within_time),
		cmocka_unit_test(old_failures_fall_out_of_the_window),
		cmocka_unit_test(zero_attempts_never_locks),
		cmocka_unit_test(clear_forgets_everything),
		cmocka_unit_test(window_starts_afresh_after_a_lock),
		cmocka_unit_test(future_stamps_are_dropped),
		cmocka_unit_test(malformed_values_fail_closed),
		cmocka_unit_test(many_failures_still_lock_and_count),
	};

	return cmocka_run_group_tests_name("lockout", tests, NULL, NULL);
}
