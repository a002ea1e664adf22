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

struct typed_code {
	const char *code;
	size_t len;
};

/* liboath compares candidates with strcmp; ours is constant time. */
static int compare_code(void *handle, const char *candidate)
{
	const struct typed_code *typed = handle;

	if (strlen(candidate) != typed->len)
		return 1;
	return su_equal(candidate, typed->code, typed->len) ? 0 : 1;
}

int su_totp_verify(const su_totp *t, const char *code, time_t now,
		   unsigned window, uint64_t *matched_step)
{
	struct typed_code typed = {code, strlen(code)};
	uint64_t counter = 0;
	int pos = 0, rc;

	rc = oath_totp_validate4_callback((const char *)t->key, t->key_len, now,
					  t->period, 0, t->digits, window, &pos,
					  &counter, 0, compare_code, &typed);
	if (rc == OATH_INVALID_OTP)
		return 0;
	if (rc < 0)
		return -1;
	*matched_step = counter;
	return 1;
}
