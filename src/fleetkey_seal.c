/* TOTP secrets sealed and opened with the fleet key: AES-256-GCM, the
 * blob "v1:KID:BASE64(nonce || ciphertext || tag)" (fleetkey.h). The
 * module opens; stepupctl seals. A blob is not secret, but is never put in
 * a message all the same: a value in its place may be a secret in clear. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "fleetkey.h"
#include "fleetkey_internal.h"
#include "secret.h"
#include "totp.h"
#include "util.h"

#define NONCE_BYTES 12
#define TAG_BYTES 16
#define RAW_MAX (NONCE_BYTES + SU_FLEETKEY_SECRET_MAX + TAG_BYTES)
#define B64_MAX (4 * ((RAW_MAX + 2) / 3))
#define WHY_MAX 160

_Static_assert(SU_FLEETKEY_SECRET_MAX == SU_TOTP_MAX_SECRET_BYTES,
	       "every TOTP secret the records accept can be sealed");

/* The first part of the additional data, with its NUL (fleetkey.h). */
static const char aad_label[] = "stepup-totp-secret";

/* The additional data: the label and the user each with its NUL, then
 * the key id, so that no two (user, kid) pairs give the same bytes. */
static int add_aad(EVP_CIPHER_CTX *ctx, const char *user, const char *kid)
{
	const char *parts[] = { aad_label, user, kid };
	int n;

	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]) + (i < 2 ? 1 : 0);

		if (len > INT_MAX ||
		    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)parts[i], (int)len) != 1)
			return -1;
	}
	return 0;
}

/* AES-256-GCM of len bytes of in into out, under e, bound to user.
 * Sealing writes tag; opening checks it (-1: it does not match). */
static int gcm(int seal, const struct fleet_entry *e, const char *user,
	       const unsigned char *nonce, const unsigned char *in, size_t len,
	       unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, rc = -1;

	if (ctx == NULL || len > SU_FLEETKEY_SECRET_MAX ||
	    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, e->key, nonce, seal) != 1 ||
	    add_aad(ctx, user, e->kid) != 0 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 || n != (int)len)
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1 || n != 0)
		goto out;
	if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
	return rc;
}

int su_fleetkey_seal(const su_fleetkey *fk, const char *user,
		     const unsigned char *secret, size_t len, char **blob)
{
	unsigned char raw[RAW_MAX];
	char b64[B64_MAX + 1];
	size_t raw_len = NONCE_BYTES + len + TAG_BYTES, size;
	int rc = SU_ERR;

	*blob = NULL;
	if (su_fleetkey_count(fk) == 0 || user == NULL || user[0] == '\0' ||
	    secret == NULL || len == 0 || len > SU_FLEETKEY_SECRET_MAX)
		return SU_ERR;
	if (su_random(raw, NONCE_BYTES) != 0 ||
	    gcm(1, &fk->keys[0], user, raw, secret, len, raw + NONCE_BYTES,
		raw + NONCE_BYTES + len) != 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)raw_len);
	size = strlen("v1:") + strlen(fk->keys[0].kid) + 1 + strlen(b64) + 1;
	*blob = malloc(size);
	if (*blob != NULL) {
		snprintf(*blob, size, "v1:%s:%s", fk->keys[0].kid, b64);
		rc = SU_OK;
	}
out:
	su_erase(raw, sizeof(raw));
	return rc;
}

/* Standard base64 with its padding into raw (size bytes); false if it is
 * not. EVP_DecodeBlock would skip blanks around the text and counts each
 * "=" as a zero byte: the text is checked here and the padding taken off. */
static bool decode_b64(const char *s, unsigned char *raw, size_t size, size_t *raw_len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), pad = 0;
	int got;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > size || n > INT_MAX)
		return false;
	pad = s[n - 1] != '=' ? 0 : s[n - 2] != '=' ? 1 : 2;
	if (strspn(s, alphabet) != n - pad)
		return false;
	got = EVP_DecodeBlock(raw, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got != n / 4 * 3)
		return false;
	*raw_len = (size_t)got - pad;
	return true;
}

/* The reason blob does not open into out, or NULL when it did. */
static const char *open_blob(const su_fleetkey *fk, const char *user, const char *blob,
			     unsigned char *out, size_t out_size, size_t *len,
			     char *why, size_t size)
{
	unsigned char raw[RAW_MAX + 2]; /* + the zero bytes the padding decodes to */
	size_t limit = out_size < SU_FLEETKEY_SECRET_MAX ? out_size : SU_FLEETKEY_SECRET_MAX;
	const char *kid = NULL, *colon = NULL;
	size_t kid_len = 0, raw_len = 0, ct_len;
	int i;

	if (strncmp(blob, "v1:", 3) == 0) {
		kid = blob + 3;
		colon = strchr(kid, ':');
		kid_len = colon != NULL ? (size_t)(colon - kid) : 0;
	}
	if (colon == NULL || !fleet_kid_ok(kid, kid_len))
		return "not a v1 sealed secret ('v1:KID:BASE64')";
	i = fleet_find_kid(fk, kid, kid_len);
	if (i < 0) {
		su_why(why, size, "sealed under key id '%.*s', which %s does not hold (retired, "
		       "or this host's copy of the file is out of date)", (int)kid_len, kid,
		       fk->path);
		return why;
	}
	if (strlen(colon + 1) > B64_MAX)
		return "wrong length (longer than any sealed secret)";
	if (!decode_b64(colon + 1, raw, sizeof(raw), &raw_len))
		return "bad base64";
	ct_len = raw_len > NONCE_BYTES + TAG_BYTES ? raw_len - NONCE_BYTES - TAG_BYTES : 0;
	if (ct_len == 0 || ct_len > limit) {
		su_why(why, size, "wrong length (%zu bytes; nonce, 1 to %zu bytes of secret "
		       "and tag are %d to %zu)", raw_len, limit, NONCE_BYTES + TAG_BYTES + 1,
		       NONCE_BYTES + TAG_BYTES + limit);
		return why;
	}
	if (gcm(0, &fk->keys[i], user, raw, raw + NONCE_BYTES, ct_len, out,
		raw + NONCE_BYTES + ct_len) != 0)
		return "authentication failed (sealed for another user, altered, or "
		       "under another key with the same id)";
	*len = ct_len;
	return NULL;
}

int su_fleetkey_open(const su_log *log, const char *what, const su_fleetkey *fk,
		     const char *user, const char *blob, unsigned char *out,
		     size_t out_size, size_t *len)
{
	char why[WHY_MAX + PATH_MAX];
	const char *reason;

	*len = 0;
	if (fk == NULL || user == NULL || blob == NULL || out == NULL)
		reason = "nothing to open";
	else
		reason = open_blob(fk, user, blob, out, out_size, len, why, sizeof(why));
	if (reason == NULL)
		return SU_OK;
	if (out != NULL)
		su_erase(out, out_size);
	*len = 0;
	su_logf(log, LOG_ERR, "%s: %s", what != NULL ? what : "sealed secret", reason);
	return SU_ERR;
}
