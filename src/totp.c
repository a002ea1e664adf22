#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <liboath/oath.h>
#include "secret.h"
#include "totp.h"
#include "util.h"

#define K_SECRET "totp_secret"
#define K_DIGITS "totp_digits"
#define K_PERIOD "totp_period"
#define K_BARRIER "totp_last_time"

int su_totp_init(void)
{
	return oath_init() == OATH_OK ? 0 : -1;
}

void su_totp_done(void)
{
	oath_done();
}

bool su_totp_enrolled(const su_kv *record)
{
	return su_kv_get(record, K_SECRET) != NULL;
}

void su_totp_clear(su_totp *t)
{
	if (t == NULL)
		return;
	su_free_secret(t->key, t->key_len);
	*t = (su_totp){0};
}

int su_base32_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(in), n = 0;
	char *clean = malloc(len + 1), *raw = NULL;
	int rc = -1;

	*out = NULL;
	*out_len = 0;
	if (clean == NULL)
		return -1;
	/* Apps and admins write secrets in lower case, in groups, padded. */
	for (size_t i = 0; i < len; i++) {
		if (in[i] == ' ' || in[i] == '=' || in[i] == '-')
			continue;
		clean[n++] = (char)toupper((unsigned char)in[i]);
	}
	clean[n] = '\0';
	if (n > 0 && oath_base32_decode(clean, n, &raw, out_len) == OATH_OK) {
		*out = (unsigned char *)raw;
		rc = 0;
	}
	su_free_secret(clean, len + 1);
	return rc;
}

char *su_base32_encode(const unsigned char *in, size_t len)
{
	char *out = NULL;
	size_t out_len = 0;

	if (oath_base32_encode((const char *)in, len, &out, &out_len) != OATH_OK)
		return NULL;
	/* otpauth URIs and our records carry it unpadded. */
	while (out_len > 0 && out[out_len - 1] == '=')
		out[--out_len] = '\0';
	return out;
}

int su_totp_load(const su_log *log, const char *path, const su_kv *record,
		 su_totp *out)
{
	const su_kv_entry *secret = su_kv_find(record, K_SECRET);
	uint64_t digits = SU_TOTP_DEFAULT_DIGITS, period = SU_TOTP_DEFAULT_PERIOD;
	su_totp t = {0};

	*out = (su_totp){0};
	if (secret == NULL)
		return su_fail(log, "%s: no totp_secret", path);
	if (su_kv_get_u64(log, path, record, K_DIGITS, SU_TOTP_DIGITS_MIN,
			  SU_TOTP_DIGITS_MAX, &digits) < 0 ||
	    su_kv_get_u64(log, path, record, K_PERIOD, SU_TOTP_PERIOD_MIN,
			  SU_TOTP_PERIOD_MAX, &period) < 0)
		return -1;
	if (!su_totp_digits_ok((unsigned)digits))
		return su_fail(log, "%s:%u: key '" K_DIGITS "': must be %d or %d", path,
			       su_kv_find(record, K_DIGITS)->line, SU_TOTP_DIGITS_MIN,
			       SU_TOTP_DIGITS_MAX);
	if (su_base32_decode(secret->value, &t.key, &t.key_len) != 0 ||
	    t.key_len < SU_TOTP_MIN_SECRET_BYTES || t.key_len > SU_TOTP_MAX_SECRET_BYTES) {
		su_totp_clear(&t);
		return su_fail(log, "%s:%u: key '" K_SECRET "': not base32 of %d to %d bytes",
			       path, secret->line, SU_TOTP_MIN_SECRET_BYTES,
			       SU_TOTP_MAX_SECRET_BYTES);
	}
	t.digits = (unsigned)digits;
	t.period = (unsigned)period;
	*out = t;
	return 0;
}

bool su_totp_digits_ok(unsigned digits)
{
	return digits == SU_TOTP_DIGITS_MIN || digits == SU_TOTP_DIGITS_MAX;
}

int su_totp_store(su_kv *record, const unsigned char *secret, size_t len,
		  unsigned digits, unsigned period)
{
	char *text;
	int rc = -1;

	if (len < SU_TOTP_MIN_SECRET_BYTES || len > SU_TOTP_MAX_SECRET_BYTES ||
	    !su_totp_digits_ok(digits) || period < SU_TOTP_PERIOD_MIN ||
	    period > SU_TOTP_PERIOD_MAX)
		return -1;
	text = su_base32_encode(secret, len);
	if (text == NULL)
		return -1;
	su_totp_remove(record);
	if (su_kv_set(record, K_SECRET, text) == 0 &&
	    su_kv_set_u64(record, K_DIGITS, digits) == 0 &&
	    su_kv_set_u64(record, K_PERIOD, period) == 0)
		rc = 0;
	else
		su_totp_remove(record);
	su_free_string(text);
	return rc;
}

void su_totp_remove(su_kv *record)
{
	su_kv_del_prefix(record, "totp_");
}

int su_totp_barrier(const su_log *log, const char *path, const su_kv *state,
		    uint64_t *last)
{
	*last = 0;
	return su_kv_get_u64(log, path, state, K_BARRIER, 0, UINT64_MAX, last);
}

int su_totp_set_barrier(su_kv *state, uint64_t start)
{
	uint64_t last = 0;
	const char *now = su_kv_get(state, K_BARRIER);

	if (now != NULL && !su_parse_u64(now, 0, UINT64_MAX, &last))
		return -1;
	if (start <= last) /* absent is 0: a step starting at 0 is barred too */
		return 0;
	return su_kv_set_u64(state, K_BARRIER, start) == 0 ? 1 : -1;
}

bool su_totp_code_shaped(const su_totp *t, const char *code)
{
	size_t len = strlen(code);

	if (len != t->digits)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)code[i]))
			return false;
	return true;
}

/* Every step of the window is made and compared, with no early exit:
 * how long a verification takes does not say whether or where the code
 * matched (statefile.c rule 3: the time from an answer to its write must
 * not tell the outcome). Constant-time comparison of each candidate. */
int su_totp_verify(const su_totp *t, const char *code, time_t now,
		   unsigned window, uint64_t *matched_step)
{
	char candidate[16]; /* liboath writes digits (at most 8) and a NUL */
	size_t len = strlen(code);
	uint64_t step, found = 0;
	int rc = 0;

	if (now < 0 || t->period == 0)
		return -1;
	step = (uint64_t)now / t->period;
	for (uint64_t i = 0; i <= 2 * (uint64_t)window; i++) {
		uint64_t at = step + i; /* step - window + i, kept unsigned */

		if (at < window || (at - window) > (uint64_t)INT64_MAX / t->period)
			continue; /* before the epoch: no such step */
		at -= window;
		if (oath_totp_generate2((const char *)t->key, t->key_len,
					(time_t)(at * t->period), t->period, 0, t->digits, 0,
					candidate) != OATH_OK) {
			rc = -1;
			continue;
		}
		if (strlen(candidate) == len && su_equal(candidate, code, len)) {
			found = at;
			rc = rc < 0 ? rc : 1;
		}
	}
	su_erase(candidate, sizeof(candidate));
	if (rc == 1)
		*matched_step = found;
	return rc;
}
