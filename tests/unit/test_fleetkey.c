/* Unit tests: the fleet key (src/fleetkey.c, fleetkey_seal.c,
 * fleetkey_admin.c): the file read and every malformed line refused with
 * PATH:LINE and no key material in the message; the safe-file checks of a
 * secret; sealing and opening, and each reason a blob does not open; a
 * rotation and a retirement as an old blob sees them.
 *
 * Root-owned files need root: every test skips when not root. */
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
#include "fleetkey.h"

#define NOBODY 65534
#define PROG "test_fleetkey"

static const su_log test_log = {.pamh = NULL, .prog = PROG, .debug = false};

/* Three keys, as hex and as bytes (key i: every byte i + 1, then a 0xa0 mix). */
#define HEX1 "0101010101010101010101010101010101010101010101010101010101010101"
#define HEX2 "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
#define HEX3 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct fixture {
	char dir[PATH_MAX];
	char path[PATH_MAX]; /* DIR/fleetkey */
} fixture;

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	if (geteuid() != 0)
		return 0; /* every test skips */
	safe_tmpdir_make(fx->dir, sizeof(fx->dir), "tmp-fk");
	if (snprintf(fx->path, sizeof(fx->path), "%s/fleetkey", fx->dir) >= (int)sizeof(fx->path))
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

/* --- helpers ------------------------------------------------------------------ */

static void write_key_file(const char *path, const void *text, size_t len, mode_t mode,
			   uid_t uid)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchown(fd, uid, 0), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void put_file(const char *path, const char *text)
{
	write_key_file(path, text, strlen(text), 0600, 0);
}

/* Load path; rc, and what was logged (caller frees). */
static char *load_logged(const char *path, su_fleetkey **fk, int *rc)
{
	capture cap;

	capture_begin(&cap);
	*rc = su_fleetkey_load(&test_log, path, fk);
	return capture_end(&cap);
}

static su_fleetkey *load_ok(const char *path)
{
	su_fleetkey *fk = NULL;
	int rc;
	char *msg = load_logged(path, &fk, &rc);

	if (rc != SU_OK)
		fail_msg("%s refused: %s", path, msg);
	assert_string_equal(msg, "");
	free(msg);
	assert_non_null(fk);
	return fk;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* No 8 characters in a row of any run of 17 or more hex digits of text
 * (the keys: longer than any key id) are in msg. */
static void assert_no_key_material(const char *msg, const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t run = 0;

		while (i + run < len && is_hex(text[i + run]))
			run++;
		for (size_t j = 0; run > SU_FLEETKEY_KID_MAX && j + 8 <= run; j++) {
			char window[9];

			memcpy(window, text + i + j, 8);
			window[8] = '\0';
			if (strstr(msg, window) != NULL)
				fail_msg("message \"%s\" has key material \"%s\"", msg, window);
		}
		i += run > 0 ? run : 1;
	}
}

/* text (len bytes) as the file is refused: one line "PROG: PATH:LINE: ...want...". */
static void expect_refused_n(const char *path, const char *text, size_t len,
			     unsigned line, const char *want)
{
	su_fleetkey *fk = (su_fleetkey *)1;
	char head[PATH_MAX + 32];
	int rc;
	char *msg;

	write_key_file(path, text, len, 0600, 0);
	msg = load_logged(path, &fk, &rc);
	assert_int_equal(rc, SU_ERR);
	assert_null(fk);
	if (line > 0)
		snprintf(head, sizeof(head), PROG ": %s:%u: ", path, line);
	else
		snprintf(head, sizeof(head), PROG ": %s", path);
	if (strncmp(msg, head, strlen(head)) != 0 || strstr(msg, want) == NULL)
		fail_msg("logged \"%s\", want \"%s...%s\"", msg, head, want);
	assert_string_equal(strchr(msg, '\n'), "\n"); /* one line */
	assert_no_key_material(msg, text, len);
	free(msg);
}

static void expect_refused(const char *path, const char *text, unsigned line,
			   const char *want)
{
	expect_refused_n(path, text, strlen(text), line, want);
}

/* Open blob as user; rc, and what was logged (caller frees). out is
 * filled with 0x55 first, so that a failure can be seen to wipe it. */
