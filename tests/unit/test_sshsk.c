/* Unit tests: OpenSSH security-key lines, fingerprints, the challenge and
 * signature verification (sshsk.c), and the agent message parsers
 * (sshagent.c).
 *
 * The fixtures were made once by the real OpenSSH 9.2 tools with the
 * software key tests/helpers/sk_soft: the key lines by ssh-keygen -t
 * ecdsa-sk / ed25519-sk -w sk_soft.so, their fingerprints as ssh-keygen
 * -lf printed them, and the signatures by a real ssh-agent (ssh-add -S
 * sk_soft.so) asked with SSH_AGENTC_SIGN_REQUEST to sign CHALLENGE below,
 * which a short Python script built independently of sshsk.c, under the
 * sk_soft modes named beside each. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <openssl/evp.h>
#include "sshagent.h"
#include "sshsk.h"
#include "sshwire.h"

static const char ECDSA_LINE[] =
	"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20"
	"AAAAIbmlzdHAyNTYAAABBBNjUA9VKEjkl6G59Gyk6DIVMQOxTvO1cU7CBPyhKOybX3XOF1+Di73VXk2RBO62hhDr"
	"NUryhmvV/7Z6JwXeYYsQAAAAEc3NoOg== root@vm\n";
static const char ECDSA_FP[] = "SHA256:R0VLAHPWcTXNNzAgTq2Cw/jmrYbwXAmIHnZTvsLj/QU";
static const char ED25519_LINE[] =
	"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0RK46to9Uv7"
	"IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo= root@vm";
static const char ED25519_FP[] = "SHA256:MJSovH5eDH8hNC8Xh71j13Foh/INAbGZSDnxspUl9dE";
/* ssh-keygen -t ecdsa (not a security key): its point, for "another key". */
static const char PLAIN_ECDSA_LINE[] =
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHkh/M6nQdicS2C"
	"BfgRcOpDf0nRe/Kg1AOWVyN7L1QSG1S46ZetIHPRHnNvD1PxkFX/+itodLHkzbSSgo+TmOKc= x";
