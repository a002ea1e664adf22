/* A software security key for the tests only: an OpenSSH middleware
 * ("SecurityKeyProvider", the interface of OpenSSH's sk-api.h, version
 * 0x000a0000 as in OpenSSH 9.2) made with OpenSSL, so that ssh-keygen
 * (-t ecdsa-sk / ed25519-sk -w PROVIDER) makes keys and ssh-agent (through
 * ssh-add -S PROVIDER and its ssh-sk-helper) signs with them, with no
 * hardware.
 *
 * NOT A SECURITY KEY: the key handle that ssh-keygen stores in the private
 * key file carries the private key itself (DER), in the clear. Never
 * install it; it is built for the tests only and never installed.
 *
 * What a signature says is set by the test, per signature, in a mode file
 * named by the environment variable SK_SOFT_MODE (ssh-agent runs
 * ssh-sk-helper with its own environment, so the variable is set where the
 * agent is started). One "key=value" a line, each optional:
 *
 *     up=1         the user-presence flag (0x01) is set (default 1)
 *     uv=0         the user-verification flag (0x04) is set (default 0)
 *     refuse=0     1: fail as a key that was not touched (no signature)
 *     counter=auto the signature counter: "auto" (default) counts up in
 *                  the file SK_SOFT_MODE.counter (created at 0), a
 *                  number is used as it is (a counter going backwards)
 *
 * Without SK_SOFT_MODE: up=1, uv=0, counter 1. sk_soft never fails for a
 * mode file it cannot read: it refuses to sign. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* The interface, as OpenSSH 9.2's sk-api.h defines it. */
#define SK_SOFT_API_VERSION 0x000a0000
#define SK_SOFT_UP 0x01
#define SK_SOFT_UV 0x04
#define SK_SOFT_ECDSA 0x00
#define SK_SOFT_ED25519 0x01
#define SK_SOFT_ERR_GENERAL (-1)
#define SK_SOFT_ERR_UNSUPPORTED (-2)

struct sk_enroll_response {
	uint8_t flags;
	uint8_t *public_key;
	size_t public_key_len;
	uint8_t *key_handle;
	size_t key_handle_len;
	uint8_t *signature;
	size_t signature_len;
	uint8_t *attestation_cert;
	size_t attestation_cert_len;
	uint8_t *authdata;
	size_t authdata_len;
};

struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r;
	size_t sig_r_len;
	uint8_t *sig_s;
	size_t sig_s_len;
};

struct sk_resident_key;
struct sk_option;

uint32_t sk_api_version(void);
int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
	      const char *application, uint8_t flags, const char *pin,
	      struct sk_option **options, struct sk_enroll_response **enroll_response);
int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len, const char *application,
	    const uint8_t *key_handle, size_t key_handle_len, uint8_t flags, const char *pin,
	    struct sk_option **options, struct sk_sign_response **sign_response);
int sk_load_resident_keys(const char *pin, struct sk_option **options,
			  struct sk_resident_key ***rks, size_t *nrks);

uint32_t sk_api_version(void)
{
	return SK_SOFT_API_VERSION;
}

static void enroll_free(struct sk_enroll_response *r)
{
	if (r == NULL)
		return;
	free(r->public_key);
	if (r->key_handle != NULL)
		OPENSSL_clear_free(r->key_handle, r->key_handle_len);
	free(r->signature);
	free(r->attestation_cert);
	free(r->authdata);
	free(r);
}

/* The public key as OpenSSH wants it: the uncompressed P-256 point (65
 * bytes), or the 32-byte Ed25519 key. */
