#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include "hostkey.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

/* Read more than the key, so that a wrong file is reported with its size
 * ("holds 33 bytes") rather than as merely too large. */
#define HOSTKEY_READ_MAX 4096

int su_hostkey_load(const su_log *log, const char *path,
		    unsigned char key[SU_HOSTKEY_BYTES])
{
	su_buf buf = {0};
	int rc;

	rc = su_read_file(log, path, SU_FILE_SECRET, HOSTKEY_READ_MAX, &buf);
	if (rc == SU_NOTFOUND) {
		su_logf(log, LOG_ERR,
			"%s does not exist; run 'stepupctl init' to create the host key", path);
		return SU_NOTFOUND;
	}
	if (rc != SU_OK)
		return SU_ERR; /* su_read_file said why */
	if (buf.len != SU_HOSTKEY_BYTES) {
		su_logf(log, LOG_ERR,
			"%s holds %zu bytes, not %d; move it aside and run 'stepupctl init' "
			"(pending email codes and grace periods end)",
			path, buf.len, SU_HOSTKEY_BYTES);
		su_buf_free(&buf);
		return SU_ERR;
	}
	memcpy(key, buf.data, SU_HOSTKEY_BYTES);
	su_buf_free(&buf);
	return SU_OK;
}

int su_hostkey_create(const su_log *log, const char *path, enum su_hostkey_made *made)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	su_buf old = {0};
	int rc;

	rc = su_read_file(log, path, SU_FILE_SECRET, HOSTKEY_READ_MAX, &old);
	if (rc == SU_OK && old.len != SU_HOSTKEY_BYTES) {
		su_logf(log, LOG_ERR, "%s holds %zu bytes, not %d; move it aside and run "
			"'stepupctl init' again (this ends every grace period)",
			path, old.len, SU_HOSTKEY_BYTES);
		rc = SU_ERR;
	}
	su_buf_free(&old);
	if (rc != SU_NOTFOUND) {
		*made = SU_HOSTKEY_KEPT;
		return rc == SU_OK ? SU_OK : SU_ERR;
	}
	if (su_random(key, sizeof(key)) != 0) {
		su_erase(key, sizeof(key));
		su_logf(log, LOG_ERR, "cannot get random bytes for %s; try again", path);
		return SU_ERR;
	}
	/* Never replace a key: a concurrent init may have made one since. */
	rc = su_create_file(log, path, key, sizeof(key), 0600);
	su_erase(key, sizeof(key));
	*made = rc == SU_EXISTS ? SU_HOSTKEY_RACED : SU_HOSTKEY_CREATED;
	return rc == SU_OK || rc == SU_EXISTS ? SU_OK : SU_ERR;
}

/* One part into the MAC: its length as 4 bytes big-endian, then its bytes,
 * so that no two different lists of parts feed the MAC the same bytes. */
static int mac_part(EVP_MAC_CTX *ctx, const char *part)
{
	size_t len;
	unsigned char prefix[4];

	if (part == NULL)
		return -1;
	len = strlen(part);
	if (len > UINT32_MAX)
		return -1;
	prefix[0] = (unsigned char)(len >> 24);
	prefix[1] = (unsigned char)(len >> 16);
	prefix[2] = (unsigned char)(len >> 8);
	prefix[3] = (unsigned char)len;
	if (EVP_MAC_update(ctx, prefix, sizeof(prefix)) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)part, len) != 1)
		return -1;
	return 0;
}


/* An unkeyed HMAC-SHA256 context, made once per process and copied for
 * each MAC: fetching the algorithm and the digest from OpenSSL's provider
 * costs more than the MAC itself (two thirds of a grace-path call when it
 * was done every time). It holds no key, so keeping it is no secret kept.
 * Made on first use. */
static EVP_MAC_CTX *make_template(void)
{
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];

	if (hmac == NULL)
		return NULL;
	ctx = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac); /* the context keeps its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* The template, under a lock: a threaded host may call PAM from two
 * threads. */
static struct {
	pthread_mutex_t lock;
	EVP_MAC_CTX *ctx; /* NULL: not made yet */
} template = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* libpam unloads the module at pam_end and loads it afresh at the next
 * pam_start: a template kept past the unload would be lost each time.
 * Freed by an atexit handler registered once the template exists, not by
 * a destructor: in a shared object atexit registers for that object
 * (__cxa_atexit with its handle), so it runs when the module is unloaded,
 * and at exit it runs before OpenSSL's own exit handler, which OpenSSL
 * registered earlier (when the template's making first used it); a
 * destructor could run after OpenSSL has cleaned up. No lock is taken
 * here: at unload or exit no call of ours is under way. */
static void template_free(void)
{
	EVP_MAC_CTX_free(template.ctx);
	template.ctx = NULL;
}

/* A fresh context copied from the template, which is made on first use.
 * A failure is tried again next time rather than remembered. */
static EVP_MAC_CTX *hmac_new(void)
{
	EVP_MAC_CTX *ctx = NULL;

	pthread_mutex_lock(&template.lock);
	if (template.ctx == NULL) {
		template.ctx = make_template();
		if (template.ctx != NULL && atexit(template_free) != 0) {
			EVP_MAC_CTX_free(template.ctx); /* not kept: not to be lost */
			template.ctx = NULL;
		}
	}
	if (template.ctx != NULL)
		ctx = EVP_MAC_CTX_dup(template.ctx);
	pthread_mutex_unlock(&template.lock);
	return ctx;
}

static int mac_parts(const unsigned char key[SU_HOSTKEY_BYTES],
		     const char *const *parts, size_t nparts,
		     unsigned char mac[SU_HMAC_BYTES])
{
	EVP_MAC_CTX *ctx = hmac_new();
	size_t mac_len = 0;
	int rc = -1;

	if (ctx == NULL || EVP_MAC_init(ctx, key, SU_HOSTKEY_BYTES, NULL) != 1)
		goto out;
	for (size_t i = 0; i < nparts; i++)
		if (mac_part(ctx, parts[i]) != 0)
			goto out;
	if (EVP_MAC_final(ctx, mac, &mac_len, SU_HMAC_BYTES) != 1 ||
	    mac_len != SU_HMAC_BYTES)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx); /* cleanses the keyed state it holds */
	return rc;
}

int su_hmac_hex(const unsigned char key[SU_HOSTKEY_BYTES],
		const char *const *parts, size_t nparts, char out[SU_HMAC_HEX])
{
	unsigned char mac[SU_HMAC_BYTES];
	int rc = -1;

	out[0] = '\0';
	if (mac_parts(key, parts, nparts, mac) == 0) {
		su_hex(mac, sizeof(mac), out);
		rc = 0;
	}
	su_erase(mac, sizeof(mac));
	return rc;
}
