/* The fleet key (/etc/stepup/fleetkey): the one secret every host of a
 * fleet shares, for a store the hosts share (store = ldap). It seals each
 * user's TOTP secret in the directory (AES-256-GCM), so that a backup, a
 * replica or a directory administrator sees no seed, and it keys the
 * recovery-code HMACs, which every host must verify (the host key cannot:
 * it differs per host). docs/design.md, "The fleet key".
 *
 * The file: root, 0600, at most 4 KiB, the safe-file checks of the host
 * key; text, one key per line, "KID HEX\n": KID 1 to 16 of a-z 0-9, HEX
 * 64 lower-case hex digits (32 bytes). The first line is the current key,
 * which seals; the others are older keys, kept so that what was sealed or
 * MACed under them still opens during a rotation. No blank line, no
 * comment, no KID twice, at most 16 keys; the last line may lack its
 * newline. */
#ifndef SU_FLEETKEY_H
#define SU_FLEETKEY_H

#include <stdbool.h>
#include <stddef.h>
#include "hostkey.h"
#include "log.h"
#include "safefile.h" /* SU_OK, SU_NOTFOUND, SU_EXISTS, SU_ERR */

#define SU_FLEETKEY_BYTES 32
#define SU_FLEETKEY_KID_MAX 16    /* characters of a key id */
#define SU_FLEETKEY_MAX 16        /* keys in one file */
#define SU_FLEETKEY_FILE_MAX 4096
#define SU_FLEETKEY_SECRET_MAX 64 /* SU_TOTP_MAX_SECRET_BYTES */

/* A fleet key keys the same HMACs a host key does (su_hmac_hex,
 * su_recovery_match): each key of the file in turn. */
_Static_assert(SU_FLEETKEY_BYTES == SU_HOSTKEY_BYTES,
	       "a fleet key must fit where a host key goes");

typedef struct su_fleetkey su_fleetkey;

/* 1 to SU_FLEETKEY_KID_MAX of a-z 0-9. */
bool su_fleetkey_valid_kid(const char *kid);

/* Read and check the file. SU_OK with *out (free with su_fleetkey_free);
 * SU_NOTFOUND (logged: "run 'stepupctl fleet-key init'"); SU_ERR (logged:
 * the file's refusal, or PATH:LINE and what is wrong with it, never any
 * of the key material). *out is NULL unless SU_OK. */
int su_fleetkey_load(const su_log *log, const char *path, su_fleetkey **out);
/* Wipe and free; accepts NULL. */
void su_fleetkey_free(su_fleetkey *fk);

/* The key ids and keys, the current one first (index 0). Each recovery
 * verifier is checked against every key: a code cannot be re-keyed, so
 * one MACed under an older key verifies only while that key stays. */
size_t su_fleetkey_count(const su_fleetkey *fk);
const char *su_fleetkey_current(const su_fleetkey *fk); /* kid of index 0 */
const char *su_fleetkey_kid(const su_fleetkey *fk, size_t i);
/* SU_FLEETKEY_BYTES bytes; valid until su_fleetkey_free. */
const unsigned char *su_fleetkey_key(const su_fleetkey *fk, size_t i);

/* Seal a TOTP secret (1 to SU_FLEETKEY_SECRET_MAX bytes) for user under
 * the current key: "v1:KID:BASE64(nonce || ciphertext || tag)", AES-256-GCM
 * with a random 12-byte nonce and a 16-byte tag, the additional data
 * "stepup-totp-secret" NUL user NUL KID, so that a blob opens only in the
 * entry of the user it was sealed for. SU_OK with *blob (malloc'd, not
 * secret); SU_ERR (not logged: a bad length, no randomness, OpenSSL). */
int su_fleetkey_seal(const su_fleetkey *fk, const char *user,
		     const unsigned char *secret, size_t len, char **blob);

/* Open a blob sealed for user into out (out_size bytes), its length in
 * *len. SU_OK; SU_ERR, logged as "WHAT: REASON" (what names the value,
 * e.g. "ldap:uid=alice,...: stepupTotpSecret"): not a v1 blob, a key id
 * the file does not hold (named: it is not secret), bad base64, a wrong
 * length, or authentication failed (another user's blob, altered, or
 * another key under the same id). On failure out is wiped and *len is 0.
 * The tag is checked by GCM, in constant time. */
int su_fleetkey_open(const su_log *log, const char *what, const su_fleetkey *fk,
		     const char *user, const char *blob, unsigned char *out,
		     size_t out_size, size_t *len);

/* ---- stepupctl fleet-key (fleetkey_admin.c, libstepupadmin only) ------- */

/* A new file at path holding one fresh key; never replaces: SU_EXISTS
 * (not logged) if path exists. SU_OK with its id in kid; SU_ERR (logged). */
int su_fleetkey_create(const su_log *log, const char *path,
		       char kid[SU_FLEETKEY_KID_MAX + 1]);
/* A fresh key written in front of the file's keys (mode 0600, atomic
 * replace, under the lock .NAME.lock beside the file, after the file has
 * been read as su_fleetkey_load reads it): the new current key, its id in
 * kid. SU_NOTFOUND (logged) when there is no file; SU_ERR (logged) when
 * it is refused or holds SU_FLEETKEY_MAX keys already. */
int su_fleetkey_rotate(const su_log *log, const char *path,
		       char kid[SU_FLEETKEY_KID_MAX + 1]);
/* Remove the older key kid from the file, as rotate rewrites it.
 * SU_NOTFOUND (logged) when there is no file or it does not hold kid;
 * SU_ERR (logged) when it is refused or kid is the current key. */
int su_fleetkey_retire(const su_log *log, const char *path, const char *kid);

#endif
