/* The ssh-agent client (sshagent.h). Everything an agent sends is the
 * user's: read with a cap and a deadline, parsed with the bounded reader
 * of sshwire.h, and refused whole when anything is off. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "sshagent.h"
#include "sshwire.h"
#include "util.h"

void su_agent_ids_free(su_agent_ids *ids)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < ids->count; i++) {
		free(ids->ids[i].blob);
		free(ids->ids[i].comment);
	}
	free(ids->ids);
	ids->ids = NULL;
	ids->count = 0;
}

int su_agent_parse_identities(const unsigned char *msg, size_t len, su_agent_ids *out,
			      char *why, size_t why_size)
{
	su_wire w = su_wire_of(msg, len);
	su_agent_ids ids = {0};
	uint8_t type;
	uint32_t count;

	out->ids = NULL;
	out->count = 0;
	if (msg == NULL || len > SU_AGENT_MSG_MAX || !su_wire_u8(&w, &type))
		return su_why(why, why_size, "empty answer"), -1;
	if (type != SU_AGENT_IDENTITIES_ANSWER)
		return su_why(why, why_size, "answer of type %u to a request for identities",
			      type), -1;
	if (!su_wire_u32(&w, &count))
		return su_why(why, why_size, "truncated identities answer"), -1;
	if (count > SU_AGENT_IDS_MAX)
		return su_why(why, why_size, "%u identities, more than %d", count,
			      SU_AGENT_IDS_MAX), -1;
	/* Each identity takes at least 8 bytes (two empty strings). */
	if (count > w.left / 8)
		return su_why(why, why_size, "%u identities in %zu bytes", count, w.left), -1;
	if (count > 0 && (ids.ids = calloc(count, sizeof(*ids.ids))) == NULL)
		return su_why(why, why_size, "out of memory"), -1;
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *blob, *comment;
		size_t blob_len, comment_len;
		su_agent_id *id = &ids.ids[i];

		if (!su_wire_string(&w, SU_AGENT_BLOB_MAX, &blob, &blob_len) ||
		    !su_wire_string(&w, SU_AGENT_COMMENT_MAX, &comment, &comment_len)) {
			su_why(why, why_size, "identity %u malformed or too large", i);
			goto fail;
		}
		id->blob = malloc(blob_len > 0 ? blob_len : 1);
		id->comment = malloc(comment_len + 1);
		ids.count = i + 1; /* so that a failure frees this one */
		if (id->blob == NULL || id->comment == NULL) {
			su_why(why, why_size, "out of memory");
			goto fail;
		}
		memcpy(id->blob, blob, blob_len);
		id->blob_len = blob_len;
		memcpy(id->comment, comment, comment_len);
		id->comment[comment_len] = '\0';
	}
	if (w.left != 0) {
		su_why(why, why_size, "%zu bytes after the identities", w.left);
		goto fail;
	}
	*out = ids;
	return 0;
fail:
	su_agent_ids_free(&ids);
	return -1;
}

int su_agent_parse_sign_response(const unsigned char *msg, size_t len, unsigned char **sig,
				 size_t *sig_len, char *why, size_t why_size)
{
	su_wire w = su_wire_of(msg, len);
	const unsigned char *s;
	size_t n;
	uint8_t type;

	*sig = NULL;
	*sig_len = 0;
	if (msg == NULL || len > SU_AGENT_MSG_MAX || !su_wire_u8(&w, &type))
		return su_why(why, why_size, "empty answer"), -1;
	if (type == SU_AGENT_FAILURE && w.left == 0)
		return su_why(why, why_size, "the agent refused to sign"), 1;
	if (type != SU_AGENT_SIGN_RESPONSE)
		return su_why(why, why_size, "answer of type %u to a sign request", type), -1;
	if (!su_wire_string(&w, SU_AGENT_SIG_MAX, &s, &n) || n == 0)
		return su_why(why, why_size, "signature malformed, empty or too large"), -1;
	if (w.left != 0)
		return su_why(why, why_size, "%zu bytes after the signature", w.left), -1;
	if ((*sig = malloc(n)) == NULL)
		return su_why(why, why_size, "out of memory"), -1;
	memcpy(*sig, s, n);
	*sig_len = n;
	return 0;
}

