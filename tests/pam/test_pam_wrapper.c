/* The module through a real libpam: libpam_wrapper points libpam at the
 * service files run_pam_wrapper.sh renders into a private tree, libfaketime
 * freezes the clock at STEPUP_NOW (except in sanitizer builds, see below),
 * codes come from oathtool (an independent TOTP implementation), and each
 * cmocka test is one TAP line.
 *
 * Environment (set by run_pam_wrapper.sh):
 *   STEPUP_T            the private tree (stepup.conf, etc/, var/, logs/)
 *   STEPUP_NOW          the time the codes are made for
 *   STEPUP_CLOCK        "frozen": libfaketime holds the clock at STEPUP_NOW,
 *                       10 s into a 30 s step; "real": the real clock, which
 *                       must stay in STEPUP_NOW's step for the whole run
 *   STEPUP_BADKEY_LINE  line of the unknown key in $STEPUP_T/badkey.conf
 *   STEPUPCTL           the installed stepupctl
 *
 * Every PAM call records the conversation (style and text of each message)
 * and what the module logged: pam_wrapper prints pam_syslog lines on stderr,
 * which is redirected into $STEPUP_T/logs/ around the call, then copied to
 * the real stderr as "# " lines so the .log file shows it. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

/* libpamtest 1.1.4's run_pamtest_conv() macro is missing a parenthesis;
 * this is what it is meant to expand to. */
#define RUN_PAMTEST_CONV(service, user, fn, data, cases)                  \
	_pamtest_conv((service), (user), (fn), (data), (cases),             \
		      sizeof(cases) / sizeof((cases)[0]), NULL)

#define MAX_MSGS 32
#define MAX_ANSWERS 8
#define CODE_MAX 16
#define LONG_ANSWER_LEN 10000

static const char *tree;      /* $STEPUP_T */
static const char *stepupctl; /* $STEPUPCTL */
static long long now;         /* $STEPUP_NOW */
static int badkey_line;       /* $STEPUP_BADKEY_LINE */
static bool frozen;           /* $STEPUP_CLOCK is "frozen" */
static unsigned call_serial;  /* names the captured log files */

/* --- memory: a failed assertion leaves a test by longjmp, so everything a
 * test allocates is held here and freed by its teardown (LeakSanitizer runs
 * over this program in the sanitizer build). ------------------------------ */

#define MAX_HELD 1024
static void *held[MAX_HELD];
static size_t n_held;

/* Hold p (may be NULL); for use inside the PAM conversation, no asserts. */
static void *keep(void *p)
{
	if (p != NULL && n_held < MAX_HELD)
		held[n_held++] = p;
	return p;
}

static void *hold(void *p)
{
	assert_non_null(p);
	assert_true(n_held < MAX_HELD);
	return keep(p);
}

static void release_all(void)
{
	while (n_held > 0)
		free(held[--n_held]);
}

/* --- small helpers ---------------------------------------------------------- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return hold(s);
}

static char *user_path(const char *user)
{
	return xasprintf("%s/etc/stepup/users/%s", tree, user);
}

static char *state_path(const char *user)
{
	return xasprintf("%s/var/lib/stepup/state/%s", tree, user);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int c;

	if (f == NULL)
		return NULL;
	while ((c = fgetc(f)) != EOF) {
		if (len + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			char *bigger = realloc(buf, cap);

			if (bigger == NULL) {
				free(buf);
				fclose(f);
				fail_msg("out of memory reading %s", path);
			}
			buf = bigger;
		}
		buf[len++] = (char)c;
	}
	fclose(f);
	if (buf == NULL)
		return hold(strdup(""));
	buf[len] = '\0';
	return hold(buf);
}

/* Replace path with text, root-owned, given mode (umask does not apply). */
static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd;
	size_t len = strlen(text);

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* Children (stepupctl, oathtool) run without the preloaded pam_wrapper and
 * libfaketime: they neither need nor should see them. */
static char *saved_preload;

static void child_env_begin(void)
{
	const char *p = getenv("LD_PRELOAD");

	saved_preload = p ? strdup(p) : NULL;
	unsetenv("LD_PRELOAD");
}

static void child_env_end(void)
{
	if (saved_preload != NULL) {
		setenv("LD_PRELOAD", saved_preload, 1);
		free(saved_preload);
		saved_preload = NULL;
	}
}

/* A 20-byte secret made from the user name, base32-encoded, so that every
 * user has their own (same recipe as secret_for in tests/lib.sh). */