static char *open_logged(const su_fleetkey *fk, const char *user, const char *blob,
			 unsigned char *out, size_t size, size_t *len, int *rc)
{
	capture cap;

	memset(out, 0x55, size);
	capture_begin(&cap);
	*rc = su_fleetkey_open(&test_log, "ldap:uid=alice: stepupTotpSecret", fk, user, blob,
			       out, size, len);
	return capture_end(&cap);
}

/* blob does not open: the message names the value and has want; out wiped. */
static void expect_not_opened(const su_fleetkey *fk, const char *user, const char *blob,
			      size_t size, const char *want)
{
	static const char head[] = PROG ": ldap:uid=alice: stepupTotpSecret: ";
	unsigned char out[SU_FLEETKEY_SECRET_MAX];
	size_t len = 99;
	int rc;
	char *msg;

	assert_true(size <= sizeof(out));
	msg = open_logged(fk, user, blob, out, size, &len, &rc);
	assert_int_equal(rc, SU_ERR);
	assert_int_equal(len, 0);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(out[i], 0);
	if (strncmp(msg, head, strlen(head)) != 0 ||
	    strstr(msg, want) == NULL)
		fail_msg("logged \"%s\", want \"...stepupTotpSecret: ...%s\"", msg, want);
	free(msg);
}

static char *seal(const su_fleetkey *fk, const char *user, const unsigned char *secret,
		  size_t len)
{
	char *blob = NULL;

	assert_int_equal(su_fleetkey_seal(fk, user, secret, len, &blob), SU_OK);
	assert_non_null(blob);
	return blob;
}

static void expect_opened(const su_fleetkey *fk, const char *user, const char *blob,
			  const unsigned char *secret, size_t secret_len)
{
	unsigned char out[SU_FLEETKEY_SECRET_MAX];
	size_t len = 0;
	int rc;
	char *msg = open_logged(fk, user, blob, out, sizeof(out), &len, &rc);

	if (rc != SU_OK)
		fail_msg("%s did not open: %s", blob, msg);
	assert_string_equal(msg, "");
	assert_int_equal(len, secret_len);
	assert_memory_equal(out, secret, secret_len);
	free(msg);
}

static const unsigned char secret20[20] = "12345678901234567890"; /* RFC 6238's */

/* --- the file ------------------------------------------------------------------ */

static void one_key_is_read(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;

	NEED_ROOT();
	put_file(fx->path, "k1 " HEX1 "\n");
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), 1);
	assert_string_equal(su_fleetkey_current(fk), "k1");
	assert_string_equal(su_fleetkey_kid(fk, 0), "k1");
	for (size_t i = 0; i < SU_FLEETKEY_BYTES; i++)
		assert_int_equal(su_fleetkey_key(fk, 0)[i], 0x01);
	assert_null(su_fleetkey_kid(fk, 1));
	assert_null(su_fleetkey_key(fk, 1));
	su_fleetkey_free(fk);
	su_fleetkey_free(NULL);
}

static void three_keys_are_read_current_first(void **state)
{
	static const unsigned char key3[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	fixture *fx = *state;
	su_fleetkey *fk;

	NEED_ROOT();
	/* the last line without its newline is taken too */
	put_file(fx->path, "new " HEX3 "\nb2 " HEX2 "\n0123456789abcdef " HEX1);
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), 3);
	assert_string_equal(su_fleetkey_current(fk), "new");
	assert_string_equal(su_fleetkey_kid(fk, 1), "b2");
	assert_string_equal(su_fleetkey_kid(fk, 2), "0123456789abcdef");
	assert_memory_equal(su_fleetkey_key(fk, 0), key3, 8);
	assert_memory_equal(su_fleetkey_key(fk, 0) + 24, key3, 8);
	assert_int_equal(su_fleetkey_key(fk, 1)[31], 0xa2);
	assert_int_equal(su_fleetkey_key(fk, 2)[0], 0x01);
	su_fleetkey_free(fk);
}

