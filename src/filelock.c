/* The lock that serialises the writers of one user's files (su_lock), and
 * when it is held too long, the name of its holder from /proc/locks, for
 * the log and stepupctl unlock: a stopped process wedges a user until it
 * is killed, and the administrator needs to know which. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <time.h>
#include "safefile.h"
#include "safefile_internal.h"
#include "util.h"

#define LOCK_POLL_MS 2

static int open_lock_file(const su_log *log, const char *lock_path)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	struct stat st;

	if (fd < 0) {
		if (errno == ELOOP)
			return su_refuse(log, lock_path, "is a symbolic link");
		return su_refuse_errno(log, lock_path, "cannot open lock file");
	}
	if (su_check_open_file(log, lock_path, fd, SU_FILE_SECRET, 0, &st) != SU_OK) {
		close(fd);
		return SU_ERR;
	}
	return fd;
}

/* ---- who holds a lock ----------------------------------------------------------
 * A user can stop (SIGSTOP, Ctrl-Z held off by guard.c but not SIGSTOP) their
 * own setuid su while it holds their lock: every later step-up of theirs,
 * and stepupctl unlock, then waits and fails. The refusal names the holder
 * so that an administrator can end it. Nothing here is trusted: it only
 * words a message. */

/* The pid that holds an flock on the inode of fd (/proc/locks), or 0. */
static pid_t flock_holder(int fd)
{
	char line[256], want[64];
	struct stat st;
	pid_t pid = 0;
	FILE *f;

	if (fstat(fd, &st) != 0)
		return 0;
	snprintf(want, sizeof(want), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	f = fopen("/proc/locks", "re");
	if (f == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), f) != NULL) {
		char type[16], dev[64];
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a waiter's
		 * line has "->" after the number, and so fails this. */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %63s", type, &p, dev) == 3 &&
		    strcmp(type, "FLOCK") == 0 && strcmp(dev, want) == 0 && p > 0)
			pid = (pid_t)p;
	}
	fclose(f);
	return pid;
}

/* "PID (COMM), stopped, started N s ago" from /proc/PID/stat. */
static void describe_process(pid_t pid, char *out, size_t size)
{
	char path[64], stat[1024], comm[33], *close_paren, state = '?';
	unsigned long long start = 0;
	double uptime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(out, size, "process %d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	close_paren = strrchr(stat, ')');
	/* After "pid (comm) ": state, then 18 fields to starttime (field 22). */
	if (close_paren == NULL ||
	    sscanf(close_paren + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %*s %*s %*s %llu", &state, &start) != 2)
		return;
	*close_paren = '\0';
	/* The command name is the caller's choice (a symlink's name, up to 15
	 * bytes): nothing but printable ASCII goes into a log or onto root's
	 * terminal. */
	su_escape(strchr(stat, '(') ? strchr(stat, '(') + 1 : "?", &su_escape_printable,
		  sizeof(comm) - 1, comm);
	f = fopen("/proc/uptime", "re");
	if (f != NULL) {
		if (fscanf(f, "%lf", &uptime) != 1)
			uptime = 0;
		fclose(f);
	}
	snprintf(out, size, "process %d (%s), %s, started %.0f s ago", (int)pid, comm,
		 state == 'T' || state == 't' ? "stopped" : state == 'R' ? "running" :
		 state == 'D' ? "waiting for the disk" : "sleeping",
		 hz > 0 && uptime > 0 ? uptime - (double)start / (double)hz : 0.0);
}

static void lock_held_too_long(const su_log *log, const char *lock_path, int fd)
{
	pid_t pid = flock_holder(fd);
	char who[160];

	if (pid == 0) {
		su_refuse(log, lock_path, "lock is held too long by another process");
		return;
	}
	describe_process(pid, who, sizeof(who));
	su_logf(log, LOG_ERR, "refusing %s: lock is held too long by %s; if it does not "
		"finish, end it with 'kill -KILL %d' (its caller has not been told the "
		"outcome of any answer it holds, so killing it reveals nothing)", lock_path, who,
		(int)pid);
}

int su_lock(const su_log *log, const char *lock_path, unsigned timeout_ms,
	    int *fd_out)
{
	char *dir = su_dir_of(lock_path);
	const struct timespec poll = {0, LOCK_POLL_MS * 1000000L};
	int fd, rc;

	*fd_out = -1;
	if (dir == NULL)
		return su_refuse(log, lock_path, "out of memory");
	rc = su_require_dir(log, dir);
	free(dir);
	if (rc != SU_OK)
		return SU_ERR;
	fd = open_lock_file(log, lock_path);
	if (fd < 0)
		return SU_ERR;
	/* Poll rather than block: a wedged holder must not hang sudo. Counted
	 * in polls, not clock time, so a faked clock cannot stretch it. */
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += LOCK_POLL_MS) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return su_refuse_errno(log, lock_path, "cannot lock");
		}
		if (waited >= timeout_ms) {
			lock_held_too_long(log, lock_path, fd);
			close(fd);
			return SU_ERR;
		}
		nanosleep(&poll, NULL);
	}
	*fd_out = fd;
	return SU_OK;
}

void su_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}
