/* Unit tests: the state file (statefile.c) and the write guard (guard.c).
 * statefile.c's top comment lists the rules; the tests name the rule they
 * check. Root-owned files need root: those tests skip when not root. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture.h"
#include "guard.h"
#include "kv.h"
#include "safefile.h"
#include "statefile.h"

static const su_log test_log = {.pamh = NULL, .prog = "test_statefile", .debug = false};

typedef struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	if (geteuid() != 0)
		return 0;
	safe_tmpdir_make(fx->dir, sizeof(fx->dir), "tmp-st");
	snprintf(fx->path, sizeof(fx->path), "%s/alice", fx->dir);
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;

	if (fx->dir[0] != '\0')
		tmpdir_remove(fx->dir);
	free(fx);
	return 0;
}

/* Open, set key=value, write the next slot, close. */
static void write_value(const char *path, const char *key, const char *value)
{
	su_statefile *sf = NULL;
	su_kv kv;

	assert_int_equal(su_statefile_open(&test_log, path, &sf, &kv), SU_OK);
	assert_int_equal(su_kv_set(&kv, key, value), 0);
	assert_int_equal(su_statefile_prepare(sf, &kv), SU_OK);
	assert_int_equal(su_statefile_write(sf, 0), SU_OK);
	su_statefile_close(sf);
	su_kv_free(&kv);
}

/* The value of key in the state path holds now, as a reader sees it
 * (NULL if absent); caller frees. */
static char *read_value(const char *path, const char *key)
{
	su_buf buf;
	su_kv kv;
	char *v = NULL;

	assert_int_equal(su_read_file(&test_log, path, SU_FILE_SECRET, SU_STATE_FILE_SIZE, &buf),
			 SU_OK);
	assert_int_equal(su_statefile_parse(&test_log, path, buf.data, buf.len, &kv), SU_OK);
	if (su_kv_get(&kv, key) != NULL)
		v = strdup(su_kv_get(&kv, key));
	su_kv_free(&kv);
	su_buf_free(&buf);
	return v;
}

static void flip_byte(const char *path, off_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x01;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* Rule 2: a missing file is made two slots long; each write is in place,
 * the file keeps its size and inode, and the slots alternate. */
static void test_created_then_written_in_place(void **state)
{
	fixture *fx = *state;
	struct stat before, after;
	char *v;

	NEED_ROOT();
	write_value(fx->path, "n", "1");
	assert_int_equal(stat(fx->path, &before), 0);
	assert_int_equal(before.st_size, SU_STATE_FILE_SIZE);
	assert_int_equal(before.st_mode & 07777, 0600);
	write_value(fx->path, "n", "2");
	write_value(fx->path, "n", "3");
	assert_int_equal(stat(fx->path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_size, SU_STATE_FILE_SIZE);
	v = read_value(fx->path, "n");
	assert_string_equal(v, "3");
	free(v);
}

/* Rule 5: a torn newest slot is seen by its checksum and the older one is
 * read; both torn is refused, naming the file. */
static void test_torn_slot(void **state)
{
	fixture *fx = *state;
	su_buf buf;
	su_kv kv;
	capture cap;
	char *v, *log;
	int rc;

	NEED_ROOT();
	write_value(fx->path, "n", "1"); /* seq 2: slot 0 */
	write_value(fx->path, "n", "2"); /* seq 3: slot 1 */
	flip_byte(fx->path, SU_STATE_SLOT + 125); /* in the text, after the header */
	v = read_value(fx->path, "n");
	assert_string_equal(v, "1");
	free(v);
	/* the next write goes over the torn slot, never over the intact one */
	write_value(fx->path, "n", "5");
	v = read_value(fx->path, "n");
	assert_string_equal(v, "5");
	free(v);
	flip_byte(fx->path, 125);
	flip_byte(fx->path, SU_STATE_SLOT + 125); /* in the text, after the header */
	assert_int_equal(su_read_file(&test_log, fx->path, SU_FILE_SECRET, SU_STATE_FILE_SIZE, &buf),
			 SU_OK);
	capture_begin(&cap);
	rc = su_statefile_parse(&test_log, fx->path, buf.data, buf.len, &kv);
	log = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_non_null(strstr(log, fx->path));
	assert_non_null(strstr(log, "neither copy of the state is intact"));
	free(log);
	su_buf_free(&buf);
}

/* Rule 4: the fallback is what is written when the state meant to follow
 * cannot be made (here: too large for a slot). */
static void test_fallback_written(void **state)
{
	fixture *fx = *state;
	su_statefile *sf = NULL;
	su_kv kv;
	char big[4097];
	char *v;
	capture cap;

	NEED_ROOT();
	assert_int_equal(su_statefile_open(&test_log, fx->path, &sf, &kv), SU_OK);
	assert_int_equal(su_kv_set(&kv, "fail_count", "1"), 0);
	assert_int_equal(su_statefile_prepare(sf, &kv), SU_OK);
	su_statefile_keep_fallback(sf);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(su_kv_set(&kv, "a", big), 0);
	assert_int_equal(su_kv_set(&kv, "b", big), 0);
	capture_begin(&cap);
	assert_int_equal(su_statefile_prepare(sf, &kv), SU_ERR);
	free(capture_end(&cap));
	assert_int_equal(su_statefile_write(sf, 1), SU_OK);
	su_statefile_close(sf);
	su_kv_free(&kv);
	v = read_value(fx->path, "fail_count");
	assert_string_equal(v, "1");
	free(v);
	assert_null(read_value(fx->path, "a"));
}

/* Rule 6: the older format is read and converted before anything else;
 * a short file of ours is refused as truncated. */
static void test_older_format_converted(void **state)
{
	fixture *fx = *state;
	su_statefile *sf = NULL;
	su_kv kv;
	struct stat st;
	int fd;
	const char *old = "version=1\ntotp_last_time=1700000000\nfail_count=2\n";

	NEED_ROOT();
	fd = open(fx->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, old, strlen(old)), (ssize_t)strlen(old));
	close(fd);
	assert_int_equal(su_statefile_open(&test_log, fx->path, &sf, &kv), SU_OK);
	assert_string_equal(su_kv_get(&kv, "totp_last_time"), "1700000000");
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, SU_STATE_FILE_SIZE);
	su_statefile_close(sf);
	su_kv_free(&kv);
}