static void secret_for(const char *user, char out[33])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char raw[20];
	char name[64];
	size_t i;

	snprintf(name, sizeof(name), "stepup-test-%s", user);
	memset(raw, ' ', sizeof(raw));
	memcpy(raw, name, strlen(name) < sizeof(raw) ? strlen(name) : sizeof(raw));
	for (i = 0; i < 32; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)raw[byte] << 8;

		if (byte + 1 < sizeof(raw))
			v |= raw[byte + 1];
		out[i] = alphabet[(v >> (11 - shift)) & 31];
	}
	out[32] = '\0';
}

/* The code oathtool computes for secret at epoch. */
static void code_at(const char *secret, long long epoch, unsigned digits,
		    unsigned period, char out[CODE_MAX])
{
	char *cmd = xasprintf("oathtool --totp -d %u -s %us -b '%s' -N @%lld",
			      digits, period, secret, epoch);
	FILE *p;
	size_t len;

	child_env_begin();
	p = popen(cmd, "r");
	child_env_end();
	if (p == NULL)
		fail_msg("popen %s: %s", cmd, strerror(errno));
	if (fgets(out, CODE_MAX, p) == NULL)
		out[0] = '\0';
	if (pclose(p) != 0)
		fail_msg("'%s' failed", cmd);
	len = strcspn(out, "\n");
	out[len] = '\0';
	if (len != digits)
		fail_msg("'%s' printed '%s'", cmd, out);
}

static void code_now(const char *secret, char out[CODE_MAX])
{
	code_at(secret, now, 6, 30, out);
}

/* A code of the right length that no step within two of now produces. */
static void wrong_code(const char *secret, unsigned digits, unsigned period,
		       char out[CODE_MAX])
{
	char near[5][CODE_MAX];
	unsigned long long mod = digits == 8 ? 100000000ULL : 1000000ULL, v;
	int i;
	bool clash;

	for (i = 0; i < 5; i++)
		code_at(secret, now + (i - 2) * (long long)period, digits, period,
			near[i]);
	v = (strtoull(near[2], NULL, 10) + 123457) % mod;
	do {
		snprintf(out, CODE_MAX, "%0*llu", (int)digits, v);
		clash = false;
		for (i = 0; i < 5; i++)
			clash = clash || strcmp(out, near[i]) == 0;
		v = (v + 1) % mod;
	} while (clash);
}

static void run_stepupctl(const char *args)
{
	char *cmd = xasprintf("'%s' -c '%s/stepup.conf' %s >&2", stepupctl,
			      tree, args);
	int rc;

	child_env_begin();
	rc = system(cmd);
	child_env_end();
	if (rc != 0)
		fail_msg("'%s' failed (%d)", cmd, rc);
}

/* Enrol user for TOTP with its own secret; extra is e.g. "--digits 8". */
static void enroll(const char *user, const char *extra, char secret[33])
{
	char *args;

	secret_for(user, secret);
	args = xasprintf("enroll '%s' totp --secret '%s' %s", user, secret,
			 extra ? extra : "");
	run_stepupctl(args);
}

/* --- one PAM call: conversation and captured log ------------------------------- */

struct exchange {
	const char *answers[MAX_ANSWERS];
	size_t n_answers, next_answer;
	int style[MAX_MSGS];
	char *text[MAX_MSGS];
	size_t n_msgs;
	bool ran_out; /* a prompt came after the last answer */
	char *log;    /* what the module logged during the call */
	const char *service, *user;
	int rc;
};

static const char *style_name(int style)
{
	switch (style) {
	case PAM_PROMPT_ECHO_OFF: return "PROMPT_ECHO_OFF";
	case PAM_PROMPT_ECHO_ON: return "PROMPT_ECHO_ON";
	case PAM_ERROR_MSG: return "ERROR_MSG";
	case PAM_TEXT_INFO: return "TEXT_INFO";
	default: return "?";
	}
}

static const char *rc_name(int rc)
{
	switch (rc) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_MAXTRIES: return "PAM_MAXTRIES";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_IGNORE: return "PAM_IGNORE";
	case PAM_ABORT: return "PAM_ABORT";
	default: return "other";
	}
}

static int conv_fn(int num_msg, const struct pam_message **msg,
		   struct pam_response **resp, void *data)
{
	struct exchange *ex = data;
	struct pam_response *r;
	int i, j;