static const char PLAIN_ED25519_LINE[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINk6oqLQOpbauuoiwIQ/1gVyetEqBPrP9kvjPzUb7qXo x";

/* sk_soft up=1 counter=7 */
static const char ECDSA_SIG_UP[] =
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAABKAAAAIQDjFSNOhHU6fuk83H6YcxhEwRp"
	"VtHoN9cl/2mZaW6/hKQAAACEA/fh56y4vcWcwv8/J0WJWW++Fgw3ulsLD2Bri14PsgFABAAAABw==";
static const char ED25519_SIG_UP[] =
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAQMezF/R++7K6yeMdu/x2lqTW82NbL/1H2sx+9csBHyA"
	"lEg9nHvb98AK1vS/QltDzqUL7VsEOvYfzEqu8Ns33rQIBAAAABw==";
/* up=0 counter=8 */
static const char ECDSA_SIG_NOUP[] =
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAABKAAAAIQDkhg0eAWR994jLG/aJGHwSSUH"
	"5pNNxKj83RyTJpCEkKAAAACEAnrhppprZErTjQP1o8TFh59mRa73ok4UVvP1+GaxhNjMAAAAACA==";
static const char ED25519_SIG_NOUP[] =
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAQNXOn1lWxaZh0yrXS5167z1TP0aszY85I4CYLKjDgGH"
	"DAV6MQGvjw0ClAq3b7/QeQ6+6BYvx6MRixHDCkNU2rAIAAAAACA==";
/* up=1 uv=1 counter=9 */
static const char ECDSA_SIG_UV[] =
	"AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAABIAAAAIF7NbCcoO3gopBkcnvdC5efc0sm"
	"J5lfmt4qymVF1QF9sAAAAIBex/Yd6lwC2jC2x9obB8IwWkIG3VvyvWCrsXwGbM0TwBQAAAAk=";
static const char ED25519_SIG_UV[] =
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAQNSF9hm/lMwwrqiImHqm0h7ZGOr802XRoHhNSman72q"
	"mLtJY26+KYfWjcWsxMwG61pxT9ubZhXyBBArXhF8F3wUFAAAACQ==";

#define NOW ((uint64_t)1767225600)

static size_t b64(const char *in, unsigned char *out, size_t size)
{
	size_t len = strlen(in), pad = 0;
	int n;

	assert_true(len / 4 * 3 <= size);
	while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
		pad++;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	assert_true(n >= (int)pad);
	return (size_t)n - pad;
}

static void parse(const char *line, su_sshsk_key *key)
{
	char why[256] = "";

	if (su_sshsk_parse_line(line, key, why, sizeof(why)) != 0)
		fail_msg("refused: %s", why);
}

/* The challenge of the fixtures: nonce 0..31, host, sudo, alice, NOW. */
static void challenge(unsigned char **msg, size_t *len)
{
	unsigned char nonce[SU_SSHSK_NONCE_BYTES];

	for (int i = 0; i < SU_SSHSK_NONCE_BYTES; i++)
		nonce[i] = (unsigned char)i;
	assert_int_equal(su_sshsk_challenge(nonce, "host", "sudo", "alice", NOW, msg, len), 0);
}

/* --- key lines ------------------------------------------------------------ */

static void parses_ecdsa_sk_line(void **state)
{
	su_sshsk_key key;

	(void)state;
	parse(ECDSA_LINE, &key);
	assert_int_equal(key.type, SU_SSHSK_ECDSA);
	assert_int_equal(key.pub_len, 65);
	assert_int_equal(key.pub[0], 0x04);
	assert_string_equal(key.application, "ssh:");
	assert_non_null(key.blob);
	su_sshsk_key_free(&key);
	assert_null(key.blob);
	su_sshsk_key_free(&key); /* a cleared key */
	su_sshsk_key_free(NULL);
}

static void parses_ed25519_sk_line(void **state)
{
	su_sshsk_key key;

	(void)state;
	parse(ED25519_LINE, &key);
	assert_int_equal(key.type, SU_SSHSK_ED25519);
	assert_int_equal(key.pub_len, 32);
	assert_string_equal(key.application, "ssh:");
	su_sshsk_key_free(&key);
	/* Blanks around, no comment. */
	parse("  sk-ssh-ed25519@openssh.com\tAAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0"
	      "RK46to9Uv7IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo=  \r\n", &key);
	su_sshsk_key_free(&key);
}

static void fingerprints_are_ssh_keygens(void **state)
{
	su_sshsk_key key;
	char fp[SU_SSHSK_FP_SIZE];

	(void)state;
	parse(ECDSA_LINE, &key);
	assert_int_equal(su_sshsk_fingerprint(&key, fp), 0);
	assert_string_equal(fp, ECDSA_FP);
	su_sshsk_key_free(&key);
	parse(ED25519_LINE, &key);
	assert_int_equal(su_sshsk_fingerprint(&key, fp), 0);
	assert_string_equal(fp, ED25519_FP);
	su_sshsk_key_free(&key);
	assert_int_equal(su_sshsk_fingerprint(&key, fp), -1); /* freed: no blob */
}

/* A key blob made here: type, [curve], public key, application. */
static size_t make_blob(unsigned char *out, const char *type, const unsigned char *pub,
			size_t pub_len, const char *app)
{
	unsigned char *p = out;
	const char *parts[3] = {type, strcmp(type, SU_SSHSK_ECDSA_NAME) == 0 ? "nistp256" : NULL,
				NULL};

	for (int i = 0; i < 2 && parts[i] != NULL; i++) {
		su_wire_put_u32(p, (uint32_t)strlen(parts[i]));
		memcpy(p + 4, parts[i], strlen(parts[i]));
		p += 4 + strlen(parts[i]);
	}
	su_wire_put_u32(p, (uint32_t)pub_len);
	memcpy(p + 4, pub, pub_len);
	p += 4 + pub_len;
	su_wire_put_u32(p, (uint32_t)strlen(app));
	memcpy(p + 4, app, strlen(app));
	p += 4 + strlen(app);
	return (size_t)(p - out);
}

static void refuses_other_lines(void **state)
{
	static const char *const bad[] = {
		PLAIN_ECDSA_LINE,
		PLAIN_ED25519_LINE,
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ x",
		"",
		"   \n",
		"sk-ssh-ed25519@openssh.com",
		"sk-ssh-ed25519@openssh.com not!base64",
		"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", /* truncated */
		"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0RK46to"
		"9Uv7IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo", /* padding dropped */
		/* the ecdsa type word before an ed25519 key */
		"sk-ecdsa-sha2-nistp256@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AH"
		"o0RK46to9Uv7IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo=",
		/* options before the key */
		"no-touch-required sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t"
		"AAAAIO/5AHo0RK46to9Uv7IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo=",
		"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0RK46to"
		"9Uv7IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo= x\001y", /* control character */
	};
	su_sshsk_key key;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (su_sshsk_parse_line(bad[i], &key, why, sizeof(why)) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(key.blob);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(su_sshsk_parse_line(NULL, &key, why, sizeof(why)), -1);
	/* The reason names the types wanted, never the line's (it may be
	 * another file's, through a symbolic link). */
	assert_int_equal(su_sshsk_parse_line(PLAIN_ED25519_LINE, &key, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a security-key public key"));
	assert_null(strstr(why, "ssh-ed25519 "));
	assert_int_equal(su_sshsk_parse_line("root:$y$j9T$SECRETTOKEN:19000:0:99999:7:::", &key,
					     why, sizeof(why)), -1);
	assert_null(strstr(why, "SECRETTOKEN"));
	assert_int_equal(su_sshsk_parse_line("\x9b\x32J key", &key, why, sizeof(why)), -1);
	for (const char *c = why; *c != '\0'; c++)
		assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
	/* An overlong line. */
	{
		char *line = malloc(SU_SSHSK_LINE_MAX + 10);

		assert_non_null(line);
		memset(line, 'A', SU_SSHSK_LINE_MAX + 9);
		line[SU_SSHSK_LINE_MAX + 9] = '\0';
		assert_int_equal(su_sshsk_parse_line(line, &key, why, sizeof(why)), -1);
		free(line);
	}
}

static void refuses_bad_blobs(void **state)
{
	unsigned char good[256], blob[512], pt[65];
	su_sshsk_key key, ok;
	char why[256];
	size_t n, len;

	(void)state;
	parse(ECDSA_LINE, &ok);
	memcpy(pt, ok.pub, 65);
	n = make_blob(good, SU_SSHSK_ECDSA_NAME, pt, 65, "ssh:");
	assert_int_equal(n, ok.blob_len);
	assert_memory_equal(good, ok.blob, n);
	assert_int_equal(su_sshsk_parse_blob(good, n, &key, why, sizeof(why)), 0);
	assert_true(su_sshsk_key_is(&ok, key.blob, key.blob_len));
	su_sshsk_key_free(&key);
	/* Every shorter prefix, and one byte more. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(su_sshsk_parse_blob(good, i, &key, why, sizeof(why)), -1);
	memcpy(blob, good, n);
	blob[n] = 0;
	assert_int_equal(su_sshsk_parse_blob(blob, n + 1, &key, why, sizeof(why)), -1);
	/* A point off the curve. */
	pt[64] ^= 1;
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, pt, 65, "ssh:");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)), -1);
	assert_string_equal(why, "not a valid public key");
	pt[64] ^= 1;
	/* A compressed point, an application that is not ssh:, one with a
	 * NUL, the wrong curve. */
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, pt, 33, "ssh:");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)), -1);
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, pt, 65, "https://example.com");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)), -1);
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, pt, 65, "ssh:");
	blob[len - 1] = '\0';
	assert_int_equal(su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)), -1);
	memcpy(blob, good, n);
	blob[4 + 34 + 4 + 7] = '4'; /* nistp256 -> nistp254 */
	assert_int_equal(su_sshsk_parse_blob(blob, n, &key, why, sizeof(why)), -1);
	/* An Ed25519 key of 31 bytes. */
	len = make_blob(blob, SU_SSHSK_ED25519_NAME, pt, 31, "ssh:");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)), -1);
	assert_false(su_sshsk_key_is(&ok, blob, len));
	assert_false(su_sshsk_key_is(&ok, NULL, 0));
	su_sshsk_key_free(&ok);
}

