/* The email method: codes, their HMACs in state, rate limits (the mail
 * itself is email_message.c's).
 *
 * What state keeps (email.h lists the keys) and why:
 *  - only the HMAC of a pending code, so state is never a list of codes;
 *  - the HMAC of a used code stays, so that typing it again is "already
 *    used", not "no code"; a code voided by wrong answers loses its HMAC,
 *    so nothing can match it any more;
 *  - email_sent holds the sends of the last hour only, and never more than
 *    SENT_KEEP of them, so it cannot grow past what a state value may hold.
 * Every malformed key is an error naming path, line and key: state is
 * written only by us, so damage is reported, never guessed around. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "email.h"
#include "mail.h"
#include "secret.h"
#include "util.h"

#define HOUR 3600
/* How far the clock may have gone back since a time was written before
 * that time is treated as written under a wrong clock. */
#define CLOCK_SLACK 60
/* No code lives longer than the longest email_code_ttl the config allows:
 * an expiry further ahead was set under a clock that was wrong. */
#define TTL_MAX 3600
/* Sends kept in email_sent: 300 times of 10 digits and commas stay well
 * below a state value's 4096 bytes. The hourly limit counts no further. */
#define SENT_KEEP 300
/* No Unix time we write is later than the year 9999. */
#define TIME_MAX 253402300799ULL

#define K_HMAC "email_code_hmac"
#define K_EXPIRES "email_code_expires"
#define K_ATTEMPTS "email_code_attempts"
#define K_USED "email_code_used"
#define K_SENT "email_sent"
/* The host that issued the pending code: its HMAC is under that host's
 * key and the mail names that host, so in a fleet sharing one state
 * (store = ldap) the code is that host's alone; another host neither
 * matches it nor spends its attempts. */
#define K_HOST "email_code_host"
#define K_ADDRESS "email_address"

bool su_email_enrolled(const su_kv *record)
{
	return su_email_address(record) != NULL;
}

const char *su_email_address(const su_kv *record)
{
	return su_kv_get(record, K_ADDRESS);
}

int su_email_set_address(su_kv *record, const char *address)
{
	if (!su_mail_address_ok(address, NULL, 0))
		return -1;
	return su_kv_set(record, K_ADDRESS, address) == 0 ? 0 : -1;
}

void su_email_remove(su_kv *record)
{
	su_kv_del_prefix(record, "email_");
}

/* --- codes --------------------------------------------------------------------- */

int su_email_new_code(unsigned digits, char *out, size_t out_size)
{
	unsigned char pool[32];
	size_t used = sizeof(pool), n = 0;
	int rc = -1;

	if (out == NULL || out_size == 0)
		return -1;
	out[0] = '\0';
	if (digits < SU_EMAIL_CODE_MIN || digits > SU_EMAIL_CODE_MAX || out_size <= digits)
		return -1;
	while (n < digits) {
		if (used == sizeof(pool)) {
			if (su_random(pool, sizeof(pool)) != 0)
				goto out;
			used = 0;
		}
		/* 250 is the largest multiple of 10 a byte holds: a byte below
		 * it gives every digit 25 ways; one above it would favour 0-5. */
		if (pool[used] < 250)
			out[n++] = (char)('0' + pool[used] % 10);
		used++;
	}
	out[n] = '\0';
	rc = 0;
out:
	if (rc != 0)
		su_erase(out, out_size);
	su_erase(pool, sizeof(pool));
	return rc;
}