static void test_truncated_refused(void **state)
{
	fixture *fx = *state;
	su_kv kv;
	capture cap;
	char *log;
	int rc;
	const char *text = "stepup-state 2 seq=0000";

	(void)fx;
	capture_begin(&cap);
	rc = su_statefile_parse(&test_log, "/x/alice", text, strlen(text), &kv);
	log = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_non_null(strstr(log, "/x/alice: truncated"));
	free(log);
}

/* guard.c: the caller's soft file size limit is lifted and signals held
 * while held; both are put back exactly. */
static void test_guard_lifts_and_restores(void **state)
{
	struct rlimit caller, held, after;
	sigset_t mask;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &caller), 0);
	struct rlimit low = {40, caller.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
	assert_int_equal(su_guard_hold(&test_log), 0);
	assert_int_equal(su_guard_hold(&test_log), 0); /* nested */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &held), 0);
	assert_true(held.rlim_cur == RLIM_INFINITY || held.rlim_cur == caller.rlim_max);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	assert_true(sigismember(&mask, SIGINT) && sigismember(&mask, SIGTSTP) &&
		    sigismember(&mask, SIGXFSZ) && sigismember(&mask, SIGPIPE));
	assert_false(sigismember(&mask, SIGSEGV));
	su_guard_release();
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	assert_true(sigismember(&mask, SIGINT)); /* the outer hold still holds */
	su_guard_release();
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &after), 0);
	assert_int_equal(after.rlim_cur, 40);
	assert_int_equal(sigprocmask(SIG_BLOCK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGINT));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &caller), 0);
}

/* guard.c: a hard limit too low to lift, where it cannot be raised, is
 * refused before anything is written. */
static void test_guard_refuses_low_hard_limit(void **state)
{
	struct rlimit caller, low = {40, 40}, after;
	pid_t pid;
	int status;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &caller), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t mask;
		int rc;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &low) != 0)
			_exit(3);
		rc = su_guard_hold(&test_log);
		if (rc == 0) { /* CAP_SYS_RESOURCE: lifted all the way */
			su_guard_release();
			_exit(getrlimit(RLIMIT_FSIZE, &after) == 0 && after.rlim_cur == 40 ? 0 : 4);
		}
		/* refused: nothing held, nothing changed */
		if (getrlimit(RLIMIT_FSIZE, &after) != 0 || after.rlim_cur != 40 ||
		    after.rlim_max != 40 || sigprocmask(SIG_BLOCK, NULL, &mask) != 0 ||
		    sigismember(&mask, SIGINT))
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Rule 3: between hold and release nothing is logged; at release every
 * line is, in order. */
static void test_log_held_until_release(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	su_log log = {.pamh = NULL, .prog = "t", .debug = false, .out = out};

	(void)state;
	assert_non_null(out);
	su_log_hold();
	su_logf(&log, LOG_ERR, "first %d", 1);
	su_fail(&log, "second");
	fflush(out);
	assert_int_equal(size, 0);
	su_log_release();
	fflush(out);
	assert_string_equal(text, "t: first 1\nt: second\n");
	su_logf(&log, LOG_ERR, "after");
	fclose(out);
	assert_string_equal(text, "t: first 1\nt: second\nt: after\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_then_written_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_format_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_refused, setup, teardown),
		cmocka_unit_test(test_guard_lifts_and_restores),
		cmocka_unit_test(test_guard_refuses_low_hard_limit),
		cmocka_unit_test(test_log_held_until_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
