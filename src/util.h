/* Small checked parsers shared by the config, the records and the CLI,
 * and the one way a string is made safe to print (su_escape). */
#ifndef SU_UTIL_H
#define SU_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SU_USER_MAX 64

/* Strict decimal: digits only, no sign, no spaces, within [min, max]. */
bool su_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
bool su_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out);

/* A user name that is safe as a file name: 1..SU_USER_MAX printable ASCII
 * characters, no '/', no whitespace, not starting with '.' or '-'. */
bool su_valid_username(const char *name);

/* True if s has a byte below 0x20 or 0x7f (CR, LF, TAB and friends). */
bool su_has_control(const char *s);

/* How su_escape writes a string where a byte could do harm: a log line
 * (one key=value token), a terminal, a mail. A byte passes as it is when
 * it is printable ASCII (0x20 to 0x7e) and not held; any other byte is
 * escaped, so that bytes below 0x20, 0x7f and above can never pass. */
typedef struct su_escape_style {
	const char *held;       /* printable bytes escaped all the same (a log
				 * token's blank, '"', '=', '\\'), or NULL */
	char replacement;       /* an escaped byte becomes this one byte ('?');
				 * '\0': "\xHH", two lower-case hex digits */
	bool backslash_doubled; /* '\\' written "\\\\": then a "\xHH" in the
				 * output is always an escape, never typed */
	const char *cut_marker; /* ends a text that was cut ("..."), or NULL */
	bool marker_after_max;  /* the marker follows max characters instead of
				 * fitting within them */
} su_escape_style;

/* Printable ASCII as it is, every other byte as '?', cut without a mark:
 * a name or value shown to a person (a mail, root's terminal, a log line). */
extern const su_escape_style su_escape_printable;

/* in (NULL: "") written into out as style says: whole when that takes at
 * most max characters; else as many whole escapes as fit (none is cut in
 * half), then the cut marker, within max or after it (marker_after_max).
 * out needs max + 1 bytes, and the marker's length more when it comes
 * after max. Returns out. */
const char *su_escape(const char *in, const su_escape_style *style, size_t max, char *out);

/* strdup that aborts nothing: returns NULL on allocation failure. */
char *su_strdup(const char *s);

/* Join dir and name with one '/'; NULL on overflow or allocation failure. */
char *su_path_join(const char *dir, const char *name);

/* Write the reason into why (when not NULL) and return false, so that a
 * check reads "return su_why(why, size, ...)". */
bool su_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* n bytes as 2n lower-case hex digits and a NUL into out. */
void su_hex(const unsigned char *in, size_t n, char *out);

/* t as local time for a message: "14:05" when it is on the same day as
 * now, "2026-11-24 14:05" otherwise. */
const char *su_local_time(time_t t, time_t now, char *buf, size_t size);

#endif
