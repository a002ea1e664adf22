/* A google-authenticator file (~/.google_authenticator, as the tool of
 * google-authenticator-libpam writes it; its FILEFORMAT), read into what
 * `stepupctl import google-authenticator` needs. Parsing only: the caller
 * reads the file (safefile.h, SU_FILE_FOREIGN) and decides what pam_stepup
 * can take of it.
 *
 * The format, and how strictly it is read:
 *  1. Line 1 is the secret: base32 (A-Z and 2-7; lower case accepted) of
 *     SU_TOTP_MIN_SECRET_BYTES to SU_TOTP_MAX_SECRET_BYTES bytes.
 *  2. Then, in any order: option lines `" NAME [VALUE...]`, scratch codes
 *     (8 digits, 10000000..99999999, one a line) and blank lines. Lines
 *     end in LF or CRLF; the last one may have no end.
 *  3. The options google-authenticator knows are checked as its PAM module
 *     checks them: TOTP_AUTH (no value), HOTP_COUNTER N, STEP_SIZE 1..60,
 *     WINDOW_SIZE 1..100, RATE_LIMIT 1..100 1..3600 [STAMP...],
 *     DISALLOW_REUSE [STEP...], TIME_SKEW [-]N, RESETTING_TIME_SKEW
 *     [...]. One given twice is an error. An option it does not know is
 *     listed, not refused: a later google-authenticator may write more.
 *  4. Any other line is an error. Every error names the file and the line
 *     and never shows the line: it may be the secret or a code. The name
 *     of an unknown option is kept for the report only if it has the
 *     shape FILEFORMAT gives option names (upper case with an '_', which
 *     neither a base32 secret nor a scratch code can have).
 *  5. At most SU_GA_CODES_MAX scratch codes (what one recovery set holds);
 *     a line repeating an earlier code is counted, not kept, so that a
 *     code works once.
 *  6. Every copy of the secret and of the codes is wiped: su_ga_clear, and
 *     su_ga_parse on every path. */
#ifndef SU_GAFILE_H
#define SU_GAFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "log.h"
#include "recovery.h"

#define SU_GA_FILE_MAX (64 * 1024) /* pam_google_authenticator's own cap */
#define SU_GA_CODE_DIGITS SU_RECOVERY_DIGITS
#define SU_GA_CODES_MAX SU_RECOVERY_COUNT_MAX
#define SU_GA_STEP_DEFAULT 30
#define SU_GA_WINDOW_DEFAULT 3
#define SU_GA_UNKNOWN_MAX 8 /* unknown options listed by line; more are counted */
#define SU_GA_NAME_MAX 32

enum su_ga_option {
	SU_GA_TOTP_AUTH,
	SU_GA_HOTP_COUNTER,
	SU_GA_STEP_SIZE,
	SU_GA_WINDOW_SIZE,
	SU_GA_DISALLOW_REUSE,
	SU_GA_RATE_LIMIT,
	SU_GA_TIME_SKEW,
	SU_GA_RESETTING_TIME_SKEW,
	SU_GA_OPTIONS /* how many */
};

/* Which codes the file is for, by google-authenticator's own rule: HOTP if
 * HOTP_COUNTER is there, else TOTP if TOTP_AUTH is, else neither. */
enum su_ga_mode { SU_GA_NO_MODE, SU_GA_TOTP, SU_GA_HOTP };

typedef struct su_ga_unknown {
	unsigned line;
	char name[SU_GA_NAME_MAX + 1]; /* "" when its shape forbids showing it */
} su_ga_unknown;

typedef struct su_ga_file {
	unsigned char *key; /* the secret, decoded */
	size_t key_len;
	unsigned line[SU_GA_OPTIONS]; /* where each option is; 0: absent */
	unsigned step_size;           /* STEP_SIZE, or SU_GA_STEP_DEFAULT */
	unsigned window_size;         /* WINDOW_SIZE, or SU_GA_WINDOW_DEFAULT */
	unsigned rate_attempts;       /* RATE_LIMIT: attempts ... */
	unsigned rate_seconds;        /* ... per so many seconds */
	long time_skew;               /* TIME_SKEW, in steps */
	unsigned used_steps;          /* how many steps DISALLOW_REUSE lists */
	uint64_t last_used_step;      /* the highest of them (used_steps > 0) */
	char codes[SU_GA_CODES_MAX][SU_GA_CODE_DIGITS + 1]; /* scratch codes */
	unsigned code_count;
	unsigned code_repeats;        /* lines that repeated an earlier code */
	su_ga_unknown unknown[SU_GA_UNKNOWN_MAX];
	unsigned unknown_count;       /* all unknown options, listed or not */
} su_ga_file;

/* Parse len bytes of text (path only names errors: "PATH:LINE: reason",
 * logged). 0, or -1 with *out wiped. */
int su_ga_parse(const su_log *log, const char *path, const char *text, size_t len,
		su_ga_file *out);

enum su_ga_mode su_ga_mode(const su_ga_file *f);

/* "STEP_SIZE" and so on. */
const char *su_ga_option_name(enum su_ga_option option);

/* Wipe the secret and the codes and free what f holds; accepts NULL. */
void su_ga_clear(su_ga_file *f);

#endif
