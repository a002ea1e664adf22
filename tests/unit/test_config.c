/* stepup.conf parser and module arguments. The files are real files in a
 * temporary directory below the current one, read through su_read_file as
 * the module reads them; error messages are caught from stderr, where a
 * su_log without a PAM handle writes them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "capture.h"
#include "config.h"
#include "safefile.h"

static const su_log test_log = { .pamh = NULL, .prog = "test", .debug = false };

static char tmpdir[PATH_MAX]; /* absolute */
static char errbuf[16384];    /* what the last captured call logged */

/* The full example of stepup.conf(5) and etc/stepup.conf, trailing comments included. */
static const char design_example[] =
	"[global]\n"
	"methods = totp, email, recovery, sshsk\n"
	"grace = 300\n"
	"missing = deny              # deny | allow\n"
	"tries = 3\n"
	"lockout_attempts = 5\n"
	"lockout_time = 900\n"
	"totp_window = 1             # accepted steps either side of now\n"
	"email_code_length = 8\n"
	"email_code_ttl = 300\n"
	"smtp_url = smtps://mail.example.com\n"
	"smtp_from = stepup@example.com\n"
	"smtp_credentials = /etc/stepup/smtp-credentials\n"
	"smtp_timeout = 10\n"
	"exempt_groups =             # users in these groups are never asked\n"
	"\n"
	"[service sudo]\n"
	"methods = totp, recovery\n"
	"grace = 120\n";

/* ------------------------------------------------------------------------ */
/* Helpers */

static int group_setup(void **state)
{
	char name[] = "./tmp-config-XXXXXX";

	(void)state;
	if (mkdtemp(name) == NULL || chmod(name, 0755) != 0 ||
	    realpath(name, tmpdir) == NULL)
		return -1;
	return 0;
}

/* Tests unlink their files; a failed one may leave some behind. */
static int group_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;

	(void)state;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(tmpdir);
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip(); /* su_read_file wants root-owned files */
}

/* Write name in tmpdir with text (len bytes), mode 0644; path into path. */
static void write_conf_len(const char *name, const char *text, size_t len,
			   char *path, size_t size)
{
	FILE *f;

	assert_true((size_t)snprintf(path, size, "%s/%s", tmpdir, name) < size);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

static void write_conf(const char *name, const char *text, char *path,
		       size_t size)
{
	write_conf_len(name, text, strlen(text), path, size);
}

/* What the last captured call logged, for assert_logged(). */
static void keep_captured(capture *c)
{
	char *text = capture_end(c);

	snprintf(errbuf, sizeof(errbuf), "%s", text);
	free(text);
}

static int load_captured(const char *path, const char *service,
			 su_settings *out)
{
	capture c;
	int rc;

	capture_begin(&c);
	rc = su_config_load(&test_log, path, service, out);
	keep_captured(&c);
	return rc;
}

static int apply_captured(su_settings *s, const char *arg)
{
	capture c;
	int rc;

	capture_begin(&c);
	rc = su_settings_apply_arg(&test_log, s, arg);
	keep_captured(&c);
	return rc;
}

static void assert_logged(const char *want)
{
	if (strstr(errbuf, want) == NULL)
		fail_msg("expected '%s' in the log, got:\n%s", want, errbuf);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

static void assert_zeroed(const su_settings *s)
{
	su_settings zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(s, &zero, sizeof(zero));
}

static void assert_defaults_policy(const su_settings *s)
{
	assert_int_equal(s->methods, SU_METHODS_ALL);
	assert_int_equal(s->grace, 300);
	assert_int_equal(s->missing, SU_MISSING_DENY);
	assert_int_equal(s->tries, 3);
	assert_int_equal(s->lockout_attempts, 5);
	assert_int_equal(s->lockout_time, 900);
	assert_int_equal(s->totp_window, 1);
	assert_int_equal(s->email_code_length, 8);
	assert_int_equal(s->email_code_ttl, 300);
	assert_int_equal(s->email_min_interval, 30);
	assert_int_equal(s->email_max_per_hour, 10);
	assert_null(s->exempt_groups);
	assert_false(s->debug);
}

/* ------------------------------------------------------------------------ */
/* Good files */

static void test_defaults(void **state)
{
	su_settings s;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), SU_OK);
	assert_defaults_policy(&s);
	assert_null(s.smtp_url);
	assert_null(s.smtp_from);
	assert_string_equal(s.smtp_credentials, "/etc/stepup/smtp-credentials");
	assert_null(s.smtp_ca_file);
	assert_int_equal(s.smtp_tls, SU_SMTP_TLS_REQUIRED);
	assert_int_equal(s.smtp_timeout, 10);
	assert_string_equal(s.user_dir, "/etc/stepup/users");
	assert_string_equal(s.state_dir, "/var/lib/stepup/state");
	assert_string_equal(s.grace_dir, "/run/stepup/grace");
	assert_string_equal(s.hostkey, "/etc/stepup/hostkey");
	su_settings_free(&s);
	assert_zeroed(&s);
	su_settings_free(NULL);
}