int su_agent_sign_request(const unsigned char *blob, size_t blob_len,
			  const unsigned char *data, size_t data_len, unsigned char **out,
			  size_t *out_len)
{
	size_t len = 1 + 4 + blob_len + 4 + data_len + 4;
	unsigned char *buf, *p;

	*out = NULL;
	*out_len = 0;
	if (blob == NULL || data == NULL || blob_len == 0 || blob_len > SU_AGENT_BLOB_MAX ||
	    data_len > SU_AGENT_DATA_MAX || (buf = malloc(len)) == NULL)
		return -1;
	p = buf;
	*p++ = SU_AGENTC_SIGN_REQUEST;
	su_wire_put_u32(p, (uint32_t)blob_len);
	memcpy(p + 4, blob, blob_len);
	p += 4 + blob_len;
	su_wire_put_u32(p, (uint32_t)data_len);
	memcpy(p + 4, data, data_len);
	p += 4 + data_len;
	su_wire_put_u32(p, 0); /* flags: none (no RSA SHA-2 choice for these keys) */
	*out = buf;
	*out_len = len;
	return 0;
}

/* --- I/O ------------------------------------------------------------------ */

void su_agent_deadline(unsigned timeout_ms, struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += timeout_ms / 1000;
	deadline->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds left before the deadline, 0 once it has passed. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > 600000 ? 600000 : (int)ms;
}

/* Wait until fd is ready for events or the deadline passes: 0, or -1 with
 * errno ETIMEDOUT (or the poll's). */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int left = ms_left(deadline), n;

		if (left == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&p, 1, left);
		if (n > 0)
			return 0; /* ready, or an error/hangup the next call sees */
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Which way io_all moves the bytes. */
enum io_way { IO_SEND, IO_RECV };

/* One send or recv that does not block (wait_fd waited). MSG_NOSIGNAL: an
 * agent that closed its end makes send fail with EPIPE rather than raise
 * SIGPIPE, which would kill the application the module runs in. */
static ssize_t io_once(int fd, unsigned char *buf, size_t len, enum io_way way)
{
	if (way == IO_SEND)
		return send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	return recv(fd, buf, len, MSG_DONTWAIT);
}

/* Exactly len bytes sent or received, in as many pieces as the socket
 * takes, all before the one deadline: 0, or -1 with errno (ETIMEDOUT; 0
 * for an end of stream while receiving). */
static int io_all(int fd, unsigned char *buf, size_t len, enum io_way way,
		  const struct timespec *deadline)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, way == IO_SEND ? POLLOUT : POLLIN, deadline) != 0)
			return -1;
		n = io_once(fd, buf, len, way);
		/* recv's 0 is the agent closing its end: an error, never a
		 * short answer (send never returns 0 for len > 0) */
		if (n == 0 && way == IO_RECV) {
			errno = 0;
			return -1;
		}
		if (n < 0) {
			/* a signal, or readiness that went away: wait again,
			 * the deadline still bounds it */
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const unsigned char *buf, size_t len, const struct timespec *deadline)
{
	/* io_all only reads buf when it sends */
	return io_all(fd, (unsigned char *)buf, len, IO_SEND, deadline);
}

/* Exactly len bytes; -1 with errno (0 for an end of stream). */
static int recv_all(int fd, unsigned char *buf, size_t len, const struct timespec *deadline)
{
	return io_all(fd, buf, len, IO_RECV, deadline);
}

static int io_why(char *why, size_t why_size, const char *what)
{
	if (errno == ETIMEDOUT)
		return su_why(why, why_size, "the agent did not answer in time (%s)", what), -1;
	if (errno == 0)
		return su_why(why, why_size, "the agent closed the connection (%s)", what), -1;
	return su_why(why, why_size, "%s: %s", what, strerror(errno)), -1;
}

int su_agent_call(int fd, const unsigned char *req, size_t req_len,
		  const struct timespec *deadline, unsigned char **resp, size_t *resp_len,
		  char *why, size_t why_size)
{
	unsigned char frame[4], *body;
	uint32_t len;

	*resp = NULL;
	*resp_len = 0;
	if (req == NULL || req_len == 0 || req_len > SU_AGENT_MSG_MAX)
		return su_why(why, why_size, "request too large"), -1;
	su_wire_put_u32(frame, (uint32_t)req_len);
	if (send_all(fd, frame, sizeof(frame), deadline) != 0 ||
	    send_all(fd, req, req_len, deadline) != 0)
		return io_why(why, why_size, "sending the request");
	if (recv_all(fd, frame, sizeof(frame), deadline) != 0)
		return io_why(why, why_size, "reading the answer's length");
	len = su_wire_peek_u32(frame);
	if (len == 0 || len > SU_AGENT_MSG_MAX)
		return su_why(why, why_size, "answer of %u bytes (at most %d)", len,
			      SU_AGENT_MSG_MAX), -1;
	if ((body = malloc(len)) == NULL)
		return su_why(why, why_size, "out of memory"), -1;
	if (recv_all(fd, body, len, deadline) != 0) {
		free(body);
		return io_why(why, why_size, "reading the answer");
	}
	*resp = body;
	*resp_len = len;
	return 0;
}

