/* OpenSSH security-key public keys and signatures (sshsk.h). The formats,
 * from OpenSSH's PROTOCOL.u2f:
 *
 *   key blob   string "sk-ecdsa-sha2-nistp256@openssh.com"
 *              string "nistp256"  string Q (uncompressed point)
 *              string application
 *           or string "sk-ssh-ed25519@openssh.com"
 *              string public key (32 bytes)  string application
 *   signature  string type (the key's)
 *              string (mpint r, mpint s)  or  string signature (64 bytes)
 *              byte flags  uint32 counter
 *
 * The authenticator signs SHA256(application) || flags || counter ||
 * SHA256(message): ECDSA over the SHA-256 of those 69 bytes, Ed25519 over
 * the bytes themselves. Nothing here is secret (public keys, public
 * challenges, signatures); the nonce is compared by the signature check,
 * never by us. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "secret.h"
#include "sshsk.h"
#include "sshwire.h"
#include "util.h"

#define CHALLENGE_MAGIC "pam_stepup-sshsk-challenge-v1"
#define CHALLENGE_FIELD_MAX 1024
#define P256_POINT_BYTES 65
#define ED25519_KEY_BYTES 32
#define ED25519_SIG_BYTES 64
#define P256_MPINT_MAX 33 /* 32 bytes, and a 0 byte before a high bit */

void su_sshsk_key_free(su_sshsk_key *key)
{
	if (key == NULL)
		return;
	free(key->application);
	free(key->blob);
	memset(key, 0, sizeof(*key));
}

/* Whether an Ed25519 public key is one no signature check can rely on:
 * an encoding of y that is not below p = 2^255 - 19 (not canonical), or
 * a point of small order (its order divides 8: with it, R = the point and
 * S = 0 verify for any message). Those eight points have five y values:
 * 1 (the neutral point), p - 1 (order 2), 0 (order 4, either x), and the
 * two of order 8, y^2 = (-1 + sqrt(1 + d)) / d, each with either x. The
 * sign bit of x (bit 255) is ignored: every encoding of them is refused.
 * The values below are little endian, computed from the curve's d. */
