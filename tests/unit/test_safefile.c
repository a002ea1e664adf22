/* Unit tests: safe file io (safefile.c). The file's top comment lists the
 * rules every file obeys; the tests below are grouped by rule number, and
 * every refusal is checked for its "refusing PATH: REASON" line (rule 6).
 *
 * Root-owned files and chown need root: those tests skip when not root. */
#include <errno.h>
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
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture.h"
#include "safefile.h"

#define NOBODY 65534
#define PROG "test_safefile"

static const su_log test_log = {.pamh = NULL, .prog = PROG, .debug = false};

typedef struct fixture {
	char dir[PATH_MAX];  /* as created: relative to the current directory */
	char real[PATH_MAX]; /* canonical, as directory refusals name it */
} fixture;

#define JOIN(buf, a, b) assert_true(snprintf((buf), sizeof(buf), "%s/%s", (a), (b)) < (int)sizeof(buf))

/* --- fixture ---------------------------------------------------------------- */

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	if (geteuid() != 0)
		return 0; /* every test skips; nothing to create */
	safe_tmpdir_make(fx->dir, sizeof(fx->dir), "tmp-sf");
	if (realpath(fx->dir, fx->real) == NULL)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;

	tmpdir_remove(fx->dir);
	free(fx);
	return 0;
}

/* --- helpers ----------------------------------------------------------------- */

static void make_file(const char *path, const char *content, mode_t mode, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchown(fd, uid, 0), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void make_dir(const char *path, mode_t mode, uid_t uid)
{
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chown(path, uid, 0), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static char *read_logged(const char *path, enum su_file_kind kind, size_t max,
			 su_buf *buf, int *rc)
{
	capture cap;

	capture_begin(&cap);
	*rc = su_read_file(&test_log, path, kind, max, buf);
	return capture_end(&cap);
}

/* msg must be one line "PROG: refusing PATH: ..." whose reason has want. */
static void assert_refusal(const char *msg, const char *path, const char *want)
{
	char head[PATH_MAX + 64];
	const char *reason;

	snprintf(head, sizeof(head), PROG ": refusing %s: ", path);
	if (strncmp(msg, head, strlen(head)) != 0)
		fail_msg("logged \"%s\", want \"%s%s...\"", msg, head, want);
	reason = msg + strlen(head);
	if (strstr(reason, want) == NULL)
		fail_msg("logged \"%s\", want reason with \"%s\"", msg, want);
	assert_non_null(strchr(msg, '\n'));
	assert_string_equal(strchr(msg, '\n'), "\n");
}

/* Read path and expect a refusal naming refused_path with reason want. */
static void expect_read_refused(const char *path, enum su_file_kind kind,
				const char *refused_path, const char *want)
{
	su_buf buf = {(char *)"sentinel", 8};
	char *msg;
	int rc = 0;

	msg = read_logged(path, kind, 4096, &buf, &rc);
	assert_int_equal(rc, SU_ERR);
	assert_null(buf.data); /* out cleared on failure */
	assert_int_equal(buf.len, 0);
	assert_refusal(msg, refused_path, want);
	free(msg);
}

static void expect_read_ok(const char *path, enum su_file_kind kind, const char *content)
{
	su_buf buf = {0};
	char *msg;
	int rc = -1;

	msg = read_logged(path, kind, 4096, &buf, &rc);
	if (rc != SU_OK)
		fail_msg("read of %s refused: %s", path, msg);
	assert_string_equal(msg, "");
	assert_non_null(buf.data);
	assert_int_equal(buf.len, strlen(content));
	assert_string_equal(buf.data, content);
	su_buf_free(&buf);
	assert_null(buf.data);
	free(msg);
}

/* Names in dir starting with '.', other than "." and "..". */
static unsigned count_dot_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char data[256 * 1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, data, sizeof(data) - 1);
	assert_true(n >= 0);
	data[n] = '\0';
	close(fd);
	return data;
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000L + (b.tv_nsec - a->tv_nsec) / 1000000L;
}

/* --- rule 1: O_NOFOLLOW, O_NONBLOCK --------------------------------------- */

static void r1_symlink_is_refused(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], link[PATH_MAX];

	NEED_ROOT();
	JOIN(file, fx->dir, "secret");
	JOIN(link, fx->dir, "link");
	make_file(file, "s3cret\n", 0600, 0);
	assert_int_equal(symlink("secret", link), 0);
	expect_read_refused(link, SU_FILE_SECRET, link, "is a symbolic link");
	expect_read_refused(link, SU_FILE_PUBLIC, link, "is a symbolic link");
}

/* A dangling link is a refusal too, not "absent": someone put it there. */
static void r1_dangling_symlink_is_refused(void **state)
{
	fixture *fx = *state;
	char link[PATH_MAX];

	NEED_ROOT();
	JOIN(link, fx->dir, "dangling");
	assert_int_equal(symlink("nowhere", link), 0);
	expect_read_refused(link, SU_FILE_SECRET, link, "is a symbolic link");
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void r1_fifo_is_refused_without_hanging(void **state)
{
	fixture *fx = *state;
	struct sigaction sa = {0}, old;
	struct timespec t0;
	char fifo[PATH_MAX];

	NEED_ROOT();
	JOIN(fifo, fx->dir, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* Should it block, the alarm interrupts the open and the reason below
	 * (and the time) shows it. */
	sa.sa_handler = on_alarm;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(3);
	expect_read_refused(fifo, SU_FILE_SECRET, fifo, "not a regular file");
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	assert_true(elapsed_ms(&t0) < 2000);
}

/* --- rule 2: checks on the descriptor --------------------------------------- */

static void r2_good_secret_is_read(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX];

	NEED_ROOT();
	JOIN(file, fx->dir, "alice");
	make_file(file, "version=1\ntotp_secret=ABC\n", 0600, 0);
	expect_read_ok(file, SU_FILE_SECRET, "version=1\ntotp_secret=ABC\n");
	expect_read_ok(file, SU_FILE_PUBLIC, "version=1\ntotp_secret=ABC\n");
}

static void r2_empty_file_is_read(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX];

	NEED_ROOT();
	JOIN(file, fx->dir, "empty");
	make_file(file, "", 0600, 0);
	expect_read_ok(file, SU_FILE_SECRET, "");
}

static void r2_directory_is_refused(void **state)
{
	fixture *fx = *state;
	char sub[PATH_MAX];

	NEED_ROOT();
	JOIN(sub, fx->dir, "sub");
	make_dir(sub, 0700, 0);
	expect_read_refused(sub, SU_FILE_SECRET, sub, "not a regular file");
}

