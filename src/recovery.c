#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "recovery.h"
#include "secret.h"
#include "util.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; /* Crockford */
#define SALT_BYTES 16
#define SET_BYTES 8
#define USED_MAX (SU_RECOVERY_COUNT_MAX * 3 + 1) /* "50," * 50 */
#define FORMAT_KEY "recovery_format"
#define FORMAT_DIGITS "digits8" /* imported: SU_RECOVERY_DIGITS digits */

/* The shape of the codes of a record's set. */
enum shape { SHAPE_OURS, SHAPE_DIGITS, SHAPE_UNKNOWN };

static enum shape set_shape(const su_kv *record)
{
	const char *format = su_kv_get(record, FORMAT_KEY);

	if (format == NULL)
		return SHAPE_OURS;
	return strcmp(format, FORMAT_DIGITS) == 0 ? SHAPE_DIGITS : SHAPE_UNKNOWN;
}


static void code_key(unsigned k, char *name, size_t size)
{
	snprintf(name, size, "recovery_%u", k);
}

/* HMAC(hostkey, "recovery", user, set, salt, canon) in hex. */
static int code_mac(const unsigned char *key, const char *user, const char *set,
		    const char *salt, const char *canon, char out[SU_HMAC_HEX])
{
	const char *parts[] = {"recovery", user, set, salt, canon};

	return su_hmac_hex(key, parts, 5, out);
}

/* 12 symbols, each a random byte's low 5 bits (256 = 8 * 32: uniform). */
static int new_code(char canon[SU_RECOVERY_CHARS + 1])
{
	unsigned char r[SU_RECOVERY_CHARS];

	if (su_random(r, sizeof(r)) != 0)
		return -1;
	for (size_t i = 0; i < SU_RECOVERY_CHARS; i++)
		canon[i] = alphabet[r[i] & 31];
	canon[SU_RECOVERY_CHARS] = '\0';
	su_erase(r, sizeof(r));
	return 0;
}

/* ABCD0123WXYZ -> abcd-0123-wxyz */
static void shown_form(const char *canon, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < SU_RECOVERY_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = '-';
		out[n++] = (char)(canon[i] >= 'A' && canon[i] <= 'Z' ? canon[i] - 'A' + 'a' : canon[i]);
	}
	out[n] = '\0';
}

/* One stored code: a fresh salt and the MAC of canon under it. */
static int store_code(const unsigned char *key, const char *user, const char *set,
		      unsigned k, const char *canon, su_kv *record)
{
	unsigned char salt[SALT_BYTES];
	char salt_hex[2 * SALT_BYTES + 1], mac[SU_HMAC_HEX];
	char value[sizeof(salt_hex) + SU_HMAC_HEX + 1], name[32];
	int rc = -1;

	if (su_random(salt, sizeof(salt)) != 0)
		return -1;
	su_hex(salt, sizeof(salt), salt_hex);
	if (code_mac(key, user, set, salt_hex, canon, mac) == 0) {
		snprintf(value, sizeof(value), "%s:%s", salt_hex, mac);
		code_key(k, name, sizeof(name));
		rc = su_kv_set(record, name, value);
	}
	su_erase(mac, sizeof(mac));
	return rc;
}

/* Start a new set of count codes in record (format NULL: ours): a fresh
 * random id, and every earlier recovery_* key removed, so the old set's
 * codes and used list no longer count. -1: record untouched (a bad count,
 * no randomness) or without recovery_* keys (out of memory). */
static int new_set(su_kv *record, unsigned count, const char *format,
		   char set[2 * SET_BYTES + 1])
{
	unsigned char raw[SET_BYTES];

	if (count == 0 || count > SU_RECOVERY_COUNT_MAX || su_random(raw, sizeof(raw)) != 0)
		return -1;
	su_hex(raw, sizeof(raw), set);
	su_recovery_remove(record);
	if (su_kv_set(record, "recovery_set", set) != 0 ||
	    su_kv_set_u64(record, "recovery_count", count) != 0 ||
	    (format != NULL && su_kv_set(record, FORMAT_KEY, format) != 0)) {
		su_recovery_remove(record);
		return -1;
	}
	return 0;
}

int su_recovery_generate(const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
			 unsigned count, su_kv *record, char (*shown)[SU_RECOVERY_SHOWN])
{
	char set[2 * SET_BYTES + 1], canon[SU_RECOVERY_CHARS + 1];
	int rc = -1;

	if (new_set(record, count, NULL, set) != 0)
		return -1;
	for (unsigned k = 1; k <= count; k++) {
		if (new_code(canon) != 0 || store_code(key, user, set, k, canon, record) != 0)
			goto out;
		shown_form(canon, shown[k - 1]);
	}
	rc = 0;
out:
	su_erase(canon, sizeof(canon));
	if (rc != 0) {
		su_recovery_remove(record);
		for (unsigned k = 0; k < count; k++)
			su_erase(shown[k], SU_RECOVERY_SHOWN);
	}
	return rc;
}