static int public_key(EVP_PKEY *pkey, uint32_t alg, uint8_t **out, size_t *len)
{
	size_t n = 0;

	if (alg == SK_SOFT_ECDSA) {
		if (EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", NULL, 0, &n) != 1 ||
		    n != 65 || (*out = malloc(n)) == NULL ||
		    EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", *out, n, &n) != 1)
			return -1;
	} else {
		if (EVP_PKEY_get_raw_public_key(pkey, NULL, &n) != 1 || n != 32 ||
		    (*out = malloc(n)) == NULL ||
		    EVP_PKEY_get_raw_public_key(pkey, *out, &n) != 1)
			return -1;
	}
	*len = n;
	return 0;
}

int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
	      const char *application, uint8_t flags, const char *pin,
	      struct sk_option **options, struct sk_enroll_response **enroll_response)
{
	struct sk_enroll_response *r = NULL;
	EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL, *p;
	int len, rc = SK_SOFT_ERR_GENERAL;

	(void)challenge;
	(void)challenge_len;
	(void)pin;
	(void)options;
	if (enroll_response == NULL || application == NULL)
		return SK_SOFT_ERR_GENERAL;
	*enroll_response = NULL;
	if (alg == SK_SOFT_ECDSA)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (alg == SK_SOFT_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		return SK_SOFT_ERR_UNSUPPORTED;
	if (pkey == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->flags = flags; /* ssh-keygen keeps these as the key's sk_flags */
	if (public_key(pkey, alg, &r->public_key, &r->public_key_len) != 0)
		goto out;
	/* The key handle: the private key, DER (see the top of the file). */
	if ((len = i2d_PrivateKey(pkey, NULL)) <= 0 || (der = malloc((size_t)len)) == NULL)
		goto out;
	p = der;
	if (i2d_PrivateKey(pkey, &p) != len)
		goto out;
	r->key_handle = der;
	r->key_handle_len = (size_t)len;
	der = NULL;
	*enroll_response = r;
	r = NULL;
	rc = 0;
out:
	enroll_free(r);
	free(der);
	EVP_PKEY_free(pkey);
	return rc;
}

struct mode {
	int up, uv, refuse;
	int fixed_counter; /* 1: counter as given */
	uint32_t counter;
};

/* The mode file (see the top). 0, or -1 if it cannot be read. */
static int read_mode(struct mode *m)
{
	const char *path = getenv("SK_SOFT_MODE");
	char line[256];
	FILE *f;

	m->up = 1;
	m->uv = 0;
	m->refuse = 0;
	m->fixed_counter = 1;
	m->counter = 1;
	if (path == NULL || path[0] == '\0')
		return 0;
	m->fixed_counter = 0;
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq = strchr(line, '='), *nl = strchr(line, '\n');

		if (nl != NULL)
			*nl = '\0';
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "up") == 0)
			m->up = atoi(eq) != 0;
		else if (strcmp(line, "uv") == 0)
			m->uv = atoi(eq) != 0;
		else if (strcmp(line, "refuse") == 0)
			m->refuse = atoi(eq) != 0;
		else if (strcmp(line, "counter") == 0 && strcmp(eq, "auto") != 0) {
			m->fixed_counter = 1;
			m->counter = (uint32_t)strtoul(eq, NULL, 10);
		}
	}
	fclose(f);
	return 0;
}

/* The next counter from SK_SOFT_MODE.counter (tests run one signature at a
 * time; no lock). */