static void r2_non_root_owner_is_refused(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX];

	NEED_ROOT();
	JOIN(file, fx->dir, "alice");
	make_file(file, "version=1\n", 0600, NOBODY);
	expect_read_refused(file, SU_FILE_SECRET, file, "not owned by root");
	expect_read_refused(file, SU_FILE_PUBLIC, file, "not owned by root");
}

static void r2_size_over_cap_is_refused(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], content[101];
	su_buf buf = {0};
	char *msg;
	int rc = -1;

	NEED_ROOT();
	JOIN(file, fx->dir, "big");
	memset(content, 'x', 100);
	content[100] = '\0';
	make_file(file, content, 0600, 0);

	msg = read_logged(file, SU_FILE_SECRET, 99, &buf, &rc);
	assert_int_equal(rc, SU_ERR);
	assert_null(buf.data);
	assert_refusal(msg, file, "larger than 99 bytes");
	free(msg);

	msg = read_logged(file, SU_FILE_SECRET, 100, &buf, &rc); /* the cap itself */
	assert_int_equal(rc, SU_OK);
	assert_int_equal(buf.len, 100);
	assert_int_equal(buf.data[100], '\0');
	assert_string_equal(msg, "");
	su_buf_free(&buf);
	free(msg);
}

/* --- rule 3: modes ---------------------------------------------------------- */

static void r3_secret_with_group_or_other_bits_is_refused(void **state)
{
	static const mode_t bad[] = {0640, 0604, 0620, 0602, 0610, 0601, 0644, 0660, 0606};
	fixture *fx = *state;
	char file[PATH_MAX], want[32];

	NEED_ROOT();
	JOIN(file, fx->dir, "secret");
	make_file(file, "k\n", 0600, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(file, bad[i]), 0);
		snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
		expect_read_refused(file, SU_FILE_SECRET, file, want);
	}
	assert_int_equal(chmod(file, 0600), 0);
	expect_read_ok(file, SU_FILE_SECRET, "k\n");
	assert_int_equal(chmod(file, 0400), 0);
	expect_read_ok(file, SU_FILE_SECRET, "k\n");
}

static void r3_public_may_be_readable_not_writable(void **state)
{
	static const mode_t good[] = {0644, 0640, 0604, 0600, 0444};
	static const mode_t bad[] = {0664, 0646, 0666, 0620, 0602, 0660};
	fixture *fx = *state;
	char file[PATH_MAX], want[32];

	NEED_ROOT();
	JOIN(file, fx->dir, "stepup.conf");
	make_file(file, "[global]\n", 0644, 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(chmod(file, good[i]), 0);
		expect_read_ok(file, SU_FILE_PUBLIC, "[global]\n");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(file, bad[i]), 0);
		snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
		expect_read_refused(file, SU_FILE_PUBLIC, file, want);
	}
}

/* --- rule 4: the directory chain ------------------------------------------- */

static void r4_holding_dir_writable_by_others_is_refused(void **state)
{
	static const mode_t bad[] = {0777, 0770, 0730, 0703, 01777, 01770};
	fixture *fx = *state;
	char dir[PATH_MAX], real[PATH_MAX], file[PATH_MAX], want[64];

	NEED_ROOT();
	JOIN(dir, fx->dir, "users");
	JOIN(real, fx->real, "users");
	JOIN(file, dir, "alice");
	make_dir(dir, 0700, 0);
	make_file(file, "version=1\n", 0600, 0);
	expect_read_ok(file, SU_FILE_SECRET, "version=1\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(dir, bad[i]), 0);
		snprintf(want, sizeof(want), "directory mode %04o", (unsigned)bad[i]);
		expect_read_refused(file, SU_FILE_SECRET, real, want);
	}
}

static void r4_holding_dir_not_root_owned_is_refused(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], real[PATH_MAX], file[PATH_MAX];

	NEED_ROOT();
	JOIN(dir, fx->dir, "users");
	JOIN(real, fx->real, "users");
	JOIN(file, dir, "alice");
	make_dir(dir, 0755, NOBODY);
	make_file(file, "version=1\n", 0600, 0);
	expect_read_refused(file, SU_FILE_SECRET, real, "directory not owned by root");
}

static void r4_ancestor_writable_without_sticky_is_refused(void **state)
{
	fixture *fx = *state;
	char anc[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], file[PATH_MAX];

	NEED_ROOT();
	JOIN(anc, fx->dir, "anc");
	JOIN(real, fx->real, "anc");
	JOIN(dir, anc, "users");
	JOIN(file, dir, "alice");
	make_dir(anc, 0755, 0);
	make_dir(dir, 0700, 0);
	make_file(file, "version=1\n", 0600, 0);
	expect_read_ok(file, SU_FILE_SECRET, "version=1\n");

	assert_int_equal(chmod(anc, 0777), 0);
	expect_read_refused(file, SU_FILE_SECRET, real, "directory mode 0777");
	assert_int_equal(chmod(anc, 0775), 0);
	expect_read_refused(file, SU_FILE_SECRET, real, "directory mode 0775");

	/* Sticky (like /tmp): others cannot rename or remove root's entries. */
	assert_int_equal(chmod(anc, 01777), 0);
	expect_read_ok(file, SU_FILE_SECRET, "version=1\n");
}

static void r4_ancestor_not_root_owned_is_refused(void **state)
{
	fixture *fx = *state;
	char anc[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], file[PATH_MAX];

	NEED_ROOT();
	JOIN(anc, fx->dir, "anc");
	JOIN(real, fx->real, "anc");
	JOIN(dir, anc, "users");
	JOIN(file, dir, "alice");
	make_dir(anc, 0755, 0);
	make_dir(dir, 0700, 0);
	make_file(file, "version=1\n", 0600, 0);
	assert_int_equal(chown(anc, NOBODY, 0), 0);
	assert_int_equal(chmod(anc, 0755), 0);
	expect_read_refused(file, SU_FILE_SECRET, real, "directory not owned by root");
	/* Sticky does not excuse the owner. */
	assert_int_equal(chmod(anc, 01777), 0);
	expect_read_refused(file, SU_FILE_SECRET, real, "directory not owned by root");
}

/* The chain checked is the canonical one: a symlinked directory cannot hide
 * an unsafe directory above the file. */