int su_agent_list(int fd, const struct timespec *deadline, su_agent_ids *out, char *why,
		  size_t why_size)
{
	static const unsigned char req[] = {SU_AGENTC_REQUEST_IDENTITIES};
	unsigned char *resp;
	size_t len;
	int rc;

	out->ids = NULL;
	out->count = 0;
	if (su_agent_call(fd, req, sizeof(req), deadline, &resp, &len, why, why_size) != 0)
		return -1;
	rc = su_agent_parse_identities(resp, len, out, why, why_size);
	free(resp);
	return rc;
}

int su_agent_sign(int fd, const struct timespec *deadline, const unsigned char *blob,
		  size_t blob_len, const unsigned char *data, size_t data_len,
		  unsigned char **sig, size_t *sig_len, char *why, size_t why_size)
{
	unsigned char *req, *resp;
	size_t req_len, len;
	int rc;

	*sig = NULL;
	*sig_len = 0;
	if (su_agent_sign_request(blob, blob_len, data, data_len, &req, &req_len) != 0)
		return su_why(why, why_size, "key or message too large for a sign request"), -1;
	rc = su_agent_call(fd, req, req_len, deadline, &resp, &len, why, why_size);
	free(req);
	if (rc != 0)
		return -1;
	rc = su_agent_parse_sign_response(resp, len, sig, sig_len, why, why_size);
	free(resp);
	return rc;
}

/* --- connecting ------------------------------------------------------------
 *
 * Why a child rather than setfsuid around connect(): connect() on a path
 * is judged with the caller's filesystem ids AND its supplementary groups
 * (and, for root, capabilities). setfsuid/setfsgid change only the first;
 * the supplementary groups of the process (root's, in sudo, su and sshd)
 * would still open a socket of group root or any group root is in, and
 * setgroups() changes them for every thread of the host program, not just
 * ours, and may not be undone safely if it fails half way. A child that
 * drops uid, gid and groups for good reaches exactly what the user
 * reaches (less: no supplementary groups), cannot regain root, and its
 * descriptor is the only thing that comes back. Its cost (a fork per
 * step-up) is small beside the touch the user is asked for.
 *
 * The child only makes system calls (no allocation, no NSS, no
 * locks: a threaded host may have held one), and ends with _exit. It is
 * not dumpable, before and after the drop (the user cannot ptrace it and
 * read what it inherited), dumps no core, closes every descriptor but its
 * end of the pair first, and holds /dev/null as its standard ones. */

#ifdef SU_AGENT_TEST_HOOKS
/* tests/unit/test_sshagent_child.c only (it includes this file): the
 * child stops for good after its drop (1) or after sending (2); the
 * fork fallback taken. */
static int su_agent_test_stall;
static bool su_agent_test_no_clone3; /* as on a kernel without clone3 */
static bool su_agent_test_no_pidfd;  /* nor pidfd_open (or under valgrind) */
#define SU_AGENT_TEST_STALL(n)                                                                 \
	do {                                                                                   \
		if (su_agent_test_stall == (n))                                                \
			for (;;)                                                               \
				pause();                                                       \
	} while (0)
#define SU_AGENT_TEST_NO_CLONE3 su_agent_test_no_clone3
#define SU_AGENT_TEST_NO_PIDFD su_agent_test_no_pidfd
#else
#define SU_AGENT_TEST_STALL(n) ((void)0)
#define SU_AGENT_TEST_NO_CLONE3 false
#define SU_AGENT_TEST_NO_PIDFD false
#endif

/* close_range, or on a kernel without it (before 5.9) one close per
 * descriptor up to the limit: system calls only, as after fork. */
static void close_others(int keep)
{
	struct rlimit rl;

	if ((keep <= 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0U, 0) == 0)
		return;
	if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &rl) != 0)
		_exit(2);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576)
		rl.rlim_cur = 1048576;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
		if (fd != keep)
			(void)close(fd);
}

