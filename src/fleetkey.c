/* The fleet key file read and checked (the format and the rules are in
 * fleetkey.h), and what it holds. Sealing and opening with it is
 * fleetkey_seal.c; writing the file, which only stepupctl does,
 * fleetkey_admin.c.
 *
 * Nothing read from the file is ever put in a message: a malformed line
 * may be a key pasted in the wrong place, so a refusal says what is wrong
 * and on which line, never what the line holds. A key id is not secret,
 * and is named once it is known to be one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleetkey.h"
#include "fleetkey_internal.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define HEX_CHARS (2 * SU_FLEETKEY_BYTES)
#define WHY_MAX 160

bool fleet_kid_ok(const char *s, size_t len)
{
	if (len == 0 || len > SU_FLEETKEY_KID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

bool su_fleetkey_valid_kid(const char *kid)
{
	return kid != NULL && fleet_kid_ok(kid, strlen(kid));
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: one spelling per key */
}

/* HEX_CHARS lower-case hex digits at s (len bytes) into key. */
static bool parse_hex(const char *s, size_t len, unsigned char key[SU_FLEETKEY_BYTES],
		      char *why, size_t size)
{
	if (len != HEX_CHARS)
		return su_why(why, size, "the key after the id and one space is %zu "
			      "characters, not %d lower-case hex digits", len, HEX_CHARS);
	for (size_t i = 0; i < SU_FLEETKEY_BYTES; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return su_why(why, size, "the key after the id has a character that "
				      "is not 0-9 or a-f (lower case)");
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* One line "KID HEX" (len bytes, without its newline) into e. */
static bool parse_line(const char *line, size_t len, struct fleet_entry *e,
		       char *why, size_t size)
{
	const char *space = memchr(line, ' ', len);
	size_t kid_len = space != NULL ? (size_t)(space - line) : len;

	if (len == 0)
		return su_why(why, size, "a blank line (none is allowed)");
	if (line[len - 1] == '\r')
		return su_why(why, size, "ends with CR (DOS line ends are not allowed)");
	if (line[0] == '#')
		return su_why(why, size, "a comment (none is allowed)");
	if (!fleet_kid_ok(line, kid_len))
		return su_why(why, size, "does not start with a key id (1 to %d of a-z 0-9)",
			      SU_FLEETKEY_KID_MAX);
	if (space == NULL)
		return su_why(why, size, "no key after the key id (want 'KID HEX')");
	if (!parse_hex(space + 1, len - kid_len - 1, e->key, why, size))
		return false;
	memcpy(e->kid, line, kid_len);
	e->kid[kid_len] = '\0';
	return true;
}

int fleet_find_kid(const su_fleetkey *fk, const char *kid, size_t len)
{
	for (size_t i = 0; i < fk->count; i++)
		if (strlen(fk->keys[i].kid) == len && memcmp(fk->keys[i].kid, kid, len) == 0)
			return (int)i;
	return -1;
}

/* Every line of text into fk; the first error is logged as PATH:LINE. */
static int parse_file(const su_log *log, const char *text, size_t len, su_fleetkey *fk)
{
	char why[WHY_MAX];
	size_t pos = 0;

	if (len == 0)
		return su_fail(log, "%s is empty; it must hold at least one key", fk->path);
	for (unsigned lineno = 1; pos < len; lineno++) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		struct fleet_entry *e = &fk->keys[fk->count];
		int dup;

		if (fk->count == SU_FLEETKEY_MAX)
			return su_fail(log, "%s:%u: more than %d keys; retire an older one "
				       "('stepupctl fleet-key retire KID')", fk->path, lineno,
				       SU_FLEETKEY_MAX);
		if (!parse_line(line, n, e, why, sizeof(why)))
			return su_fail(log, "%s:%u: %s", fk->path, lineno, why);
		dup = fleet_find_kid(fk, e->kid, strlen(e->kid));
		if (dup >= 0)
			return su_fail(log, "%s:%u: key id '%s' is on line %d too", fk->path,
				       lineno, e->kid, dup + 1);
		fk->count++;
		pos += n + 1; /* a last line may lack its newline */
	}
	return SU_OK;
}

int su_fleetkey_load(const su_log *log, const char *path, su_fleetkey **out)
{
	su_buf buf = {0};
	su_fleetkey *fk = NULL;
	int rc;

	*out = NULL;
	rc = su_read_file(log, path, SU_FILE_SECRET, SU_FLEETKEY_FILE_MAX, &buf);
	if (rc == SU_NOTFOUND) {
		su_logf(log, LOG_ERR, "%s does not exist; run 'stepupctl fleet-key init' on "
			"one host and copy the file to the others", path);
		return SU_NOTFOUND;
	}
	if (rc != SU_OK)
		return SU_ERR; /* su_read_file said why */
	fk = calloc(1, sizeof(*fk));
	if (fk == NULL || (fk->path = su_strdup(path)) == NULL)
		rc = su_fail(log, "%s: out of memory", path);
	else
		rc = parse_file(log, buf.data, buf.len, fk);
	su_buf_free(&buf);
	if (rc == SU_OK) {
		*out = fk;
		fk = NULL;
	}
	su_fleetkey_free(fk);
	return rc;
}

void su_fleetkey_free(su_fleetkey *fk)
{
	if (fk == NULL)
		return;
	free(fk->path);
	su_free_secret(fk, sizeof(*fk));
}

size_t su_fleetkey_count(const su_fleetkey *fk)
{
	return fk != NULL ? fk->count : 0;
}

const char *su_fleetkey_kid(const su_fleetkey *fk, size_t i)
{
	return i < su_fleetkey_count(fk) ? fk->keys[i].kid : NULL;
}

const char *su_fleetkey_current(const su_fleetkey *fk)
{
	return su_fleetkey_kid(fk, 0);
}

const unsigned char *su_fleetkey_key(const su_fleetkey *fk, size_t i)
{
	return i < su_fleetkey_count(fk) ? fk->keys[i].key : NULL;
}