/* --- the challenge --------------------------------------------------------- */

/* Ed25519 keys of small order (R = the key's point and S = 0 verify for
 * any message with them) and non-canonical encodings are refused: when
 * parsed, and when a key somehow made of them is asked to verify. */
static void refuses_small_order_ed25519_keys(void **state)
{
	static const unsigned char weak[][32] = {
		{0x01},                                               /* neutral */
		{0x01, [31] = 0x80},                                  /* the same, x sign set */
		{0x00},                                               /* order 4 */
		{0x00, [31] = 0x80},                                  /* order 4, -x */
		{0xec, [1 ... 30] = 0xff, [31] = 0x7f},               /* order 2 */
		{0xed, [1 ... 30] = 0xff, [31] = 0x7f},               /* y = p */
		{0xee, [1 ... 30] = 0xff, [31] = 0xff},               /* y = p + 1 */
		{0xff, [1 ... 30] = 0xff, [31] = 0x7f},               /* y = 2^255 - 1 */
		{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
		 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
		 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, /* order 8 */
		{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
		 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
		 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa}, /* order 8, -x */
	};
	static const char *const msgs[] = {"anything", "step up", ""};
	unsigned char blob[512], sig[256], *p;
	su_sshsk_key key, ok;
	char why[256];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		len = make_blob(blob, SU_SSHSK_ED25519_NAME, weak[i], 32, "ssh:");
		if (su_sshsk_parse_blob(blob, len, &key, why, sizeof(why)) != -1)
			fail_msg("weak key %zu parsed", i);
		assert_string_equal(why, "not a valid public key");
	}
	/* The key 01 00..00 made by hand (as a record read back would hold
	 * it), and the signature R = that point, S = 0, touched: refused
	 * over any message. */
	parse(ED25519_LINE, &ok);
	memset(&key, 0, sizeof(key));
	key.type = SU_SSHSK_ED25519;
	memcpy(key.pub, weak[0], 32);
	key.pub_len = 32;
	key.application = ok.application;
	p = sig;
	su_wire_put_u32(p, (uint32_t)strlen(SU_SSHSK_ED25519_NAME));
	memcpy(p + 4, SU_SSHSK_ED25519_NAME, strlen(SU_SSHSK_ED25519_NAME));
	p += 4 + strlen(SU_SSHSK_ED25519_NAME);
	su_wire_put_u32(p, 64);
	memset(p + 4, 0, 64);
	p[4] = 0x01; /* R = 01 00..00, S = 0 */
	p += 4 + 64;
	*p++ = SU_SSHSK_FLAG_UP;
	su_wire_put_u32(p, 7);
	p += 4;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		uint8_t flags = 0;
		uint32_t counter = 0;

		assert_int_equal(su_sshsk_verify(&key, (const unsigned char *)msgs[i],
						 strlen(msgs[i]) + 1, sig, (size_t)(p - sig), false,
						 &flags, &counter, why, sizeof(why)),
				 SU_SSHSK_INVALID);
	}
	su_sshsk_key_free(&ok);
}