static void test_design_example(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("design.conf", design_example, path, sizeof(path));

	assert_int_equal(load_captured(path, NULL, &s), SU_OK);
	/* Every key of the example is enforced: not a word on stderr. */
	assert_string_equal(errbuf, "");
	assert_int_equal(s.lockout_attempts, 5);
	assert_int_equal(s.lockout_time, 900);
	assert_defaults_policy(&s);
	assert_string_equal(s.smtp_url, "smtps://mail.example.com");
	assert_string_equal(s.smtp_from, "stepup@example.com");
	assert_string_equal(s.smtp_credentials, "/etc/stepup/smtp-credentials");
	assert_int_equal(s.smtp_timeout, 10);
	su_settings_free(&s);

	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.methods, SU_METHOD_TOTP | SU_METHOD_RECOVERY);
	assert_int_equal(s.grace, 120);
	assert_int_equal(s.tries, 3);
	assert_string_equal(s.smtp_url, "smtps://mail.example.com");
	su_settings_free(&s);

	/* [service sudo] is not [service su] */
	assert_int_equal(load_captured(path, "su", &s), SU_OK);
	assert_int_equal(s.methods, SU_METHODS_ALL);
	assert_int_equal(s.grace, 300);
	su_settings_free(&s);
	unlink(path);
}

