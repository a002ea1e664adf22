/* Where a step-up happens: this process's login session (the binding)
 * and the boot, as a grace record names them.
 *
 * A record must not let anyone in whom the step-up was not for: another
 * login of the same user, a later session that reuses a pid, a boot after
 * the one it was earned in. So the binding is taken only from what the
 * kernel says and a user cannot set (the audit session id, or the session
 * leader's /proc entry), never from the environment; and where there is
 * nothing to bind to, there is no grace, rather than a looser one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "grace.h"

#define PROC_MAX 1024
#define AUDIT_UNSET "4294967295"

/* A /proc file: the kernel's, not a file anyone can plant, so the safe-file
 * checks (root owner, mode) do not apply; O_NOFOLLOW still does. */
static int read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Fields of /proc/PID/stat after the command name, which may itself hold
 * blanks and parentheses: *fields points at field 3 (state). */
static int proc_stat_fields(const char *path, char *buf, size_t size,
			    const char **fields)
{
	char *close_paren;

	if (read_proc(path, buf, size) != 0)
		return -1;
	close_paren = strrchr(buf, ')');
	if (close_paren == NULL || close_paren[1] != ' ')
		return -1;
	*fields = close_paren + 2;
	return 0;
}

/* The n-th blank-separated field (3-based, as proc(5) numbers them). */
static bool stat_field(const char *fields, int n, unsigned long long *out)
{
	const char *p = fields;
	char *end;

	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return false;
		p++;
	}
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno == 0 && end != p && (*end == ' ' || *end == '\0');
}


/* tty=DEV:sid=PID:start=TICKS, or sid=PID:start=TICKS without a tty, all
 * from the session leader's /proc/PID/stat: its start time defeats pid
 * reuse, and its controlling tty is the session's. (getsid() rather than
 * our own /proc/self/stat: that read cost as much as the rest of the
 * binding.) Says why when there is nothing to bind to, for the log. */
static int session_binding(char *out, size_t size, const char **why)
{
	char buf[PROC_MAX], path[64];
	unsigned long long tty, start;
	const char *f;
	pid_t sid = getsid(0);
	int n;

	/* getsid() is 0 when the leader lives in another PID namespace, as
	 * after docker exec or nsenter: there is no session here to bind to. */
	*why = "the session leader is outside this PID namespace";
	if (sid <= 0)
		return -1;
	*why = "the session leader has exited";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sid);
	if (proc_stat_fields(path, buf, sizeof(buf), &f) != 0 ||
	    !stat_field(f, 7, &tty) || !stat_field(f, 22, &start))
		return -1;
	*why = "binding too long";
	n = tty != 0 ? snprintf(out, size, "tty=%llu:sid=%d:start=%llu", tty, (int)sid, start) :
		       snprintf(out, size, "sid=%d:start=%llu", (int)sid, start);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int boot_id(char *out, size_t size)
{
	return read_proc("/proc/sys/kernel/random/boot_id", out, size);
}

int su_grace_here_now(const su_log *log, su_grace_here *here)
{
	const char *why;
	char id[32];

	memset(here, 0, sizeof(*here));
	if (boot_id(here->boot_id, sizeof(here->boot_id)) != 0) {
		su_debug(log, "grace: no boot id");
		return -1;
	}
	/* The audit session id is set once, at login (pam_loginuid), and a
	 * user cannot change it: the best binding when there is one. */
	if (read_proc("/proc/self/sessionid", id, sizeof(id)) == 0 && id[0] != '\0' &&
	    strcmp(id, AUDIT_UNSET) != 0 && strspn(id, "0123456789") == strlen(id)) {
		snprintf(here->binding, sizeof(here->binding), "audit=%s", id);
		return 0;
	}
	if (session_binding(here->binding, sizeof(here->binding), &why) != 0) {
		/* Not an error, but an administrator wondering why grace never
		 * holds (typically inside a container) needs to see this. */
		su_logf(log, LOG_INFO,
			"grace records unavailable: no audit session id and %s", why);
		return -1;
	}
	return 0;
}
