/* The host key (/etc/stepup/hostkey, 32 random bytes) and the one HMAC the
 * module makes with it. Email codes are stored as HMACs under it, and grace
 * records are signed with it, so that nothing in state or /run is worth
 * stealing or forging without the key. */
#ifndef SU_HOSTKEY_H
#define SU_HOSTKEY_H

#include <stddef.h>
#include "log.h"
#include "safefile.h"

#define SU_HOSTKEY_BYTES 32
#define SU_HMAC_BYTES 32
#define SU_HMAC_HEX (2 * SU_HMAC_BYTES + 1) /* with the NUL */

/* Read the key into key[] (a secret file: root, 0600, exactly 32 bytes).
 * SU_OK; SU_NOTFOUND (logged: "run stepupctl init"); SU_ERR (logged).
 * The caller wipes key with su_erase. */
int su_hostkey_load(const su_log *log, const char *path,
		    unsigned char key[SU_HOSTKEY_BYTES]);

/* What su_hostkey_create did. */
enum su_hostkey_made {
	SU_HOSTKEY_CREATED, /* a new key: 32 random bytes, mode 0600 */
	SU_HOSTKEY_KEPT,    /* a key of the right size was there */
	SU_HOSTKEY_RACED,   /* another run made one between the read and the create */
};

/* stepupctl init: a new key at path unless one is there; a key is never
 * replaced (that ends every pending email code and grace period). SU_OK
 * with *made; SU_ERR (logged: a file of another size, one the safe-file
 * checks refuse, no randomness, a failed write). The parent directory
 * must exist. */
int su_hostkey_create(const su_log *log, const char *path, enum su_hostkey_made *made);

/* HMAC-SHA256 (OpenSSL) of the parts, each preceded by its length as 4
 * bytes big-endian, so ("ab","c") and ("a","bc") differ. A domain label
 * ("email-code", "grace") is the first part by convention. Result as
 * lower-case hex. 0 or -1. */
int su_hmac_hex(const unsigned char key[SU_HOSTKEY_BYTES],
		const char *const *parts, size_t nparts, char out[SU_HMAC_HEX]);

#endif
