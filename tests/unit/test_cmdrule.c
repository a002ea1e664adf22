/* The command rules (src/cmdrule.c) and the [sudo] section that feeds them
 * (src/config_parse.c): the canonical form, matching, scopes, exempt rules,
 * runas=, malformed values (named FILE:LINE: key, every command then needs
 * a step-up, the file itself still loads), and the display form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "capture.h"
#include "cmdrule.h"
#include "config.h"

static const su_log test_log = { .pamh = NULL, .prog = "test", .debug = false };

/* Parse text as stepup.conf and compile its [sudo] rules; the log lines of
 * both into *log (caller frees). */
static int compile(const char *text, su_cmdrules *r, char **log)
{
	su_settings s;
	capture c;
	int rc;

	capture_begin(&c);
	rc = su_config_parse(&test_log, "t.conf", text, strlen(text), "sudo-stepup", &s);
	if (rc == SU_OK) {
		rc = su_cmdrules_compile(&test_log, "t.conf", s.sudo_rules, r);
		su_settings_free(&s);
	} else {
		memset(r, 0, sizeof(*r));
		rc = 99;
	}
	*log = capture_end(&c);
	return rc;
}

/* A passwd of our own: root and toor share uid 0. */
static bool fake_lookup(const char *user, unsigned long *uid)
{
	static const struct {
		const char *name;
		unsigned long uid;
	} users[] = {{"root", 0}, {"toor", 0}, {"postgres", 100}, {"alice", 1000}};

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strcmp(users[i].name, user) == 0) {
			*uid = users[i].uid;
			return true;
		}
	}
	return false;
}

/* runas: a user of fake_lookup's, or NULL (not known). */
static enum su_cmdrule_verdict verdict(const su_cmdrules *r, const char *runas, const char *path,
				       const char *const argv[], size_t argc, const char **scope)
{
	char *command = su_cmdrule_join(path, argv, argc);
	struct su_cmdrule_runas target = {.lookup = fake_lookup};
	enum su_cmdrule_verdict v;

	target.known = runas != NULL && fake_lookup(runas, &target.uid);
	v = su_cmdrules_match(r, &target, command, scope);

	free(command);
	return v;
}

static void test_join(void **state)
{
	const char *const a1[] = {"restart", "nginx"};
	const char *const a2[] = {"restart nginx"};
	const char *const a3[] = {"it's", "", "a\nb"};
	char *j;

	(void)state;
	j = su_cmdrule_join("/usr/bin/systemctl", a1, 2);
	assert_string_equal(j, "/usr/bin/systemctl restart nginx");
	free(j);
	j = su_cmdrule_join("/usr/bin/systemctl", a2, 1);
	assert_string_equal(j, "/usr/bin/systemctl 'restart nginx'");
	free(j);
	j = su_cmdrule_join("/bin/echo", a3, 3);
	assert_string_equal(j, "/bin/echo 'it'\\''s' '' 'a\nb'");
	free(j);
	assert_null(su_cmdrule_join(NULL, a1, 2));
}

/* A huge argument is not formed (and then needs a step-up). */
static void test_join_too_long(void **state)
{
	char *big = malloc(SU_CMDRULE_COMMAND_MAX + 2);
	const char *argv[1] = {big};
	su_cmdrules r = {0};
	const char *scope;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', SU_CMDRULE_COMMAND_MAX + 1);
	big[SU_CMDRULE_COMMAND_MAX + 1] = '\0';
	assert_null(su_cmdrule_join("/bin/true", argv, 1));
	assert_int_equal(verdict(&r, "root", "/bin/true", argv, 1, &scope), SU_CMD_STEPUP);
	free(big);
}