static void each_malformed_line_is_refused_with_its_line(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *want;
	} cases[] = {
		{ "k1 " HEX1 "\n\nk2 " HEX2 "\n", 2, "a blank line" },
		{ "k1 " HEX1 "\n\n", 2, "a blank line" },
		{ "\nk1 " HEX1 "\n", 1, "a blank line" },
		{ "# the fleet key\nk1 " HEX1 "\n", 1, "a comment" },
		{ "k1 " HEX1 "\r\n", 1, "ends with CR" },
		{ "k1 " HEX1 "\nK2 " HEX2 "\n", 2, "does not start with a key id" },
		{ "k1 " HEX1 "\nk-2 " HEX2 "\n", 2, "does not start with a key id" },
		{ "0123456789abcdefg " HEX1 "\n", 1, "does not start with a key id" },
		{ " " HEX1 "\n", 1, "does not start with a key id" },
		{ HEX1 "\n", 1, "does not start with a key id" },
		{ "k1\t" HEX1 "\n", 1, "does not start with a key id" },
		{ "k1 " HEX1 "\nk2\n", 2, "no key after the key id" },
		{ "k1 " HEX1 " " HEX2 "\n", 1, "is 129 characters, not 64" },
		{ "k1 " HEX1 "\nk2 " HEX2 "0\n", 2, "is 65 characters, not 64" },
		{ "k1 " HEX1 "\nk2 a" HEX2 "\n", 2, "is 65 characters, not 64" },
		{ "k1  " HEX1 "\n", 1, "is 65 characters, not 64" },
		{ "k1 " HEX1 " \n", 1, "is 65 characters, not 64" },
		{ "k1 0101\n", 1, "is 4 characters, not 64" },
		{ "k1 \n", 1, "is 0 characters, not 64" },
		{ "k1 A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2A2\n", 1,
		  "not 0-9 or a-f" },
		{ "k1 0101010101010101010101010101010101010101010101010101010101010g01\n", 1,
		  "not 0-9 or a-f" },
		{ "k1 " HEX1 "\nk2 " HEX2 "\nk1 " HEX3 "\n", 3, "key id 'k1' is on line 1 too" },
	};
	fixture *fx = *state;

	NEED_ROOT();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_refused(fx->path, cases[i].text, cases[i].line, cases[i].want);
}

static void a_nul_byte_is_refused(void **state)
{
	char text[] = "k1 " HEX1 "\n";
	fixture *fx = *state;

	NEED_ROOT();
	text[3 + 40] = '\0';
	expect_refused_n(fx->path, text, sizeof(text) - 1, 1, "not 0-9 or a-f");
}

static void an_empty_file_is_refused(void **state)
{
	fixture *fx = *state;

	NEED_ROOT();
	expect_refused(fx->path, "", 0, " is empty; it must hold at least one key");
}

static void seventeen_keys_are_refused(void **state)
{
	fixture *fx = *state;
	char text[SU_FLEETKEY_FILE_MAX], *p = text;

	NEED_ROOT();
	for (int i = 1; i <= SU_FLEETKEY_MAX + 1; i++)
		p += sprintf(p, "k%d %s\n", i, i % 2 ? HEX1 : HEX2);
	expect_refused(fx->path, text, SU_FLEETKEY_MAX + 1, "more than 16 keys");
	/* the sixteen before are a good file */
	*strstr(text, "k17 ") = '\0';
	put_file(fx->path, text);
	su_fleetkey_free(load_ok(fx->path));
}

/* --- the safe-file checks of a secret ---------------------------------------------- */

static void expect_unsafe(const char *path, const char *want)
{
	su_fleetkey *fk = NULL;
	char head[PATH_MAX + 32];
	int rc;
	char *msg = load_logged(path, &fk, &rc);

	assert_int_equal(rc, SU_ERR);
	assert_null(fk);
	snprintf(head, sizeof(head), PROG ": refusing %s: ", path);
	if (strncmp(msg, head, strlen(head)) != 0 || strstr(msg, want) == NULL)
		fail_msg("logged \"%s\", want \"%s...%s\"", msg, head, want);
	free(msg);
}

static void a_file_over_4_kib_is_refused(void **state)
{
	fixture *fx = *state;
	char text[SU_FLEETKEY_FILE_MAX + 1];

	NEED_ROOT();
	memset(text, 'a', sizeof(text));
	write_key_file(fx->path, text, sizeof(text), 0600, 0);
	expect_unsafe(fx->path, "larger than 4096 bytes");
}