static void challenge_is_unambiguous(void **state)
{
	unsigned char nonce[SU_SSHSK_NONCE_BYTES] = {0}, *a, *b, *m;
	size_t al, bl, ml;

	(void)state;
	challenge(&m, &ml);
	/* magic 29 + nonce 36 + "host" 8 + "sudo" 8 + "alice" 9 + time 8 */
	assert_int_equal(ml, 29 + 36 + 8 + 8 + 9 + 8);
	assert_memory_equal(m, "pam_stepup-sshsk-challenge-v1\0\0\0\x20\0\x01", 35);
	assert_memory_equal(m + ml - 8, "\0\0\0\0\x69\x55\xb9\x00", 8);
	free(m);
	assert_int_equal(su_sshsk_challenge(nonce, "ab", "c", "u", NOW, &a, &al), 0);
	assert_int_equal(su_sshsk_challenge(nonce, "a", "bc", "u", NOW, &b, &bl), 0);
	assert_true(al == bl && memcmp(a, b, al) != 0);
	free(a);
	free(b);
	assert_int_equal(su_sshsk_challenge(NULL, "a", "b", "c", NOW, &a, &al), -1);
	assert_int_equal(su_sshsk_challenge(nonce, NULL, "b", "c", NOW, &a, &al), -1);
	assert_null(a);
}

/* --- signatures ------------------------------------------------------------ */

static enum su_sshsk_verdict verify(const char *line, const char *sig_b64, bool uv,
				    uint8_t *flags, uint32_t *counter)
{
	unsigned char sig[512], *msg;
	size_t sig_len, msg_len;
	su_sshsk_key key;
	char why[256] = "";
	enum su_sshsk_verdict v;

	parse(line, &key);
	sig_len = b64(sig_b64, sig, sizeof(sig));
	challenge(&msg, &msg_len);
	v = su_sshsk_verify(&key, msg, msg_len, sig, sig_len, uv, flags, counter, why,
			    sizeof(why));
	assert_true(v == SU_SSHSK_VALID || why[0] != '\0');
	free(msg);
	su_sshsk_key_free(&key);
	return v;
}

static void verifies_touched_signatures(void **state)
{
	uint8_t flags = 0;
	uint32_t counter = 0;

	(void)state;
	assert_int_equal(verify(ECDSA_LINE, ECDSA_SIG_UP, false, &flags, &counter), SU_SSHSK_VALID);
	assert_int_equal(flags, 0x01);
	assert_int_equal(counter, 7);
	counter = 0;
	assert_int_equal(verify(ED25519_LINE, ED25519_SIG_UP, false, &flags, &counter),
			 SU_SSHSK_VALID);
	assert_int_equal(flags, 0x01);
	assert_int_equal(counter, 7);
}

static void refuses_untouched_signatures(void **state)
{
	uint8_t flags = 0xee;
	uint32_t counter = 1234;

	(void)state;
	assert_int_equal(verify(ECDSA_LINE, ECDSA_SIG_NOUP, false, &flags, &counter),
			 SU_SSHSK_NO_PRESENCE);
	assert_int_equal(verify(ED25519_LINE, ED25519_SIG_NOUP, false, &flags, &counter),
			 SU_SSHSK_NO_PRESENCE);
	/* Out parameters untouched on a refusal. */
	assert_int_equal(flags, 0xee);
	assert_int_equal(counter, 1234);
}