/* An imported code as typed and as stored: exactly the digits. */
static bool digits_canonical(const char *answer, char *canon)
{
	size_t n = strlen(answer);

	if (n != SU_RECOVERY_DIGITS || strspn(answer, "0123456789") != n)
		return false;
	memcpy(canon, answer, n + 1);
	return true;
}

int su_recovery_import(const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		       unsigned count, const char (*codes)[SU_RECOVERY_DIGITS + 1],
		       su_kv *record)
{
	char set[2 * SET_BYTES + 1], canon[SU_RECOVERY_CHARS + 1];
	int rc = -1;

	if (new_set(record, count, FORMAT_DIGITS, set) != 0)
		return -1;
	for (unsigned k = 1; k <= count; k++) {
		/* Only what su_recovery_canonical lets a user type is stored. */
		if (!digits_canonical(codes[k - 1], canon) ||
		    store_code(key, user, set, k, canon, record) != 0)
			goto out;
	}
	rc = 0;
out:
	su_erase(canon, sizeof(canon));
	if (rc != 0)
		su_recovery_remove(record);
	return rc;
}

bool su_recovery_enrolled(const su_kv *record)
{
	return su_kv_get(record, "recovery_set") != NULL &&
	       su_kv_get(record, "recovery_1") != NULL;
}

bool su_recovery_imported(const su_kv *record)
{
	return set_shape(record) == SHAPE_DIGITS;
}

void su_recovery_remove(su_kv *record)
{
	su_kv_del_prefix(record, "recovery_");
}

/* Our own code: Crockford's base32, O, I and L read as 0, 1 and 1. */
static bool ours_canonical(const char *answer, char *canon)
{
	size_t n = 0;

	for (; *answer != '\0'; answer++) {
		char c = *answer;

		if (n == SU_RECOVERY_CHARS)
			return false;
		if (c == 'O')
			c = '0';
		else if (c == 'I' || c == 'L')
			c = '1';
		if (strchr(alphabet, c) == NULL || c == '\0')
			return false;
		canon[n++] = c;
	}
	canon[n] = '\0';
	return n == SU_RECOVERY_CHARS;
}

bool su_recovery_canonical(const su_kv *record, const char *answer, char *canon)
{
	switch (set_shape(record)) {
	case SHAPE_OURS:
		return ours_canonical(answer, canon);
	case SHAPE_DIGITS:
		return digits_canonical(answer, canon);
	case SHAPE_UNKNOWN:
		break;
	}
	return false;
}

/* recovery_count and recovery_set of a record that has them right, and
 * a recovery_format this version knows. */
static int record_set(const su_log *log, const char *path, const su_kv *record,
		      const char **set, unsigned *count)
{
	uint64_t n = 0;

	if (set_shape(record) == SHAPE_UNKNOWN) {
		su_logf(log, LOG_ERR, "%s:%u: key '" FORMAT_KEY "': not a format this "
			"version knows; run 'stepupctl recovery' again", path,
			su_kv_find(record, FORMAT_KEY)->line);
		return -1;
	}

	*set = su_kv_get(record, "recovery_set");
	if (*set == NULL || strlen(*set) != 2 * SET_BYTES ||
	    strspn(*set, "0123456789abcdef") != 2 * SET_BYTES ||
	    su_kv_get_u64(log, path, record, "recovery_count", 1, SU_RECOVERY_COUNT_MAX, &n) != 0) {
		su_logf(log, LOG_ERR, "%s: recovery codes: recovery_set or recovery_count "
			"missing or malformed; run 'stepupctl recovery' again", path);
		return -1;
	}
	*count = (unsigned)n;
	return 0;
}

/* recovery_K split into salt and MAC, both checked for shape. */
static int stored_code(const su_log *log, const char *path, const su_kv *record,
		       unsigned k, char *salt, const char **mac)
{
	char name[32];
	const char *v;

	code_key(k, name, sizeof(name));
	v = su_kv_get(record, name);
	if (v == NULL || strlen(v) != 2 * SALT_BYTES + 1 + SU_HMAC_HEX - 1 ||
	    v[2 * SALT_BYTES] != ':' ||
	    strspn(v, "0123456789abcdef") != 2 * SALT_BYTES ||
	    strspn(v + 2 * SALT_BYTES + 1, "0123456789abcdef") != SU_HMAC_HEX - 1) {
		su_logf(log, LOG_ERR, "%s: %s missing or malformed", path, name);
		return -1;
	}
	memcpy(salt, v, 2 * SALT_BYTES);
	salt[2 * SALT_BYTES] = '\0';
	*mac = v + 2 * SALT_BYTES + 1;
	return 0;
}