static void a_file_readable_by_others_is_refused(void **state)
{
	fixture *fx = *state;
	const char *text = "k1 " HEX1 "\n";

	NEED_ROOT();
	write_key_file(fx->path, text, strlen(text), 0644, 0);
	expect_unsafe(fx->path, "mode");
	write_key_file(fx->path, text, strlen(text), 0640, 0);
	expect_unsafe(fx->path, "mode");
}

static void a_file_not_roots_is_refused(void **state)
{
	fixture *fx = *state;
	const char *text = "k1 " HEX1 "\n";

	NEED_ROOT();
	write_key_file(fx->path, text, strlen(text), 0600, NOBODY);
	expect_unsafe(fx->path, "not owned by root (uid 65534)");
}

static void a_symlink_is_refused(void **state)
{
	fixture *fx = *state;
	char target[PATH_MAX];

	NEED_ROOT();
	assert_true(snprintf(target, sizeof(target), "%s/real", fx->dir) < (int)sizeof(target));
	put_file(target, "k1 " HEX1 "\n");
	assert_int_equal(symlink("real", fx->path), 0);
	expect_unsafe(fx->path, "is a symbolic link");
}

static void a_missing_file_says_run_init(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk = (su_fleetkey *)1;
	int rc;
	char *msg;

	NEED_ROOT();
	msg = load_logged(fx->path, &fk, &rc);
	assert_int_equal(rc, SU_NOTFOUND);
	assert_null(fk);
	assert_non_null(strstr(msg, fx->path));
	assert_non_null(strstr(msg, "run 'stepupctl fleet-key init'"));
	free(msg);
}

/* --- sealing and opening -------------------------------------------------------------- */

static void a_sealed_secret_opens(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;
	char *a, *b;

	NEED_ROOT();
	put_file(fx->path, "k1 " HEX1 "\nk2 " HEX2 "\n");
	fk = load_ok(fx->path);
	a = seal(fk, "alice", secret20, sizeof(secret20));
	b = seal(fk, "alice", secret20, sizeof(secret20));
	/* 12 + 20 + 16 = 48 bytes: 64 characters of base64 */
	assert_int_equal(strncmp(a, "v1:k1:", 6), 0);
	assert_int_equal(strlen(a), 6 + 64);
	assert_string_not_equal(a, b); /* a fresh nonce each time */
	expect_opened(fk, "alice", a, secret20, sizeof(secret20));
	expect_opened(fk, "alice", b, secret20, sizeof(secret20));
	free(a);
	free(b);
	su_fleetkey_free(fk);
}

static void secrets_of_1_and_64_bytes_open_and_others_are_refused(void **state)
{
	fixture *fx = *state;
	unsigned char big[SU_FLEETKEY_SECRET_MAX + 1];
	su_fleetkey *fk;
	char *blob = (char *)1;

	NEED_ROOT();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(0xff - i);
	put_file(fx->path, "k1 " HEX1 "\n");
	fk = load_ok(fx->path);
	blob = seal(fk, "alice", big, SU_FLEETKEY_SECRET_MAX);
	/* 12 + 64 + 16 = 92 bytes: 124 characters with one "=" */
	assert_int_equal(strlen(blob), 6 + 124);
	assert_int_equal(blob[strlen(blob) - 1], '=');
	assert_int_not_equal(blob[strlen(blob) - 2], '=');
	expect_opened(fk, "alice", blob, big, SU_FLEETKEY_SECRET_MAX);
	free(blob);
	blob = seal(fk, "alice", big, 1); /* 29 bytes: one "=" */
	assert_int_equal(blob[strlen(blob) - 1], '=');
	assert_int_not_equal(blob[strlen(blob) - 2], '=');
	expect_opened(fk, "alice", blob, big, 1);
	free(blob);
	blob = seal(fk, "alice", big, 3); /* 31 bytes: "==" */
	assert_string_equal(blob + strlen(blob) - 2, "==");
	expect_opened(fk, "alice", blob, big, 3);
	free(blob);
	assert_int_equal(su_fleetkey_seal(fk, "alice", big, 0, &blob), SU_ERR);
	assert_null(blob);
	assert_int_equal(su_fleetkey_seal(fk, "alice", big, sizeof(big), &blob), SU_ERR);
	assert_null(blob);
	assert_int_equal(su_fleetkey_seal(fk, "", big, 20, &blob), SU_ERR);
	assert_int_equal(su_fleetkey_seal(fk, NULL, big, 20, &blob), SU_ERR);
	assert_int_equal(su_fleetkey_seal(NULL, "alice", big, 20, &blob), SU_ERR);
	assert_null(blob);
	su_fleetkey_free(fk);
}

