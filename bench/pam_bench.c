/* pam_bench: time pam_authenticate in-process, N calls on one handle.
 *
 *   pam_bench -s SERVICE -d CONFDIR -u USER -n N [-w WARMUP] [-c MODE]
 *             [--state-file PATH] [--secret BASE32] [--digits D] [--period S]
 *             [--prime] [--answer TEXT] [--expect success|auth_err|NUMBER]
 *             [--callgrind] [--mark] [--samples FILE] [--clock EPOCH]
 *
 * MODE
 *   any    (default) answer every prompt with --answer (default ""), expect
 *          PAM_SUCCESS: for modules such as pam_permit that never ask.
 *   right  answer with the current TOTP code of --secret, expect PAM_SUCCESS.
 *          Before every call, outside the timed region, the user's state file
 *          (--state-file) is put back to the snapshot taken at start (temp
 *          file + fsync + rename + directory fsync, root 0600), so every call
 *          is a first use of its code. --prime first makes one untimed
 *          successful call with the previous time step's code, so that the
 *          snapshot is an existing state file (the module then replaces it
 *          rather than creating it) whose last step is behind every code the
 *          timed calls use. Needs totp_window >= 1.
 *   wrong  answer with a fixed code of --digits digits that matches no code
 *          within two steps of now (checked untimed), expect PAM_AUTH_ERR.
 *
 * --state-file PATH names the one file the module writes for this user (a
 *   pam_stepup state file, a pam_oath usersfile, a google-authenticator
 *   secret file). It is snapshotted at start (after --prime) and, before
 *   every call of any mode, outside the timed region, put back to the
 *   snapshot if the module changed it (a different inode, or other
 *   contents; checked by reading it back, untimed). So wrong-code calls of
 *   a module that writes on failure (a failure tally, rate-limit stamps)
 *   each see the same file, and the right-code calls each a first use.
 *   Owner and mode are the snapshot's. Required by -c right without
 *   --clock.
 * --prime works in every mode that has --secret: one untimed call with the
 *   previous step's code before the snapshot (expects PAM_SUCCESS).
 * --clock EPOCH freezes the wall clock that time() gives, to this process
 *   and every library and module it loads, at EPOCH for the first call
 *   (--prime, warm-up and timed calls alike) and one --period later for each
 *   call after it. So every right-code call answers a code of a step no
 *   call has used, with nothing put back between calls: the way to time a
 *   store that cannot be restored from a file (store = ldap: the last step
 *   used is in the directory). pam_bench defines time() itself and must be
 *   linked with -rdynamic for the module to see it (checked at start; the
 *   module calls time(), never clock_gettime(CLOCK_REALTIME)). The result
 *   line then ends in next_clock=EPOCH: where a further run must start to
 *   use no step twice. CLOCK_MONOTONIC, which times the calls, is not
 *   touched.
 *
 * Every call's return code is checked; the first unexpected one aborts the
 * run (exit 1). Output is one line of key=value fields, times in µs:
 *   n=2000 p50_us=... p99_us=... mean_us=... min_us=... max_us=...
 *   restores=... heap_start_b=... heap_end_b=... cpu_us=...
 * restores counts the snapshot restores done; cpu_us is the mean CPU time
 * (user + system, getrusage, every thread of the process) of a timed call:
 * what the caller's process burns, where the wall-clock times also hold
 * waits for the disk or a server; heap_* are the bytes malloc
 * holds (mallinfo2: arena in use + mmapped blocks) after the warm-up and
 * after the last call, before pam_end: a module that keeps memory in the
 * handle or leaks grows it with n (0 under ASan, whose allocator this is
 * not).
 *
 * --callgrind wraps each timed call in CALLGRIND_TOGGLE_COLLECT, for
 *   valgrind --tool=callgrind --collect-atstart=no: then the totals are the
 *   instructions of the N timed calls (warm-up calls are not collected).
 * --samples FILE appends every timed call's time in ns to FILE, one per
 *   line, so that runs in rounds can be merged before taking percentiles.
 * --mark issues write(-1, "pam_bench:begin"/"pam_bench:end") around each
 *   timed call, not around warm-up calls (they fail with EBADF at once) so
 *   a strace log can be cut down to the timed regions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#include <dlfcn.h>
#include <liboath/oath.h>
#include <security/pam_appl.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

enum mode { MODE_ANY, MODE_RIGHT, MODE_WRONG };

/* --clock: the wall clock time() gives everyone in this process. Without
 * --clock, the real one. */