static void user_verification_when_required(void **state)
{
	uint8_t flags = 0;
	uint32_t counter = 0;

	(void)state;
	assert_int_equal(verify(ECDSA_LINE, ECDSA_SIG_UP, true, &flags, &counter),
			 SU_SSHSK_NO_VERIFICATION);
	assert_int_equal(verify(ED25519_LINE, ED25519_SIG_UP, true, &flags, &counter),
			 SU_SSHSK_NO_VERIFICATION);
	assert_int_equal(verify(ECDSA_LINE, ECDSA_SIG_UV, true, &flags, &counter),
			 SU_SSHSK_VALID);
	assert_int_equal(flags, 0x05);
	assert_int_equal(counter, 9);
	assert_int_equal(verify(ED25519_LINE, ED25519_SIG_UV, true, &flags, &counter),
			 SU_SSHSK_VALID);
	assert_int_equal(verify(ED25519_LINE, ED25519_SIG_UV, false, &flags, &counter),
			 SU_SSHSK_VALID);
}

static void refuses_other_keys_and_types(void **state)
{
	unsigned char sig[512], blob[256], plain[256], *msg;
	size_t sig_len, msg_len, len;
	su_sshsk_key key, other;
	char why[256];
	uint8_t flags;
	uint32_t counter;

	(void)state;
	/* Another type's signature. */
	assert_int_equal(verify(ECDSA_LINE, ED25519_SIG_UP, false, &flags, &counter),
			 SU_SSHSK_INVALID);
	assert_int_equal(verify(ED25519_LINE, ECDSA_SIG_UP, false, &flags, &counter),
			 SU_SSHSK_INVALID);
	challenge(&msg, &msg_len);
	sig_len = b64(ECDSA_SIG_UP, sig, sizeof(sig));
	/* Another ecdsa-sk key (the point of a plain ECDSA key). */
	(void)b64("AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHkh/M6nQdicS2C"
		  "BfgRcOpDf0nRe/Kg1AOWVyN7L1QSG1S46ZetIHPRHnNvD1PxkFX/+itodLHkzbSSgo+TmOKc=",
		  plain, sizeof(plain));
	parse(ECDSA_LINE, &key);
	/* plain: string type (4+19), string curve (4+8), string Q (4+65) */
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, plain + 4 + 19 + 4 + 8 + 4, 65, "ssh:");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &other, why, sizeof(why)), 0);
	assert_int_equal(su_sshsk_verify(&other, msg, msg_len, sig, sig_len, false, &flags,
					 &counter, why, sizeof(why)),
			 SU_SSHSK_INVALID);
	assert_string_equal(why, "the signature does not verify with the key");
	su_sshsk_key_free(&other);
	/* The same key under another application. */
	len = make_blob(blob, SU_SSHSK_ECDSA_NAME, key.pub, 65, "ssh:other");
	assert_int_equal(su_sshsk_parse_blob(blob, len, &other, why, sizeof(why)), 0);
	assert_int_equal(su_sshsk_verify(&other, msg, msg_len, sig, sig_len, false, &flags,
					 &counter, why, sizeof(why)),
			 SU_SSHSK_INVALID);
	su_sshsk_key_free(&other);
	/* Another message (another time in the challenge). */
	msg[msg_len - 1] ^= 1;
	assert_int_equal(su_sshsk_verify(&key, msg, msg_len, sig, sig_len, false, &flags,
					 &counter, why, sizeof(why)),
			 SU_SSHSK_INVALID);
	msg[msg_len - 1] ^= 1;
	assert_int_equal(su_sshsk_verify(&key, msg, msg_len, sig, sig_len, false, &flags,
					 &counter, why, sizeof(why)),
			 SU_SSHSK_VALID);
	assert_int_equal(su_sshsk_verify(&key, msg, msg_len, NULL, 0, false, &flags, &counter,
					 why, sizeof(why)),
			 SU_SSHSK_INVALID);
	su_sshsk_key_free(&key);
	free(msg);
}

/* Every prefix, every byte flipped, a byte more: never valid, no crash. */
static void refuses_mangled_signatures(void **state)
{
	const char *lines[] = {ECDSA_LINE, ED25519_LINE};
	const char *sigs[] = {ECDSA_SIG_UP, ED25519_SIG_UP};

	(void)state;
	for (int k = 0; k < 2; k++) {
		unsigned char sig[512], *msg;
		size_t sig_len, msg_len;
		su_sshsk_key key;
		char why[256];
		uint8_t flags;
		uint32_t counter;

		parse(lines[k], &key);
		challenge(&msg, &msg_len);
		sig_len = b64(sigs[k], sig, sizeof(sig));
		for (size_t i = 0; i < sig_len; i++)
			assert_int_equal(su_sshsk_verify(&key, msg, msg_len, sig, i, false, &flags,
							 &counter, why, sizeof(why)),
					 SU_SSHSK_INVALID);
		for (size_t i = 0; i < sig_len; i++)
			for (int bit = 0; bit < 8; bit++) {
				sig[i] ^= (unsigned char)(1 << bit);
				assert_int_not_equal(su_sshsk_verify(&key, msg, msg_len, sig,
								     sig_len, false, &flags,
								     &counter, why, sizeof(why)),
						     SU_SSHSK_VALID);
				sig[i] ^= (unsigned char)(1 << bit);
			}
		sig[sig_len] = 0;
		assert_int_equal(su_sshsk_verify(&key, msg, msg_len, sig, sig_len + 1, false,
						 &flags, &counter, why, sizeof(why)),
				 SU_SSHSK_INVALID);
		free(msg);
		su_sshsk_key_free(&key);
	}
}