static void another_users_blob_does_not_open(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;
	char *blob;

	NEED_ROOT();
	put_file(fx->path, "k1 " HEX1 "\n");
	fk = load_ok(fx->path);
	blob = seal(fk, "alice", secret20, sizeof(secret20));
	expect_not_opened(fk, "bob", blob, SU_FLEETKEY_SECRET_MAX, "authentication failed");
	expect_not_opened(fk, "alicex", blob, SU_FLEETKEY_SECRET_MAX, "authentication failed");
	expect_not_opened(fk, "Alice", blob, SU_FLEETKEY_SECRET_MAX, "authentication failed");
	free(blob);
	su_fleetkey_free(fk);
}

/* Every character of the base64 changed in turn: none opens. */
static void a_tampered_blob_does_not_open(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;
	char *blob;

	NEED_ROOT();
	/* the same key under two ids: only the additional data tells them apart */
	put_file(fx->path, "k1 " HEX1 "\nk2 " HEX1 "\n");
	fk = load_ok(fx->path);
	blob = seal(fk, "alice", secret20, sizeof(secret20));
	for (size_t i = 6; blob[i] != '\0'; i++) {
		char was = blob[i];

		blob[i] = was == 'A' ? 'B' : 'A';
		expect_not_opened(fk, "alice", blob, SU_FLEETKEY_SECRET_MAX,
				  "authentication failed");
		blob[i] = was;
	}
	/* moved to the other key id */
	blob[4] = '2';
	expect_not_opened(fk, "alice", blob, SU_FLEETKEY_SECRET_MAX, "authentication failed");
	blob[4] = '1';
	expect_opened(fk, "alice", blob, secret20, sizeof(secret20));
	free(blob);
	su_fleetkey_free(fk);
}

static void a_blob_of_an_unknown_key_id_names_it(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;
	char *blob;
	char want[PATH_MAX + 64];

	NEED_ROOT();
	put_file(fx->path, "gone " HEX1 "\n");
	fk = load_ok(fx->path);
	blob = seal(fk, "alice", secret20, sizeof(secret20));
	su_fleetkey_free(fk);
	put_file(fx->path, "k1 " HEX1 "\n"); /* the same key under another id */
	fk = load_ok(fx->path);
	snprintf(want, sizeof(want), "sealed under key id 'gone', which %s does not hold",
		 fx->path);
	expect_not_opened(fk, "alice", blob, SU_FLEETKEY_SECRET_MAX, want);
	free(blob);
	su_fleetkey_free(fk);
}

static void a_malformed_blob_says_what_is_wrong(void **state)
{
	static const struct {
		const char *blob;
		const char *want;
	} cases[] = {
		{ "", "not a v1 sealed secret" },
		{ "v1", "not a v1 sealed secret" },
		{ "v1:k1", "not a v1 sealed secret" },
		{ "v2:k1:AAAA", "not a v1 sealed secret" },
		{ "v1::AAAA", "not a v1 sealed secret" },
		{ "v1:K1:AAAA", "not a v1 sealed secret" },
		{ "JBSWY3DPEHPK3PXP", "not a v1 sealed secret" },
		{ "v1:k1:", "bad base64" },
		{ "v1:k1:AAA", "bad base64" },
		{ "v1:k1:AA A", "bad base64" },
		{ " v1:k1:AAAA", "not a v1 sealed secret" },
		{ "v1:k1: AAAAAAA", "bad base64" },
		{ "v1:k1:AAAA\n", "bad base64" },
		{ "v1:k1:AA=A", "bad base64" },
		{ "v1:k1:A===", "bad base64" },
		{ "v1:k1:AAA-", "bad base64" },
	};
	/* base64 of so many bytes: 28 are a nonce and a tag with no secret */
	static const struct {
		size_t chars;
		const char *want;
	} lengths[] = {
		{ 4, "wrong length (3 bytes" },
		{ 36, "wrong length (27 bytes" },
		{ 124, "wrong length (93 bytes" }, /* 65 bytes of secret */
		{ 128, "wrong length (longer than any sealed secret)" },
	};
	fixture *fx = *state;
	char blob[6 + 128 + 1] = "v1:k1:";
	su_fleetkey *fk;

	NEED_ROOT();
	put_file(fx->path, "k1 " HEX1 "\n");
	fk = load_ok(fx->path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_not_opened(fk, "alice", cases[i].blob, SU_FLEETKEY_SECRET_MAX,
				  cases[i].want);
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		memset(blob + 6, 'A', lengths[i].chars);
		blob[6 + lengths[i].chars] = '\0';
		expect_not_opened(fk, "alice", blob, SU_FLEETKEY_SECRET_MAX, lengths[i].want);
	}
	su_fleetkey_free(fk);
}

