/* TOTP (RFC 6238) on liboath: the user's parameters from their record,
 * verification over a window with a constant-time compare, and new secrets.
 * Record keys: totp_secret (base32), totp_digits (6|8), totp_period. */
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