static void r4_chain_is_checked_after_resolving_links(void **state)
{
	fixture *fx = *state;
	char unsafe[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], file[PATH_MAX];
	char alias[PATH_MAX], via[PATH_MAX];

	NEED_ROOT();
	JOIN(unsafe, fx->dir, "unsafe");
	JOIN(real, fx->real, "unsafe");
	JOIN(dir, unsafe, "users");
	JOIN(file, dir, "alice");
	JOIN(alias, fx->dir, "alias");
	JOIN(via, alias, "alice");
	make_dir(unsafe, 0777, 0);
	make_dir(dir, 0700, 0);
	make_file(file, "version=1\n", 0600, 0);
	assert_int_equal(symlink("unsafe/users", alias), 0);
	expect_read_refused(via, SU_FILE_SECRET, real, "directory mode 0777");
	/* And through a safe chain the link is fine. */
	assert_int_equal(chmod(unsafe, 0755), 0);
	expect_read_ok(via, SU_FILE_SECRET, "version=1\n");
}

/* The same when the link is higher up, not the holding directory, and when
 * the path takes a detour through "..": the chain judged is still the one
 * the file really sits in. */
static void r4_link_or_dotdot_above_the_holding_dir_is_resolved(void **state)
{
	fixture *fx = *state;
	char unsafe[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], file[PATH_MAX];
	char alias[PATH_MAX], via[PATH_MAX], other[PATH_MAX], detour[PATH_MAX];

	NEED_ROOT();
	JOIN(unsafe, fx->dir, "unsafe");
	JOIN(real, fx->real, "unsafe");
	JOIN(dir, unsafe, "users");
	JOIN(file, dir, "alice");
	JOIN(alias, fx->dir, "alias");
	JOIN(via, alias, "users/alice");
	JOIN(other, fx->dir, "other");
	JOIN(detour, other, "../unsafe/users/alice");
	make_dir(unsafe, 0777, 0);
	make_dir(dir, 0700, 0);
	make_dir(other, 0755, 0);
	make_file(file, "version=1\n", 0600, 0);
	assert_int_equal(symlink("unsafe", alias), 0);
	expect_read_refused(via, SU_FILE_SECRET, real, "directory mode 0777");
	expect_read_refused(detour, SU_FILE_SECRET, real, "directory mode 0777");
	assert_int_equal(chmod(unsafe, 0755), 0);
	expect_read_ok(via, SU_FILE_SECRET, "version=1\n");
	expect_read_ok(detour, SU_FILE_SECRET, "version=1\n");
}

static void r4_missing_file_is_notfound_silently(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX];
	su_buf buf = {(char *)"sentinel", 8};
	char *msg;
	int rc = -1;

	NEED_ROOT();
	JOIN(file, fx->dir, "nobody-enrolled");
	msg = read_logged(file, SU_FILE_SECRET, 4096, &buf, &rc);
	assert_int_equal(rc, SU_NOTFOUND);
	assert_null(buf.data);
	assert_string_equal(msg, "");
	free(msg);
}

static void r4_missing_dir_is_notfound_silently(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX];
	su_buf buf = {(char *)"sentinel", 8};
	char *msg;
	int rc = -1;

	NEED_ROOT();
	JOIN(file, fx->dir, "no/such/dir/alice");
	msg = read_logged(file, SU_FILE_SECRET, 4096, &buf, &rc);
	assert_int_equal(rc, SU_NOTFOUND);
	assert_null(buf.data);
	assert_string_equal(msg, "");
	free(msg);
}

/* --- rule 5: writes ---------------------------------------------------------- */

static int write_logged(const char *path, const char *data, mode_t mode, char **msg)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_write_file(&test_log, path, data, strlen(data), mode);
	*msg = capture_end(&cap);
	return rc;
}

static void r5_write_creates_root_owned_file_with_mode(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], file[PATH_MAX], pub[PATH_MAX], *msg;
	struct stat st;
	mode_t old_umask;

	NEED_ROOT();
	/* A setgid directory of another group would hand its group down. */
	JOIN(dir, fx->dir, "state");
	make_dir(dir, 02755, 0);
	assert_int_equal(chown(dir, 0, NOBODY), 0);
	assert_int_equal(chmod(dir, 02755), 0);
	JOIN(file, dir, "alice");
	JOIN(pub, dir, "pub");
	old_umask = umask(0077); /* the mode is exact, whatever the umask */

	assert_int_equal(write_logged(file, "version=1\nfailures=0\n", 0600, &msg), SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_int_equal(lstat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(slurp(file), "version=1\nfailures=0\n");

	assert_int_equal(write_logged(pub, "[global]\n", 0644, &msg), SU_OK);
	free(msg);
	assert_int_equal(lstat(pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	umask(old_umask);
	/* What was written reads back through the checks. */
	expect_read_ok(file, SU_FILE_SECRET, "version=1\nfailures=0\n");
	assert_int_equal(count_dot_files(dir), 0);
}

static void r5_write_replaces_atomically(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], old_content[64], *msg;
	struct stat before, after;
	int old_fd;
	ssize_t n;

	NEED_ROOT();
	JOIN(file, fx->dir, "alice");
	assert_int_equal(write_logged(file, "version=1\nold=1\n", 0600, &msg), SU_OK);
	free(msg);
	assert_int_equal(stat(file, &before), 0);
	/* A reader that opened the old file keeps seeing all of it. */
	old_fd = open(file, O_RDONLY | O_CLOEXEC);
	assert_true(old_fd >= 0);

	assert_int_equal(write_logged(file, "version=1\nnew=2\n", 0600, &msg), SU_OK);
	free(msg);
	assert_int_equal(stat(file, &after), 0);
	assert_true(before.st_ino != after.st_ino); /* a new file, renamed over */
	assert_string_equal(slurp(file), "version=1\nnew=2\n");
	n = pread(old_fd, old_content, sizeof(old_content) - 1, 0);
	assert_true(n >= 0);
	old_content[n] = '\0';
	assert_string_equal(old_content, "version=1\nold=1\n");
	close(old_fd);
	assert_int_equal(count_dot_files(fx->dir), 0); /* no ".alice.*" left */
}

/* A reader racing a stream of writers sees one whole version or the other,
 * never a mix or a short file. */
static void r5_concurrent_reader_never_sees_a_mix(void **state)
{
	enum { SIZE = 64 * 1024, ROUNDS = 40 };
	fixture *fx = *state;
	char file[PATH_MAX], *a, *b, *msg;
	int go[2], status = -1;
	pid_t pid;

	NEED_ROOT();
	JOIN(file, fx->dir, "state");
	a = malloc(SIZE + 1);
	b = malloc(SIZE + 1);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 'a', SIZE);
	memset(b, 'b', SIZE);
	a[SIZE] = b[SIZE] = '\0';
	assert_int_equal(write_logged(file, a, 0600, &msg), SU_OK);
	free(msg);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Reader: until the pipe closes, every read is all a or all b. */
		static char seen[SIZE + 16];
		unsigned reads = 0;

		close(go[1]);
		fcntl(go[0], F_SETFL, O_NONBLOCK);
		for (;;) {
			char c;
			int fd = open(file, O_RDONLY | O_CLOEXEC);
			ssize_t n, got = 0;

			if (fd < 0)
				_exit(2);
			while ((n = read(fd, seen + got, sizeof(seen) - (size_t)got)) > 0)
				got += n;
			close(fd);
			if (got != SIZE)
				_exit(3);
			for (ssize_t i = 1; i < got; i++)
				if (seen[i] != seen[0])
					_exit(4);
			reads++;
			if (read(go[0], &c, 1) == 0)
				_exit(reads > 0 ? 0 : 5);
		}
	}
	close(go[0]);
	for (int i = 0; i < ROUNDS; i++) {
		assert_int_equal(write_logged(file, i % 2 ? a : b, 0600, &msg), SU_OK);
		free(msg);
	}
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count_dot_files(fx->dir), 0);
	free(a);
	free(b);
}