static void a_secret_larger_than_the_callers_buffer_is_refused(void **state)
{
	fixture *fx = *state;
	su_fleetkey *fk;
	char *blob;

	NEED_ROOT();
	put_file(fx->path, "k1 " HEX1 "\n");
	fk = load_ok(fx->path);
	blob = seal(fk, "alice", secret20, sizeof(secret20));
	expect_not_opened(fk, "alice", blob, 19, "wrong length (48 bytes");
	free(blob);
	su_fleetkey_free(fk);
}

/* --- making, rotating, retiring ----------------------------------------------------------- */

static char *file_text(const char *path)
{
	su_buf buf = {0};

	assert_int_equal(su_read_file(&test_log, path, SU_FILE_SECRET, 8192, &buf), SU_OK);
	return buf.data; /* the caller frees */
}

static void assert_root_0600(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void create_makes_one_key_and_never_replaces(void **state)
{
	fixture *fx = *state;
	char kid[SU_FLEETKEY_KID_MAX + 1], again[SU_FLEETKEY_KID_MAX + 1];
	su_fleetkey *fk;
	char *before, *after;

	NEED_ROOT();
	assert_int_equal(su_fleetkey_create(&test_log, fx->path, kid), SU_OK);
	assert_int_equal(strlen(kid), 8);
	assert_int_equal(strspn(kid, "0123456789abcdef"), 8);
	assert_root_0600(fx->path);
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), 1);
	assert_string_equal(su_fleetkey_current(fk), kid);
	su_fleetkey_free(fk);
	before = file_text(fx->path);
	assert_int_equal(strlen(before), 8 + 1 + 64 + 1);
	assert_int_equal(su_fleetkey_create(&test_log, fx->path, again), SU_EXISTS);
	after = file_text(fx->path);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void rotate_and_retire_as_an_old_blob_sees_them(void **state)
{
	fixture *fx = *state;
	char first[SU_FLEETKEY_KID_MAX + 1], second[SU_FLEETKEY_KID_MAX + 1];
	su_fleetkey *fk;
	char *old_blob, *new_blob, *before, *after;
	capture cap;
	char *msg;

	NEED_ROOT();
	assert_int_equal(su_fleetkey_create(&test_log, fx->path, first), SU_OK);
	fk = load_ok(fx->path);
	old_blob = seal(fk, "alice", secret20, sizeof(secret20));
	su_fleetkey_free(fk);

	assert_int_equal(su_fleetkey_rotate(&test_log, fx->path, second), SU_OK);
	assert_string_not_equal(first, second);
	assert_root_0600(fx->path);
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), 2);
	assert_string_equal(su_fleetkey_current(fk), second);
	assert_string_equal(su_fleetkey_kid(fk, 1), first);
	expect_opened(fk, "alice", old_blob, secret20, sizeof(secret20));
	new_blob = seal(fk, "alice", secret20, sizeof(secret20));
	assert_int_equal(strncmp(new_blob + 3, second, strlen(second)), 0);
	su_fleetkey_free(fk);

	/* the current key cannot go, nor one the file does not hold */
	before = file_text(fx->path);
	capture_begin(&cap);
	assert_int_equal(su_fleetkey_retire(&test_log, fx->path, second), SU_ERR);
	assert_int_equal(su_fleetkey_retire(&test_log, fx->path, "nosuch"), SU_NOTFOUND);
	msg = capture_end(&cap);
	assert_non_null(strstr(msg, "is the current key"));
	assert_non_null(strstr(msg, "holds no key with the id 'nosuch'"));
	assert_no_key_material(msg, before, strlen(before));
	free(msg);
	after = file_text(fx->path);
	assert_string_equal(before, after);
	free(before);
	free(after);

	assert_int_equal(su_fleetkey_retire(&test_log, fx->path, first), SU_OK);
	assert_root_0600(fx->path);
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), 1);
	assert_string_equal(su_fleetkey_current(fk), second);
	expect_not_opened(fk, "alice", old_blob, SU_FLEETKEY_SECRET_MAX, first);
	expect_opened(fk, "alice", new_blob, secret20, sizeof(secret20));
	su_fleetkey_free(fk);
	free(old_blob);
	free(new_blob);
}

