/* Unit tests: the child su_agent_connect creates (sshagent.c, included
 * here with its test hooks, SU_AGENT_TEST_HOOKS, which no other build
 * has): how it is signalled and reaped, bounded, when it stalls. */
#define SU_AGENT_TEST_HOOKS 1
#include "../../src/sshagent.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <cmocka.h>

/* Every kill(2) by pid the code under test makes is counted (and made). */
static int kill_calls;

int kill(pid_t pid, int sig)
{
	kill_calls++;
	return (int)syscall(SYS_kill, pid, sig);
}

static int listen_here(char *dir, size_t dir_size, char *path, size_t path_size)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(dir, dir_size, "/tmp/test_sshagent.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(path, path_size, "%s/agent", dir);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void unlisten(int lfd, const char *dir, const char *path)
{
	close(lfd);
	unlink(path);
	rmdir(dir);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* No child of ours left, alive or zombie. */
static void no_child_left(void)
{
	int st;

	errno = 0;
	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* su_agent_connect to path with a child that never answers, a deadline
 * 300 ms away: it fails, gives no descriptor, returns within within_s
 * seconds, and sends no signal by pid. The child is left to the caller's
 * checks. */
static void stalled_connect_gives_up(const char *path, double within_s)
{
	char why[256] = "";
	struct timespec deadline;
	double t0;
	int fd = 0;

	su_agent_test_stall = 1;
	kill_calls = 0;
	t0 = now_s();
	su_agent_deadline(300, &deadline);
	assert_int_equal(su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why,
					  sizeof(why)),
			 -1);
	assert_int_equal(fd, -1);
	assert_true(now_s() - t0 < within_s);
	assert_int_equal(kill_calls, 0);
}

/* The host ignores SIGCHLD (the kernel reaps the child the moment it
 * ends, and its pid may be reused at once) and the child never answers:
 * su_agent_connect gives up at the deadline, kills the child through its
 * pidfd, never by pid, and leaves no child. The race itself (a pid
 * reused between the kernel's reaping and a kill) cannot be staged
 * reliably here; that no kill(2) by pid is made at all is what rules it
 * out. */
static void stalled_child_killed_by_pidfd_never_by_pid(void **state)
{
	struct sigaction sa = {.sa_handler = SIG_IGN}, old;
	char dir[64], path[128];
	int lfd;

	(void)state;
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
	stalled_connect_gives_up(path, 2.5);
	no_child_left();
	su_agent_test_stall = 0;
	sigaction(SIGCHLD, &old, NULL);
	unlisten(lfd, dir, path);
}

/* The child answered, then stopped before it ended (the user can stop
 * it: it is theirs by then): the host is not held past the deadline. */
static void child_stopped_after_answering_does_not_hold_the_host(void **state)
{
	void (*const dispositions[])(int) = {SIG_DFL, SIG_IGN};
	char dir[64], path[128], why[256] = "";
	struct timespec deadline;
	int lfd, fd;

	(void)state;
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	for (size_t i = 0; i < 2; i++) {
		struct sigaction sa = {.sa_handler = dispositions[i]}, old;
		double t0;

		sigemptyset(&sa.sa_mask);
		assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
		su_agent_test_stall = 2;
		kill_calls = 0;
		alarm(20); /* unfixed, the wait never ends: the test dies */
		t0 = now_s();
		su_agent_deadline(300, &deadline);
		if (su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why,
				     sizeof(why)) != 0)
			fail_msg("disposition %zu: %s", i, why);
		alarm(0);
		assert_true(fd >= 0);
		close(fd);
		assert_true(now_s() - t0 < 2.5);
		assert_int_equal(kill_calls, 0);
		no_child_left();
		su_agent_test_stall = 0;
		sigaction(SIGCHLD, &old, NULL);
	}
	unlisten(lfd, dir, path);
}

/* What the watcher thread saw of the stalled child. */
static struct {
	pid_t pid;
	uid_t owner;           /* of /proc/PID/status: root unless the child is dumpable */
	int core_zero;         /* RLIMIT_CORE 0 (soft and hard) */
	int std_devnull;       /* fds 0, 1 and 2 all /dev/null */
} seen;

/* The child of ours whose real uid is uid, or 0. */
static pid_t child_as(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	char want[32];

	snprintf(want, sizeof(want), "PPid:\t%d\n", (int)getpid());
	while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
		char p[300], buf[4096];
		unsigned u;
		FILE *f;
		size_t n;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/status", e->d_name);
		if ((f = fopen(p, "r")) == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (strstr(buf, want) != NULL && strstr(buf, "\nUid:\t") != NULL &&
		    sscanf(strstr(buf, "\nUid:\t"), "\nUid:\t%u", &u) == 1 && u == uid)
			found = (pid_t)atoi(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static void *watch(void *arg)
{
	double until = now_s() + 3;
	pid_t pid = 0;
	char p[64], line[256], target[64];
	struct stat st;
	FILE *f;

	(void)arg;
	while (pid == 0 && now_s() < until) {
		pid = child_as(65534);
		usleep(10000);
	}
	if (pid == 0)
		return NULL;
	usleep(100000); /* past the drop: stalled for good */
	seen.pid = pid;
	/* Not /proc/PID itself, which is always the euid's. */
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if (stat(p, &st) == 0)
		seen.owner = st.st_uid;
	snprintf(p, sizeof(p), "/proc/%d/limits", (int)pid);
	if ((f = fopen(p, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned long soft, hard;

			if (sscanf(line, "Max core file size %lu %lu", &soft, &hard) == 2)
				seen.core_zero = soft == 0 && hard == 0;
		}
		fclose(f);
	}
	seen.std_devnull = 1;
	for (int i = 0; i <= 2; i++) {
		ssize_t n;

		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, i);
		n = readlink(p, target, sizeof(target) - 1);
		if (n < 0 || (target[n] = '\0', strcmp(target, "/dev/null") != 0))
			seen.std_devnull = 0;
	}
	return NULL;
}

/* With fs.suid_dumpable 1 (which the uid change resets dumpable to), the
 * child as the user is still not dumpable (its /proc files stay root's),
 * dumps no core, and holds none of the host's standard descriptors. */
static void child_is_not_dumpable_after_the_drop(void **state)
{
	char dir[64], path[128], why[256] = "", saved[16] = "";
	struct timespec deadline;
	pthread_t t;
	FILE *f;
	int lfd, fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	f = fopen("/proc/sys/fs/suid_dumpable", "r+");
	if (f == NULL)
		skip();
	assert_non_null(fgets(saved, sizeof(saved), f));
	rewind(f);
	assert_true(fputs("1\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	memset(&seen, 0, sizeof(seen));
	seen.owner = (uid_t)-1;
	su_agent_test_stall = 1;
	assert_int_equal(pthread_create(&t, NULL, watch, NULL), 0);
	su_agent_deadline(1500, &deadline);
	assert_int_equal(su_agent_connect(path, 65534, 65534, &deadline, &fd, why,
					  sizeof(why)),
			 -1);
	pthread_join(t, NULL);
	su_agent_test_stall = 0;
	f = fopen("/proc/sys/fs/suid_dumpable", "w");
	assert_non_null(f);
	fputs(saved, f);
	assert_int_equal(fclose(f), 0);
	unlisten(lfd, dir, path);
	no_child_left();
	assert_true(seen.pid > 0);
	assert_int_equal(seen.owner, 0);
	assert_true(seen.core_zero);
	assert_true(seen.std_devnull);
}

/* A thread of the host that waits on a pipe while the call runs. */
static int idle_pipe[2];
static pid_t idle_tid;

static void *idle(void *arg)
{
	char b;

	(void)arg;
	__atomic_store_n(&idle_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	while (read(idle_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Root, in a host with another thread, connects as nobody: the child
 * drops its own ids (and only its own: the host's thread stays root). */
static void connects_as_the_user_from_a_threaded_host(void **state)
{
	char dir[64], path[128], why[256] = "", p[64], buf[4096];
	struct timespec deadline;
	pthread_t t;
	FILE *f;
	size_t n;
	int lfd, fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	assert_int_equal(pipe(idle_pipe), 0);
	assert_int_equal(pthread_create(&t, NULL, idle, NULL), 0);
	while (__atomic_load_n(&idle_tid, __ATOMIC_SEQ_CST) == 0)
		usleep(1000);
	su_agent_deadline(3000, &deadline);
	if (su_agent_connect(path, 65534, 65534, &deadline, &fd, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	close(fd);
	snprintf(p, sizeof(p), "/proc/self/task/%d/status", (int)idle_tid);
	f = fopen(p, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\nUid:\t0\t0\t0\t0\n"));
	close(idle_pipe[1]);
	pthread_join(t, NULL);
	close(idle_pipe[0]);
	no_child_left();
	unlisten(lfd, dir, path);
}

/* Threads come and go in the host while it connects as nobody (glibc's
 * setgroups and setres*id wrappers, in a child clone3 made, would wait
 * for threads of the host's list: for ever, for one being created). */
static volatile int churn_stop;

static void *nothing(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!churn_stop) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

static void connects_while_threads_come_and_go(void **state)
{
	char dir[64], path[128], why[256] = "";
	struct timespec deadline;
	pthread_t t;
	int lfd, fd, failed = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	churn_stop = 0;
	assert_int_equal(pthread_create(&t, NULL, churn, NULL), 0);
	for (int i = 0; i < 40; i++) {
		su_agent_deadline(1000, &deadline);
		if (su_agent_connect(path, 65534, 65534, &deadline, &fd, why, sizeof(why)) != 0)
			failed++;
		else {
			int a = accept(lfd, NULL, NULL);

			if (a >= 0)
				close(a);
			close(fd);
		}
	}
	churn_stop = 1;
	pthread_join(t, NULL);
	no_child_left();
	unlisten(lfd, dir, path);
	assert_int_equal(failed, 0);
}

/* The same, as on a kernel without clone3: forked, its pidfd opened
 * before it is told to start. */
static void the_same_without_clone3(void **state)
{
	char dir[64], path[128], why[256] = "";
	struct timespec deadline;
	int lfd, fd;

	su_agent_test_no_clone3 = true;
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	su_agent_deadline(3000, &deadline);
	if (su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	close(fd);
	unlisten(lfd, dir, path);
	no_child_left();
	stalled_child_killed_by_pidfd_never_by_pid(state);
	child_stopped_after_answering_does_not_hold_the_host(state);
	connects_as_the_user_from_a_threaded_host(state);
	child_is_not_dumpable_after_the_drop(state);
	su_agent_test_no_clone3 = false;
}

/* Without any pidfd (Linux before 5.3, valgrind): never a signal; the
 * host waits until the deadline at most, and a stalled child ends by its
 * own alarm soon after it. */
static void without_any_pidfd_no_signal_at_all(void **state)
{
	struct sigaction sa = {.sa_handler = SIG_IGN}, old;
	char dir[64], path[128], why[256] = "";
	struct timespec deadline;
	int lfd, fd;

	(void)state;
	su_agent_test_no_clone3 = true;
	su_agent_test_no_pidfd = true;
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	su_agent_deadline(3000, &deadline);
	if (su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	close(fd);
	no_child_left();
	for (int ign = 0; ign < 2; ign++) {
		if (ign) {
			sigemptyset(&sa.sa_mask);
			assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
		}
		stalled_connect_gives_up(path, 1.5);
		/* Its alarm: 0 s left + 2. */
		for (int i = 0; i < 50; i++) {
			if (ign) {
				int st;

				errno = 0;
				if (waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD)
					break;
			} else if (waitpid(-1, NULL, WNOHANG) > 0) {
				break;
			}
			usleep(100000);
		}
		no_child_left();
		su_agent_test_stall = 0;
		if (ign)
			sigaction(SIGCHLD, &old, NULL);
	}
	unlisten(lfd, dir, path);
	su_agent_test_no_pidfd = false;
	su_agent_test_no_clone3 = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stalled_child_killed_by_pidfd_never_by_pid),
		cmocka_unit_test(child_stopped_after_answering_does_not_hold_the_host),
		cmocka_unit_test(connects_as_the_user_from_a_threaded_host),
		cmocka_unit_test(connects_while_threads_come_and_go),
		cmocka_unit_test(child_is_not_dumpable_after_the_drop),
		cmocka_unit_test(the_same_without_clone3),
		cmocka_unit_test(without_any_pidfd_no_signal_at_all),
	};

	return cmocka_run_group_tests_name("sshagent_child", tests, NULL, NULL);
}