static int next_counter(uint32_t *counter)
{
	const char *mode = getenv("SK_SOFT_MODE");
	char path[4096];
	unsigned long v = 0;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s.counter", mode) >= (int)sizeof(path))
		return -1;
	if ((f = fopen(path, "re")) != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	v++;
	if ((f = fopen(path, "we")) == NULL)
		return -1;
	fprintf(f, "%lu\n", v);
	if (fclose(f) != 0)
		return -1;
	*counter = (uint32_t)v;
	return 0;
}

static int sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

/* r or s of an ECDSA signature as unsigned big-endian bytes, as
 * OpenSSH's own middleware gives them. */
static int bn_bytes(const BIGNUM *bn, uint8_t **out, size_t *len)
{
	int n = BN_num_bytes(bn);

	if (n <= 0 || (*out = malloc((size_t)n)) == NULL)
		return -1;
	BN_bn2bin(bn, *out);
	*len = (size_t)n;
	return 0;
}

static void sign_free(struct sk_sign_response *r)
{
	if (r == NULL)
		return;
	free(r->sig_r);
	free(r->sig_s);
	free(r);
}

int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len, const char *application,
	    const uint8_t *key_handle, size_t key_handle_len, uint8_t flags, const char *pin,
	    struct sk_option **options, struct sk_sign_response **sign_response)
{
	struct sk_sign_response *r = NULL;
	struct mode m;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *esig = NULL;
	const unsigned char *p = key_handle;
	unsigned char tbs[32 + 1 + 4 + 32], der[160];
	const unsigned char *dp = der;
	size_t siglen;
	int rc = SK_SOFT_ERR_GENERAL;

	(void)flags;
	(void)pin;
	(void)options;
	if (sign_response == NULL || application == NULL || key_handle == NULL ||
	    key_handle_len > 4096)
		return SK_SOFT_ERR_GENERAL;
	*sign_response = NULL;
	if (read_mode(&m) != 0 || m.refuse)
		return SK_SOFT_ERR_GENERAL;
	if ((pkey = d2i_AutoPrivateKey(NULL, &p, (long)key_handle_len)) == NULL)
		goto out;
	if ((alg == SK_SOFT_ECDSA && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) ||
	    (alg == SK_SOFT_ED25519 && EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) ||
	    (alg != SK_SOFT_ECDSA && alg != SK_SOFT_ED25519))
		goto out;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	r->flags = (uint8_t)((m.up ? SK_SOFT_UP : 0) | (m.uv ? SK_SOFT_UV : 0));
	if (m.fixed_counter)
		r->counter = m.counter;
	else if (next_counter(&r->counter) != 0)
		goto out;
	/* What an authenticator signs: SHA256(application) || flags ||
	 * counter (big-endian) || SHA256(message). */
	if (sha256(application, strlen(application), tbs) != 0 ||
	    sha256(data, data_len, tbs + 37) != 0)
		goto out;
	tbs[32] = r->flags;
	tbs[33] = (unsigned char)(r->counter >> 24);
	tbs[34] = (unsigned char)(r->counter >> 16);
	tbs[35] = (unsigned char)(r->counter >> 8);
	tbs[36] = (unsigned char)r->counter;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (alg == SK_SOFT_ECDSA) {
		const BIGNUM *sr, *ss;

		siglen = sizeof(der);
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
		    EVP_DigestSign(md, der, &siglen, tbs, sizeof(tbs)) != 1 ||
		    (esig = d2i_ECDSA_SIG(NULL, &dp, (long)siglen)) == NULL)
			goto out;
		ECDSA_SIG_get0(esig, &sr, &ss);
		if (bn_bytes(sr, &r->sig_r, &r->sig_r_len) != 0 ||
		    bn_bytes(ss, &r->sig_s, &r->sig_s_len) != 0)
			goto out;
	} else {
		siglen = 64;
		if ((r->sig_r = malloc(siglen)) == NULL ||
		    EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) != 1 ||
		    EVP_DigestSign(md, r->sig_r, &siglen, tbs, sizeof(tbs)) != 1 || siglen != 64)
			goto out;
		r->sig_r_len = siglen;
	}
	*sign_response = r;
	r = NULL;
	rc = 0;
out:
	sign_free(r);
	ECDSA_SIG_free(esig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return rc;
}

int sk_load_resident_keys(const char *pin, struct sk_option **options,
			  struct sk_resident_key ***rks, size_t *nrks)
{
	(void)pin;
	(void)options;
	if (rks != NULL)
		*rks = NULL;
	if (nrks != NULL)
		*nrks = 0;
	return SK_SOFT_ERR_UNSUPPORTED;
}