static bool ed25519_weak(const unsigned char pub[32])
{
	static const unsigned char small_y[][32] = {
		{0x00}, /* 0 */
		{0x01}, /* 1 */
		{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p - 1 */
		{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
		 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
		 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05}, /* order 8 */
		{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
		 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
		 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}, /* order 8 */
	};
	unsigned char y[32];
	bool all_ff = true;

	memcpy(y, pub, 32);
	y[31] &= 0x7f;
	/* y >= p: bytes 1..30 all 0xff, byte 31 0x7f, byte 0 0xed or more. */
	for (size_t i = 1; i < 31; i++)
		all_ff = all_ff && y[i] == 0xff;
	if (all_ff && y[31] == 0x7f && y[0] >= 0xed)
		return true;
	for (size_t i = 0; i < sizeof(small_y) / sizeof(small_y[0]); i++)
		if (memcmp(y, small_y[i], 32) == 0)
			return true;
	return false;
}

/* The public key as an EVP_PKEY for OpenSSL; NULL if it is not a valid key
 * (an EC point off the curve, an Ed25519 key of small order or not
 * canonical). */
static EVP_PKEY *pkey_of(enum su_sshsk_type type, const unsigned char *pub, size_t pub_len)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	OSSL_PARAM params[3];

	if (type == SU_SSHSK_ED25519)
		return pub_len == ED25519_KEY_BYTES && !ed25519_weak(pub)
			? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, pub_len)
			: NULL;
	if (type != SU_SSHSK_ECDSA || pub_len != P256_POINT_BYTES || pub[0] != 0x04)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      (void *)pub, pub_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* On the curve, not the point at infinity. */
	if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int su_sshsk_parse_blob(const unsigned char *blob, size_t len, su_sshsk_key *out,
			char *why, size_t why_size)
{
	su_wire w = su_wire_of(blob, len);
	su_sshsk_key key = {0};
	const unsigned char *type, *pub, *app;
	size_t type_len, pub_len, app_len;
	EVP_PKEY *pkey;

	memset(out, 0, sizeof(*out));
	if (blob == NULL || len > SU_SSHSK_BLOB_MAX)
		return su_why(why, why_size, "key blob too large"), -1;
	if (!su_wire_string(&w, 64, &type, &type_len))
		return su_why(why, why_size, "not a key blob"), -1;
	if (type_len == strlen(SU_SSHSK_ECDSA_NAME) &&
	    memcmp(type, SU_SSHSK_ECDSA_NAME, type_len) == 0) {
		key.type = SU_SSHSK_ECDSA;
		if (!su_wire_string_is(&w, "nistp256"))
			return su_why(why, why_size, "ECDSA key not on nistp256"), -1;
	} else if (type_len == strlen(SU_SSHSK_ED25519_NAME) &&
		   memcmp(type, SU_SSHSK_ED25519_NAME, type_len) == 0) {
		key.type = SU_SSHSK_ED25519;
	} else {
		/* The type not echoed: the blob is the user's (an agent's). */
		return su_why(why, why_size, "not a security key (" SU_SSHSK_ECDSA_NAME
			      " or " SU_SSHSK_ED25519_NAME ")"), -1;
	}
	if (!su_wire_string(&w, sizeof(key.pub), &pub, &pub_len) ||
	    pub_len != (key.type == SU_SSHSK_ECDSA ? P256_POINT_BYTES : ED25519_KEY_BYTES))
		return su_why(why, why_size, "public key of the wrong size"), -1;
	if (!su_wire_string(&w, SU_SSHSK_APP_MAX, &app, &app_len))
		return su_why(why, why_size, "application missing or too long"), -1;
	if (w.left != 0)
		return su_why(why, why_size, "%zu bytes after the key", w.left), -1;
	/* ssh-keygen makes no other (-O application= must begin with ssh:),
	 * and ssh-agent signs anything else only for SSH and SSHSIG. */
	if (app_len < 4 || memcmp(app, "ssh:", 4) != 0 || memchr(app, '\0', app_len) != NULL)
		return su_why(why, why_size, "application is not an ssh: string"), -1;
	if ((pkey = pkey_of(key.type, pub, pub_len)) == NULL)
		return su_why(why, why_size, "not a valid public key"), -1;
	EVP_PKEY_free(pkey);
	memcpy(key.pub, pub, pub_len);
	key.pub_len = pub_len;
	key.application = malloc(app_len + 1);
	key.blob = malloc(len);
	if (key.application == NULL || key.blob == NULL) {
		su_sshsk_key_free(&key);
		return su_why(why, why_size, "out of memory"), -1;
	}
	memcpy(key.application, app, app_len);
	key.application[app_len] = '\0';
	memcpy(key.blob, blob, len);
	key.blob_len = len;
	*out = key;
	return 0;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Strict base64: the alphabet, a length that is a multiple of 4, at most
 * two '=' at the end. The decoded length, or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
	size_t pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > out_size || len > INT32_MAX)
		return -1;
	while (pad < 2 && in[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64(in[i]))
			return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	return (long)((size_t)n - pad);
}

int su_sshsk_parse_line(const char *line, su_sshsk_key *out, char *why, size_t why_size)
{
	unsigned char blob[SU_SSHSK_BLOB_MAX];
	const char *type, *b64;
	size_t type_len, b64_len, line_len;
	su_sshsk_key key;
	long n;

	memset(out, 0, sizeof(*out));
	if (line == NULL)
		return su_why(why, why_size, "no key"), -1;
	line_len = strnlen(line, SU_SSHSK_LINE_MAX + 1);
	if (line_len > SU_SSHSK_LINE_MAX)
		return su_why(why, why_size, "key line longer than %d bytes", SU_SSHSK_LINE_MAX), -1;
	for (size_t i = 0; i < line_len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' && line[i] != '\n' &&
		    line[i] != '\r')
			return su_why(why, why_size, "control character in the key line"), -1;
	type = line + strspn(line, " \t");
	type_len = strcspn(type, " \t\r\n");
	if (type_len == 0)
		return su_why(why, why_size, "empty key line"), -1;
	b64 = type + type_len + strspn(type + type_len, " \t");
	b64_len = strcspn(b64, " \t\r\n"); /* a comment may follow; not kept */
	if (!((type_len == strlen(SU_SSHSK_ECDSA_NAME) &&
	       memcmp(type, SU_SSHSK_ECDSA_NAME, type_len) == 0) ||
	      (type_len == strlen(SU_SSHSK_ED25519_NAME) &&
	       memcmp(type, SU_SSHSK_ED25519_NAME, type_len) == 0))) {
		/* Nothing of the line is echoed: it may be another file's
		 * (a symbolic link to /etc/shadow), or any bytes. */
		return su_why(why, why_size, "not a security-key public key ("
			      SU_SSHSK_ECDSA_NAME " or " SU_SSHSK_ED25519_NAME
			      "; a line with options is not a key line)"), -1;
	}
	if ((n = b64_decode(b64, b64_len, blob, sizeof(blob))) < 0)
		return su_why(why, why_size, "the key is not base64 or too long"), -1;
	if (su_sshsk_parse_blob(blob, (size_t)n, &key, why, why_size) != 0)
		return -1;
	if (strncmp((const char *)blob + 4, type, type_len) != 0 ||
	    su_wire_peek_u32(blob) != type_len) {
		su_sshsk_key_free(&key);
		return su_why(why, why_size, "the line's type is not the key's"), -1;
	}
	*out = key;
	return 0;
}

