/* TOTP (RFC 6238) on liboath: the user's parameters from their record,
 * verification over a window with a constant-time compare, and new secrets.
 * This file owns the TOTP keys: no other file spells them.
 * Record keys: totp_secret (base32), totp_digits (6|8), totp_period.
 * State key: totp_last_time, the replay barrier (su_totp_barrier). */
#ifndef SU_TOTP_H
#define SU_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "kv.h"
#include "log.h"

#define SU_TOTP_SECRET_BYTES 20  /* what stepupctl generates: 160 bits */
#define SU_TOTP_MIN_SECRET_BYTES 10 /* 80 bits: google-authenticator's size */
#define SU_TOTP_MAX_SECRET_BYTES 64
#define SU_TOTP_DEFAULT_DIGITS 6
#define SU_TOTP_DEFAULT_PERIOD 30
/* What a record may hold, what su_totp_load accepts and what stepupctl
 * offers: 6 or 8 digits (7 is refused: no app shows it), a step of 15 to
 * 300 seconds. */
#define SU_TOTP_DIGITS_MIN 6
#define SU_TOTP_DIGITS_MAX 8
#define SU_TOTP_PERIOD_MIN 15
#define SU_TOTP_PERIOD_MAX 300

typedef struct su_totp {
	unsigned char *key; /* decoded secret, wiped on clear */
	size_t key_len;
	unsigned digits;
	unsigned period;
} su_totp;

/* liboath setup and teardown around each use (per PAM call). */
int su_totp_init(void);
void su_totp_done(void);

/* True if the record has a totp_secret (is enrolled for TOTP). */
bool su_totp_enrolled(const su_kv *record);
/* Parse the TOTP keys of a record; errors name path, line and key. */
int su_totp_load(const su_log *log, const char *path, const su_kv *record,
		 su_totp *out);
void su_totp_clear(su_totp *t);

/* True for the code lengths a record may hold: 6 or 8. */
bool su_totp_digits_ok(unsigned digits);

/* Write the TOTP part of a record (enroll, import): every totp_* key is
 * replaced by the secret (canonical base32: upper case, unpadded), digits
 * and period, exactly what su_totp_load reads back. 0; -1 when the secret
 * is not SU_TOTP_MIN..MAX_SECRET_BYTES long or digits or period are out
 * of range (record untouched), or out of memory (no totp_* key left). */
int su_totp_store(su_kv *record, const unsigned char *secret, size_t len,
		  unsigned digits, unsigned period);

/* Remove every totp_* key from a record (the state's barrier stays). */
void su_totp_remove(su_kv *record);

/* The replay barrier, state key totp_last_time: the start (Unix seconds)
 * of the latest time step a code was accepted in, or that an import
 * carried over. A code whose step starts at or before it is refused. A
 * time, not a step: it bars the codes of an earlier enrolment whatever the
 * new period. 0 with *last; SU_KV_ABSENT with *last = 0 (no code yet); -1
 * (logged: path, line and key) when malformed. */
int su_totp_barrier(const su_log *log, const char *path, const su_kv *state,
		    uint64_t *last);

/* Raise the barrier to start, keeping the highest: 1 when raised, 0 when
 * the state already bars start (a replay, or an import already covered;
 * an absent barrier is 0 and bars a step starting at 0),
 * -1 out of memory or a malformed barrier (state untouched; read it with
 * su_totp_barrier first to have that said). */
int su_totp_set_barrier(su_kv *state, uint64_t start);

/* True if code has the shape of this user's TOTP codes (digits only, the
 * enrolled length): anything else is not worth a state lock. */
bool su_totp_code_shaped(const su_totp *t, const char *code);

/* 1 if code (normalised) matches a step in [now-window, now+window], with
 * *matched_step set; 0 if not; -1 on error. Whether the step was already
 * used is the caller's question, asked under the state lock. */
int su_totp_verify(const su_totp *t, const char *code, time_t now,
		   unsigned window, uint64_t *matched_step);

/* Base32 (RFC 4648, no padding) in and out. Decoding ignores spaces, dashes
 * and '=' and accepts lower case. The decoded bytes must be wiped by caller. */
int su_base32_decode(const char *in, unsigned char **out, size_t *out_len);
char *su_base32_encode(const unsigned char *in, size_t len);

#endif
