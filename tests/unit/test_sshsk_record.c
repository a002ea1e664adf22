/* Unit tests: the security keys of a record (sshsk_record.c): a key line
 * as enrolled (id, fingerprint, comment), the record line written back,
 * and a record's keys loaded, with every refusal. The key lines are
 * test_sshsk.c's fixtures (ssh-keygen with sk_soft). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "sshsk_record.h"

static const char ECDSA_LINE[] =
	"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20"
	"AAAAIbmlzdHAyNTYAAABBBNjUA9VKEjkl6G59Gyk6DIVMQOxTvO1cU7CBPyhKOybX3XOF1+Di73VXk2RBO62hhDr"
	"NUryhmvV/7Z6JwXeYYsQAAAAEc3NoOg== root@vm\n";
static const char ECDSA_FP[] = "SHA256:R0VLAHPWcTXNNzAgTq2Cw/jmrYbwXAmIHnZTvsLj/QU";
static const char ED25519_LINE[] =
	"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0RK46to9Uv7"
	"IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo=   my   key\t ";
static const char ED25519_FP[] = "SHA256:MJSovH5eDH8hNC8Xh71j13Foh/INAbGZSDnxspUl9dE";
static const char PLAIN_ED25519_LINE[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk6oqLQOpbauuoiwIQ/1gVyetEqBPrP9kvjPzUb7qXo x";

static const su_log quiet = {0};

static bool is_hex16(const char *id)
{
	return strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16;
}

static void parses_both_types(void **state)
{
	su_sshsk_enrolled e;
	char why[256];

	(void)state;
	assert_int_equal(su_sshsk_enrolled_parse(ECDSA_LINE, &e, why, sizeof(why)), 0);
	assert_string_equal(e.fp, ECDSA_FP);
	assert_string_equal(e.comment, "root@vm");
	assert_true(is_hex16(e.id));
	su_sshsk_key_free(&e.key);
	assert_int_equal(su_sshsk_enrolled_parse(ED25519_LINE, &e, why, sizeof(why)), 0);
	assert_string_equal(e.fp, ED25519_FP);
	assert_string_equal(e.comment, "my key"); /* blanks squeezed, trailing dropped */
	su_sshsk_key_free(&e.key);
}

static void refuses_what_is_not_one(void **state)
{
	su_sshsk_enrolled e;
	char why[256], line[1024];

	(void)state;
	assert_int_equal(su_sshsk_enrolled_parse(PLAIN_ED25519_LINE, &e, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a security-key public key"));
	snprintf(line, sizeof(line), "%.*s caf\xc3\xa9", (int)(strstr(ECDSA_LINE, " root@") -
		 ECDSA_LINE), ECDSA_LINE);
	assert_int_equal(su_sshsk_enrolled_parse(line, &e, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "printable ASCII"));
	snprintf(line, sizeof(line), "%s\n%s", ED25519_LINE, ED25519_LINE);
	assert_int_equal(su_sshsk_enrolled_parse(line, &e, why, sizeof(why)), -1);
}

static void the_line_written_back_reads_the_same(void **state)
{
	su_sshsk_enrolled e, again;
	char why[256], *line;

	(void)state;
	assert_int_equal(su_sshsk_enrolled_parse(ED25519_LINE, &e, why, sizeof(why)), 0);
	line = su_sshsk_enrolled_line(&e);
	assert_non_null(line);
	assert_int_equal(su_sshsk_enrolled_parse(line, &again, why, sizeof(why)), 0);
	assert_string_equal(again.id, e.id);
	assert_string_equal(again.fp, e.fp);
	assert_string_equal(again.comment, "my key");
	assert_null(strchr(line, '\n'));
	free(line);
	su_sshsk_key_free(&e.key);
	su_sshsk_key_free(&again.key);
}

static void put_key(su_kv *record, const char *line, const char *id_override)
{
	su_sshsk_enrolled e;
	char why[256], name[SU_SSHSK_KEYNAME_SIZE], *text;

	assert_int_equal(su_sshsk_enrolled_parse(line, &e, why, sizeof(why)), 0);
	su_sshsk_key_name(SU_SSHSK_RECORD_PREFIX, id_override ? id_override : e.id, name);
	text = su_sshsk_enrolled_line(&e);
	assert_int_equal(su_kv_set(record, name, text), 0);
	free(text);
	su_sshsk_key_free(&e.key);
}

static void a_record_loads_in_order(void **state)
{
	su_kv record = {0};
	su_sshsk_set set;

	(void)state;
	assert_false(su_sshsk_enrolled_in(&record));
	assert_int_equal(su_kv_set(&record, "totp_secret", "x"), 0);
	put_key(&record, ECDSA_LINE, NULL);
	put_key(&record, ED25519_LINE, NULL);
	assert_true(su_sshsk_enrolled_in(&record));
	assert_int_equal(su_sshsk_set_load(&quiet, "rec", &record, &set), SU_OK);
	assert_int_equal(set.count, 2);
	assert_string_equal(set.keys[0].fp, ECDSA_FP);
	assert_string_equal(set.keys[1].fp, ED25519_FP);
	su_sshsk_set_free(&set);
	su_sshsk_remove(&record);
	assert_false(su_sshsk_enrolled_in(&record));
	assert_non_null(su_kv_get(&record, "totp_secret"));
	su_kv_free(&record);
}

static void a_record_is_refused(void **state)
{
	su_kv record = {0};
	su_sshsk_set set;

	(void)state;
	/* a name that is not the key's id */
	put_key(&record, ECDSA_LINE, "0000000000000000");
	assert_int_equal(su_sshsk_set_load(&quiet, "rec", &record, &set), SU_ERR);
	assert_int_equal(set.count, 0);
	su_kv_free(&record);
	/* a value that is not a security key */
	assert_int_equal(su_kv_set(&record, "sshsk_key_0123456789abcdef", PLAIN_ED25519_LINE), 0);
	assert_int_equal(su_sshsk_set_load(&quiet, "rec", &record, &set), SU_ERR);
	su_kv_free(&record);
}

/* Only "sshsk_counter_" and 16 lower-case hex digits names a counter:
 * ldap import carries exactly those from a host's state. */
static void a_counter_key_is_told(void **state)
{
	(void)state;
	assert_true(su_sshsk_is_counter_key("sshsk_counter_0123456789abcdef"));
	assert_false(su_sshsk_is_counter_key("sshsk_counter_0123456789ABCDEF"));
	assert_false(su_sshsk_is_counter_key("sshsk_counter_0123456789abcde"));
	assert_false(su_sshsk_is_counter_key("sshsk_counter_0123456789abcdef0"));
	assert_false(su_sshsk_is_counter_key("sshsk_counter_0123456789abcdeg"));
	assert_false(su_sshsk_is_counter_key("sshsk_counter_"));
	assert_false(su_sshsk_is_counter_key("sshsk_key_0123456789abcdef"));
	assert_false(su_sshsk_is_counter_key("totp_last_time"));
	assert_false(su_sshsk_is_counter_key(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_both_types),
		cmocka_unit_test(refuses_what_is_not_one),
		cmocka_unit_test(the_line_written_back_reads_the_same),
		cmocka_unit_test(a_record_loads_in_order),
		cmocka_unit_test(a_record_is_refused),
		cmocka_unit_test(a_counter_key_is_told),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