static void test_match_and_scopes(void **state)
{
	static const char text[] =
		"[sudo]\n"
		"stepup_command = /usr/bin/systemctl restart *\n"
		"stepup_command = group=pkg /usr/bin/apt *\n"
		"stepup_command = group=pkg /usr/bin/dpkg *\n"
		"stepup_command = runas=postgres /usr/bin/psql*\n"
		"exempt_command = /usr/bin/systemctl restart nginx\n";
	const char *const restart_nginx[] = {"restart", "nginx"};
	const char *const restart_x[] = {"restart", "postfix"};
	const char *const one_arg[] = {"restart nginx"};
	const char *const tricky[] = {"restart", "nginx", "x"};
	const char *const install[] = {"install", "x"};
	const char *const status[] = {"status"};
	su_cmdrules r;
	const char *scope, *s1, *s2;
	char scope_a[SU_CMDRULE_SCOPE_MAX];
	char *log;

	(void)state;
	assert_int_equal(compile(text, &r, &log), SU_OK);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(r.n, 5);
	assert_false(r.broken);
	/* exempt wins; one argument with a blank is not two words */
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", restart_nginx, 2, &scope),
			 SU_CMD_EXEMPT);
	assert_string_equal(scope, "all");
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", one_arg, 1, &scope),
			 SU_CMD_UNNAMED); /* matches neither "restart *" nor the exempt rule */
	assert_string_equal(scope, "all");
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", tricky, 3, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", restart_x, 2, &scope), SU_CMD_STEPUP);
	snprintf(scope_a, sizeof(scope_a), "%s", scope);
	assert_int_equal(strncmp(scope_a, "r-", 2), 0);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", status, 1, &scope), SU_CMD_UNNAMED);
	/* a group: one scope for both rules, another than the first rule's */
	assert_int_equal(verdict(&r, "root", "/usr/bin/apt", install, 2, &s1), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/dpkg", install, 2, &s2), SU_CMD_STEPUP);
	assert_string_equal(s1, "g-pkg");
	assert_string_equal(s2, "g-pkg");
	assert_string_not_equal(s1, scope_a);
	/* runas= */
	assert_int_equal(verdict(&r, "postgres", "/usr/bin/psql", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/psql", NULL, 0, &scope), SU_CMD_UNNAMED);
	/* not known whom it runs as: a runas= stepup rule applies (fail closed) */
	assert_int_equal(verdict(&r, NULL, "/usr/bin/psql", NULL, 0, &scope), SU_CMD_STEPUP);
	su_cmdrules_free(&r);
}

/* runas= by uid: a second name for uid 0 is root; an unknown target (or a
 * rule's user that cannot be looked up) applies runas= stepup rules and
 * never runas= exempts. */
static void test_runas_uid(void **state)
{
	static const char text[] =
		"[sudo]\n"
		"stepup_command = runas=root /usr/bin/id *\n"
		"stepup_command = runas=ghost /usr/bin/who *\n"
		"stepup_command = ALL\n"
		"exempt_command = runas=root /bin/true\n"
		"exempt_command = runas=ghost /bin/false\n"
		"exempt_command = /usr/bin/id x\n";
	const char *const x[] = {"x"};
	const char *const y[] = {"y"};
	su_cmdrules r;
	const char *scope;
	char *log;

	(void)state;
	assert_int_equal(compile(text, &r, &log), SU_OK);
	free(log);
	/* toor is uid 0: the exempt runas=root applies to it */
	assert_int_equal(verdict(&r, "toor", "/bin/true", NULL, 0, &scope), SU_CMD_EXEMPT);
	assert_int_equal(verdict(&r, "alice", "/bin/true", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, NULL, "/bin/true", NULL, 0, &scope), SU_CMD_STEPUP);
	/* the stepup runas=root rule (its own scope, not ALL's) for toor */
	assert_int_equal(verdict(&r, "toor", "/usr/bin/id", y, 1, &scope), SU_CMD_STEPUP);
	assert_int_equal(strncmp(scope, "r-", 2), 0);
	assert_int_equal(verdict(&r, NULL, "/usr/bin/id", y, 1, &scope), SU_CMD_STEPUP);
	assert_int_equal(strncmp(scope, "r-", 2), 0);
	assert_int_equal(verdict(&r, "toor", "/usr/bin/id", x, 1, &scope), SU_CMD_EXEMPT);
	/* a rule's user that does not resolve: its stepup rule applies, its
	 * exempt rule never */
	assert_int_equal(verdict(&r, "alice", "/usr/bin/who", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(strncmp(scope, "r-", 2), 0);
	assert_int_equal(verdict(&r, "alice", "/bin/false", NULL, 0, &scope), SU_CMD_STEPUP);
	su_cmdrules_free(&r);
}

static void test_all(void **state)
{
	su_cmdrules r;
	const char *scope;
	char *log;

	(void)state;
	assert_int_equal(compile("[sudo]\nstepup_command = ALL\nexempt_command = /bin/true\n", &r, &log),
			 SU_OK);
	free(log);
	assert_int_equal(verdict(&r, "root", "/bin/ls", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/bin/true", NULL, 0, &scope), SU_CMD_EXEMPT);
	su_cmdrules_free(&r);
	/* no rules: nothing asks, and nothing is exempt */
	assert_int_equal(compile("grace = 1\n", &r, &log), SU_OK);
	free(log);
	assert_int_equal(verdict(&r, "root", "/bin/ls", NULL, 0, &scope), SU_CMD_UNNAMED);
	su_cmdrules_free(&r);
}

/* The README's rules: whole binaries, not subcommands (options may come
 * before a subcommand; "*" crosses words), and a pattern ending in " *"
 * names the command without arguments too. */
static void test_readme_rules(void **state)
{
	static const char text[] =
		"[sudo]\n"
		"stepup_command = /usr/bin/systemctl *\n"
		"stepup_command = group=pkg /usr/bin/apt *\n"
		"stepup_command = /usr/sbin/reboot *\n"
		"exempt_command = /usr/bin/systemctl status nginx\n";
	const char *const q_restart[] = {"-q", "restart", "postfix"};
	const char *const no_block[] = {"--no-block", "restart", "postfix"};
	const char *const try_restart[] = {"try-restart", "postfix"};
	const char *const status[] = {"status", "nginx"};
	const char *const status_more[] = {"status", "nginx", "restart", "postfix"};
	const char *const install[] = {"install", "x"};
	su_cmdrules r;
	const char *scope;
	char *log;

	(void)state;
	assert_int_equal(compile(text, &r, &log), SU_OK);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", q_restart, 3, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", no_block, 3, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", try_restart, 2, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", status_more, 4, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/bin/systemctl", status, 2, &scope), SU_CMD_EXEMPT);
	assert_int_equal(verdict(&r, "root", "/usr/bin/apt", install, 2, &scope), SU_CMD_STEPUP);
	assert_string_equal(scope, "g-pkg");
	/* "/usr/sbin/reboot *" names a bare "/usr/sbin/reboot" too */
	assert_int_equal(verdict(&r, "root", "/usr/sbin/reboot", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/usr/sbin/rebootx", NULL, 0, &scope), SU_CMD_UNNAMED);
	su_cmdrules_free(&r);
	/* sudoedit is matched on its files: "sudoedit FILE..." */
	assert_int_equal(compile("[sudo]\nstepup_command = sudoedit /etc/*\n", &r, &log), SU_OK);
	assert_string_equal(log, "");
	free(log);
	{
		const char *const files[] = {"/etc/hostname"};
		const char *const other[] = {"/srv/x"};
		assert_int_equal(verdict(&r, "root", "sudoedit", files, 1, &scope), SU_CMD_STEPUP);
		assert_int_equal(verdict(&r, "root", "sudoedit", other, 1, &scope), SU_CMD_UNNAMED);
		assert_int_equal(verdict(&r, "root", "/usr/bin/vi", files, 1, &scope), SU_CMD_UNNAMED);
	}
	su_cmdrules_free(&r);
	/* the same for an exempt pattern; an escaped blank is not " *" */
	assert_int_equal(compile("[sudo]\nstepup_command = ALL\nexempt_command = /bin/id *\n"
				 "exempt_command = /bin/ls\\ *\n", &r, &log), SU_OK);
	free(log);
	assert_int_equal(verdict(&r, "root", "/bin/id", NULL, 0, &scope), SU_CMD_EXEMPT);
	assert_int_equal(verdict(&r, "root", "/bin/ls", NULL, 0, &scope), SU_CMD_STEPUP);
	su_cmdrules_free(&r);
}

/* A path that needs quoting in the canonical form ("/opt/Vendor Tool/x")
 * is written quoted, as the form has it: the pattern starts with "'/". */
static void test_quoted_path(void **state)
{
	const char *const args[] = {"--apply"};
	su_cmdrules r;
	const char *scope;
	char *log;
	char *j;

	(void)state;
	j = su_cmdrule_join("/opt/Vendor Tool/x", args, 1);
	assert_string_equal(j, "'/opt/Vendor Tool/x' --apply");
	free(j);
	assert_int_equal(compile("[sudo]\nstepup_command = '/opt/Vendor Tool/x' *\n", &r, &log),
			 SU_OK);
	assert_string_equal(log, "");
	free(log);
	assert_int_equal(verdict(&r, "root", "/opt/Vendor Tool/x", args, 1, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/opt/Vendor Tool/x", NULL, 0, &scope), SU_CMD_STEPUP);
	assert_int_equal(verdict(&r, "root", "/opt/Vendor Tool/y", NULL, 0, &scope), SU_CMD_UNNAMED);
	su_cmdrules_free(&r);
	/* still no bare words */
	assert_int_equal(compile("[sudo]\nstepup_command = 'x' *\n", &r, &log), SU_ERR);
	free(log);
	su_cmdrules_free(&r);
}

/* Each malformed value: the file loads (the module still answers), the
 * rule is named FILE:LINE: key, and every command needs a step-up. */
static void test_malformed(void **state)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "[sudo]\nstepup_command =\n", "t.conf:2: key 'stepup_command': empty rule" },
		{ "[sudo]\nstepup_command = systemctl *\n", "t.conf:2: key 'stepup_command': pattern must start with '/'" },
		{ "[sudo]\nstepup_command = group=A! /x\n", "t.conf:2: key 'stepup_command': bad group name" },
		{ "[sudo]\nstepup_command = group=a group=b /x\n", "t.conf:2: key 'stepup_command': group= given twice" },
		{ "[sudo]\nstepup_command = runas= /x\n", "t.conf:2: key 'stepup_command': bad runas= user name" },
		{ "[sudo]\nexempt_command = group=a /x\n", "t.conf:2: key 'exempt_command': group= belongs to stepup_command only" },
		{ "[sudo]\nexempt_command = ALL\n", "t.conf:2: key 'exempt_command': ALL belongs to stepup_command only" },
		{ "[sudo]\n\nstepup_command = /ok *\nstepup_command = /x\ty\n", "t.conf:4: key 'stepup_command': value contains a control character" },
	};
	su_cmdrules r;
	const char *scope;
	char *log;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(compile(cases[i].text, &r, &log), SU_ERR);
		if (strstr(log, cases[i].error) == NULL)
			fail_msg("case %zu: expected '%s' in '%s'", i, cases[i].error, log);
		free(log);
		assert_true(r.broken);
		assert_int_equal(verdict(&r, "root", "/bin/true", NULL, 0, &scope), SU_CMD_STEPUP);
		assert_string_equal(scope, "all");
		su_cmdrules_free(&r);
	}
}

/* Unknown keys in [sudo] are errors of the file; so is [sudo] twice. */
static void test_section_errors(void **state)
{
	su_cmdrules r;
	char *log;

	(void)state;
	assert_int_equal(compile("[sudo]\ngrace = 5\n", &r, &log), 99);
	assert_non_null(strstr(log, "t.conf:2: key 'grace': unknown key in [sudo]"));
	free(log);
	assert_int_equal(compile("[sudo]\n[sudo]\n", &r, &log), 99);
	assert_non_null(strstr(log, "t.conf:2: section [sudo] given twice"));
	free(log);
	assert_int_equal(compile("stepup_command = /x\n", &r, &log), 99);
	assert_non_null(strstr(log, "t.conf:1: key 'stepup_command': unknown key"));
	free(log);
}

/* stepup-gate's patterns through the same matcher, whole string. */
static void test_plain(void **state)
{
	su_cmdrules r;
	const char *scope;

	(void)state;
	assert_int_equal(su_cmdrules_compile_plain("git-upload-pack *\necho 'a  b'\n", &r), SU_OK);
	assert_int_equal(su_cmdrules_match(&r, NULL, "git-upload-pack 'x.git'", &scope), SU_CMD_EXEMPT);
	assert_int_equal(su_cmdrules_match(&r, NULL, "echo 'a  b'", &scope), SU_CMD_EXEMPT);
	/* A command no pattern names is unnamed, never exempt: the gate asks
	 * for it (when the two were one value, every command passed). */
	assert_int_equal(su_cmdrules_match(&r, NULL, "echo hello", &scope), SU_CMD_UNNAMED);
	assert_int_equal(su_cmdrules_match(&r, NULL, "rm -rf /", &scope), SU_CMD_UNNAMED);
	su_cmdrules_free(&r);
	/* a broken set exempts nothing: every command asks, under "all" */
	assert_int_equal(su_cmdrules_compile_plain("ok *\n\x01" "bad\n", &r), SU_ERR);
	assert_int_equal(su_cmdrules_match(&r, NULL, "ok x", &scope), SU_CMD_STEPUP);
	assert_string_equal(scope, "all");
	su_cmdrules_free(&r);
}

static void test_display(void **state)
{
	char buf[SU_CMDRULE_COMMAND_MAX];
	char long_in[600];

	(void)state;
	assert_string_equal(su_cmdrule_display("/bin/echo '\x1b]0;x\x07' a\\b \xc3\xa9", buf, 256),
			    "/bin/echo '\\x1b]0;x\\x07' a\\\\b \\xc3\\xa9");
	memset(long_in, 'a', sizeof(long_in) - 1);
	long_in[sizeof(long_in) - 1] = '\0';
	long_in[254] = '\x1b';
	su_cmdrule_display(long_in, buf, 256);
	assert_int_equal(strlen(buf), 254 + 3); /* the escape is not cut in half */
	assert_string_equal(buf + 254, "...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_join_too_long),
		cmocka_unit_test(test_match_and_scopes),
		cmocka_unit_test(test_all),
		cmocka_unit_test(test_readme_rules),
		cmocka_unit_test(test_runas_uid),
		cmocka_unit_test(test_quoted_path),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_section_errors),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_display),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