	if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)num_msg, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num_msg; i++) {
		int style = msg[i]->msg_style;
		const char *text = msg[i]->msg ? msg[i]->msg : "";

		if (ex->n_msgs < MAX_MSGS) {
			ex->style[ex->n_msgs] = style;
			ex->text[ex->n_msgs] = keep(strdup(text));
			ex->n_msgs++;
		}
		if (style != PAM_PROMPT_ECHO_OFF && style != PAM_PROMPT_ECHO_ON)
			continue;
		if (ex->next_answer >= ex->n_answers) {
			ex->ran_out = true;
			for (j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		r[i].resp = strdup(ex->answers[ex->next_answer++]);
		if (r[i].resp == NULL) {
			for (j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Redirect stderr (where pam_wrapper prints pam_syslog lines) to a file. */
static int saved_stderr = -1;

static void capture_restore(void)
{
	if (saved_stderr < 0)
		return;
	fflush(stderr);
	(void)dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
}

static int capture_begin(char **path)
{
	int saved, fd;

	*path = xasprintf("%s/logs/%03u", tree, ++call_serial);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	saved_stderr = saved;
	fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_true(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	close(fd);
	return saved;
}

static char *capture_end(int saved, const char *path)
{
	assert_int_equal(saved, saved_stderr);
	capture_restore();
	return read_text(path);
}

/* Show the call in the test log: conversation, result, module log lines. */
static void exchange_show(const struct exchange *ex, const char *logfile)
{
	size_t i;
	const char *p;

	fprintf(stderr, "# --- %s %s (log %s)\n", ex->service, ex->user, logfile);
	for (i = 0; i < ex->n_msgs; i++)
		fprintf(stderr, "#   conv %s \"%s\"\n", style_name(ex->style[i]),
			ex->text[i] ? ex->text[i] : "(null)");
	fprintf(stderr, "#   answers used %zu of %zu%s; result %s (%d)\n",
		ex->next_answer, ex->n_answers,
		ex->ran_out ? ", asked for more" : "", rc_name(ex->rc), ex->rc);
	for (p = ex->log; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");

		fprintf(stderr, "#   log %.*s\n", (int)(len > 600 ? 600 : len), p);
		p += len;
		if (*p == '\n')
			p++;
	}
}

/* pam_authenticate(service, user), answering prompts with the NULL-ended
 * list of answers.  Returns the PAM result (also in ex->rc). */
static int authenticate(struct exchange *ex, const char *service,
			const char *user, ...)
{
	struct pam_testcase cases[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	};
	enum pamtest_err perr;
	const char *a;
	char *logfile = NULL;
	va_list ap;
	int saved;

	memset(ex, 0, sizeof(*ex));
	ex->service = service;
	ex->user = user;
	va_start(ap, user);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(ex->n_answers < MAX_ANSWERS);
		ex->answers[ex->n_answers++] = a;
	}
	va_end(ap);

	saved = capture_begin(&logfile);
	perr = RUN_PAMTEST_CONV(service, user, conv_fn, ex, cases);
	ex->log = capture_end(saved, logfile);
	ex->rc = cases[0].op_rv;
	exchange_show(ex, logfile);
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE)
		fail_msg("libpamtest: %s", pamtest_strerror(perr));
	return ex->rc;
}

static void expect_rc(const struct exchange *ex, int want)
{
	if (ex->rc != want)
		fail_msg("%s/%s: got %s (%d), want %s (%d)", ex->service, ex->user,
			 rc_name(ex->rc), ex->rc, rc_name(want), want);
}

static size_t count_msgs(const struct exchange *ex, int style, const char *text)
{
	size_t i, n = 0;

	for (i = 0; i < ex->n_msgs; i++)
		if (ex->style[i] == style && ex->text[i] != NULL &&
		    (text == NULL || strcmp(ex->text[i], text) == 0))
			n++;
	return n;
}

static bool has_msg_containing(const struct exchange *ex, int style,
			       const char *part)
{
	size_t i;

	for (i = 0; i < ex->n_msgs; i++)
		if (ex->style[i] == style && ex->text[i] != NULL &&
		    strstr(ex->text[i], part) != NULL)
			return true;
	return false;
}

static size_t prompts(const struct exchange *ex)
{
	return count_msgs(ex, PAM_PROMPT_ECHO_OFF, NULL) +
	       count_msgs(ex, PAM_PROMPT_ECHO_ON, NULL);
}

static void expect_log(const struct exchange *ex, const char *part)
{
	if (ex->log == NULL || strstr(ex->log, part) == NULL)
		fail_msg("%s/%s: no log line contains \"%s\"", ex->service,
			 ex->user, part);
}

/* The audit line for a TOTP outcome, as pam_stepup(8) gives it. */
static void expect_audit(const struct exchange *ex, const char *result,
			 const char *reason)
{
	char *line = xasprintf("user=%s service=%s tty=- rhost=- method=totp "
			       "result=%s reason=%s",
			       ex->user, ex->service, result, reason);

	expect_log(ex, line);
}

/* For outcomes where the method may not be known (config, store errors):
 * who, and the reason. */
static void expect_audit_reason(const struct exchange *ex, const char *reason)
{
	char *who = xasprintf("user=%s service=%s ", ex->user, ex->service);
	char *why = xasprintf("reason=%s", reason);

	expect_log(ex, who);
	expect_log(ex, why);
}

static void expect_no_prompt(const struct exchange *ex)
{
	if (prompts(ex) != 0)
		fail_msg("%s/%s: prompted %zu times, want none", ex->service,
			 ex->user, prompts(ex));
}

/* --- setup ----------------------------------------------------------------------- */

static int group_setup(void **state)
{
	const char *s;
	char *end = NULL;

	(void)state;
	tree = getenv("STEPUP_T");
	stepupctl = getenv("STEPUPCTL");
	s = getenv("STEPUP_NOW");
	if (tree == NULL || stepupctl == NULL || s == NULL) {
		fprintf(stderr, "# run me through tests/pam/run_pam_wrapper.sh\n");
		return -1;
	}
	now = strtoll(s, &end, 10);
	frozen = getenv("STEPUP_CLOCK") == NULL ||
		 strcmp(getenv("STEPUP_CLOCK"), "real") != 0;
	if (*s == '\0' || *end != '\0' || (frozen && now % 30 != 10)) {
		fprintf(stderr, "# bad STEPUP_NOW '%s'\n", s);
		return -1;
	}
	s = getenv("STEPUP_BADKEY_LINE");
	badkey_line = s ? atoi(s) : 0;
	/* The module takes the time from time(); libfaketime must freeze it. */
	if (frozen && (long long)time(NULL) != now) {
		fprintf(stderr, "# clock is %lld, not the frozen %lld: is "
			"libfaketime preloaded?\n", (long long)time(NULL), now);
		return -1;
	}
	if (!frozen && (long long)time(NULL) / 30 != now / 30) {
		fprintf(stderr, "# the real clock has left the step of %lld\n", now);
		return -1;
	}
	return 0;
}

/* $STEPUP_T/stepup.conf as run_pam_wrapper.sh wrote it, while a test has
 * changed it; put back by the test, or by the teardown if it failed. */
static char *saved_conf;

static void restore_conf(void)
{
	char *path;

	if (saved_conf == NULL)
		return;
	if (asprintf(&path, "%s/stepup.conf", tree) >= 0) {
		write_text(path, saved_conf, 0644);
		free(path);
	}
	free(saved_conf);
	saved_conf = NULL;
}

/* After each test, also one that failed half-way. */
static int test_teardown(void **state)
{
	(void)state;
	restore_conf();
	capture_restore();
	child_env_end();
	release_all();
	return 0;
}

/* On the real clock every code was made for now's step; if the clock left
 * it during the run, the window results mean nothing. */
static int group_teardown(void **state)
{
	(void)state;
	if (!frozen && (long long)time(NULL) / 30 != now / 30) {
		fprintf(stderr, "# the real clock left the step of %lld during "
			"the run; the results are not exact\n", now);
		return -1;
	}
	return 0;
}

/* --- A: the right code, the wrong code, the window --------------------------------- */

static void test_right_code(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX], step[64];
	char *path, *text;
	struct stat st;

	(void)state;
	enroll("right", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", "right", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
	assert_int_equal(ex.n_msgs, 2);
	assert_int_equal(ex.style[0], PAM_TEXT_INFO);
	assert_string_equal(ex.text[0], "Step-up authentication required for stepup.");
	assert_int_equal(ex.style[1], PAM_PROMPT_ECHO_OFF);
	assert_string_equal(ex.text[1], "Verification code: ");
	expect_audit(&ex, "success", "code-accepted");
	if (strstr(ex.log, code) != NULL)
		fail_msg("the code %s appears in the log", code);

	/* The start of the accepted step, in seconds, is in the user's state. */
	path = state_path("right");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = read_text(path);
	assert_non_null(text);
	/* src/statefile.c: a slot's header line, then the kv text; the
	 * first write after creating the file lands in slot 0, where
	 * read_text stops at the padding. */
	assert_true(strncmp(text, "stepup-state 2 seq=", 19) == 0);
	assert_non_null(strstr(text, "\nversion=1\n"));
	snprintf(step, sizeof(step), "\ntotp_last_time=%lld\n", now - now % 30);
	if (strstr(text, step) == NULL)
		fail_msg("%s has no%s", path, step);
}

static void test_wrong_code_uses_all_tries(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX], bad[CODE_MAX];

	(void)state;
	enroll("wrong", NULL, secret);
	code_now(secret, code);
	wrong_code(secret, 6, 30, bad);
	/* A fourth prompt would get the right code and succeed. */
	authenticate(&ex, "stepup", "wrong", bad, bad, bad, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(prompts(&ex), 3);
	assert_int_equal(count_msgs(&ex, PAM_PROMPT_ECHO_OFF, "Verification code: "), 3);
	assert_int_equal(count_msgs(&ex, PAM_ERROR_MSG, "Invalid verification code."), 3);
	expect_audit(&ex, "failure", "wrong-code");
}

static void test_previous_step_window_1(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("prev1", NULL, secret);
	code_at(secret, now - 30, 6, 30, code);
	authenticate(&ex, "stepup", "prev1", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

static void test_next_step_window_1(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("next1", NULL, secret);
	code_at(secret, now + 30, 6, 30, code);
	authenticate(&ex, "stepup", "next1", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

static void test_two_steps_ago_window_1(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("prev2", NULL, secret);
	code_at(secret, now - 60, 6, 30, code);
	authenticate(&ex, "stepup", "prev2", code, code, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(count_msgs(&ex, PAM_ERROR_MSG, "Invalid verification code."), 3);
}

static void test_previous_step_window_0(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("prevw0", NULL, secret);
	code_at(secret, now - 30, 6, 30, code);
	authenticate(&ex, "stepup-w0", "prevw0", code, code, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(count_msgs(&ex, PAM_ERROR_MSG, "Invalid verification code."), 3);
	/* The same service takes the current code: the config is fine. */
	code_now(secret, code);
	authenticate(&ex, "stepup-w0", "prevw0", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

/* --- replay -------------------------------------------------------------------------- */

static void test_same_code_twice(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("replay", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", "replay", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
	authenticate(&ex, "stepup", "replay", code, code, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_true(count_msgs(&ex, PAM_ERROR_MSG,
		    "That code has already been used. Wait for the next one.") >= 1);
	expect_audit(&ex, "failure", "replayed-code");
}

static void test_older_step_after_newer(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX], prev[CODE_MAX];

	(void)state;
	enroll("older", NULL, secret);
	code_now(secret, code);
	code_at(secret, now - 30, 6, 30, prev);
	authenticate(&ex, "stepup", "older", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
	/* Inside the window but older than the step just used. */
	authenticate(&ex, "stepup", "older", prev, prev, prev, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
}

/* Removing TOTP and enrolling the same secret again (a phone restored from
 * a backup) must not make an accepted code valid again: remove USER totp
 * keeps the state's totp_last_time. */
static void test_reenrol_same_secret(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("reenrol", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", "reenrol", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
	run_stepupctl("remove reenrol totp");
	enroll("reenrol", NULL, secret);
	authenticate(&ex, "stepup", "reenrol", code, code, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_true(count_msgs(&ex, PAM_ERROR_MSG,
		    "That code has already been used. Wait for the next one.") >= 1);
	expect_audit(&ex, "failure", "replayed-code");
}

/* enroll --force with a longer period: the new period's step that holds
 * the time of the accepted code is used too; the next one is not. */
static void test_period_change(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("reperiod", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", "reperiod", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
	enroll("reperiod", "--force --period 60", secret);
	/* The 60 s step holding now starts at or before the 30 s one used. */
	code_at(secret, now, 6, 60, code);
	authenticate(&ex, "stepup", "reperiod", code, code, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_true(count_msgs(&ex, PAM_ERROR_MSG,
		    "That code has already been used. Wait for the next one.") >= 1);
	expect_audit(&ex, "failure", "replayed-code");
	/* The next 60 s step, inside totp_window = 1. */
	code_at(secret, now + 60, 6, 60, code);
	authenticate(&ex, "stepup", "reperiod", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

/* --- what people type ------------------------------------------------------------------ */

static void test_blanks_and_dashes(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX], typed[32];

	(void)state;
	enroll("blank", NULL, secret);
	code_now(secret, code);
	snprintf(typed, sizeof(typed), "%.3s %.3s", code, code + 3);
	authenticate(&ex, "stepup", "blank", typed, NULL);
	expect_rc(&ex, PAM_SUCCESS);

	enroll("dash", NULL, secret);
	code_now(secret, code);
	snprintf(typed, sizeof(typed), "%.2s-%.2s-%.2s", code, code + 2, code + 4);
	authenticate(&ex, "stepup", "dash", typed, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

static void test_non_numeric(void **state)
{
	struct exchange ex;
	char secret[33];

	(void)state;
	enroll("alpha", NULL, secret);
	authenticate(&ex, "stepup", "alpha", "12a456", "abcdef", "!@#$%^", NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(prompts(&ex), 3);
	expect_audit(&ex, "failure", "malformed-code");
}

static void test_empty_answer(void **state)
{
	struct exchange ex;
	char secret[33];

	(void)state;
	enroll("empty", NULL, secret);
	authenticate(&ex, "stepup", "empty", "", "", "", NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(prompts(&ex), 3);
	assert_int_equal(count_msgs(&ex, PAM_ERROR_MSG, "No code entered."), 3);
	/* No code, so no method: the module logs method=- here. */
	expect_log(&ex, "result=failure reason=no-answer");
	expect_audit_reason(&ex, "no-answer");
}

static void test_huge_answer(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *huge = hold(malloc(LONG_ANSWER_LEN + 1));

	(void)state;
	memset(huge, '1', LONG_ANSWER_LEN);
	huge[LONG_ANSWER_LEN] = '\0';
	enroll("huge", NULL, secret);
	authenticate(&ex, "stepup", "huge", huge, huge, huge, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	/* Still in one piece: the right code goes through afterwards. */
	code_now(secret, code);
	authenticate(&ex, "stepup", "huge", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

/* --- not enrolled ------------------------------------------------------------------------- */

static void test_not_enrolled_deny(void **state)
{
	struct exchange ex;

	(void)state;
	authenticate(&ex, "stepup-deny", "ghost", "123456", NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	expect_no_prompt(&ex);
	assert_true(has_msg_containing(&ex, PAM_ERROR_MSG, "is not enrolled"));
	assert_true(has_msg_containing(&ex, PAM_ERROR_MSG, "stepupctl enroll ghost totp"));
	expect_audit_reason(&ex, "not-enrolled");
}

static void test_not_enrolled_default_is_deny(void **state)
{
	struct exchange ex;

	(void)state;
	authenticate(&ex, "stepup", "ghost2", "123456", NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	expect_no_prompt(&ex);
	assert_true(has_msg_containing(&ex, PAM_ERROR_MSG, "is not enrolled"));
}

static void test_not_enrolled_allow(void **state)
{
	struct exchange ex;

	(void)state;
	authenticate(&ex, "stepup-allow", "ghost3", "123456", NULL);
	expect_rc(&ex, PAM_SUCCESS);
	expect_no_prompt(&ex);
	expect_log(&ex, "result=allow");
	expect_audit_reason(&ex, "not-enrolled");
}

/* --- enrolment parameters ------------------------------------------------------------------- */

static void test_eight_digits(void **state)
{
	struct exchange ex;
	char secret[33], code6[CODE_MAX], code8[CODE_MAX];
	char *path, *text;

	(void)state;
	enroll("eight", "--digits 8", secret);
	path = user_path("eight");
	text = read_text(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "\ntotp_digits=8\n"));
	/* The 6-digit code of the same secret is the tail of the 8-digit one. */
	code_now(secret, code6);
	authenticate(&ex, "stepup", "eight", code6, code6, code6, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	code_at(secret, now, 8, 30, code8);
	authenticate(&ex, "stepup", "eight", code8, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

static void test_period_60(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("sixty", "--period 60", secret);
	code_at(secret, now, 6, 60, code);
	authenticate(&ex, "stepup", "sixty", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

/* --- unsafe and malformed records ------------------------------------------------------------ */

/* A refused user record: PAM_AUTH_ERR, the path in the log, store-error. */
static void expect_refused(const char *user, const char *reason_part)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *path = user_path(user);
	char *refusing = xasprintf("refusing %s", path);

	secret_for(user, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", user, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	expect_log(&ex, path);
	if (reason_part != NULL) {
		expect_log(&ex, refusing);
		if (strstr(ex.log, reason_part) == NULL)
			fprintf(stderr, "# note: the log does not say \"%s\"\n",
				reason_part);
	}
	expect_audit_reason(&ex, "store-error");
}

static void test_record_symlink(void **state)
{
	char secret[33];
	char *path = user_path("symlink");
	char *target = xasprintf("%s/etc/stepup/symlink.real", tree);

	(void)state;
	enroll("symlink", NULL, secret);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	expect_refused("symlink", "is a symbolic link");
}

static void test_record_not_owned_by_root(void **state)
{
	char secret[33];
	char *path = user_path("owner");
	struct passwd *pw = getpwnam("nobody");

	(void)state;
	enroll("owner", NULL, secret);
	assert_int_equal(chown(path, pw ? pw->pw_uid : 65534, pw ? pw->pw_gid : 65534), 0);
	expect_refused("owner", "not owned by root");
}

static void test_record_mode_0640(void **state)
{
	char secret[33];
	char *path = user_path("mode640");

	(void)state;
	enroll("mode640", NULL, secret);
	assert_int_equal(chmod(path, 0640), 0);
	expect_refused("mode640", "mode 0640");
}

static void test_record_mode_0604(void **state)
{
	char secret[33];
	char *path = user_path("mode604");

	(void)state;
	enroll("mode604", NULL, secret);
	assert_int_equal(chmod(path, 0604), 0);
	expect_refused("mode604", "mode 0604");
}

static void test_record_line_without_equals(void **state)
{
	char secret[33];
	char *path = user_path("noequals");
	char *text;

	(void)state;
	secret_for("noequals", secret);
	text = xasprintf("version=1\ntotp_secret=%s\ntotp_digits=6\n"
			 "this line has no equals sign\ntotp_period=30\n", secret);
	write_text(path, text, 0600);
	expect_refused("noequals", NULL);
}

static void test_record_version_not_first(void **state)
{
	char secret[33];
	char *path = user_path("noversion");
	char *text;

	(void)state;
	secret_for("noversion", secret);
	text = xasprintf("totp_secret=%s\nversion=1\ntotp_digits=6\ntotp_period=30\n",
			 secret);
	write_text(path, text, 0600);
	expect_refused("noversion", NULL);
}

static void test_record_version_2(void **state)
{
	char secret[33];
	char *path = user_path("version2");
	char *text;

	(void)state;
	secret_for("version2", secret);
	text = xasprintf("version=2\ntotp_secret=%s\ntotp_digits=6\ntotp_period=30\n",
			 secret);
	write_text(path, text, 0600);
	expect_refused("version2", NULL);
}

/* --- unsafe and malformed state ----------------------------------------------------------------- */

static void expect_state_refused(const char *user)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *path = state_path(user);

	secret_for(user, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup", user, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	expect_log(&ex, path);
	expect_audit_reason(&ex, "store-error");
}

static void test_state_malformed(void **state)
{
	char secret[33];
	char *path = state_path("badstate");

	(void)state;
	enroll("badstate", NULL, secret);
	write_text(path, "version=1\ntotp_last_time\n", 0600);
	expect_state_refused("badstate");
}

static void test_state_not_a_number(void **state)
{
	char secret[33];
	char *path = state_path("nanstate");

	(void)state;
	enroll("nanstate", NULL, secret);
	write_text(path, "version=1\ntotp_last_time=12x\n", 0600);
	expect_state_refused("nanstate");
}

static void test_state_mode_0644(void **state)
{
	char secret[33];
	char *path = state_path("openstate");

	(void)state;
	enroll("openstate", NULL, secret);
	write_text(path, "version=1\ntotp_last_time=1\n", 0644);
	expect_state_refused("openstate");
}

/* --- configuration and module arguments ------------------------------------------------------------ */

static void test_config_unknown_key(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *where = xasprintf("%s/badkey.conf:%d: key 'no_such_key'", tree,
				badkey_line);

	(void)state;
	assert_true(badkey_line > 0);
	enroll("cfgkey", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup-badkey", "cfgkey", code, NULL);
	expect_rc(&ex, PAM_SERVICE_ERR);
	expect_no_prompt(&ex);
	expect_log(&ex, where);
	expect_audit_reason(&ex, "config-error");
}

static void test_config_missing(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *path = xasprintf("%s/does-not-exist.conf", tree);

	(void)state;
	enroll("cfgmissing", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup-noconf", "cfgmissing", code, NULL);
	expect_rc(&ex, PAM_SERVICE_ERR);
	expect_no_prompt(&ex);
	expect_log(&ex, path);
}

static void test_config_world_writable(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];
	char *refusing = xasprintf("refusing %s/unsafe.conf", tree);

	(void)state;
	enroll("cfgunsafe", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup-unsafe", "cfgunsafe", code, NULL);
	expect_rc(&ex, PAM_SERVICE_ERR);
	expect_no_prompt(&ex);
	expect_log(&ex, refusing);
}

static void test_unknown_module_argument(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("badarg", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup-badarg", "badarg", code, NULL);
	expect_rc(&ex, PAM_SERVICE_ERR);
	expect_no_prompt(&ex);
	expect_log(&ex, "no_such_argument");
}

static void test_tries_argument_1(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX], bad[CODE_MAX];

	(void)state;
	enroll("tries1", NULL, secret);
	code_now(secret, code);
	wrong_code(secret, 6, 30, bad);
	/* A second prompt would get the right code and succeed. */
	authenticate(&ex, "stepup-tries1", "tries1", bad, code, NULL);
	expect_rc(&ex, PAM_AUTH_ERR);
	assert_int_equal(prompts(&ex), 1);
	assert_int_equal(count_msgs(&ex, PAM_ERROR_MSG, "Invalid verification code."), 1);
}

static void test_methods_and_debug_arguments(void **state)
{
	struct exchange ex;
	char secret[33], code[CODE_MAX];

	(void)state;
	enroll("margs", NULL, secret);
	code_now(secret, code);
	authenticate(&ex, "stepup-totp", "margs", code, NULL);
	expect_rc(&ex, PAM_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_right_code, test_teardown),
		cmocka_unit_test_teardown(test_wrong_code_uses_all_tries, test_teardown),
		cmocka_unit_test_teardown(test_previous_step_window_1, test_teardown),
		cmocka_unit_test_teardown(test_next_step_window_1, test_teardown),
		cmocka_unit_test_teardown(test_two_steps_ago_window_1, test_teardown),
		cmocka_unit_test_teardown(test_previous_step_window_0, test_teardown),
		cmocka_unit_test_teardown(test_same_code_twice, test_teardown),
		cmocka_unit_test_teardown(test_older_step_after_newer, test_teardown),
		cmocka_unit_test_teardown(test_reenrol_same_secret, test_teardown),
		cmocka_unit_test_teardown(test_period_change, test_teardown),
		cmocka_unit_test_teardown(test_blanks_and_dashes, test_teardown),
		cmocka_unit_test_teardown(test_non_numeric, test_teardown),
		cmocka_unit_test_teardown(test_empty_answer, test_teardown),
		cmocka_unit_test_teardown(test_huge_answer, test_teardown),
		cmocka_unit_test_teardown(test_not_enrolled_deny, test_teardown),
		cmocka_unit_test_teardown(test_not_enrolled_default_is_deny, test_teardown),
		cmocka_unit_test_teardown(test_not_enrolled_allow, test_teardown),
		cmocka_unit_test_teardown(test_eight_digits, test_teardown),
		cmocka_unit_test_teardown(test_period_60, test_teardown),
		cmocka_unit_test_teardown(test_record_symlink, test_teardown),
		cmocka_unit_test_teardown(test_record_not_owned_by_root, test_teardown),
		cmocka_unit_test_teardown(test_record_mode_0640, test_teardown),
		cmocka_unit_test_teardown(test_record_mode_0604, test_teardown),
		cmocka_unit_test_teardown(test_record_line_without_equals, test_teardown),
		cmocka_unit_test_teardown(test_record_version_not_first, test_teardown),
		cmocka_unit_test_teardown(test_record_version_2, test_teardown),
		cmocka_unit_test_teardown(test_state_malformed, test_teardown),
		cmocka_unit_test_teardown(test_state_not_a_number, test_teardown),
		cmocka_unit_test_teardown(test_state_mode_0644, test_teardown),
		cmocka_unit_test_teardown(test_config_unknown_key, test_teardown),
		cmocka_unit_test_teardown(test_config_missing, test_teardown),
		cmocka_unit_test_teardown(test_config_world_writable, test_teardown),
		cmocka_unit_test_teardown(test_unknown_module_argument, test_teardown),
		cmocka_unit_test_teardown(test_tries_argument_1, test_teardown),
		cmocka_unit_test_teardown(test_methods_and_debug_arguments, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
