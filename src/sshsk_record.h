/* The security keys of a user's record (the method sshsk) and the
 * counters the state keeps for them (docs/design.md, "Security keys").
 *
 * Record (written by stepupctl enroll USER sshkey, root's):
 *
 *     sshsk_key_ID=TYPE BASE64 [COMMENT]
 *
 * one per key, the public key line as ssh-keygen wrote it (the comment's
 * blanks kept, control characters refused), ID the first 8 bytes of
 * SHA-256 of the key blob in lower-case hex: the same key enrolled twice
 * is one entry. At most SU_SSHSK_KEYS_MAX keys.
 *
 * State (written by the module only, in the attempt's transaction):
 *
 *     sshsk_counter_ID=N
 *
 * the authenticator's signature counter last accepted for that key; the
 * next must be higher unless both are 0 (a key that keeps no counter).
 * Removing a key leaves its counter: the same key enrolled again cannot
 * take its counter back to 0. */
#ifndef SU_SSHSK_RECORD_H
#define SU_SSHSK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include "kv.h"
#include "log.h"
#include "safefile.h" /* SU_OK, SU_ERR */
#include "sshsk.h"

#define SU_SSHSK_KEYS_MAX 16
#define SU_SSHSK_ID_SIZE 17 /* 16 hex digits and NUL */
#define SU_SSHSK_RECORD_PREFIX "sshsk_key_"
#define SU_SSHSK_COUNTER_PREFIX "sshsk_counter_"
/* record key, state key: prefix + ID + NUL */
#define SU_SSHSK_KEYNAME_SIZE (sizeof(SU_SSHSK_COUNTER_PREFIX) + SU_SSHSK_ID_SIZE)
#define SU_SSHSK_COMMENT_MAX 256

typedef struct su_sshsk_enrolled {
	su_sshsk_key key;
	char id[SU_SSHSK_ID_SIZE];
	char fp[SU_SSHSK_FP_SIZE];
	char comment[SU_SSHSK_COMMENT_MAX + 1];
} su_sshsk_enrolled;

typedef struct su_sshsk_set {
	su_sshsk_enrolled keys[SU_SSHSK_KEYS_MAX];
	size_t count;
} su_sshsk_set;

bool su_sshsk_enrolled_in(const su_kv *record);
/* Removes every sshsk_key_ line (the counters are state: untouched). */
void su_sshsk_remove(su_kv *record);

/* One key line as enrolled: parsed (su_sshsk_parse_line), its id,
 * fingerprint and comment (blanks squeezed, at most
 * SU_SSHSK_COMMENT_MAX bytes, anything but printable ASCII refused).
 * 0, or -1 with why. Free out->key with su_sshsk_key_free. */
int su_sshsk_enrolled_parse(const char *line, su_sshsk_enrolled *out, char *why,
			    size_t why_size);
/* The record line for an enrolled key: "TYPE BASE64 [COMMENT]" (malloc'ed). */
char *su_sshsk_enrolled_line(const su_sshsk_enrolled *e);
/* "sshsk_key_ID" or "sshsk_counter_ID" into out. */
void su_sshsk_key_name(const char *prefix, const char *id, char out[SU_SSHSK_KEYNAME_SIZE]);
/* Whether key is a counter's name: "sshsk_counter_" and an ID (16
 * lower-case hex digits), nothing else. */
bool su_sshsk_is_counter_key(const char *key);

/* Every key of record, in record order: SU_OK, or SU_ERR (logged with
 * name: a line that is not a security key, an id that is not its key's,
 * more than SU_SSHSK_KEYS_MAX). Free with su_sshsk_set_free. */
int su_sshsk_set_load(const su_log *log, const char *name, const su_kv *record,
		      su_sshsk_set *out);
void su_sshsk_set_free(su_sshsk_set *set);

#endif