bool su_sshsk_key_is(const su_sshsk_key *key, const unsigned char *blob, size_t len)
{
	return key != NULL && key->blob != NULL && blob != NULL && len == key->blob_len &&
	       memcmp(key->blob, blob, len) == 0;
}

static int sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int su_sshsk_fingerprint(const su_sshsk_key *key, char out[SU_SSHSK_FP_SIZE])
{
	unsigned char md[32], b64[45];
	int n;

	out[0] = '\0';
	if (key == NULL || key->blob == NULL || sha256(key->blob, key->blob_len, md) != 0)
		return -1;
	n = EVP_EncodeBlock(b64, md, sizeof(md));
	if (n != 44)
		return -1;
	/* 44 characters, the last one '=': ssh-keygen drops the padding. */
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, 43);
	out[50] = '\0';
	return 0;
}

static unsigned char *put_string(unsigned char *p, const void *s, size_t len)
{
	su_wire_put_u32(p, (uint32_t)len);
	memcpy(p + 4, s, len);
	return p + 4 + len;
}

int su_sshsk_challenge(const unsigned char nonce[SU_SSHSK_NONCE_BYTES], const char *host,
		       const char *service, const char *user, uint64_t now,
		       unsigned char **out, size_t *out_len)
{
	const char *fields[] = {host, service, user};
	size_t len = strlen(CHALLENGE_MAGIC) + 4 + SU_SSHSK_NONCE_BYTES + 8;
	unsigned char *buf, *p;

	*out = NULL;
	*out_len = 0;
	if (nonce == NULL)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (fields[i] == NULL || strnlen(fields[i], CHALLENGE_FIELD_MAX + 1) >
						 CHALLENGE_FIELD_MAX)
			return -1;
		len += 4 + strlen(fields[i]);
	}
	if ((buf = malloc(len)) == NULL)
		return -1;
	memcpy(buf, CHALLENGE_MAGIC, strlen(CHALLENGE_MAGIC));
	p = buf + strlen(CHALLENGE_MAGIC);
	p = put_string(p, nonce, SU_SSHSK_NONCE_BYTES);
	for (size_t i = 0; i < 3; i++)
		p = put_string(p, fields[i], strlen(fields[i]));
	su_wire_put_u32(p, (uint32_t)(now >> 32));
	su_wire_put_u32(p + 4, (uint32_t)now);
	*out = buf;
	*out_len = len;
	return 0;
}

/* An SSH mpint that is a positive number of at most max bytes (after the
 * sign byte), in its one canonical encoding. */
static BIGNUM *mpint(su_wire *w, size_t max)
{
	const unsigned char *s;
	size_t len;

	if (!su_wire_string(w, max, &s, &len) || len == 0)
		return NULL;
	if (s[0] & 0x80) /* negative */
		return NULL;
	if (s[0] == 0 && (len == 1 || !(s[1] & 0x80))) /* a needless 0 byte; 0 itself */
		return NULL;
	return BN_bin2bn(s, (int)len, NULL);
}

/* (mpint r, mpint s) as the DER ECDSA-Sig-Value OpenSSL verifies; the
 * length, or 0. */