static void r5_failed_write_leaves_no_temporary(void **state)
{
	fixture *fx = *state;
	char target[PATH_MAX], inner[PATH_MAX], *msg;

	NEED_ROOT();
	/* A non-empty directory where the file should be: rename fails. */
	JOIN(target, fx->dir, "alice");
	JOIN(inner, target, "x");
	make_dir(target, 0700, 0);
	make_file(inner, "", 0600, 0);
	assert_int_equal(write_logged(target, "version=1\n", 0600, &msg), SU_ERR);
	assert_refusal(msg, target, "cannot replace");
	free(msg);
	assert_int_equal(count_dot_files(fx->dir), 0);
}

static void r5_write_replaces_a_symlink_not_its_target(void **state)
{
	fixture *fx = *state;
	char victim[PATH_MAX], link[PATH_MAX], *msg;
	struct stat st;

	NEED_ROOT();
	JOIN(victim, fx->dir, "victim");
	JOIN(link, fx->dir, "alice");
	make_file(victim, "precious\n", 0644, 0);
	assert_int_equal(symlink("victim", link), 0);
	assert_int_equal(write_logged(link, "version=1\n", 0600, &msg), SU_OK);
	free(msg);
	assert_string_equal(slurp(victim), "precious\n");
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(link), "version=1\n");
}

static void r5_write_into_missing_dir_says_run_init(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], file[PATH_MAX], *msg;
	struct stat st;

	NEED_ROOT();
	JOIN(dir, fx->dir, "state");
	JOIN(file, dir, "alice");
	assert_int_equal(write_logged(file, "version=1\n", 0600, &msg), SU_ERR);
	assert_refusal(msg, dir, "stepupctl init");
	free(msg);
	assert_int_equal(stat(dir, &st), -1); /* not created behind our back */
	assert_int_equal(errno, ENOENT);
}

static void r5_write_into_unsafe_dir_is_refused(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], real[PATH_MAX], file[PATH_MAX], *msg;

	NEED_ROOT();
	JOIN(dir, fx->dir, "state");
	JOIN(real, fx->real, "state");
	JOIN(file, dir, "alice");
	make_dir(dir, 0777, 0);
	assert_int_equal(write_logged(file, "version=1\n", 0600, &msg), SU_ERR);
	assert_refusal(msg, real, "directory mode 0777");
	free(msg);
	assert_int_equal(access(file, F_OK), -1);
	assert_int_equal(count_dot_files(dir), 0);
}

static int create_logged(const char *path, const char *data, mode_t mode, char **msg)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_create_file(&test_log, path, data, strlen(data), mode);
	*msg = capture_end(&cap);
	return rc;
}

static void r5_create_file_never_replaces(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], *msg;
	struct stat before, after;

	NEED_ROOT();
	JOIN(file, fx->dir, "hostkey");
	assert_int_equal(create_logged(file, "first key", 0600, &msg), SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_int_equal(lstat(file, &before), 0);
	assert_true(S_ISREG(before.st_mode));
	assert_int_equal(before.st_uid, 0);
	assert_int_equal(before.st_gid, 0);
	assert_int_equal(before.st_mode & 07777, 0600);
	assert_int_equal(before.st_nlink, 1); /* the temporary name is gone */
	assert_string_equal(slurp(file), "first key");
	assert_int_equal(count_dot_files(fx->dir), 0);

	/* Second time: SU_EXISTS, silently, and the first file untouched. */
	assert_int_equal(create_logged(file, "second key", 0600, &msg), SU_EXISTS);
	assert_string_equal(msg, "");
	free(msg);
	assert_int_equal(lstat(file, &after), 0);
	assert_true(after.st_ino == before.st_ino);
	assert_string_equal(slurp(file), "first key");
	assert_int_equal(count_dot_files(fx->dir), 0);
}

/* A link planted where the file will be is not followed: the planted name
 * counts as existing and its target is not created. */
static void r5_create_file_does_not_follow_links(void **state)
{
	fixture *fx = *state;
	char link[PATH_MAX], target[PATH_MAX], *msg;

	NEED_ROOT();
	JOIN(link, fx->dir, "hostkey");
	JOIN(target, fx->dir, "elsewhere");
	assert_int_equal(symlink("elsewhere", link), 0);
	assert_int_equal(create_logged(link, "key", 0600, &msg), SU_EXISTS);
	free(msg);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(count_dot_files(fx->dir), 0);
}

static void r5_create_file_in_missing_dir_says_run_init(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], file[PATH_MAX], *msg;

	NEED_ROOT();
	JOIN(dir, fx->dir, "stepup");
	JOIN(file, dir, "hostkey");
	assert_int_equal(create_logged(file, "key", 0600, &msg), SU_ERR);
	assert_refusal(msg, dir, "stepupctl init");
	free(msg);
}

static void r5_remove_file(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], gone[PATH_MAX], missing_dir[PATH_MAX], *msg;
	capture cap;
	int rc;

	NEED_ROOT();
	JOIN(file, fx->dir, "alice");
	JOIN(gone, fx->dir, "no/such");
	JOIN(missing_dir, fx->dir, "no");
	make_file(file, "version=1\n", 0600, 0);

	capture_begin(&cap);
	rc = su_remove_file(&test_log, file);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_int_equal(access(file, F_OK), -1);

	capture_begin(&cap);
	rc = su_remove_file(&test_log, file);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_NOTFOUND);
	assert_string_equal(msg, "");
	free(msg);

	capture_begin(&cap);
	rc = su_remove_file(&test_log, gone);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_refusal(msg, missing_dir, "stepupctl init");
	free(msg);
}