static void connect_child(int chan, const struct sockaddr_un *sun, socklen_t sun_len,
			  uid_t uid, gid_t gid, bool go, unsigned alarm_s)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct msghdr mh = {0};
	struct cmsghdr *c;
	struct iovec iov;
	char byte = 0;
	int fd, devnull;

	/* The channel above the standard descriptors, which become /dev/null
	 * below (a host started with 0-2 closed has the pair there). */
	if (chan <= 2) {
		int moved = fcntl(chan, F_DUPFD_CLOEXEC, 3);

		if (moved < 0)
			_exit(2);
		chan = moved;
	}
	/* Every descriptor but the pair's end (the host's files, its
	 * sockets), so that the user's process holds none of them. */
	close_others(chan);
	/* The fork fallback: nothing before the parent holds our pidfd. */
	if (go) {
		char b;

		while ((b = 1, read(chan, &b, 1)) < 0 && errno == EINTR)
			;
		if (b != 0)
			_exit(1);
	}
	/* The child ends by itself soon after the deadline, whatever the
	 * parent does: the only end a child without a pidfd gets. */
	{
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigset_t alrm;

		sigemptyset(&dfl.sa_mask);
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		if (sigaction(SIGALRM, &dfl, NULL) != 0 ||
		    sigprocmask(SIG_UNBLOCK, &alrm, NULL) != 0)
			_exit(2);
	}
	alarm(alarm_s);
	/* The child is a copy of the host's memory (root's: keys, secrets):
	 * no core file of it, ever, and the user (its uid after the drop)
	 * must not ptrace it. A uid change resets dumpable to
	 * fs.suid_dumpable, which may be 1, so it is set again after the
	 * drop and checked. The standard descriptors are the host's (a
	 * terminal, a log): /dev/null instead, opened while still root. */
	{
		struct rlimit none = {0, 0};

		if (setrlimit(RLIMIT_CORE, &none) != 0)
			_exit(2);
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		_exit(2);
	/* The raw system calls, not glibc's wrappers: those change the ids of
	 * every thread glibc knows of, by signalling each and waiting for it,
	 * and a child made by clone3 (not glibc's fork) still has the host's
	 * thread list; in a threaded host they would wait for ever or signal
	 * the host's threads. The child has one thread: its own ids. */
	if (syscall(SYS_setgroups, 1, &gid) != 0 || syscall(SYS_setresgid, gid, gid, gid) != 0 ||
	    syscall(SYS_setresuid, uid, uid, uid) != 0)
		_exit(2);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		_exit(2);
	/* Verify the drop: a process that could get root back did not drop. */
	if (uid != 0 && (syscall(SYS_setuid, 0) == 0 || syscall(SYS_setresuid, -1, 0, -1) == 0))
		_exit(2);
	if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
		_exit(2);
	for (int std = 0; std <= 2; std++)
		if (dup2(devnull, std) != std)
			_exit(2);
	if (devnull > 2)
		(void)close(devnull);
	SU_AGENT_TEST_STALL(1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		_exit(3);
	/* Non-blocking: a listener with a full backlog is EAGAIN, not a wait. */
	if (connect(fd, (const struct sockaddr *)sun, sun_len) != 0)
		_exit(4);
	memset(&cmsg, 0, sizeof(cmsg)); /* no stray stack bytes in the padding */
	iov.iov_base = &byte;
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(chan, &mh, MSG_NOSIGNAL) != 1)
		_exit(5);
	SU_AGENT_TEST_STALL(2);
	_exit(0);
}

/* The descriptor the child sent, or -1; *answered: whether the child
 * said anything or closed its end (it is ending), rather than the
 * deadline passing. */