static size_t ecdsa_der(const unsigned char *inner, size_t inner_len, unsigned char *der,
			size_t der_size)
{
	su_wire w = su_wire_of(inner, inner_len);
	BIGNUM *r = mpint(&w, P256_MPINT_MAX), *s = NULL;
	ECDSA_SIG *sig = NULL;
	unsigned char *p = der;
	size_t len = 0;
	int n;

	if (r == NULL || (s = mpint(&w, P256_MPINT_MAX)) == NULL || w.left != 0 ||
	    (sig = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL; /* the signature owns them */
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n > 0 && (size_t)n <= der_size && i2d_ECDSA_SIG(sig, &p) == n)
		len = (size_t)n;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return len;
}

enum su_sshsk_verdict su_sshsk_verify(const su_sshsk_key *key, const unsigned char *msg,
				      size_t msg_len, const unsigned char *sig, size_t sig_len,
				      bool require_uv, uint8_t *flags, uint32_t *counter,
				      char *why, size_t why_size)
{
	su_wire w = su_wire_of(sig, sig_len);
	const char *name;
	const unsigned char *inner;
	size_t inner_len, der_len = 0;
	unsigned char tbs[32 + 1 + 4 + 32], der[80];
	uint8_t sig_flags;
	uint32_t sig_counter;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	enum su_sshsk_verdict verdict = SU_SSHSK_INVALID;
	int ok = 0;

	if (why != NULL && why_size > 0)
		why[0] = '\0';
	if (key == NULL || key->application == NULL || msg == NULL || sig == NULL ||
	    sig_len > SU_SSHSK_SIG_MAX) {
		su_why(why, why_size, "no signature");
		return SU_SSHSK_INVALID;
	}
	name = key->type == SU_SSHSK_ECDSA ? SU_SSHSK_ECDSA_NAME : SU_SSHSK_ED25519_NAME;
	if (!su_wire_string_is(&w, name)) {
		su_why(why, why_size, "not a signature of type %s", name);
		return SU_SSHSK_INVALID;
	}
	if (!su_wire_string(&w, SU_SSHSK_SIG_MAX, &inner, &inner_len) ||
	    !su_wire_u8(&w, &sig_flags) || !su_wire_u32(&w, &sig_counter) || w.left != 0) {
		su_why(why, why_size, "malformed signature");
		return SU_SSHSK_INVALID;
	}
	if (key->type == SU_SSHSK_ECDSA) {
		if ((der_len = ecdsa_der(inner, inner_len, der, sizeof(der))) == 0) {
			su_why(why, why_size, "malformed ECDSA signature");
			return SU_SSHSK_INVALID;
		}
	} else if (inner_len != ED25519_SIG_BYTES) {
		su_why(why, why_size, "Ed25519 signature of %zu bytes", inner_len);
		return SU_SSHSK_INVALID;
	}
	if (sha256(key->application, strlen(key->application), tbs) != 0 ||
	    sha256(msg, msg_len, tbs + 37) != 0)
		goto out;
	tbs[32] = sig_flags;
	su_wire_put_u32(tbs + 33, sig_counter);
	if ((pkey = pkey_of(key->type, key->pub, key->pub_len)) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (key->type == SU_SSHSK_ECDSA)
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		     EVP_DigestVerify(md, der, der_len, tbs, sizeof(tbs)) == 1;
	else
		ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) == 1 &&
		     EVP_DigestVerify(md, inner, inner_len, tbs, sizeof(tbs)) == 1;
	if (!ok) {
		su_why(why, why_size, "the signature does not verify with the key");
		goto out;
	}
	/* The flags are signed: judged only once the signature holds. */
	if (!(sig_flags & SU_SSHSK_FLAG_UP)) {
		su_why(why, why_size, "the key was not touched (no user-presence flag)");
		verdict = SU_SSHSK_NO_PRESENCE;
		goto out;
	}
	if (require_uv && !(sig_flags & SU_SSHSK_FLAG_UV)) {
		su_why(why, why_size, "no user verification (PIN) but it is required");
		verdict = SU_SSHSK_NO_VERIFICATION;
		goto out;
	}
	*flags = sig_flags;
	*counter = sig_counter;
	verdict = SU_SSHSK_VALID;
out:
	if (verdict == SU_SSHSK_INVALID && !ok && why != NULL && why_size > 0 && why[0] == '\0')
		su_why(why, why_size, "signature not verified");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return verdict;
}

enum su_sshsk_counter su_sshsk_counter_check(uint32_t kept, uint32_t seen)
{
	if (kept == 0 && seen == 0)
		return SU_SSHSK_COUNTER_NONE;
	return seen > kept ? SU_SSHSK_COUNTER_OK : SU_SSHSK_COUNTER_BACKWARDS;
}