static void test_every_key(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("every.conf",
		   "# every key, none at its default\n"
		   "[global]\n"
		   "methods=email\n"
		   "grace=0\n"
		   "missing=allow\n"
		   "tries=10\n"
		   "lockout_attempts=0\n"
		   "lockout_time=604800\n"
		   "totp_window=0\n"
		   "email_code_length=6\n"
		   "email_code_ttl=3600\n"
		   "email_min_interval=0\n"
		   "email_max_per_hour=300\n"
		   "\texempt_groups = wheel ,  adm\t# tab before the comment\n"
		   "debug=yes\n"
		   "smtp_url=smtp://127.0.0.1:2525/#frag\n"
		   "smtp_from=a.b+c@mail.example.org\n"
		   "smtp_credentials=/x/creds\n"
		   "smtp_ca_file=/x/ca.pem\n"
		   "smtp_tls=none\n"
		   "smtp_timeout=120\n"
		   "user_dir=/x/users/\n"
		   "state_dir=/x/./state\n"
		   "grace_dir=/x/..grace\n"
		   "hostkey=/x/host key\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, NULL, &s), SU_OK);
	assert_int_equal(s.methods, SU_METHOD_EMAIL);
	assert_int_equal(s.grace, 0);
	assert_int_equal(s.missing, SU_MISSING_ALLOW);
	assert_int_equal(s.tries, 10);
	assert_int_equal(s.lockout_attempts, 0);
	assert_int_equal(s.lockout_time, 604800);
	assert_int_equal(s.totp_window, 0);
	assert_int_equal(s.email_code_length, 6);
	assert_int_equal(s.email_code_ttl, 3600);
	assert_int_equal(s.email_min_interval, 0);
	assert_int_equal(s.email_max_per_hour, 300);
	assert_string_equal(s.exempt_groups, "wheel,adm");
	assert_true(s.debug);
	assert_string_equal(s.smtp_url, "smtp://127.0.0.1:2525/#frag");
	assert_string_equal(s.smtp_from, "a.b+c@mail.example.org");
	assert_string_equal(s.smtp_credentials, "/x/creds");
	assert_string_equal(s.smtp_ca_file, "/x/ca.pem");
	assert_int_equal(s.smtp_tls, SU_SMTP_TLS_NONE);
	assert_int_equal(s.smtp_timeout, 120);
	assert_string_equal(s.user_dir, "/x/users/");
	assert_string_equal(s.state_dir, "/x/./state");
	assert_string_equal(s.grace_dir, "/x/..grace");
	assert_string_equal(s.hostkey, "/x/host key");
	su_settings_free(&s);
	unlink(path);
}

static void test_service_before_global(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("order.conf",
		   "[service sudo]\n"
		   "grace = 60\n"
		   "exempt_groups = \n"
		   "[global]\n"
		   "grace = 200\n"
		   "tries = 5\n"
		   "exempt_groups = wheel\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.grace, 60);
	assert_int_equal(s.tries, 5);
	assert_null(s.exempt_groups); /* emptied for sudo only */
	su_settings_free(&s);
	assert_int_equal(load_captured(path, "login", &s), SU_OK);
	assert_int_equal(s.grace, 200);
	assert_string_equal(s.exempt_groups, "wheel");
	su_settings_free(&s);
	unlink(path);
}

static void test_keys_before_section(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("top.conf",
		   "# no header yet: this is [global]\n"
		   "grace = 42\n"
		   "smtp_tls = none\n"
		   "[service sudo]\n"
		   "tries = 2\n"
		   "[global]\n"
		   "tries = 4\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.grace, 42);
	assert_int_equal(s.tries, 2);
	assert_int_equal(s.smtp_tls, SU_SMTP_TLS_NONE);
	su_settings_free(&s);
	assert_int_equal(load_captured(path, NULL, &s), SU_OK);
	assert_int_equal(s.tries, 4);
	su_settings_free(&s);
	unlink(path);
}

static void test_other_service(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("other.conf",
		   "[service sshd]\n"
		   "grace = 7\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.grace, 300);
	su_settings_free(&s);
	unlink(path);

	/* A broken section for another service still fails the load. */
	write_conf("other-bad.conf",
		   "[service sshd]\n"
		   "grace = soon\n"
		   "[service sudo]\n"
		   "grace = 7\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_ERR);
	assert_zeroed(&s);
	assert_logged(":2: key 'grace': ");
	unlink(path);
}

static void test_service_case(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	/* libpam lowercases PAM_SERVICE: [service SSHD] is for "sshd". */
	write_conf("case.conf",
		   "[service SSHD]\n"
		   "tries = 7\n"
		   "[service sudo]\n"
		   "tries = 2\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sshd", &s), SU_OK);
	assert_string_equal(errbuf, "");
	assert_int_equal(s.tries, 7);
	su_settings_free(&s);
	assert_int_equal(load_captured(path, "SUDO", &s), SU_OK);
	assert_int_equal(s.tries, 2);
	su_settings_free(&s);
	/* a different name, not a prefix or an extension */
	assert_int_equal(load_captured(path, "sshd2", &s), SU_OK);
	assert_int_equal(s.tries, 3);
	su_settings_free(&s);
	assert_int_equal(load_captured(path, "ssh", &s), SU_OK);
	assert_int_equal(s.tries, 3);
	su_settings_free(&s);
	unlink(path);
}

static void test_empty_file(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("empty.conf", "", path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_defaults_policy(&s);
	su_settings_free(&s);
	unlink(path);

	write_conf("nonl.conf", "grace = 9", path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.grace, 9);
	su_settings_free(&s);
	unlink(path);
}

static void test_missing_file(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	assert_true((size_t)snprintf(path, sizeof(path), "%s/absent.conf", tmpdir) <
		    sizeof(path));
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(load_captured(path, NULL, &s), SU_NOTFOUND);
	assert_string_equal(errbuf, "");
	assert_zeroed(&s);
}

static void test_unsafe_file(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("writable.conf", "grace = 1\n", path, sizeof(path));
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(load_captured(path, NULL, &s), SU_ERR);
	assert_zeroed(&s);
	assert_logged(path);
	unlink(path);
}

/* ------------------------------------------------------------------------ */
/* Bad files: each case is one file, one expected message. */

struct bad_case {
	const char *text;
	const char *want; /* after "PATH" */
};

static const struct bad_case bad_cases[] = {
	{ "[global]\ncolour = red\n", ":2: key 'colour': unknown key" },
	{ "grace = -1\n", ":1: key 'grace': expected a whole number from 0 to 86400" },
	{ "grace = 1x\n", ":1: key 'grace': expected a whole number" },
	{ "grace = +5\n", ":1: key 'grace': expected a whole number" },
	{ "grace = 0x10\n", ":1: key 'grace': expected a whole number" },
	{ "grace = 5 5\n", ":1: key 'grace': expected a whole number" },
	{ "grace =\n", ":1: key 'grace': expected a whole number" },
	{ "grace = 99999999999999999999999\n", ":1: key 'grace': expected a whole number" },
	{ "grace = 4294967296\n", ":1: key 'grace': expected a whole number" },
	{ "grace = 86401\n", ":1: key 'grace': expected a whole number from 0 to 86400" },
	{ "tries = 0\n", ":1: key 'tries': expected a whole number from 1 to 10" },
	{ "tries = 11\n", ":1: key 'tries': expected a whole number from 1 to 10" },
	{ "email_code_length = 5\n", ":1: key 'email_code_length': expected a whole number from 6 to 10" },
	{ "lockout_time = 0\n", ":1: key 'lockout_time': expected a whole number from 1 to 604800" },
	{ "lockout_attempts = 301\n", ":1: key 'lockout_attempts': expected a whole number from 0 to 300" },
	{ "smtp_timeout = 121\n", ":1: key 'smtp_timeout': expected a whole number from 1 to 120" },
	{ "missing = maybe\n", ":1: key 'missing': expected deny or allow" },
	{ "missing = Deny\n", ":1: key 'missing': expected deny or allow" },
	{ "smtp_tls = starttls\n", ":1: key 'smtp_tls': expected required or none" },
	{ "debug = true\n", ":1: key 'debug': expected no or yes" },
	{ "methods = totp, sms\n", ":1: key 'methods': unknown method 'sms'" },
	{ "methods = totp email\n", ":1: key 'methods': unknown method 'totp email'" },
	{ "methods =\n", ":1: key 'methods': empty list" },
	{ "methods =   # nothing\n", ":1: key 'methods': empty list" },
	{ "methods = totp,,email\n", ":1: key 'methods': empty method name" },
	{ "methods = totp,\n", ":1: key 'methods': empty method name" },
	{ "methods = totp, email, totp\n", ":1: key 'methods': method 'totp' listed twice" },
	{ "\ngrace = 1\n\ngrace = 2\n", ":4: key 'grace': set twice in this section (first at line 2)" },
	{ "grace = 1\n[global]\ngrace = 2\n", ":3: key 'grace': set twice in this section (first at line 1)" },
	{ "[global]\n[global]\n", ":2: section [global] given twice (first at line 1)" },
	{ "[service sudo]\n[global]\n[service  sudo ]\n", ":3: section [service sudo] given twice (first at line 1)" },
	{ "[service sudo]\n[service SUDO]\n", ":2: section [service SUDO] given twice (first at line 1)" },
	{ "[service Sshd]\ntries = 2\n[service sshD]\n", ":3: section [service sshD] given twice (first at line 1)" },
	{ "[globals]\n", ":1: unknown section '[globals]'" },
	{ "[user root]\n", ":1: unknown section '[user root]'" },
	{ "[service]\n", ":1: bad service name ''" },
	{ "[service a/b]\n", ":1: bad service name 'a/b'" },
	{ "[global\n", ":1: section header not closed with ']'" },
	{ "[global] x\n", ":1: section header not closed with ']'" },
	{ "[global]\ngrace 300\n", ":2: expected 'key = value' or '[section]'" },
	{ "= 300\n", ":1: expected 'key = value', found no key" },
	{ "[service sudo]\nsmtp_url = smtps://x\n", ":2: key 'smtp_url': allowed only in [global]" },
	{ "[service sudo]\nuser_dir = /x\n", ":2: key 'user_dir': allowed only in [global]" },
	{ "grace = 300\r\n", ":1: key 'grace': value contains a control character" },
	{ "smtp_from = a@b\r\n", ":1: key 'smtp_from': value contains a control character" },
	{ "smtp_url = smtps://a\tb\n", ":1: key 'smtp_url': value contains a control character" },
	{ "[global]\r\n", ":1: control character in section header" },
	{ "user_dir = etc/stepup/users\n", ":1: key 'user_dir': expected an absolute path" },
	{ "hostkey = \n", ":1: key 'hostkey': expected an absolute path" },
	{ "state_dir = /var/lib/../../tmp\n", ":1: key 'state_dir': path contains a '..' component" },
	{ "grace_dir = /run/stepup/..\n", ":1: key 'grace_dir': path contains a '..' component" },
	{ "smtp_url = http://mail.example.com\n", ":1: key 'smtp_url': expected smtps://HOST or smtp://HOST" },
	{ "smtp_url = smtps://\n", ":1: key 'smtp_url': expected smtps://HOST or smtp://HOST" },
	{ "smtp_url = smtps://a b\n", ":1: key 'smtp_url': URL contains a space" },
	{ "smtp_url = smtps://user:pw@mail.example.com\n", ":1: key 'smtp_url': URL contains a login" },
	{ "smtp_url = smtp://u@mail.example.com:587/x\n", ":1: key 'smtp_url': URL contains a login" },
	{ "smtp_from = stepup\n", ":1: key 'smtp_from': expected exactly one '@'" },
	{ "smtp_from = a@b@c\n", ":1: key 'smtp_from': expected exactly one '@'" },
	{ "smtp_from = @b\n", ":1: key 'smtp_from': nothing before the '@'" },
	{ "smtp_from = a@\n", ":1: key 'smtp_from': nothing after the '@'" },
	{ "smtp_from = Step Up <a@b>\n", ":1: key 'smtp_from': address contains a blank" },
	{ "smtp_from = a@b,c@d\n", ":1: key 'smtp_from': address contains one of" },
	{ "smtp_from = a@b..c\n", ":1: key 'smtp_from': domain has an empty label" },
	{ "smtp_from = a@b\rBcc: x@y\n", ":1: key 'smtp_from': value contains a control character" },
	{ "exempt_groups = wheel, ,adm\n", ":1: key 'exempt_groups': empty group name" },
	{ "exempt_groups = domain admins\n", ":1: key 'exempt_groups': bad group name 'domain admins'" },
	{ "exempt_groups = a:b\n", ":1: key 'exempt_groups': bad group name 'a:b'" },
	{ "[gate]\nexempt_command =\n", ":2: key 'exempt_command': empty pattern" },
	{ "[gate]\nexempt_command = a\tb\n", ":2: key 'exempt_command': value contains a control character" },
	{ "[gate]\ngrace = 1\n", ":2: key 'grace': unknown key in [gate]" },
	{ "[gate]\n[gate]\n", ":2: section [gate] given twice (first at line 1)" },
	{ "exempt_command = git-upload-pack *\n", ":1: key 'exempt_command': unknown key" },
	{ "[service sshd]\nexempt_command = x\n", ":2: key 'exempt_command': unknown key" },
	{ "grace_from = su,,login\n", ":1: key 'grace_from': empty service name in list" },
	{ "grace_from = su,\n", ":1: key 'grace_from': empty service name in list" },
	{ "grace_from = , su\n", ":1: key 'grace_from': empty service name in list" },
	{ "grace_from = a/b\n", ":1: key 'grace_from': bad service name 'a/b'" },
	{ "[service sudo]\ngrace_from = su:x\n", ":2: key 'grace_from': bad service name 'su:x'" },
	{ "grace_from = *, su\n", ":1: key 'grace_from': '*' (any service) cannot be listed with names" },
	{ "grace_from = su *\n", ":1: key 'grace_from': '*' (any service) cannot be listed with names" },
	{ "grace_from = * *\n", ":1: key 'grace_from': '*' (any service) cannot be listed with names" },
	{ "grace_from = su*\n", ":1: key 'grace_from': bad service name 'su*'" },
	{ "grace_from = su, login SU\n", ":1: key 'grace_from': service 'SU' listed twice" },
	{ "grace_from = x01234567890123456789012345678901234567890123456789012345678901234\n",
	  ":1: key 'grace_from': service name 'x0123" },
	{ "[service sudo]\ngrace_from = su\ngrace_from = login\n",
	  ":3: key 'grace_from': set twice in this section (first at line 2)" },
};

static void test_bad_lines(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 256];
	su_settings s;

	(void)state;
	need_root();
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		write_conf("bad.conf", bad_cases[i].text, path, sizeof(path));
		snprintf(want, sizeof(want), "test: %s%s", path, bad_cases[i].want);
		memset(&s, 0xa5, sizeof(s));
		if (load_captured(path, "sudo", &s) != SU_ERR)
			fail_msg("case %zu (%s) was accepted", i, bad_cases[i].text);
		assert_zeroed(&s);
		assert_logged(want);
		/* one bad line, one message */
		assert_int_equal(count_lines(errbuf), 1);
		unlink(path);
	}
}

static void test_long_line(void **state)
{
	char path[PATH_MAX], text[3000];
	su_settings s;

	(void)state;
	need_root();
	/* 1024 characters is the limit, 1025 is refused */
	snprintf(text, sizeof(text), "grace = 1%0*d\n# ok\nhostkey = /%0*d\n",
		 1024 - 9, 0, 1025 - 11, 0);
	write_conf("long.conf", text, path, sizeof(path));
	assert_int_equal(load_captured(path, NULL, &s), SU_ERR);
	assert_zeroed(&s);
	assert_null(strstr(errbuf, ":1: line"));
	assert_logged(":1: key 'grace': expected a whole number");
	assert_logged(":3: line longer than 1024 characters");
	unlink(path);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "grace = 1\n\0grace = 2\n";
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf_len("nul.conf", text, sizeof(text) - 1, path, sizeof(path));
	assert_int_equal(load_captured(path, NULL, &s), SU_ERR);
	assert_zeroed(&s);
	assert_logged(": contains a NUL byte");
	unlink(path);
}

static void test_every_error_reported(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("many.conf",
		   "[global]\n"
		   "grace = x\n"
		   "tries = 3\n"
		   "colour = red\n"
		   "[service sudo]\n"
		   "smtp_from = a@b\n"
		   "[nonsense]\n"
		   "grace = 1\n"
		   "grace = 2\n"
		   "[service sshd]\n"
		   "methods = sms\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, NULL, &s), SU_ERR);
	assert_logged(":2: key 'grace': ");
	assert_logged(":4: key 'colour': unknown key");
	assert_logged(":6: key 'smtp_from': allowed only in [global]");
	assert_logged(":7: unknown section '[nonsense]'");
	assert_logged(":9: key 'grace': set twice in this section (first at line 8)");
	assert_logged(":11: key 'methods': unknown method 'sms'");
	assert_null(strstr(errbuf, ":3:"));
	unlink(path);
}

/* ------------------------------------------------------------------------ */
/* Every key is enforced: a clean file is quiet */

static void test_enforced_keys_quiet(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("enforced.conf",
		   "[global]\n"
		   "methods = totp\n"
		   "missing = allow\n"
		   "tries = 2\n"
		   "totp_window = 0\n"
		   "debug = no\n"
		   "user_dir = /x/users\n"
		   "state_dir = /x/state\n"
		   "grace_dir = /x/grace\n"
		   "hostkey = /x/hostkey\n"
		   "[service sudo]\n"
		   "methods = totp\n"
		   "tries = 1\n",
		   path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_string_equal(errbuf, "");
	su_settings_free(&s);
	/* The built-in defaults list email and recovery: no warning, the
	 * administrator did not ask for them. */
	write_conf("empty2.conf", "", path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_string_equal(errbuf, "");
	assert_int_equal(s.methods, SU_METHODS_ALL);
	su_settings_free(&s);
	unlink(path);
}

static void test_args_quiet(void **state)
{
	su_settings s;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), SU_OK);
	/* grace, exempt groups and identity are enforced now: quiet */
	assert_int_equal(apply_captured(&s, "grace=60"), SU_OK);
	assert_int_equal(s.grace, 60);
	assert_string_equal(errbuf, "");
	assert_int_equal(apply_captured(&s, "identity=ruser"), SU_OK);
	assert_int_equal(s.identity, SU_IDENTITY_RUSER);
	assert_string_equal(errbuf, "");
	assert_int_not_equal(apply_captured(&s, "identity=root"), SU_OK);
	assert_non_null(strstr(errbuf, "identity=root"));
	assert_int_equal(apply_captured(&s, "methods=totp,recovery"), SU_OK);
	assert_string_equal(errbuf, "");
	assert_int_equal(apply_captured(&s, "methods=totp"), SU_OK);
	assert_int_equal(apply_captured(&s, "tries=2"), SU_OK);
	assert_int_equal(apply_captured(&s, "missing=allow"), SU_OK);
	assert_int_equal(apply_captured(&s, "debug"), SU_OK);
	assert_string_equal(errbuf, "");
	su_settings_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Module arguments */

static void test_args_good(void **state)
{
	su_settings s;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), SU_OK);
	assert_int_equal(apply_captured(&s, "methods=totp, email"), SU_OK);
	assert_int_equal(s.methods, SU_METHOD_TOTP | SU_METHOD_EMAIL);
	assert_int_equal(apply_captured(&s, "grace=0"), SU_OK);
	assert_int_equal(s.grace, 0);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "missing=allow"), SU_OK);
	assert_int_equal(s.missing, SU_MISSING_ALLOW);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "missing=deny"), SU_OK);
	assert_int_equal(s.missing, SU_MISSING_DENY);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "tries=1"), SU_OK);
	assert_int_equal(s.tries, 1);
	assert_false(s.debug);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "debug"), SU_OK);
	assert_true(s.debug);
	su_settings_free(&s);
}