bool su_email_code_shaped(const char *code, unsigned digits)
{
	if (code == NULL || strlen(code) != digits)
		return false;
	for (const char *p = code; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

int su_email_code_hmac(const unsigned char key[SU_HOSTKEY_BYTES],
		       const char *user, const char *code, char out[SU_HMAC_HEX])
{
	const char *parts[] = {"email-code", user, code};

	return su_hmac_hex(key, parts, 3, out);
}

static bool hmac_shaped(const char *hex)
{
	if (hex == NULL || strlen(hex) != SU_HMAC_HEX - 1)
		return false;
	for (const char *p = hex; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* --- email_sent ------------------------------------------------------------------ */

typedef struct sent_list {
	time_t *t;
	size_t n;
} sent_list;

static int cmp_time(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return (x > y) - (x < y);
}

static int sent_malformed(const su_log *log, const char *path, const su_kv_entry *e,
			  const char *why)
{
	return su_fail(log, "%s:%u: key '%s': %s", path, e->line, K_SENT, why);
}

/* Parse one "T" of "T,T,T" into *t; false if it is not a time. */
static bool parse_time(const char *s, size_t len, time_t *t)
{
	char buf[24];
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!su_parse_u64(buf, 0, TIME_MAX, &v))
		return false;
	*t = (time_t)v;
	return true;
}

/* email_sent as times, sorted; absent or empty is no sends. */
static int sent_parse(const su_log *log, const char *path, const su_kv *state,
		      sent_list *out)
{
	const su_kv_entry *e = su_kv_find(state, K_SENT);
	const char *p;
	size_t cap = 1;

	*out = (sent_list){0};
	if (e == NULL || e->value[0] == '\0')
		return 0;
	for (p = e->value; *p != '\0'; p++)
		cap += *p == ',';
	out->t = calloc(cap, sizeof(*out->t));
	if (out->t == NULL)
		return su_fail(log, "%s: out of memory", path);
	for (p = e->value;; p++) {
		size_t len = strcspn(p, ",");
		if (!parse_time(p, len, &out->t[out->n])) {
			free(out->t);
			*out = (sent_list){0};
			return sent_malformed(log, path, e,
					      "expected comma-separated Unix times");
		}
		out->n++;
		p += len;
		if (*p == '\0')
			break;
	}
	qsort(out->t, out->n, sizeof(*out->t), cmp_time);
	return 0;
}

/* Sends that count at now: within the last hour. A time a little after
 * now (the clock was set back by less than CLOCK_SLACK) counts as now; one
 * further ahead was written under a clock that was wrong, and is dropped
 * rather than holding a limit until real time catches up with it. Keeps
 * the list sorted. */
static void sent_window(sent_list *l, time_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++) {
		time_t t = l->t[i] > now ? now : l->t[i];
		if (l->t[i] - now > CLOCK_SLACK)
			continue;
		if (now - t < HOUR)
			l->t[k++] = t;
	}
	l->n = k;
}

int su_email_rate_check(const su_log *log, const char *path, const su_kv *state,
			const su_settings *settings, time_t now,
			enum su_email_limit *limit, time_t *retry_at)
{
	size_t max = settings->email_max_per_hour;
	sent_list l;

	*limit = SU_EMAIL_ALLOWED;
	*retry_at = now;
	if (sent_parse(log, path, state, &l) != 0)
		return -1;
	sent_window(&l, now);
	if (max > SENT_KEEP)
		max = SENT_KEEP; /* no more are kept to count */
	if (max == 0)
		max = 1;
	if (l.n > 0 && now - l.t[l.n - 1] < (time_t)settings->email_min_interval) {
		*limit = SU_EMAIL_TOO_SOON;
		*retry_at = l.t[l.n - 1] + (time_t)settings->email_min_interval;
	} else if (l.n >= max) {
		/* Allowed again once all but max-1 of them are an hour old. */
		*limit = SU_EMAIL_HOURLY_LIMIT;
		*retry_at = l.t[l.n - max] + HOUR;
	}
	free(l.t);
	return 0;
}

int su_email_sends_last_hour(const su_log *log, const char *path,
			     const su_kv *state, time_t now, unsigned *count)
{
	sent_list l;

	*count = 0;
	if (sent_parse(log, path, state, &l) != 0)
		return -1;
	sent_window(&l, now);
	*count = (unsigned)l.n;
	free(l.t);
	return 0;
}

/* "T,T,T" of the newest SENT_KEEP-1 sends of the last hour and now. */
static char *sent_format(sent_list *l, time_t now)
{
	size_t first = 0, off = 0, size;
	char *out;

	sent_window(l, now);
	if (l->n > SENT_KEEP - 1)
		first = l->n - (SENT_KEEP - 1);
	size = (l->n - first + 1) * 21 + 1;
	out = malloc(size);
	if (out == NULL)
		return NULL;
	for (size_t i = first; i < l->n; i++)
		off += (size_t)snprintf(out + off, size - off, "%lld,", (long long)l->t[i]);
	snprintf(out + off, size - off, "%lld", (long long)now);
	return out;
}

/* This host's name as the state keeps it; "" when it has none we can use. */
static void this_host(char *out, size_t size)
{
	/* Zeroed first: a name that fills the buffer is cut without a NUL,
	 * and the last byte tells that only if nothing else was there. */
	memset(out, 0, size);
	if (gethostname(out, size) != 0 || out[size - 1] != '\0' || su_has_control(out))
		out[0] = '\0';
	out[size - 1] = '\0';
}

/* Whether the pending code (if any) was issued by this host. A state
 * without the key (written before it existed) is this host's. */
static bool issued_here(const su_kv *state)
{
	const char *by = su_kv_get(state, K_HOST);
	char here[256];

	if (by == NULL)
		return true;
	this_host(here, sizeof(here));
	return here[0] != '\0' && strcmp(by, here) == 0;
}

int su_email_issue(const su_log *log, const char *path, su_kv *state,
		   const char *hmac_hex, time_t now, time_t expires)
{
	sent_list l;
	char *sent;
	int rc = -1;

	if (!hmac_shaped(hmac_hex) || now < 0 || expires < now)
		return su_fail(log, "%s: internal error: bad email code to store", path);
	if (sent_parse(log, path, state, &l) != 0)
		return -1;
	sent = sent_format(&l, now);
	free(l.t);
	if (sent == NULL)
		return su_fail(log, "%s: out of memory", path);
	/* The older code, whatever its keys said, is void from here on. */
	su_kv_del_prefix(state, "email_code_");
	if (su_kv_set(state, K_HMAC, hmac_hex) == 0 &&
	    su_kv_set_u64(state, K_EXPIRES, (uint64_t)expires) == 0 &&
	    su_kv_set_u64(state, K_ATTEMPTS, 0) == 0 &&
	    su_kv_set_u64(state, K_USED, 0) == 0 && su_kv_set(state, K_SENT, sent) == 0)
		rc = 0;
	if (rc == 0) {
		char here[256];

		this_host(here, sizeof(here));
		if (here[0] != '\0' && su_kv_set(state, K_HOST, here) != 0)
			rc = -1;
	}
	free(sent);
	if (rc != 0) {
		su_kv_del_prefix(state, "email_code_");
		return su_fail(log, "%s: cannot store the email code (out of memory?)", path);
	}
	return 0;
}

/* Remove the newest send at sent_at from the list. */
static void sent_drop(sent_list *l, time_t sent_at)
{
	for (size_t i = l->n; i-- > 0;) {
		if (l->t[i] == sent_at) {
			memmove(&l->t[i], &l->t[i + 1], (l->n - i - 1) * sizeof(*l->t));
			l->n--;
			return;
		}
	}
}

/* "T,T,T" of every send in l, or NULL (out of memory); l has at most
 * SENT_KEEP entries, as it was read from what sent_format wrote. */
static char *sent_join(const sent_list *l)
{
	size_t off = 0, size = l->n * 21 + 1;
	char *out = malloc(size);

	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++)
		off += (size_t)snprintf(out + off, size - off, "%s%lld", i ? "," : "",
					(long long)l->t[i]);
	return out;
}

int su_email_withdraw(const su_log *log, const char *path, su_kv *state,
		      const char *hmac_hex, time_t sent_at)
{
	const char *h = su_kv_get(state, K_HMAC);
	sent_list l;
	char *sent;
	int rc;

	/* Only our code: a concurrent call may have issued a newer one. */
	if (h != NULL && hmac_shaped(h) && hmac_shaped(hmac_hex) &&
	    su_equal(h, hmac_hex, SU_HMAC_HEX - 1))
		su_kv_del_prefix(state, "email_code_");
	if (sent_parse(log, path, state, &l) != 0)
		return -1;
	sent_drop(&l, sent_at);
	if (l.n == 0) {
		free(l.t);
		su_kv_del(state, K_SENT);
		return 0;
	}
	sent = sent_join(&l);
	free(l.t);
	rc = sent != NULL ? su_kv_set(state, K_SENT, sent) : -1;
	free(sent);
	return rc == 0 ? 0 : su_fail(log, "%s: out of memory", path);
}

/* --- judging ----------------------------------------------------------------------- */

typedef struct pending {
	const char *hmac; /* NULL: no code */
	uint64_t expires, attempts, used;
} pending;

/* The pending code's keys; -1 (logged) if one is malformed. */
static int pending_read(const su_log *log, const char *path, const su_kv *state,
			pending *p)
{
	const su_kv_entry *h = su_kv_find(state, K_HMAC);

	*p = (pending){0};
	if (h == NULL || !issued_here(state))
		return 0; /* none, or another host's: not ours to judge */
	if (!hmac_shaped(h->value))
		return su_fail(log, "%s:%u: key '%s': not %d lower-case hex digits", path,
			       h->line, K_HMAC, SU_HMAC_HEX - 1);
	if (su_kv_get_u64(log, path, state, K_EXPIRES, 0, TIME_MAX, &p->expires) != 0)
		return su_kv_find(state, K_EXPIRES) == NULL
			       ? su_fail(log, "%s:%u: key '%s' without '%s'", path, h->line,
					 K_HMAC, K_EXPIRES)
			       : -1;
	if (su_kv_get_u64(log, path, state, K_ATTEMPTS, 0, SU_EMAIL_CODE_MAX_ATTEMPTS,
			  &p->attempts) < 0 ||
	    su_kv_get_u64(log, path, state, K_USED, 0, 1, &p->used) < 0)
		return -1;
	p->hmac = h->value;
	return 0;
}

static int judge_wrong(const su_log *log, const char *path, su_kv *state,
		       uint64_t attempts, enum su_email_verdict *out)
{
	attempts++;
	if (su_kv_set_u64(state, K_ATTEMPTS, attempts) != 0)
		return su_fail(log, "%s: out of memory", path);
	if (attempts >= SU_EMAIL_CODE_MAX_ATTEMPTS) {
		su_kv_del(state, K_HMAC); /* nothing can match it any more */
		*out = SU_EMAIL_VOIDED;
	} else {
		*out = SU_EMAIL_WRONG;
	}
	return 0;
}

int su_email_judge(const su_log *log, const char *path, su_kv *state,
		   const char *hmac_hex, time_t now, enum su_email_verdict *out)
{
	pending p;
	bool match;

	*out = SU_EMAIL_NO_CODE;
	if (pending_read(log, path, state, &p) != 0)
		return -1;
	if (p.hmac == NULL || p.attempts >= SU_EMAIL_CODE_MAX_ATTEMPTS)
		return 0;
	/* Lengths are public (always 64); only the digits are compared, and
	 * those in constant time. */
	match = hmac_hex != NULL && strlen(hmac_hex) == strlen(p.hmac) &&
		su_equal(hmac_hex, p.hmac, strlen(p.hmac));
	if (!match)
		return judge_wrong(log, path, state, p.attempts, out);
	if (p.used) {
		*out = SU_EMAIL_USED;
		return 0;
	}
	if (now < 0 || (uint64_t)now > p.expires ||
	    p.expires - (uint64_t)now > TTL_MAX + CLOCK_SLACK) {
		*out = SU_EMAIL_EXPIRED;
		return 0;
	}
	if (su_kv_set_u64(state, K_USED, 1) != 0)
		return su_fail(log, "%s: out of memory", path);
	*out = SU_EMAIL_MATCH;
	return 0;
}

bool su_email_pending(const su_kv *state, time_t now, time_t *expires)
{
	const char *used = su_kv_get(state, K_USED), *attempts = su_kv_get(state, K_ATTEMPTS);
	uint64_t exp, u = 0, a = 0;

	if (!hmac_shaped(su_kv_get(state, K_HMAC)) || !issued_here(state) ||
	    !su_parse_u64(su_kv_get(state, K_EXPIRES), 0, TIME_MAX, &exp) ||
	    (used != NULL && !su_parse_u64(used, 0, 1, &u)) ||
	    (attempts != NULL && !su_parse_u64(attempts, 0, SU_EMAIL_CODE_MAX_ATTEMPTS, &a)))
		return false;
	if (u != 0 || a >= SU_EMAIL_CODE_MAX_ATTEMPTS || now < 0 || (uint64_t)now > exp ||
	    exp - (uint64_t)now > TTL_MAX + CLOCK_SLACK)
		return false;
	if (expires != NULL)
		*expires = (time_t)exp;
	return true;
}