static int receive_fd(int chan, const struct timespec *deadline, bool *answered)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct msghdr mh = {0};
	struct cmsghdr *c;
	struct iovec iov;
	char byte;
	ssize_t n;
	int fd = -1;

	*answered = false;
	for (;;) {
		if (wait_fd(chan, POLLIN, deadline) != 0)
			return -1;
		iov.iov_base = &byte;
		iov.iov_len = 1;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = sizeof(cmsg.buf);
		n = recvmsg(chan, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	*answered = n >= 0;
	if (n != 1)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)) && fd < 0)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* --- the child, by its pidfd ---------------------------------------------
 *
 * The child is never signalled or waited for by its pid: a host that
 * ignores SIGCHLD (su and stepup-gate inherit that from the user's exec)
 * has it reaped by the kernel the moment it ends, and the pid may then be
 * reused by another process, the user's or anyone's, before a kill(pid)
 * (the user can stop su with SIGSTOP to widen that window at will). A
 * pidfd refers to that one process for good: signalling it once it has
 * ended is ESRCH, never another process.
 *
 * The pidfd comes from clone3 (CLONE_PIDFD), which creates it with the
 * child: no window at all. Without clone3 (a seccomp filter that answers
 * ENOSYS to it, as container runtimes' do, or Linux before 5.3) the
 * child is forked and then opened with pidfd_open; the child waits for a
 * byte from the parent before it does anything, so that it cannot have
 * ended (and its pid been reused) before the pidfd is open. The one
 * residual race: the child killed by someone else before pidfd_open
 * while it waits, as root, which only root can do. With neither (Linux
 * before 5.3, or valgrind) the child is never signalled: it ends by its
 * own alarm set for just after the deadline (reap_by_pid). */

/* P_PIDFD (Linux 5.4); glibc's idtype_t has it as an enumerator, which
 * #ifdef cannot see, so the number. */
#define SU_P_PIDFD ((idtype_t)3)

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

/* struct clone_args as of Linux 5.3 (CLONE_ARGS_SIZE_VER0, 64 bytes). */
struct su_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* The child's pid in the parent (0 in the child, -1 on failure) and its
 * pidfd in *pidfd (-1 in the child). *go: whether the child must wait for
 * a byte on its end of the channel before it starts (the fork fallback). */
static pid_t spawn(int *pidfd, bool *go)
{
	int pfd = -1;
	struct su_clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pfd,
		.exit_signal = SIGCHLD,
	};
	long r;

	*pidfd = -1;
	*go = false;
	if (SU_AGENT_TEST_NO_CLONE3) {
		r = -1;
		errno = ENOSYS;
	} else {
		r = syscall(SYS_clone3, &args, sizeof(args));
	}
	if (r >= 0) {
		if (r > 0) {
			*pidfd = pfd;
			(void)fcntl(pfd, F_SETFD, FD_CLOEXEC); /* clone3 sets it; be sure */
		}
		return (pid_t)r;
	}
	if (errno != ENOSYS)
		return -1;
	*go = true;
	return fork(); /* the parent opens the pidfd, then says go */
}

/* Send the fallback child its go, once its pidfd is open: 0, or -1 (the
 * child then ends on the end of stream of the channel). */
static int say_go(int chan, pid_t pid, int *pidfd)
{
	char byte = 0;

	if (SU_AGENT_TEST_NO_PIDFD) {
		*pidfd = -1;
		errno = ENOSYS;
	} else {
		*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	if (*pidfd < 0 && errno != ENOSYS)
		return -1;
	if (*pidfd >= 0)
		(void)fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
	return send(chan, &byte, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* No pidfd at all (Linux before 5.3, or valgrind, which knows neither
 * clone3 nor pidfd_open): the child is never signalled, it ends by its
 * own alarm. waitpid(WNOHANG) until the deadline reaps it: it cannot reap
 * another process, since a child not yet reaped keeps its pid, and a
 * host that ignores SIGCHLD has no child to reap (ECHILD). A child the
 * user stopped past the deadline is left (reaped by the host, or by
 * init once the host ends). */
static void reap_by_pid(pid_t pid, const struct timespec *deadline)
{
	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);

		if (r != 0 && !(r < 0 && errno == EINTR))
			return; /* reaped, or ECHILD */
		if (ms_left(deadline) == 0)
			return;
		(void)poll(NULL, 0, 10);
	}
}

/* The later of two deadlines. */
static const struct timespec *later(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec > b->tv_sec ? a : b;
	return a->tv_nsec > b->tv_nsec ? a : b;
}

/* Whether the process ended, waiting until the deadline at most. */
static bool ended_by(int pidfd, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int n = poll(&p, 1, ms_left(deadline));

		if (n > 0)
			return (p.revents & POLLIN) != 0; /* not POLLNVAL: a bad pidfd */
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* The child is reaped, never waited for without a deadline: one that
 * does not end by the deadline (it did not answer, or the user stopped it
 * between its answer and its end) is killed through its pidfd, then
 * waited for. A host that ignores SIGCHLD has it reaped already (ECHILD),
 * which is as good. The pidfd is closed. Without a pidfd, reap_by_pid. */
static void reap(pid_t pid, int pidfd, const struct timespec *deadline)
{
	siginfo_t si;

	if (pidfd < 0) {
		reap_by_pid(pid, deadline);
		return;
	}
	if (!ended_by(pidfd, deadline)) {
		struct timespec grace;

		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		/* SIGKILL ends even a stopped process; bounded all the same. */
		su_agent_deadline(2000, &grace);
		(void)ended_by(pidfd, &grace);
	}
	memset(&si, 0, sizeof(si));
	while (waitid(SU_P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR)
			continue;
		/* P_PIDFD unknown (Linux 5.3): the child has ended (its pidfd
		 * said so) and, not yet reaped, still holds its pid. */
		if (errno == EINVAL)
			(void)waitpid(pid, NULL, WNOHANG);
		break;
	}
	close(pidfd);
}

/* The descriptor is an AF_UNIX stream socket whose peer is uid or root.
 *
 * "The user or root", as the issue asks: the user's own ssh-agent, or a
 * root-run agent or forwarder (sshd's forwarded agent socket is the
 * user's). Root as peer also lets through any socket whose listener root
 * created: every systemd socket-activated service (the listener is
 * systemd's, so SO_PEERCRED names uid 0 whatever the service runs as),
 * and any root daemon's socket the user can reach. Such a peer is
 * harmless here: the client only speaks the agent protocol to it, every
 * answer is parsed with caps and a deadline, and only a signature that
 * verifies with a key enrolled in the user's record counts. A service
 * that is not an agent answers garbage, nothing or closes: "no key", and
 * the prompt falls back to the next method. What the other service sees
 * is one request of a few hundred bytes it cannot use, sent as the user
 * could send it themselves. */
static int check_peer(int fd, uid_t uid, char *why, size_t why_size)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int domain = 0, type = 0;
	socklen_t ilen = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &ilen) != 0 || domain != AF_UNIX ||
	    (ilen = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ilen)) != 0 ||
	    type != SOCK_STREAM)
		return su_why(why, why_size, "not a local stream socket"), -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return su_why(why, why_size, "cannot tell who the agent is"), -1;
	if (cred.uid != uid && cred.uid != 0)
		return su_why(why, why_size, "the agent socket is another user's (uid %u)",
			      (unsigned)cred.uid), -1;
	return 0;
}