static void assert_dir(const char *path, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s has mode %04o, want %04o", path,
			 (unsigned)(st.st_mode & 07777), (unsigned)mode);
}

static void make_dir_creates_nested_with_modes(void **state)
{
	fixture *fx = *state;
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], *msg;
	mode_t old_umask;
	capture cap;
	int rc;

	NEED_ROOT();
	JOIN(a, fx->dir, "a");
	JOIN(b, a, "b");
	JOIN(c, b, "grace");
	old_umask = umask(0077);
	capture_begin(&cap);
	rc = su_make_dir(&test_log, c, 0700);
	msg = capture_end(&cap);
	umask(old_umask);
	assert_int_equal(rc, SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_dir(c, 0700);
	assert_dir(b, 0755);
	assert_dir(a, 0755);

	/* Again: already there and safe. */
	capture_begin(&cap);
	rc = su_make_dir(&test_log, c, 0700);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_dir(c, 0700);
}

static void make_dir_refuses_existing_unsafe_dir(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], real[PATH_MAX], *msg;
	capture cap;
	int rc;

	NEED_ROOT();
	JOIN(dir, fx->dir, "state");
	JOIN(real, fx->real, "state");
	make_dir(dir, 0777, 0);
	capture_begin(&cap);
	rc = su_make_dir(&test_log, dir, 0700);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_refusal(msg, real, "directory mode 0777");
	free(msg);

	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(chown(dir, NOBODY, 0), 0);
	capture_begin(&cap);
	rc = su_make_dir(&test_log, dir, 0700);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_refusal(msg, real, "directory not owned by root");
	free(msg);
	assert_int_equal(access(dir, F_OK), 0); /* refused, not "repaired" */
}

/* Under a parent others can write in, nothing is created at all: mkdir,
 * chown and chmod there could be raced (the name swapped for a link). */
static void make_dir_creates_nothing_under_unsafe_parent(void **state)
{
	fixture *fx = *state;
	char parent[PATH_MAX], real[PATH_MAX], dir[PATH_MAX], *msg;
	capture cap;
	int rc;

	NEED_ROOT();
	JOIN(parent, fx->dir, "shared");
	JOIN(real, fx->real, "shared");
	JOIN(dir, parent, "grace");
	make_dir(parent, 0777, NOBODY);
	capture_begin(&cap);
	rc = su_make_dir(&test_log, dir, 0700);
	msg = capture_end(&cap);
	assert_int_equal(rc, SU_ERR);
	assert_non_null(strstr(msg, real));
	free(msg);
	if (access(dir, F_OK) == 0)
		fail_msg("su_make_dir created %s inside an unsafe directory", dir);
}

/* --- locks -------------------------------------------------------------------- */

static int lock_logged(const char *path, unsigned timeout_ms, int *fd, char **msg)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_lock(&test_log, path, timeout_ms, fd);
	*msg = capture_end(&cap);
	return rc;
}

/* Fork a child that tries the lock; returns its su_lock result (0 OK, 1
 * refused) and how long it took. Its log lines land in the capture. The
 * child first closes its inherited copy of inherited_fd: a flock belongs to
 * the open file description, which fork shares. */
static int child_lock(const char *path, unsigned timeout_ms, int inherited_fd, long *ms)
{
	struct timespec t0;
	int status = -1;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = -1, rc;

		if (inherited_fd >= 0)
			close(inherited_fd);
		rc = su_lock(&test_log, path, timeout_ms, &fd);
		_exit(rc == SU_OK && fd >= 0 ? 0 : rc == SU_ERR && fd == -1 ? 1 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*ms = elapsed_ms(&t0);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void lock_excludes_a_second_holder(void **state)
{
	fixture *fx = *state;
	char lock[PATH_MAX], *msg;
	struct stat st;
	capture cap;
	long ms = 0;
	int fd = -1, rc;

	NEED_ROOT();
	JOIN(lock, fx->dir, "alice.lock");
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_OK);
	assert_string_equal(msg, "");
	free(msg);
	assert_true(fd >= 0);
	assert_int_equal(lstat(lock, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	capture_begin(&cap);
	rc = child_lock(lock, 50, fd, &ms);
	msg = capture_end(&cap);
	assert_int_equal(rc, 1);
	assert_refusal(msg, lock, "held too long");
	free(msg);
	assert_true(ms >= 45);   /* it did wait */
	assert_true(ms < 3000);  /* and gave up */

	su_unlock(fd);
	capture_begin(&cap);
	rc = child_lock(lock, 50, -1, &ms);
	msg = capture_end(&cap);
	assert_int_equal(rc, 0);
	assert_string_equal(msg, "");
	free(msg);
}

/* A waiter gets the lock as soon as the holder lets go within the timeout. */
static void lock_waits_for_release(void **state)
{
	fixture *fx = *state;
	char lock[PATH_MAX], *msg;
	int fd = -1, status = -1;
	pid_t pid;

	NEED_ROOT();
	JOIN(lock, fx->dir, "alice.lock");
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_OK);
	free(msg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = -1;

		close(fd); /* the parent's lock, shared through fork */
		_exit(su_lock(&test_log, lock, 5000, &cfd) == SU_OK ? 0 : 1);
	}
	usleep(100 * 1000);
	su_unlock(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void lock_symlink_is_refused(void **state)
{
	fixture *fx = *state;
	char lock[PATH_MAX], target[PATH_MAX], *msg;
	int fd = 123;

	NEED_ROOT();
	JOIN(lock, fx->dir, "alice.lock");
	JOIN(target, fx->dir, "target");
	make_file(target, "", 0600, 0);
	assert_int_equal(symlink("target", lock), 0);
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_ERR);
	assert_int_equal(fd, -1);
	assert_refusal(msg, lock, "is a symbolic link");
	free(msg);
}

/* A dangling link must not make root create its target. */
static void lock_dangling_symlink_creates_nothing(void **state)
{
	fixture *fx = *state;
	char lock[PATH_MAX], target[PATH_MAX], *msg;
	int fd = 123;

	NEED_ROOT();
	JOIN(lock, fx->dir, "alice.lock");
	JOIN(target, fx->dir, "created-by-root");
	assert_int_equal(symlink("created-by-root", lock), 0);
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_ERR);
	assert_int_equal(fd, -1);
	assert_refusal(msg, lock, "is a symbolic link");
	free(msg);
	assert_int_equal(access(target, F_OK), -1);
}

static void lock_file_of_other_owner_or_mode_is_refused(void **state)
{
	fixture *fx = *state;
	char lock[PATH_MAX], *msg;
	int fd = 123;

	NEED_ROOT();
	JOIN(lock, fx->dir, "alice.lock");
	make_file(lock, "", 0600, NOBODY);
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_ERR);
	assert_int_equal(fd, -1);
	assert_refusal(msg, lock, "not owned by root");
	free(msg);
	assert_int_equal(chown(lock, 0, 0), 0);
	assert_int_equal(chmod(lock, 0644), 0);
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_ERR);
	assert_refusal(msg, lock, "mode 0644");
	free(msg);
}