static void test_args_bad(void **state)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{ "grace= 5", "module argument 'grace= 5': expected a whole number from 0 to 86400" },
		{ "grace=-1", "module argument 'grace=-1': expected a whole number" },
		{ "grace=1x", "module argument 'grace=1x': expected a whole number" },
		{ "grace=", "module argument 'grace=': expected a whole number" },
		{ "grace=86401", "module argument 'grace=86401': expected a whole number" },
		{ "tries=0", "module argument 'tries=0': expected a whole number from 1 to 10" },
		{ "tries=99999999999999999999", "module argument 'tries=99999999999999999999': expected" },
		{ "missing=maybe", "module argument 'missing=maybe': expected deny or allow" },
		{ "methods=", "module argument 'methods=': empty list" },
		{ "methods=sms", "module argument 'methods=sms': unknown method 'sms'" },
		{ "methods=email,email", "module argument 'methods=email,email': method 'email' listed twice" },
		{ "grace=1\r", "module argument contains a control character" },
		{ "config=/etc/x.conf", "module argument 'config=/etc/x.conf': " },
		{ "debug=yes", "unknown module argument 'debug=yes'" },
		{ "nodebug", "unknown module argument 'nodebug'" },
		{ "foo=bar", "unknown module argument 'foo=bar'" },
		{ "grace", "unknown module argument 'grace'" },
		{ "=5", "unknown module argument '=5'" },
		/* file keys that are not arguments */
		{ "lockout_time=5", "unknown module argument 'lockout_time=5'" },
		{ "smtp_url=smtps://x", "unknown module argument 'smtp_url=smtps://x'" },
		{ "user_dir=/tmp", "unknown module argument 'user_dir=/tmp'" },
		{ "grace_from=su", "unknown module argument 'grace_from=su'" },
		{ "", "empty module argument" },
	};
	su_settings s, before;

	(void)state;
	assert_int_equal(su_settings_defaults(&s), SU_OK);
	before = s;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (apply_captured(&s, cases[i].arg) != SU_ERR)
			fail_msg("argument '%s' was accepted", cases[i].arg);
		assert_logged(cases[i].want);
		/* a refused argument changes nothing */
		assert_memory_equal(&s, &before, sizeof(s));
	}
	su_settings_free(&s);
}

