/* Recovery codes (stepupctl(8), recovery; docs/decisions.md, "Recovery
 * codes"): single-use codes for a
 * user who has lost their phone, accepted at any step-up prompt when the
 * rule accepts the `recovery` method.
 *
 * A code is 12 characters of Crockford's base32 alphabet (0-9 and A-Z
 * without I, L, O and U: 32 symbols, no two alike), 60 bits from RAND_bytes
 * (a byte's low 5 bits: no bias), shown as xxxx-xxxx-xxxx in lower case.
 * Typing is forgiving: case, blanks and dashes are ignored, and O, I and L
 * are read as 0, 1 and 1.
 *
 * The user record keeps only, per code, a random 128-bit salt and
 * HMAC-SHA256(hostkey, "recovery", user, set, salt, code) (su_hmac_hex's
 * length-prefixed parts), as recovery_K=SALT:MAC for K = 1..recovery_count,
 * under a fresh random recovery_set id; new codes replace every earlier
 * one. Which codes are used lives in the state (the record is a secret
 * file the module never writes): recovery_set (the set the list is about)
 * and recovery_used=K,K,...; a used list of another set counts for
 * nothing.
 *
 * An imported set (stepupctl import google-authenticator) holds the
 * user's google-authenticator scratch codes instead, 8 decimal digits
 * each, marked recovery_format=digits8 in the record: typed as the 8
 * digits (blanks and dashes ignored), stored, matched and used once
 * exactly as above. A set without recovery_format is ours; any other
 * value is a record this version cannot judge, and is refused. New codes
 * (su_recovery_generate) replace an imported set like any other. */
#ifndef SU_RECOVERY_H
#define SU_RECOVERY_H

#include <stdbool.h>
#include "hostkey.h"
#include "kv.h"
#include "log.h"

#define SU_RECOVERY_COUNT_DEFAULT 10
#define SU_RECOVERY_COUNT_MAX 50
#define SU_RECOVERY_CHARS 12                    /* 60 bits */
#define SU_RECOVERY_SHOWN (SU_RECOVERY_CHARS + 3) /* xxxx-xxxx-xxxx + NUL */
#define SU_RECOVERY_DIGITS 8 /* an imported code; canon holds it too */

/* count new codes for user into record (every earlier recovery_* key is
 * removed first); shown[i] receives code i+1 for display. 0 or -1. */
int su_recovery_generate(const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
			 unsigned count, su_kv *record, char (*shown)[SU_RECOVERY_SHOWN]);

/* count codes given in clear (SU_RECOVERY_DIGITS decimal digits each) as
 * a new imported set in record, replacing every earlier recovery_* key.
 * 0, or -1: a count out of 1..SU_RECOVERY_COUNT_MAX or no randomness
 * (record untouched), a code of another shape or out of memory (no
 * recovery_* key left in record). The caller wipes codes. */
int su_recovery_import(const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		       unsigned count, const char (*codes)[SU_RECOVERY_DIGITS + 1],
		       su_kv *record);

/* The record holds a set of recovery codes. */
bool su_recovery_enrolled(const su_kv *record);

/* The record's set is an imported one (8-digit codes). */
bool su_recovery_imported(const su_kv *record);

/* Remove every recovery_* key from a record. */
void su_recovery_remove(su_kv *record);

/* answer (as su_normalise_code left it: upper case, no blanks or dashes)
 * read as a code of the record's set into canon (SU_RECOVERY_CHARS + 1
 * bytes). False when it cannot be one (or the set's format is unknown). */
bool su_recovery_canonical(const su_kv *record, const char *answer, char *canon);

/* Which code canon is: *index = 1..count, or 0 for none. Every stored code
 * is computed and compared (CRYPTO_memcmp), match or not. -1: a malformed
 * record (logged, path names it). */
int su_recovery_match(const su_log *log, const char *path,
		      const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		      const su_kv *record, const char *canon, unsigned *index);
/* The same under each of nkeys keys (store.h, su_store_verifier_keys: a
 * fleet keeps the codes made under an older fleet key verifiable), every
 * key's every code computed. */
int su_recovery_match_keys(const su_log *log, const char *path,
			   const unsigned char *const keys[], size_t nkeys, const char *user,
			   const su_kv *record, const char *canon, unsigned *index);

/* Code index of the set in before is still there, the same, in now (the
 * record read again under the lock: a set made while the prompt waited
 * voids the code matched against the old one). */
bool su_recovery_same_code(const su_kv *before, const su_kv *now, unsigned index);

/* Under the state lock: mark code index used. *was_used: it already was
 * (nothing changed). 0 or -1 (malformed state, logged). */
int su_recovery_use(const su_log *log, const char *path, const su_kv *record,
		    su_kv *state, unsigned index, bool *was_used);

/* Codes of the record's set not used in state. -1: malformed (logged). */
int su_recovery_left(const su_log *log, const char *path, const su_kv *record,
		     const su_kv *state, unsigned *left, unsigned *total);

#endif