/* r with a needless leading zero byte: the same number, not the one
 * encoding OpenSSH accepts; refused. */
static void refuses_non_canonical_mpint(void **state)
{
	unsigned char sig[512], out[520], *msg;
	size_t sig_len, msg_len, type_end;
	su_sshsk_key key;
	char why[256];
	uint8_t flags;
	uint32_t counter;

	(void)state;
	parse(ECDSA_LINE, &key);
	challenge(&msg, &msg_len);
	sig_len = b64(ECDSA_SIG_UP, sig, sizeof(sig));
	/* sig: string type (4+34), string inner (4 + (4+33) + (4+33)), ...;
	 * r is 33 bytes (0x00 then a high bit): prefix another 0x00. */
	type_end = 4 + 34;
	assert_int_equal(su_wire_peek_u32(sig + type_end + 4), 33);
	memcpy(out, sig, type_end);
	su_wire_put_u32(out + type_end, su_wire_peek_u32(sig + type_end) + 1);
	su_wire_put_u32(out + type_end + 4, 34);
	out[type_end + 8] = 0;
	memcpy(out + type_end + 9, sig + type_end + 8, sig_len - type_end - 8);
	assert_int_equal(su_sshsk_verify(&key, msg, msg_len, out, sig_len + 1, false, &flags,
					 &counter, why, sizeof(why)),
			 SU_SSHSK_INVALID);
	assert_string_equal(why, "malformed ECDSA signature");
	free(msg);
	su_sshsk_key_free(&key);
}

static void counter_check(void **state)
{
	(void)state;
	assert_int_equal(su_sshsk_counter_check(0, 0), SU_SSHSK_COUNTER_NONE);
	assert_int_equal(su_sshsk_counter_check(0, 1), SU_SSHSK_COUNTER_OK);
	assert_int_equal(su_sshsk_counter_check(7, 8), SU_SSHSK_COUNTER_OK);
	assert_int_equal(su_sshsk_counter_check(7, 7), SU_SSHSK_COUNTER_BACKWARDS);
	assert_int_equal(su_sshsk_counter_check(7, 3), SU_SSHSK_COUNTER_BACKWARDS);
	assert_int_equal(su_sshsk_counter_check(7, 0), SU_SSHSK_COUNTER_BACKWARDS);
	assert_int_equal(su_sshsk_counter_check(UINT32_MAX, UINT32_MAX),
			 SU_SSHSK_COUNTER_BACKWARDS);
}

/* --- agent messages ---------------------------------------------------------- */

static size_t put_str(unsigned char *p, const void *s, size_t len)
{
	su_wire_put_u32(p, (uint32_t)len);
	memcpy(p + 4, s, len);
	return 4 + len;
}

static void parses_identities_answer(void **state)
{
	unsigned char msg[256];
	size_t n = 0;
	su_agent_ids ids;
	char why[256];

	(void)state;
	msg[n++] = SU_AGENT_IDENTITIES_ANSWER;
	su_wire_put_u32(msg + n, 2);
	n += 4;
	n += put_str(msg + n, "blob1", 5);
	n += put_str(msg + n, "one", 3);
	n += put_str(msg + n, "b2", 2);
	n += put_str(msg + n, "", 0);
	assert_int_equal(su_agent_parse_identities(msg, n, &ids, why, sizeof(why)), 0);
	assert_int_equal(ids.count, 2);
	assert_int_equal(ids.ids[0].blob_len, 5);
	assert_memory_equal(ids.ids[0].blob, "blob1", 5);
	assert_string_equal(ids.ids[0].comment, "one");
	assert_string_equal(ids.ids[1].comment, "");
	su_agent_ids_free(&ids);
	assert_null(ids.ids);
	/* Every prefix, a byte more, another type, a count too large. */
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(su_agent_parse_identities(msg, i, &ids, why, sizeof(why)), -1);
		assert_null(ids.ids);
	}
	msg[n] = 0;
	assert_int_equal(su_agent_parse_identities(msg, n + 1, &ids, why, sizeof(why)), -1);
	msg[0] = SU_AGENT_FAILURE;
	assert_int_equal(su_agent_parse_identities(msg, n, &ids, why, sizeof(why)), -1);
	msg[0] = SU_AGENT_IDENTITIES_ANSWER;
	su_wire_put_u32(msg + 1, SU_AGENT_IDS_MAX + 1);
	assert_int_equal(su_agent_parse_identities(msg, n, &ids, why, sizeof(why)), -1);
	su_wire_put_u32(msg + 1, 0xffffffffu);
	assert_int_equal(su_agent_parse_identities(msg, n, &ids, why, sizeof(why)), -1);
	su_wire_put_u32(msg + 1, 0);
	assert_int_equal(su_agent_parse_identities(msg, 5, &ids, why, sizeof(why)), 0);
	assert_int_equal(ids.count, 0);
	su_agent_ids_free(&ids);
}