static void test_args_override_service(void **state)
{
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("args.conf", design_example, path, sizeof(path));
	assert_int_equal(load_captured(path, "sudo", &s), SU_OK);
	assert_int_equal(s.grace, 120);
	assert_int_equal(apply_captured(&s, "grace=60"), SU_OK);
	assert_int_equal(apply_captured(&s, "methods=email"), SU_OK);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "missing=allow"), SU_OK);
	assert_int_equal(su_settings_apply_arg(&test_log, &s, "tries=1"), SU_OK);
	assert_int_equal(s.grace, 60);
	assert_int_equal(s.methods, SU_METHOD_EMAIL);
	assert_int_equal(s.missing, SU_MISSING_ALLOW);
	assert_int_equal(s.tries, 1);
	/* untouched by the arguments */
	assert_int_equal(s.lockout_attempts, 5);
	assert_string_equal(s.smtp_url, "smtps://mail.example.com");
	su_settings_free(&s);
	unlink(path);
}

/* ------------------------------------------------------------------------ */
/* grace_from */

/* Per service like the other rule keys, normalised to "a,b" in lower case
 * (the form su_service_listed and grace.c read); unset: NULL. */
static void test_grace_from(void **state)
{
	static const struct {
		const char *service, *want;
	} cases[] = {
		{ "sudo", "su,login,sshd" },
		{ "login", "*" },
		{ "cron", NULL },  /* emptied for cron only */
		{ "other", "su" }, /* [global]'s */
		{ NULL, "su" },
	};
	char path[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	assert_int_equal(su_settings_defaults(&s), SU_OK);
	assert_null(s.grace_from);
	su_settings_free(&s);
	write_conf("from.conf",
		   "[service sudo]\n"
		   "grace_from = SU, Login  sshd   # commas, blanks or both\n"
		   "[global]\n"
		   "grace_from = su\n"
		   "[service login]\n"
		   "grace_from = *\n"
		   "[service cron]\n"
		   "grace_from =\n",
		   path, sizeof(path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load_captured(path, cases[i].service, &s), SU_OK);
		if (cases[i].want == NULL)
			assert_null(s.grace_from);
		else
			assert_string_equal(s.grace_from, cases[i].want);
		su_settings_free(&s);
	}
	unlink(path);
}

static void test_service_listed(void **state)
{
	(void)state;
	assert_true(su_service_listed("su,login", "su"));
	assert_true(su_service_listed("su,login", "login"));
	assert_true(su_service_listed("su,login", "LOGIN"));
	assert_false(su_service_listed("su,login", "logi"));
	assert_false(su_service_listed("su,login", "su-l"));
	assert_false(su_service_listed("sudo", "su"));
	assert_false(su_service_listed("su", "sudo"));
	assert_false(su_service_listed("su,login", ""));
	assert_true(su_service_listed("*", "anything"));
	assert_false(su_service_listed(NULL, "su"));
	assert_false(su_service_listed("su", NULL));
	assert_true(su_valid_service_name("sudo-i"));
	assert_true(su_valid_service_name("polkit-1.x_y"));
	assert_false(su_valid_service_name(""));
	assert_false(su_valid_service_name("a/b"));
	assert_false(su_valid_service_name("su:s"));
	assert_false(su_valid_service_name("*"));
	assert_true(su_valid_service_name(
		"a123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(su_valid_service_name(
		"a1234567890123456789012345678901234567890123456789012345678901234"));
}

/* ------------------------------------------------------------------------ */
/* Methods */

static void test_parse_methods(void **state)
{
	unsigned m = 12345;

	(void)state;
	assert_true(su_parse_methods("totp", &m));
	assert_int_equal(m, SU_METHOD_TOTP);
	assert_true(su_parse_methods(" recovery ,totp ", &m));
	assert_int_equal(m, SU_METHOD_TOTP | SU_METHOD_RECOVERY);
	assert_true(su_parse_methods("totp,email,recovery", &m));
	assert_int_equal(m, SU_METHODS_ALL & ~(unsigned)SU_METHOD_SSHSK);
	assert_true(su_parse_methods("sshsk, totp,email,recovery", &m));
	assert_int_equal(m, SU_METHODS_ALL);

	m = 12345;
	assert_false(su_parse_methods("", &m));
	assert_false(su_parse_methods(" ", &m));
	assert_false(su_parse_methods("totp,", &m));
	assert_false(su_parse_methods(",totp", &m));
	assert_false(su_parse_methods("TOTP", &m));
	assert_false(su_parse_methods("totp,totp", &m));
	assert_false(su_parse_methods("totp\n", &m));
	assert_false(su_parse_methods(NULL, &m));
	assert_int_equal(m, 12345); /* untouched on failure */
}

static void test_methods_str(void **state)
{
	char buf[32], tiny[8];
	unsigned m;

	(void)state;
	assert_string_equal(su_methods_str(SU_METHODS_ALL, buf, sizeof(buf)),
			    "totp,email,recovery,sshsk");
	assert_string_equal(su_methods_str(SU_METHOD_EMAIL | SU_METHOD_RECOVERY, buf,
					   sizeof(buf)),
			    "email,recovery");
	assert_string_equal(su_methods_str(0, buf, sizeof(buf)), "none");
	/* too small: empty, never a cut name */
	assert_string_equal(su_methods_str(SU_METHODS_ALL, tiny, sizeof(tiny)), "");
	assert_string_equal(su_methods_str(SU_METHODS_ALL, NULL, 0), "");
	/* round trip */
	for (unsigned bits = 1; bits <= SU_METHODS_ALL; bits++) {
		assert_true(su_parse_methods(su_methods_str(bits, buf, sizeof(buf)), &m));
		assert_int_equal(m, bits);
	}
}

/* [gate] belongs to stepup-gate: its patterns, in order, one per line;
 * the sections around it are unaffected. */
static void test_gate_section(void **state)
{
	static const char text[] = "grace = 60\n"
				   "[gate]\n"
				   "exempt_command = git-upload-pack *\n"
				   "exempt_command =   echo 'a  b'   # a comment\n"
				   "[service sudo]\n"
				   "grace = 30\n";
	su_settings s;
	capture c;
	char *log;

	(void)state;
	capture_begin(&c);
	assert_int_equal(su_config_parse(&test_log, "gate.conf", text, sizeof(text) - 1, "sudo", &s),
			 SU_OK);
	log = capture_end(&c);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(s.grace, 30);
	assert_non_null(s.gate_exempt);
	assert_string_equal(s.gate_exempt, "git-upload-pack *\necho 'a  b'\n");
	su_settings_free(&s);
	assert_int_equal(su_config_parse(&test_log, "nogate.conf", "grace = 1\n", 10, NULL, &s), SU_OK);
	assert_null(s.gate_exempt);
	su_settings_free(&s);
}

/* ------------------------------------------------------------------------ */
/* A process that loads the file again and again must see every change at
 * once, however old the version it read before (nothing is cached between
 * calls today; a cache that came back would have to pass these too). */
#define OLD_ENOUGH_SECONDS 3

static void rewrite_in_place(const char *path, const char *text)
{
	FILE *f = fopen(path, "r+");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void expect_grace(const char *path, const char *service, unsigned grace)
{
	su_settings s;

	assert_int_equal(load_captured(path, service, &s), SU_OK);
	assert_int_equal(s.grace, grace);
	su_settings_free(&s);
}

static void load_twice_expect_grace(const char *path, unsigned grace)
{
	expect_grace(path, "sudo", grace);
	expect_grace(path, "sudo", grace);
}

static void test_reload_sees_every_change(void **state)
{
	char same_size[PATH_MAX], made_unsafe[PATH_MAX], replaced[PATH_MAX], other[PATH_MAX];
	su_settings s;

	(void)state;
	need_root();
	write_conf("same-size.conf", "grace = 111\n", same_size, sizeof(same_size));
	write_conf("unsafe.conf", "grace = 111\n", made_unsafe, sizeof(made_unsafe));
	write_conf("replaced.conf", "grace = 111\n", replaced, sizeof(replaced));
	write_conf("services.conf", "grace = 111\n[service sudo]\ngrace = 222\n", other,
		   sizeof(other));
	/* Until then every load reads, however often (racily clean). */
	sleep(OLD_ENOUGH_SECONDS);

	/* Each file is loaded twice (the second time from what was kept: one
	 * file is kept at a time), then changed, then loaded again. */
	load_twice_expect_grace(same_size, 111);
	rewrite_in_place(same_size, "grace = 333\n");
	expect_grace(same_size, "sudo", 333);

	load_twice_expect_grace(made_unsafe, 111);
	assert_int_equal(chmod(made_unsafe, 0666), 0);
	assert_int_equal(load_captured(made_unsafe, "sudo", &s), SU_ERR);
	assert_logged("write access");

	load_twice_expect_grace(replaced, 111);
	{
		char tmp[PATH_MAX];

		write_conf("replacement.conf", "grace = 444\n", tmp, sizeof(tmp));
		assert_int_equal(rename(tmp, replaced), 0);
	}
	expect_grace(replaced, "sudo", 444);

	/* One file, two services, back and forth: each gets its own rule. */
	for (int round = 0; round < 2; round++) {
		expect_grace(other, "sudo", 222);
		expect_grace(other, "su", 111);
	}
	unlink(same_size);
	unlink(made_unsafe);
	unlink(replaced);
	unlink(other);
}

/* What a load hands out is the caller's own: freeing it leaves the kept
 * copy whole (the sanitizer build would see a double free). */
static void test_reload_copy_is_independent(void **state)
{
	char path[PATH_MAX];
	su_settings a, b;

	(void)state;
	need_root();
	write_conf("copy.conf", "exempt_groups = wheel\nsmtp_from = a@example.com\n", path,
		   sizeof(path));
	sleep(OLD_ENOUGH_SECONDS);
	assert_int_equal(load_captured(path, NULL, &a), SU_OK);
	assert_int_equal(load_captured(path, NULL, &b), SU_OK);
	assert_ptr_not_equal(a.exempt_groups, b.exempt_groups);
	su_settings_free(&a);
	assert_string_equal(b.exempt_groups, "wheel");
	assert_string_equal(b.smtp_from, "a@example.com");
	su_settings_free(&b);
	assert_int_equal(load_captured(path, NULL, &a), SU_OK);
	assert_string_equal(a.exempt_groups, "wheel");
	su_settings_free(&a);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_service_before_global),
		cmocka_unit_test(test_keys_before_section),
		cmocka_unit_test(test_other_service),
		cmocka_unit_test(test_service_case),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unsafe_file),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_enforced_keys_quiet),
		cmocka_unit_test(test_args_quiet),
		cmocka_unit_test(test_args_good),
		cmocka_unit_test(test_args_bad),
		cmocka_unit_test(test_args_override_service),
		cmocka_unit_test(test_grace_from),
		cmocka_unit_test(test_service_listed),
		cmocka_unit_test(test_parse_methods),
		cmocka_unit_test(test_methods_str),
		cmocka_unit_test(test_gate_section),
		cmocka_unit_test(test_reload_sees_every_change),
		cmocka_unit_test(test_reload_copy_is_independent),
	};

	return cmocka_run_group_tests_name("config", tests, group_setup,
					   group_teardown);
}