static bool clock_frozen;
static time_t clock_now;

time_t time(time_t *out)
{
	struct timespec ts;
	time_t v;

	if (clock_frozen) {
		v = clock_now;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ts.tv_sec;
	}
	if (out != NULL)
		*out = v;
	return v;
}

struct opts {
	const char *service, *confdir, *user, *state_file, *secret_b32;
	const char *answer_any, *samples;
	long n, warmup;
	enum mode mode;
	int expect; /* -1: by mode */
	unsigned digits, period;
	bool prime, callgrind, mark, clock;
	long long clock_start;
};

/* What the conversation hands out; set before each call, untimed. */
struct bench {
	char answer[80];
};

/* The state file as it was at start. */
struct snapshot {
	char *path, *dir, *data;
	size_t len;
	bool exists;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int dirfd;
	/* the file as the last restore left it: unchanged files are not
	 * rewritten (no fsync before calls that did not write) */
	bool known;
	dev_t dev;
	ino_t ino;
	char *check; /* read-back buffer, len + 1 bytes */
	unsigned long restores;
};

__attribute__((format(printf, 1, 2))) static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fputs("pam_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Copy the prepared answer for prompts; messages get an empty response. */
static int conv(int num, const struct pam_message **msg, struct pam_response **resp,
		void *data)
{
	const struct bench *b = data;
	struct pam_response *r;

	if (num <= 0)
		return PAM_CONV_ERR;
	r = calloc((size_t)num, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		int style = msg[i]->msg_style;

		if (style == PAM_TEXT_INFO || style == PAM_ERROR_MSG)
			continue;
		if ((style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON) ||
		    (r[i].resp = strdup(b->answer)) == NULL) {
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void totp_at(const struct opts *o, const char *key, size_t keylen, time_t t,
		    char out[static 16])
{
	int rc = oath_totp_generate(key, keylen, t, o->period, OATH_TOTP_DEFAULT_START_TIME,
				    o->digits, out);

	if (rc != OATH_OK)
		die("oath_totp_generate: %s", oath_strerror(rc));
}

/* A code of the right length that is none of the codes near now. */
static void wrong_code(const struct opts *o, const char *key, size_t keylen,
		       char out[static 16])
{
	char near[5][16];
	time_t now = time(NULL);

	for (int k = 0; k < 5; k++)
		totp_at(o, key, keylen, now + (time_t)(k - 2) * o->period, near[k]);
	for (char c = '0'; c <= '9'; c++) {
		bool clash = false;
		memset(out, c, o->digits);
		out[o->digits] = '\0';
		for (int k = 0; k < 5; k++)
			clash = clash || strcmp(out, near[k]) == 0;
		if (!clash)
			return;
	}
	die("no wrong code found"); /* 10 candidates, 5 codes: unreachable */
}

static void snapshot_take(struct snapshot *s, const char *path)
{
	char *copy = strdup(path);
	struct stat st;
	int fd;

	s->path = strdup(path);
	if (copy == NULL || s->path == NULL || (s->dir = strdup(dirname(copy))) == NULL)
		die("out of memory");
	free(copy);
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		die("%s: %s", s->dir, strerror(errno));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return; /* restoring means removing it */
	if (fd < 0 || fstat(fd, &st) != 0)
		die("%s: %s", path, strerror(errno));
	s->exists = true;
	s->uid = st.st_uid;
	s->gid = st.st_gid;
	s->mode = st.st_mode & 07777;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->known = true;
	s->data = malloc((size_t)st.st_size + 1);
	s->check = malloc((size_t)st.st_size + 1);
	if (s->data == NULL || s->check == NULL)
		die("out of memory");
	for (ssize_t got; s->len < (size_t)st.st_size; s->len += (size_t)got) {
		got = read(fd, s->data + s->len, (size_t)st.st_size - s->len);
		if (got <= 0)
			die("%s: short read", path);
	}
	close(fd);
}

/* Whether the file is still what the last restore (or the snapshot) left:
 * the same inode with the same contents. */
static bool snapshot_intact(struct snapshot *s)
{
	struct stat st;
	size_t got = 0;
	bool same;
	int fd;

	if (!s->exists)
		return lstat(s->path, &st) != 0 && errno == ENOENT;
	if (!s->known)
		return false;
	fd = open(s->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) != 0 || st.st_dev != s->dev || st.st_ino != s->ino ||
	    st.st_size != (off_t)s->len || st.st_uid != s->uid || st.st_gid != s->gid ||
	    (st.st_mode & 07777) != s->mode) {
		close(fd);
		return false;
	}
	/* one byte more than expected: a file that grew in place is seen */
	for (ssize_t r; got <= s->len; got += (size_t)r) {
		r = read(fd, s->check + got, s->len + 1 - got);
		if (r <= 0)
			break;
	}
	close(fd);
	same = got == s->len && memcmp(s->check, s->data, s->len) == 0;
	return same;
}

/* Put the state file back as it was, durably, so that the next timed
 * call's fsyncs do not also pay for flushing this one. Nothing is done
 * when the module left the file as it was. */
static void snapshot_restore(struct snapshot *s)
{
	char tmp[4096];
	struct stat st;
	int fd;

	if (snapshot_intact(s))
		return;
	s->restores++;
	if (!s->exists) {
		if (unlink(s->path) != 0 && errno != ENOENT)
			die("unlink %s: %s", s->path, strerror(errno));
		return;
	}
	if (snprintf(tmp, sizeof(tmp), "%s/.bench-restore.XXXXXX", s->dir) >= (int)sizeof(tmp))
		die("path too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		die("mkstemp %s: %s", tmp, strerror(errno));
	if (fchown(fd, s->uid, s->gid) != 0 || fchmod(fd, s->mode) != 0 ||
	    write(fd, s->data, s->len) != (ssize_t)s->len || fsync(fd) != 0 ||
	    fstat(fd, &st) != 0 || close(fd) != 0 || rename(tmp, s->path) != 0 ||
	    fsync(s->dirfd) != 0)
		die("restoring %s: %s", s->path, strerror(errno));
	s->dev = st.st_dev;
	s->ino = st.st_ino;
}

/* Bytes malloc holds now. */
static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* CPU time this process has used, user and system, in ns. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage: %s", strerror(errno));
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in µs. */
static double pct_us(const uint64_t *v, size_t n, unsigned pct)
{
	size_t rank = (n * pct + 99) / 100;

	return (double)v[rank > 0 ? rank - 1 : 0] / 1e3;
}

static int parse_expect(const char *s)
{
	char *end;
	long v;

	if (strcmp(s, "success") == 0)
		return PAM_SUCCESS;
	if (strcmp(s, "auth_err") == 0)
		return PAM_AUTH_ERR;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 255)
		die("--expect: success, auth_err or a PAM return code");
	return (int)v;
}

static long parse_long(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		die("%s: expected a number in %ld..%ld, got '%s'", what, min, max, s);
	return v;
}

static void usage(void)
{
	fputs("usage: pam_bench -s SERVICE -d CONFDIR -u USER -n N [-w WARMUP]\n"
	      "  [-c any|right|wrong] [--state-file PATH] [--secret BASE32]\n"
	      "  [--digits 6|8] [--period S] [--prime] [--answer TEXT]\n"
	      "  [--expect success|auth_err|NUMBER] [--callgrind] [--mark]\n"
	      "  [--samples FILE] [--clock EPOCH]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_STATE = 256, O_SECRET, O_DIGITS, O_PERIOD, O_PRIME, O_ANSWER, O_EXPECT,
	       O_CALLGRIND, O_MARK, O_SAMPLES, O_CLOCK };
	static const struct option longopts[] = {
		{"state-file", required_argument, NULL, O_STATE},
		{"secret", required_argument, NULL, O_SECRET},
		{"digits", required_argument, NULL, O_DIGITS},
		{"period", required_argument, NULL, O_PERIOD},
		{"prime", no_argument, NULL, O_PRIME},
		{"answer", required_argument, NULL, O_ANSWER},
		{"expect", required_argument, NULL, O_EXPECT},
		{"callgrind", no_argument, NULL, O_CALLGRIND},
		{"mark", no_argument, NULL, O_MARK},
		{"samples", required_argument, NULL, O_SAMPLES},
		{"clock", required_argument, NULL, O_CLOCK},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct opts){.n = 1000, .expect = -1, .digits = 6, .period = 30,
			   .answer_any = ""};
	while ((c = getopt_long(argc, argv, "s:d:u:n:w:c:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->service = optarg; break;
		case 'd': o->confdir = optarg; break;
		case 'u': o->user = optarg; break;
		case 'n': o->n = parse_long(optarg, "-n", 1, 100000000); break;
		case 'w': o->warmup = parse_long(optarg, "-w", 0, 1000000); break;
		case 'c':
			if (strcmp(optarg, "any") == 0)
				o->mode = MODE_ANY;
			else if (strcmp(optarg, "right") == 0)
				o->mode = MODE_RIGHT;
			else if (strcmp(optarg, "wrong") == 0)
				o->mode = MODE_WRONG;
			else
				die("-c: any, right or wrong");
			break;
		case O_STATE: o->state_file = optarg; break;
		case O_SECRET: o->secret_b32 = optarg; break;
		case O_DIGITS: o->digits = (unsigned)parse_long(optarg, "--digits", 6, 8); break;
		case O_PERIOD: o->period = (unsigned)parse_long(optarg, "--period", 1, 3600); break;
		case O_PRIME: o->prime = true; break;
		case O_ANSWER: o->answer_any = optarg; break;
		case O_EXPECT: o->expect = parse_expect(optarg); break;
		case O_CALLGRIND: o->callgrind = true; break;
		case O_MARK: o->mark = true; break;
		case O_SAMPLES: o->samples = optarg; break;
		case O_CLOCK:
			o->clock = true;
			o->clock_start = parse_long(optarg, "--clock", 1, 4000000000L);
			break;
		default: usage();
		}
	}
	if (optind != argc || !o->service || !o->confdir || !o->user)
		usage();
	if (o->mode != MODE_ANY && o->secret_b32 == NULL)
		die("-c right and -c wrong need --secret");
	if (o->mode == MODE_RIGHT && o->state_file == NULL && !o->clock)
		die("-c right needs --state-file or --clock");
	if (o->prime && o->secret_b32 == NULL)
		die("--prime needs --secret");
	if (strlen(o->answer_any) >= sizeof(((struct bench *)0)->answer))
		die("--answer is too long");
#ifndef HAVE_CALLGRIND
	if (o->callgrind)
		die("--callgrind: built without valgrind/callgrind.h");
#endif
	if (o->expect < 0)
		o->expect = o->mode == MODE_WRONG ? PAM_AUTH_ERR : PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	static const char *mode_names[] = {"any", "right", "wrong"};
	struct opts o;
	struct bench b = {{0}};
	struct snapshot snap = {.dirfd = -1};
	struct pam_conv pc = {conv, &b};
	pam_handle_t *pamh = NULL;
	char *key = NULL;
	size_t keylen = 0;
	uint64_t *t, sum = 0, cpu = 0;
	size_t heap_start = 0, heap_end = 0;
	long long calls = 0; /* made so far, for --clock */
	int rc;

	parse_args(argc, argv, &o);
	if (o.clock) {
		/* the module must find this time(), not libc's */
		if (dlsym(RTLD_DEFAULT, "time") != (void *)time)
			die("--clock: time() is not this program's to the modules it loads "
			    "(link pam_bench with -rdynamic)");
		clock_frozen = true;
		clock_now = (time_t)o.clock_start;
	}
	if (o.secret_b32 != NULL) {
		if ((rc = oath_init()) != OATH_OK)
			die("oath_init: %s", oath_strerror(rc));
		rc = oath_base32_decode(o.secret_b32, strlen(o.secret_b32), &key, &keylen);
		if (rc != OATH_OK)
			die("--secret: %s", oath_strerror(rc));
	}
	t = calloc((size_t)o.n, sizeof(*t));
	if (t == NULL)
		die("out of memory");
	rc = pam_start_confdir(o.service, o.user, &pc, o.confdir, &pamh);
	if (rc != PAM_SUCCESS)
		die("pam_start_confdir(%s, %s): %s", o.service, o.confdir,
		    pam_strerror(pamh, rc));

	if (o.prime) {
		if (o.clock)
			clock_now = (time_t)(o.clock_start + calls++ * o.period);
		totp_at(&o, key, keylen, time(NULL) - (time_t)o.period, b.answer);
		rc = pam_authenticate(pamh, 0);
		if (rc != PAM_SUCCESS)
			die("--prime: the previous step's code was refused: %s "
			    "(fresh state file? totp_window >= 1?)", pam_strerror(pamh, rc));
	}
	if (o.state_file != NULL)
		snapshot_take(&snap, o.state_file);
	if (o.mode == MODE_ANY)
		snprintf(b.answer, sizeof(b.answer), "%s", o.answer_any);

	for (long i = -o.warmup; i < o.n; i++) {
		uint64_t t0, t1, c0 = 0;

		/* untimed: prepare the state and the answer */
		if (o.state_file != NULL)
			snapshot_restore(&snap);
		if (i == 0)
			heap_start = heap_bytes();
		if (o.clock)
			clock_now = (time_t)(o.clock_start + calls++ * o.period);
		if (o.mode == MODE_RIGHT) {
			totp_at(&o, key, keylen, time(NULL), b.answer);
		} else if (o.mode == MODE_WRONG) {
			wrong_code(&o, key, keylen, b.answer);
		}

		if (i >= 0)
			c0 = cpu_ns();
		if (o.mark && i >= 0 && write(-1, "pam_bench:begin", 15) != -1)
			die("write(-1) succeeded?");
		t0 = now_ns();
#ifdef HAVE_CALLGRIND
		if (o.callgrind && i >= 0)
			CALLGRIND_TOGGLE_COLLECT;
#endif
		rc = pam_authenticate(pamh, 0);
#ifdef HAVE_CALLGRIND
		if (o.callgrind && i >= 0)
			CALLGRIND_TOGGLE_COLLECT;
#endif
		t1 = now_ns();
		if (o.mark && i >= 0 && write(-1, "pam_bench:end", 13) != -1)
			die("write(-1) succeeded?");
		if (i >= 0)
			cpu += cpu_ns() - c0;

		if (rc != o.expect)
			die("call %ld of %ld (warm-up included) to %s, mode %s: got %d (%s), "
			    "expected %d (%s)", i + o.warmup + 1, o.n + o.warmup, o.service,
			    mode_names[o.mode], rc, pam_strerror(pamh, rc), o.expect,
			    pam_strerror(pamh, o.expect));
		if (i >= 0)
			t[i] = t1 - t0;
	}

	heap_end = heap_bytes();
	/* leave the state as it was at start (after --prime) */
	if (o.state_file != NULL)
		snapshot_restore(&snap);
	pam_end(pamh, PAM_SUCCESS);

	for (long i = 0; i < o.n; i++)
		sum += t[i];
	if (o.samples != NULL) {
		FILE *f = fopen(o.samples, "a");

		if (f == NULL)
			die("%s: %s", o.samples, strerror(errno));
		for (long i = 0; i < o.n; i++)
			fprintf(f, "%" PRIu64 "\n", t[i]);
		if (fclose(f) != 0)
			die("%s: write error", o.samples);
	}
	qsort(t, (size_t)o.n, sizeof(*t), cmp_u64);
	printf("service=%s mode=%s n=%ld p50_us=%.1f p99_us=%.1f mean_us=%.1f "
	       "min_us=%.1f max_us=%.1f restores=%lu heap_start_b=%zu heap_end_b=%zu "
	       "cpu_us=%.1f",
	       o.service, mode_names[o.mode], o.n, pct_us(t, (size_t)o.n, 50),
	       pct_us(t, (size_t)o.n, 99), (double)sum / (double)o.n / 1e3,
	       (double)t[0] / 1e3, (double)t[o.n - 1] / 1e3, snap.restores,
	       heap_start, heap_end, (double)cpu / (double)o.n / 1e3);
	if (o.clock)
		printf(" next_clock=%lld", o.clock_start + calls * o.period);
	putchar('\n');

	free(t);
	free(key);
	free(snap.path);
	free(snap.dir);
	free(snap.data);
	free(snap.check);
	if (snap.dirfd >= 0)
		close(snap.dirfd);
	if (o.secret_b32 != NULL)
		oath_done();
	return 0;
}