int su_agent_connect(const char *path, uid_t uid, gid_t gid, const struct timespec *deadline,
		     int *fd, char *why, size_t why_size)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t path_len;
	int pair[2] = {-1, -1}, got = -1, rc = -1, pidfd = -1;
	pid_t pid;
	bool go, answered = false;
	unsigned alarm_s;

	*fd = -1;
	if (path == NULL || path[0] != '/')
		return su_why(why, why_size, "the agent socket path is not absolute"), -1;
	path_len = strnlen(path, sizeof(sun.sun_path));
	if (path_len >= sizeof(sun.sun_path))
		return su_why(why, why_size, "the agent socket path is too long"), -1;
	memcpy(sun.sun_path, path, path_len);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		return su_why(why, why_size, "socketpair: %s", strerror(errno)), -1;
	alarm_s = (unsigned)(ms_left(deadline) / 1000) + 2;
	pid = spawn(&pidfd, &go);
	if (pid < 0) {
		su_why(why, why_size, "clone3/fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pair[0]);
		connect_child(pair[1], &sun,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1),
			      uid, gid, go, alarm_s);
		_exit(1); /* not reached */
	}
	close(pair[1]);
	pair[1] = -1;
	if (go && say_go(pair[0], pid, &pidfd) != 0) {
		/* The child, still waiting as root, ends on the end of
		 * stream; it is not signalled by pid. */
		su_why(why, why_size, "pidfd_open: %s", strerror(errno));
		close(pair[0]);
		pair[0] = -1;
		reap(pid, pidfd, deadline);
		goto out;
	}
	got = receive_fd(pair[0], deadline, &answered);
	/* A child that answered or closed its end is ending by itself: it is
	 * given a moment past the deadline before any kill. */
	if (answered) {
		struct timespec soon;

		su_agent_deadline(500, &soon);
		reap(pid, pidfd, later(deadline, &soon));
	} else {
		reap(pid, pidfd, deadline);
	}
	if (got < 0) {
		su_why(why, why_size, "cannot connect to the agent socket as the user");
		goto out;
	}
	if (check_peer(got, uid, why, why_size) != 0)
		goto out;
	*fd = got;
	got = -1;
	rc = 0;
out:
	if (got >= 0)
		close(got);
	if (pair[0] >= 0)
		close(pair[0]);
	if (pair[1] >= 0)
		close(pair[1]);
	return rc;
}