static void lock_in_missing_dir_says_run_init(void **state)
{
	fixture *fx = *state;
	char dir[PATH_MAX], lock[PATH_MAX], *msg;
	int fd = 123;

	NEED_ROOT();
	JOIN(dir, fx->dir, "state");
	JOIN(lock, dir, "alice.lock");
	assert_int_equal(lock_logged(lock, 50, &fd, &msg), SU_ERR);
	assert_int_equal(fd, -1);
	assert_refusal(msg, dir, "stepupctl init");
	free(msg);
}

/* --- rule 7: foreign files (a user's ~/.google_authenticator) --------------- */

/* In a directory of the user's, owned by the user, read-only for them:
 * read, and the owner and mode handed to the caller, who judges them. */
static void r7_foreign_file_of_any_owner_in_a_users_dir_is_read(void **state)
{
	fixture *fx = *state;
	char home[PATH_MAX], real[PATH_MAX], file[PATH_MAX];
	su_file_id id = {0};
	su_buf buf = {0};
	capture cap;
	char *msg;

	NEED_ROOT();
	JOIN(home, fx->dir, "home");
	JOIN(real, fx->real, "home");
	make_dir(home, 0755, NOBODY);
	JOIN(file, home, ".google_authenticator");
	make_file(file, "SECRET\n\" TOTP_AUTH\n", 0400, NOBODY);
	capture_begin(&cap);
	assert_int_equal(su_read_file_id(&test_log, file, SU_FILE_FOREIGN, 4096, &buf, &id),
			 SU_OK);
	msg = capture_end(&cap);
	assert_string_equal(msg, "");
	assert_string_equal(buf.data, "SECRET\n\" TOTP_AUTH\n");
	assert_int_equal(id.uid, NOBODY);
	assert_int_equal(id.mode, 0400);
	su_buf_free(&buf);
	free(msg);
	/* the same file is nobody's secret or config: those check owner and
	 * directory */
	expect_read_refused(file, SU_FILE_SECRET, real, "directory not owned by root");
	expect_read_ok(file, SU_FILE_FOREIGN, "SECRET\n\" TOTP_AUTH\n");
}

static void r7_foreign_file_keeps_rules_1_and_2(void **state)
{
	fixture *fx = *state;
	char home[PATH_MAX], file[PATH_MAX], link[PATH_MAX], fifo[PATH_MAX];
	char sub[PATH_MAX], big[PATH_MAX], content[101];

	NEED_ROOT();
	JOIN(home, fx->dir, "home");
	make_dir(home, 0700, NOBODY);
	JOIN(file, home, "real");
	make_file(file, "x\n", 0600, NOBODY);
	JOIN(link, home, ".google_authenticator");
	assert_int_equal(symlink(file, link), 0);
	expect_read_refused(link, SU_FILE_FOREIGN, link, "is a symbolic link");
	JOIN(fifo, home, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_read_refused(fifo, SU_FILE_FOREIGN, fifo, "not a regular file");
	JOIN(sub, home, "dir");
	make_dir(sub, 0700, NOBODY);
	expect_read_refused(sub, SU_FILE_FOREIGN, sub, "not a regular file");
	JOIN(big, home, "big");
	memset(content, 'x', 100);
	content[100] = '\0';
	make_file(big, content, 0600, NOBODY);
	{
		su_buf buf = {0};
		int rc = 0;
		char *msg = read_logged(big, SU_FILE_FOREIGN, 99, &buf, &rc);

		assert_int_equal(rc, SU_ERR);
		assert_null(buf.data);
		assert_refusal(msg, big, "larger than 99 bytes");
		free(msg);
	}
}

/* Rule 6: a user may name a file stepupctl reads (a symlink called
 * "\e]0;...\a" in their home): the refusal shows the name with '?' for
 * every byte that is not printable ASCII, never the byte itself. */
static void r6_refusal_shows_the_path_printable(void **state)
{
	fixture *fx = *state;
	char link[PATH_MAX], shown[PATH_MAX], *msg;
	su_buf buf = {0};
	int rc = 0;

	JOIN(link, fx->dir, "id\x1b]0;x\x07\x9b\x7f.pub");
	assert_int_equal(symlink("/etc/shadow", link), 0);
	JOIN(shown, fx->dir, "id?]0;x???.pub");
	msg = read_logged(link, SU_FILE_FOREIGN, 4096, &buf, &rc);
	assert_int_equal(rc, SU_ERR);
	assert_refusal(msg, shown, "is a symbolic link");
	for (const char *c = msg; *c != '\n'; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);
	free(msg);
}

/* Anyone could have written a group- or world-writable file: refused.
 * Readable by others is the caller's to judge (the secret may be known). */
static void r7_foreign_file_writable_by_others_is_refused(void **state)
{
	static const mode_t bad[] = {0620, 0602, 0622, 0666};
	fixture *fx = *state;
	char file[PATH_MAX], want[64];

	NEED_ROOT();
	JOIN(file, fx->dir, "ga");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(file);
		make_file(file, "x\n", bad[i], NOBODY);
		snprintf(want, sizeof(want), "mode %04o gives write access", (unsigned)bad[i]);
		expect_read_refused(file, SU_FILE_FOREIGN, file, want);
	}
	unlink(file);
	make_file(file, "x\n", 0644, NOBODY);
	expect_read_ok(file, SU_FILE_FOREIGN, "x\n");
}

/* A child blocked opening fifo for writing: it returns from open only
 * once some reader opens the FIFO (every reader's open counts, even one
 * closed at once). Returns after the child is asleep in that open. */
