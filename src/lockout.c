#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockout.h"
#include "util.h"

/* Stamps read from fail_times at most. What is kept is fewer: at most
 * lockout_attempts - 1 (config.c caps lockout_attempts at 300, so that they
 * fit in one state value: 299 stamps of 10 digits and a comma are 3289 of
 * KV_VALUE_MAX's 4096 bytes), none when lockout_attempts is 0. */
#define TIMES_MAX 1000
/* A failure stamped this far ahead of now was written under a clock set
 * back since: it is dropped rather than trusted to count for ever. */
#define CLOCK_SLACK 60

static int recent_failures(const su_log *log, const char *path, const su_kv *state,
			   time_t now, unsigned window, uint64_t *times, size_t *n);

/* Every lockout key is read, not only locked_until: a malformed tally
 * would otherwise let wrong answers go uncounted ("unavailable") while a
 * right one still succeeds. */
int su_lockout_locked(const su_log *log, const char *path, const su_kv *state,
		      time_t now, time_t *until)
{
	uint64_t end = 0, count = 0;
	size_t n = 0;
	int rc = su_kv_get_u64(log, path, state, "locked_until", 0, INT64_MAX, &end);

	*until = 0;
	if (rc < 0 || su_kv_get_u64(log, path, state, "fail_count", 0, UINT64_MAX, &count) < 0 ||
	    recent_failures(log, path, state, now, 0, NULL, &n) != 0)
		return -1;
	if (rc == SU_KV_ABSENT || now < 0 || end <= (uint64_t)now)
		return 0;
	*until = (time_t)end;
	return 1;
}

/* fail_times, parsed strictly (numbers and single commas, nothing else):
 * the stamps inside (now - window, now + slack]. */
static int recent_failures(const su_log *log, const char *path, const su_kv *state,
			   time_t now, unsigned window, uint64_t *times, size_t *n)
{
	const char *p = su_kv_get(state, "fail_times");
	size_t seen = 0;

	*n = 0;
	if (p == NULL)
		return 0;
	for (;;) {
		char num[24];
		size_t len = strcspn(p, ",");
		uint64_t v;

		if (len == 0 || len >= sizeof(num) || ++seen > TIMES_MAX)
			goto bad;
		memcpy(num, p, len);
		num[len] = '\0';
		if (!su_parse_u64(num, 0, INT64_MAX, &v))
			goto bad;
		if (times != NULL && v + window > (uint64_t)now && v <= (uint64_t)now + CLOCK_SLACK)
			times[(*n)++] = v;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
bad:
	su_logf(log, LOG_ERR, "%s: fail_times: malformed list", path);
	return -1;
}

static int store_times(su_kv *state, const uint64_t *times, size_t n)
{
	char *list = malloc(n * 21 + 1);
	size_t used = 0;
	int rc;

	if (list == NULL)
		return -1;
	list[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)sprintf(list + used, "%s%llu", i ? "," : "",
					(unsigned long long)times[i]);
	if (n == 0)
		su_kv_del(state, "fail_times");
	rc = n == 0 ? 0 : su_kv_set(state, "fail_times", list);
	free(list);
	return rc;
}

int su_lockout_fail(const su_log *log, const char *path, su_kv *state,
		    su_lockout_rule rule, time_t now, time_t *until)
{
	uint64_t count = 0, *times;
	size_t n = 0, keep;
	int rc = -1;

	*until = 0;
	if (now < 0 ||
	    su_kv_get_u64(log, path, state, "fail_count", 0, UINT64_MAX - 1, &count) < 0)
		return -1;
	times = calloc(TIMES_MAX + 1, sizeof(*times));
	if (times == NULL)
		return -1;
	if (recent_failures(log, path, state, now, rule.time, times, &n) != 0)
		goto out;
	times[n++] = (uint64_t)now;
	if (su_kv_set_u64(state, "fail_count", count + 1) != 0)
		goto out;
	if (rule.attempts > 0 && n >= rule.attempts) {
		/* Locked: the window starts afresh when the lock ends. */
		*until = now + (time_t)rule.time;
		if (su_kv_set_u64(state, "locked_until", (uint64_t)*until) != 0)
			goto out;
		n = 0;
	}
	/* Only the last attempts stamps can ever matter; none when nothing
	 * locks (attempts 0), or they pile up until they no longer fit. */
	keep = rule.attempts == 0 ? 0 : n > rule.attempts ? rule.attempts : n;
	rc = store_times(state, times + (n - keep), keep);
out:
	free(times);
	return rc;
}

void su_lockout_clear(su_kv *state)
{
	su_kv_del(state, "fail_count");
	su_kv_del(state, "fail_times");
	su_kv_del(state, "locked_until");
}

uint64_t su_lockout_failures(const su_kv *state)
{
	uint64_t count = 0;
	const char *v = su_kv_get(state, "fail_count");

	return v != NULL && su_parse_u64(v, 0, UINT64_MAX, &count) ? count : 0;
}