static void parses_sign_response(void **state)
{
	unsigned char msg[64], *sig;
	size_t n = 0, sig_len;
	char why[256];

	(void)state;
	msg[n++] = SU_AGENT_SIGN_RESPONSE;
	n += put_str(msg + n, "signature", 9);
	assert_int_equal(su_agent_parse_sign_response(msg, n, &sig, &sig_len, why, sizeof(why)),
			 0);
	assert_int_equal(sig_len, 9);
	assert_memory_equal(sig, "signature", 9);
	free(sig);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(su_agent_parse_sign_response(msg, i, &sig, &sig_len, why,
							      sizeof(why)),
				 -1);
		assert_null(sig);
	}
	msg[n] = 0;
	assert_int_equal(
		su_agent_parse_sign_response(msg, n + 1, &sig, &sig_len, why, sizeof(why)), -1);
	msg[0] = SU_AGENT_FAILURE;
	assert_int_equal(su_agent_parse_sign_response(msg, 1, &sig, &sig_len, why, sizeof(why)),
			 1);
	assert_int_equal(su_agent_parse_sign_response(msg, 2, &sig, &sig_len, why, sizeof(why)),
			 -1);
	msg[0] = SU_AGENT_IDENTITIES_ANSWER;
	assert_int_equal(su_agent_parse_sign_response(msg, n, &sig, &sig_len, why, sizeof(why)),
			 -1);
}

static void builds_sign_request(void **state)
{
	unsigned char *req;
	size_t len;

	(void)state;
	assert_int_equal(su_agent_sign_request((const unsigned char *)"key", 3,
					       (const unsigned char *)"data", 4, &req, &len),
			 0);
	assert_int_equal(len, 1 + 7 + 8 + 4);
	assert_memory_equal(req, "\x0d\0\0\0\x03key\0\0\0\x04" "data\0\0\0\0", len);
	free(req);
	assert_int_equal(su_agent_sign_request((const unsigned char *)"key", 0,
					       (const unsigned char *)"data", 4, &req, &len),
			 -1);
	assert_null(req);
}

/* --- one request and its answer on a socket -------------------------------- */

static const unsigned char LIST_REQ[] = {SU_AGENTC_REQUEST_IDENTITIES};

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The peer gone before the request: an error, no SIGPIPE (which would
 * end this test program). */
static void call_survives_a_closed_peer(void **state)
{
	struct timespec deadline;
	unsigned char *resp = (unsigned char *)"x";
	size_t len = 1;
	char why[256];
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	su_agent_deadline(1000, &deadline);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 -1);
	assert_null(resp);
	assert_int_equal(len, 0);
	close(sv[0]);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A peer that never answers, and signals every 20 ms interrupting the
 * wait (no SA_RESTART): given up at the deadline, not before, not after. */
static void call_gives_up_at_the_deadline(void **state)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	struct itimerval tick = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
	struct timespec deadline, t0;
	unsigned char *resp;
	size_t len;
	char why[256] = "";
	long ms;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &tick, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	su_agent_deadline(300, &deadline);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 -1);
	ms = ms_since(&t0);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(ms >= 290 && ms < 2000);
	assert_true(alarms >= 5);
	assert_non_null(strstr(why, "did not answer in time"));
	close(sv[0]);
	close(sv[1]);
}

/* The announced length and no byte more is read; a length over the cap is
 * refused without waiting for its bytes. */
static void call_reads_what_is_announced_and_no_more(void **state)
{
	struct timespec deadline, t0;
	unsigned char *resp, got[8];
	size_t len;
	char why[256] = "";
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "\0\0\0\x03" "abcXYZ", 10), 10);
	su_agent_deadline(1000, &deadline);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 0);
	assert_int_equal(len, 3);
	assert_memory_equal(resp, "abc", 3);
	free(resp);
	assert_int_equal(recv(sv[0], got, sizeof(got), MSG_DONTWAIT), 3); /* XYZ left */
	/* A 4 GiB answer announced (and a few bytes sent). */
	assert_int_equal(write(sv[1], "\xff\xff\xff\xff\x0c", 5), 5);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 -1);
	assert_true(ms_since(&t0) < 500);
	assert_non_null(strstr(why, "4294967295"));
	/* A zero length. */
	(void)recv(sv[0], got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(write(sv[1], "\0\0\0\0", 4), 4);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 -1);
	/* Half an answer, then the end of the stream. */
	assert_int_equal(write(sv[1], "\0\0\0\x10" "abc", 7), 7);
	shutdown(sv[1], SHUT_WR);
	assert_int_equal(su_agent_call(sv[0], LIST_REQ, 1, &deadline, &resp, &len, why,
				       sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "closed"));
	close(sv[0]);
	close(sv[1]);
}