static pid_t writer_blocked_on(const char *fifo)
{
	char stat_path[64], syscall_path[64], line[256];
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(fifo, O_WRONLY | O_CLOEXEC);

		_exit(fd >= 0 ? 0 : 1);
	}
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)pid);
	snprintf(syscall_path, sizeof(syscall_path), "/proc/%d/syscall", (int)pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(stat_path, "r");
		char *paren;
		bool asleep = false;

		if (f != NULL && fgets(line, sizeof(line), f) != NULL &&
		    (paren = strrchr(line, ')')) != NULL)
			asleep = paren[1] == ' ' && paren[2] == 'S';
		if (f != NULL)
			fclose(f);
		/* and asleep in openat, where /proc says which syscall */
		if (asleep && (f = fopen(syscall_path, "r")) != NULL) {
			long nr = -1;

			if (fscanf(f, "%ld", &nr) != 1 || nr != SYS_openat)
				asleep = false;
			fclose(f);
		}
		if (asleep)
			return pid;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	fail_msg("the writer of %s never blocked in open", fifo);
	return -1;
}

/* A user can point root at a device or a FIFO through a directory symlink
 * (~/d -> /dev): refused before any open for reading, so no device's
 * open routine runs and no FIFO sees a reader. The FIFO shows it: its
 * blocked writer would be let through by any reader's open. */
static void r7_foreign_device_or_fifo_is_never_opened_for_reading(void **state)
{
	fixture *fx = *state;
	char home[PATH_MAX], link[PATH_MAX], dev[PATH_MAX], fifos[PATH_MAX];
	char fifo[PATH_MAX], via[PATH_MAX];
	struct sigaction sa = {0}, old;
	struct timespec t0;
	int status = 0;
	pid_t writer, done = 0;

	NEED_ROOT();
	JOIN(home, fx->dir, "home");
	make_dir(home, 0755, NOBODY);
	JOIN(link, home, "d");
	assert_int_equal(symlink("/dev", link), 0);
	JOIN(dev, link, "null");
	expect_read_refused(dev, SU_FILE_FOREIGN, dev, "not a regular file");

	JOIN(fifos, home, "fifos");
	make_dir(fifos, 0755, NOBODY);
	JOIN(fifo, fifos, "ga");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(chown(fifo, NOBODY, 0), 0);
	JOIN(link, home, "f");
	assert_int_equal(symlink("fifos", link), 0);
	JOIN(via, link, "ga");
	writer = writer_blocked_on(fifo);
	sa.sa_handler = on_alarm;
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	alarm(3);
	expect_read_refused(via, SU_FILE_FOREIGN, via, "not a regular file");
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	assert_true(elapsed_ms(&t0) < 2000);
	/* a reader's open would have let the writer out of its open by now */
	for (int i = 0; i < 30 && done == 0; i++) {
		usleep(10 * 1000);
		done = waitpid(writer, &status, WNOHANG);
	}
	if (done == 0) {
		kill(writer, SIGKILL);
		waitpid(writer, &status, 0);
	}
	if (done != 0)
		fail_msg("%s was opened for reading: its writer got through (status %d)", via,
			 status);
}

/* "refusing PATH: owned by root, so read only through directories of
 * root's that others cannot write; DIR: WANT", nothing read. */
static void expect_root_chain_refused(const char *path, const char *dir, const char *want)
{
	char reason[2 * PATH_MAX + 200];

	snprintf(reason, sizeof(reason), "owned by root, so read only through directories of "
		 "root's that others cannot write; %s: %s", dir, want);
	expect_read_refused(path, SU_FILE_FOREIGN, path, reason);
}

/* A root-owned file is read only through root's directories, as written:
 * a directory symlink of the user's (ancestor or holding), a directory the
 * user owns or anyone may write in, or a hard link in one, would make root
 * read a root-only file for the user. su_check_dir would pass ~/d -> adm,
 * since it judges the directory the link resolves to. A file the user
 * owns keeps reading in the user's directories. */
static void r7_foreign_root_file_only_through_roots_directories(void **state)
{
	fixture *fx = *state;
	char adm[PATH_MAX], adm_real[PATH_MAX], ga[PATH_MAX], home[PATH_MAX];
	char home_real[PATH_MAX], p[PATH_MAX], q[PATH_MAX], r[PATH_MAX];

	NEED_ROOT();
	JOIN(adm, fx->dir, "adm");
	JOIN(adm_real, fx->real, "adm");
	make_dir(adm, 0755, 0);
	JOIN(ga, adm, "ga");
	make_file(ga, "SECRET\n", 0600, 0);
	expect_read_ok(ga, SU_FILE_FOREIGN, "SECRET\n");  /* relative, "./" included */
	JOIN(p, adm_real, "ga");
	expect_read_ok(p, SU_FILE_FOREIGN, "SECRET\n");   /* absolute */
	JOIN(home, fx->dir, "home");
	JOIN(home_real, fx->real, "home");
	make_dir(home, 0755, NOBODY);

	/* the user's directory symlink, holding or above */
	JOIN(p, home, "d");
	assert_int_equal(symlink(adm_real, p), 0);
	JOIN(q, p, "ga");
	JOIN(r, home_real, "d");
	expect_root_chain_refused(q, r, "is a symbolic link");
	JOIN(p, home, "up");
	assert_int_equal(symlink(fx->real, p), 0);
	JOIN(q, p, "adm/ga");
	JOIN(r, home_real, "up");
	expect_root_chain_refused(q, r, "is a symbolic link");

	/* in the user's directory; a hard link there too */
	JOIN(p, home, "rootga");
	make_file(p, "SECRET\n", 0600, 0);
	expect_root_chain_refused(p, home_real, "directory not owned by root (uid 65534)");
	JOIN(q, home, "hard");
	assert_int_equal(link(ga, q), 0);
	expect_root_chain_refused(q, home_real, "directory not owned by root (uid 65534)");

	/* under a root directory in the user's: every ancestor counts */
	JOIN(p, home, "sub");
	make_dir(p, 0755, 0);
	JOIN(q, p, "ga");
	make_file(q, "SECRET\n", 0600, 0);
	expect_root_chain_refused(q, home_real, "directory not owned by root (uid 65534)");

	/* holding directory writable by group or others; an ancestor too,
	 * unless sticky */
	static const mode_t bad[] = {0775, 0757, 01777};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		assert_int_equal(chmod(adm, bad[i]), 0);
		snprintf(want, sizeof(want), "directory mode %04o lets group or others write in it",
			 (unsigned)bad[i]);
		expect_root_chain_refused(ga, adm_real, want);
	}
	assert_int_equal(chmod(adm, 0755), 0);
	JOIN(p, adm, "in");
	make_dir(p, 0700, 0);
	JOIN(q, p, "ga");
	make_file(q, "SECRET\n", 0600, 0);
	assert_int_equal(chmod(adm, 0777), 0);
	expect_root_chain_refused(q, adm_real, "directory mode 0777 lets group or others write in it");
	assert_int_equal(chmod(adm, 01777), 0);
	expect_read_ok(q, SU_FILE_FOREIGN, "SECRET\n");
	assert_int_equal(chmod(adm, 0755), 0);

	/* ".." is not walked as written */
	JOIN(p, adm, "../adm/ga");
	expect_read_refused(p, SU_FILE_FOREIGN, p, "has a \"..\" component");

	/* the user's own file: in the user's directory, and through the
	 * user's symlink, as before */
	JOIN(p, home, "own");
	make_file(p, "MINE\n", 0600, NOBODY);
	expect_read_ok(p, SU_FILE_FOREIGN, "MINE\n");
	JOIN(q, home, "d2");
	assert_int_equal(symlink(home_real, q), 0);
	JOIN(r, q, "own");
	expect_read_ok(r, SU_FILE_FOREIGN, "MINE\n");
}