int su_recovery_match(const su_log *log, const char *path,
		      const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		      const su_kv *record, const char *canon, unsigned *index)
{
	char salt[2 * SALT_BYTES + 1], mac[SU_HMAC_HEX];
	const char *set, *stored;
	unsigned count;
	int rc = 0;

	*index = 0;
	if (record_set(log, path, record, &set, &count) != 0)
		return -1;
	for (unsigned k = 1; k <= count && rc == 0; k++) {
		if (stored_code(log, path, record, k, salt, &stored) != 0 ||
		    code_mac(key, user, set, salt, canon, mac) != 0) {
			rc = -1;
			break;
		}
		/* No early exit: the time taken does not say which code it was. */
		if (CRYPTO_memcmp(mac, stored, SU_HMAC_HEX - 1) == 0)
			*index = k;
	}
	su_erase(mac, sizeof(mac));
	if (rc != 0)
		*index = 0;
	return rc;
}

bool su_recovery_same_code(const su_kv *before, const su_kv *now, unsigned index)
{
	char key[32];
	const char *a, *b, *set_a, *set_b;

	code_key(index, key, sizeof(key));
	a = su_kv_get(before, key);
	b = su_kv_get(now, key);
	set_a = su_kv_get(before, "recovery_set");
	set_b = su_kv_get(now, "recovery_set");
	return a != NULL && b != NULL && set_a != NULL && set_b != NULL &&
	       strcmp(a, b) == 0 && strcmp(set_a, set_b) == 0;
}

int su_recovery_match_keys(const su_log *log, const char *path,
			   const unsigned char *const keys[], size_t nkeys, const char *user,
			   const su_kv *record, const char *canon, unsigned *index)
{
	unsigned found = 0, k;
	int rc = nkeys > 0 ? 0 : -1;

	*index = 0;
	for (size_t i = 0; i < nkeys && rc == 0; i++) {
		rc = su_recovery_match(log, path, keys[i], user, record, canon, &k);
		if (rc == 0 && k != 0)
			found = k; /* no early exit: every key is tried */
	}
	*index = rc == 0 ? found : 0;
	return rc;
}

/* The used list of state, as a bit per code, if it is about set. */
static int used_codes(const su_log *log, const char *path, const su_kv *state,
		      const char *set, unsigned count, bool *used)
{
	const char *list = su_kv_get(state, "recovery_used");
	const char *state_set = su_kv_get(state, "recovery_set");
	char copy[USED_MAX], *save = NULL;

	memset(used, 0, (count + 1) * sizeof(*used));
	if (state_set == NULL || strcmp(state_set, set) != 0 || list == NULL || list[0] == '\0')
		return 0; /* another set's list, or none: nothing used yet */
	if (strlen(list) >= sizeof(copy))
		goto bad;
	strcpy(copy, list);
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		unsigned k;

		if (!su_parse_uint(t, 1, count, &k))
			goto bad;
		used[k] = true;
	}
	return 0;
bad:
	su_logf(log, LOG_ERR, "%s: recovery_used: malformed list", path);
	return -1;
}

int su_recovery_use(const su_log *log, const char *path, const su_kv *record,
		    su_kv *state, unsigned index, bool *was_used)
{
	bool used[SU_RECOVERY_COUNT_MAX + 1];
	char list[USED_MAX];
	const char *set;
	unsigned count;
	size_t n = 0;

	*was_used = false;
	if (record_set(log, path, record, &set, &count) != 0 || index < 1 || index > count ||
	    used_codes(log, path, state, set, count, used) != 0)
		return -1;
	if (used[index]) {
		*was_used = true;
		return 0;
	}
	used[index] = true;
	list[0] = '\0';
	for (unsigned k = 1; k <= count; k++)
		if (used[k])
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%u", n ? "," : "", k);
	return su_kv_set(state, "recovery_set", set) != 0 ||
	       su_kv_set(state, "recovery_used", list) != 0 ? -1 : 0;
}

int su_recovery_left(const su_log *log, const char *path, const su_kv *record,
		     const su_kv *state, unsigned *left, unsigned *total)
{
	bool used[SU_RECOVERY_COUNT_MAX + 1];
	const char *set;
	unsigned count;

	*left = *total = 0;
	if (record_set(log, path, record, &set, &count) != 0 ||
	    used_codes(log, path, state, set, count, used) != 0)
		return -1;
	*total = count;
	for (unsigned k = 1; k <= count; k++)
		*left += used[k] ? 0 : 1;
	return 0;
}