/* --- connecting ----------------------------------------------------------------- */

/* A listening socket of our own in a fresh directory; its path in path. */
static int listen_here(char *dir, size_t dir_size, char *path, size_t path_size)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(dir, dir_size, "/tmp/test_sshsk.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, path_size, "%s/agent", dir);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void reap_all(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Connected as ourselves (the peer is us), whatever the host does with
 * SIGCHLD: the default, ignored (children reaped by the kernel), or a
 * handler that reaps every child itself. */
static void connects_whatever_the_host_does_with_sigchld(void **state)
{
	void (*const dispositions[])(int) = {SIG_DFL, SIG_IGN, reap_all};
	char dir[64], path[128], why[256];
	struct timespec deadline;
	int lfd, fd;

	(void)state;
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	for (size_t i = 0; i < 3; i++) {
		struct sigaction sa = {.sa_handler = dispositions[i]}, old;

		sigemptyset(&sa.sa_mask);
		assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
		su_agent_deadline(5000, &deadline);
		why[0] = '\0';
		if (su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why, sizeof(why)) != 0)
			fail_msg("disposition %zu: %s", i, why);
		assert_true(fd >= 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
		sigaction(SIGCHLD, &old, NULL);
	}
	/* Missing, relative, too long: refused, no descriptor. */
	su_agent_deadline(5000, &deadline);
	strcat(path, "-missing");
	assert_int_equal(su_agent_connect(path, getuid(), getgid(), &deadline, &fd, why,
					  sizeof(why)),
			 -1);
	assert_int_equal(fd, -1);
	assert_int_equal(su_agent_connect("agent", getuid(), getgid(), &deadline, &fd, why,
					  sizeof(why)),
			 -1);
	{
		char longpath[200];

		memset(longpath, 'x', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		assert_int_equal(su_agent_connect(longpath, getuid(), getgid(), &deadline, &fd,
						  why, sizeof(why)),
				 -1);
	}
	close(lfd);
	path[strlen(path) - strlen("-missing")] = '\0';
	unlink(path);
	rmdir(dir);
}

/* Root connecting as nobody reaches no socket only root may open. */
static void connects_as_the_user_never_as_root(void **state)
{
	char dir[64], path[128], why[256] = "";
	struct timespec deadline;
	int lfd, fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	lfd = listen_here(dir, sizeof(dir), path, sizeof(path));
	assert_int_equal(chmod(dir, 0700), 0);
	su_agent_deadline(5000, &deadline);
	assert_int_equal(su_agent_connect(path, 65534, 65534, &deadline, &fd, why, sizeof(why)),
			 -1);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(why, "as the user"));
	/* The socket open to all: reached, but its peer (root) is allowed;
	 * the directory open too. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(su_agent_connect(path, 65534, 65534, &deadline, &fd, why, sizeof(why)),
			 0);
	close(fd);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_ecdsa_sk_line),
		cmocka_unit_test(parses_ed25519_sk_line),
		cmocka_unit_test(fingerprints_are_ssh_keygens),
		cmocka_unit_test(refuses_other_lines),
		cmocka_unit_test(refuses_bad_blobs),
		cmocka_unit_test(refuses_small_order_ed25519_keys),
		cmocka_unit_test(challenge_is_unambiguous),
		cmocka_unit_test(verifies_touched_signatures),
		cmocka_unit_test(refuses_untouched_signatures),
		cmocka_unit_test(user_verification_when_required),
		cmocka_unit_test(refuses_other_keys_and_types),
		cmocka_unit_test(refuses_mangled_signatures),
		cmocka_unit_test(refuses_non_canonical_mpint),
		cmocka_unit_test(counter_check),
		cmocka_unit_test(parses_identities_answer),
		cmocka_unit_test(parses_sign_response),
		cmocka_unit_test(builds_sign_request),
		cmocka_unit_test(call_survives_a_closed_peer),
		cmocka_unit_test(call_gives_up_at_the_deadline),
		cmocka_unit_test(call_reads_what_is_announced_and_no_more),
		cmocka_unit_test(connects_whatever_the_host_does_with_sigchld),
		cmocka_unit_test(connects_as_the_user_never_as_root),
	};

	return cmocka_run_group_tests_name("sshsk", tests, NULL, NULL);
}