/* --- su_check_file: the read's checks, no read ------------------------------ */

static int check_logged(const char *path, enum su_file_kind kind, char **msg)
{
	capture cap;
	int rc;

	capture_begin(&cap);
	rc = su_check_file(&test_log, path, kind, 4096);
	*msg = capture_end(&cap);
	return rc;
}

/* For a file another library opens by name (libldap's TLS files): every
 * refusal of a read is a refusal here, naming the same reason. */
static void check_file_keeps_the_rules_of_a_read(void **state)
{
	fixture *fx = *state;
	char file[PATH_MAX], link[PATH_MAX], big[PATH_MAX], sub[PATH_MAX], inner[PATH_MAX];
	char filler[5000], *msg;

	NEED_ROOT();
	JOIN(file, fx->dir, "key");
	JOIN(link, fx->dir, "link");
	JOIN(big, fx->dir, "big");
	JOIN(sub, fx->dir, "open");
	JOIN(inner, sub, "cert");
	make_file(file, "k\n", 0600, 0);
	assert_int_equal(check_logged(file, SU_FILE_SECRET, &msg), SU_OK);
	assert_string_equal(msg, "");
	free(msg);

	assert_int_equal(symlink("key", link), 0);
	assert_int_equal(check_logged(link, SU_FILE_SECRET, &msg), SU_ERR);
	assert_refusal(msg, link, "is a symbolic link");
	free(msg);

	assert_int_equal(chmod(file, 0640), 0);
	assert_int_equal(check_logged(file, SU_FILE_SECRET, &msg), SU_ERR);
	assert_refusal(msg, file, "mode 0640");
	free(msg);
	assert_int_equal(check_logged(file, SU_FILE_PUBLIC, &msg), SU_OK);
	free(msg);
	assert_int_equal(chown(file, NOBODY, 0), 0);
	assert_int_equal(check_logged(file, SU_FILE_PUBLIC, &msg), SU_ERR);
	assert_refusal(msg, file, "not owned by root");
	free(msg);

	memset(filler, 'x', sizeof(filler) - 1);
	filler[sizeof(filler) - 1] = '\0';
	make_file(big, filler, 0644, 0);
	assert_int_equal(check_logged(big, SU_FILE_PUBLIC, &msg), SU_ERR);
	assert_refusal(msg, big, "larger than 4096 bytes");
	free(msg);

	make_dir(sub, 0777, 0);
	make_file(inner, "c\n", 0644, 0);
	assert_int_equal(check_logged(inner, SU_FILE_PUBLIC, &msg), SU_ERR);
	assert_non_null(strstr(msg, "refusing"));
	free(msg);

	JOIN(inner, fx->dir, "absent");
	assert_int_equal(check_logged(inner, SU_FILE_PUBLIC, &msg), SU_NOTFOUND);
	assert_string_equal(msg, "");
	free(msg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(r1_symlink_is_refused),
		T(r1_dangling_symlink_is_refused),
		T(r1_fifo_is_refused_without_hanging),
		T(r2_good_secret_is_read),
		T(r2_empty_file_is_read),
		T(r2_directory_is_refused),
		T(r2_non_root_owner_is_refused),
		T(r2_size_over_cap_is_refused),
		T(r3_secret_with_group_or_other_bits_is_refused),
		T(r3_public_may_be_readable_not_writable),
		T(r4_holding_dir_writable_by_others_is_refused),
		T(r4_holding_dir_not_root_owned_is_refused),
		T(r4_ancestor_writable_without_sticky_is_refused),
		T(r4_ancestor_not_root_owned_is_refused),
		T(r4_chain_is_checked_after_resolving_links),
		T(r4_link_or_dotdot_above_the_holding_dir_is_resolved),
		T(r4_missing_file_is_notfound_silently),
		T(r4_missing_dir_is_notfound_silently),
		T(r5_write_creates_root_owned_file_with_mode),
		T(r5_write_replaces_atomically),
		T(r5_concurrent_reader_never_sees_a_mix),
		T(r5_failed_write_leaves_no_temporary),
		T(r5_write_replaces_a_symlink_not_its_target),
		T(r5_write_into_missing_dir_says_run_init),
		T(r5_write_into_unsafe_dir_is_refused),
		T(r5_create_file_never_replaces),
		T(r5_create_file_does_not_follow_links),
		T(r5_create_file_in_missing_dir_says_run_init),
		T(r5_remove_file),
		T(make_dir_creates_nested_with_modes),
		T(make_dir_refuses_existing_unsafe_dir),
		T(make_dir_creates_nothing_under_unsafe_parent),
		T(lock_excludes_a_second_holder),
		T(lock_waits_for_release),
		T(lock_symlink_is_refused),
		T(lock_dangling_symlink_creates_nothing),
		T(lock_file_of_other_owner_or_mode_is_refused),
		T(lock_in_missing_dir_says_run_init),
		T(r6_refusal_shows_the_path_printable),
		T(r7_foreign_file_of_any_owner_in_a_users_dir_is_read),
		T(r7_foreign_file_keeps_rules_1_and_2),
		T(r7_foreign_file_writable_by_others_is_refused),
		T(r7_foreign_device_or_fifo_is_never_opened_for_reading),
		T(r7_foreign_root_file_only_through_roots_directories),
		T(check_file_keeps_the_rules_of_a_read),
	};

	return cmocka_run_group_tests_name("safefile", tests, NULL, NULL);
}