static void rotate_stops_at_16_keys(void **state)
{
	fixture *fx = *state;
	char kid[SU_FLEETKEY_KID_MAX + 1];
	char *before, *after, *msg;
	capture cap;
	su_fleetkey *fk;

	NEED_ROOT();
	assert_int_equal(su_fleetkey_create(&test_log, fx->path, kid), SU_OK);
	for (int i = 1; i < SU_FLEETKEY_MAX; i++)
		assert_int_equal(su_fleetkey_rotate(&test_log, fx->path, kid), SU_OK);
	fk = load_ok(fx->path);
	assert_int_equal(su_fleetkey_count(fk), SU_FLEETKEY_MAX);
	su_fleetkey_free(fk);
	before = file_text(fx->path);
	capture_begin(&cap);
	assert_int_equal(su_fleetkey_rotate(&test_log, fx->path, kid), SU_ERR);
	msg = capture_end(&cap);
	assert_non_null(strstr(msg, "holds 16 keys, the most it may; retire"));
	assert_no_key_material(msg, before, strlen(before));
	after = file_text(fx->path);
	assert_string_equal(before, after);
	free(msg);
	free(before);
	free(after);
}

static void rotate_of_a_missing_or_bad_file_writes_nothing(void **state)
{
	fixture *fx = *state;
	char kid[SU_FLEETKEY_KID_MAX + 1];
	struct stat st;
	capture cap;
	char *msg;

	NEED_ROOT();
	capture_begin(&cap);
	assert_int_equal(su_fleetkey_rotate(&test_log, fx->path, kid), SU_NOTFOUND);
	put_file(fx->path, "k1 " HEX1 "\n\n");
	assert_int_equal(su_fleetkey_rotate(&test_log, fx->path, kid), SU_ERR);
	assert_int_equal(su_fleetkey_retire(&test_log, fx->path, "k1"), SU_ERR);
	msg = capture_end(&cap);
	assert_non_null(strstr(msg, "run 'stepupctl fleet-key init'"));
	assert_non_null(strstr(msg, ":2: a blank line"));
	free(msg);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, 3 + 64 + 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(one_key_is_read),
		T(three_keys_are_read_current_first),
		T(each_malformed_line_is_refused_with_its_line),
		T(a_nul_byte_is_refused),
		T(an_empty_file_is_refused),
		T(seventeen_keys_are_refused),
		T(a_file_over_4_kib_is_refused),
		T(a_file_readable_by_others_is_refused),
		T(a_file_not_roots_is_refused),
		T(a_symlink_is_refused),
		T(a_missing_file_says_run_init),
		T(a_sealed_secret_opens),
		T(secrets_of_1_and_64_bytes_open_and_others_are_refused),
		T(another_users_blob_does_not_open),
		T(a_tampered_blob_does_not_open),
		T(a_blob_of_an_unknown_key_id_names_it),
		T(a_malformed_blob_says_what_is_wrong),
		T(a_secret_larger_than_the_callers_buffer_is_refused),
		T(create_makes_one_key_and_never_replaces),
		T(rotate_and_retire_as_an_old_blob_sees_them),
		T(rotate_stops_at_16_keys),
		T(rotate_of_a_missing_or_bad_file_writes_nothing),
	};

	return cmocka_run_group_tests_name("fleetkey", tests, NULL, NULL);
}
