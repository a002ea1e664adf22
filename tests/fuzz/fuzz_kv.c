/* User records and state files: su_kv_parse, then everything that reads a
 * parsed record or state, then what writes state back.
 *
 * The input is one file; it is read both as a user record (TOTP and email
 * keys) and as a state file (totp_last_time, email_*), as a record and a
 * state share one format and one parser. Invariants:
 *  - su_kv_format of a parsed file parses again to the same entries;
 *  - after the state updates of the email flow (judge, issue, withdraw),
 *    the state still formats into a file su_kv_parse accepts;
 *  - counting a failure (su_lockout_fail) succeeds or fails on the state
 *    alone: the rule (lockout_attempts, lockout_time) only decides whether
 *    it locks; and a lock it imposes is one su_lockout_locked sees. */
#include <stdbool.h>
#include <string.h>
#include "config.h"
#include "email.h"
#include "fuzz.h"
#include "kv.h"
#include "lockout.h"
#include "mail.h"
#include "safefile.h"
#include "secret.h"
#include "totp.h"

#define PATH "fuzz.kv"

static su_settings settings;
static unsigned char hostkey[SU_HOSTKEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_hostkey(hostkey);
	if (su_settings_defaults(&settings) != SU_OK || su_totp_init() != 0)
		abort();
	return 0;
}

/* Format kv, parse it again: the same entries in the same order. */
static void round_trip(const su_kv *kv)
{
	size_t len = 0;
	char *text = su_kv_format(kv, &len);
	su_kv again;

	if (text == NULL)
		abort();
	FUZZ_CHECK(len == strlen(text));
	FUZZ_CHECK(su_kv_parse(&fuzz_log, PATH, text, len, &again) == 0);
	FUZZ_CHECK(again.count == kv->count);
	for (size_t i = 0; i < kv->count; i++) {
		FUZZ_CHECK(strcmp(again.items[i].key, kv->items[i].key) == 0);
		FUZZ_CHECK(strcmp(again.items[i].value, kv->items[i].value) == 0);
	}
	su_kv_free(&again);
	su_free_string(text);
}

/* A copy of kv, through the file format (round_trip checks that). */
static void copy_kv(const su_kv *kv, su_kv *out)
{
	size_t len = 0;
	char *text = su_kv_format(kv, &len);

	if (text == NULL || su_kv_parse(&fuzz_log, PATH, text, len, out) != 0)
		abort();
	su_free_string(text);
}

static void lockout(const su_kv *state)
{
	/* config.c's default, never-lock, the largest, the smallest. */
	static const su_lockout_rule rules[] = {{5, 900}, {0, 604800}, {300, 604800}, {1, 1}};
	int first = 0;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		su_kv copy, again;
		time_t until = 0, seen = 0;
		size_t len;
		char *text;
		int rc;

		copy_kv(state, &copy);
		rc = su_lockout_fail(&fuzz_log, PATH, &copy, rules[i], FUZZ_NOW, &until);
		if (i == 0)
			first = rc;
		/* A state near KV_ENTRIES_MAX may have no room for a key that
		 * only a lock adds: state we write never comes near. */
		else if (state->count < 250)
			FUZZ_CHECK(rc == first);
		if (rc == 0) {
			FUZZ_CHECK(su_lockout_failures(&copy) >= 1);
			if (until != 0)
				FUZZ_CHECK(until == FUZZ_NOW + (time_t)rules[i].time &&
					   su_lockout_locked(&fuzz_log, PATH, &copy, FUZZ_NOW,
							     &seen) == 1 && seen == until);
			text = su_kv_format(&copy, &len);
			if (text == NULL)
				abort();
			FUZZ_CHECK(su_kv_parse(&fuzz_log, PATH, text, len, &again) == 0);
			su_kv_free(&again);
			su_free_string(text);
		}
		su_lockout_clear(&copy);
		FUZZ_CHECK(su_lockout_failures(&copy) == 0 &&
			   su_lockout_locked(&fuzz_log, PATH, &copy, FUZZ_NOW, &seen) == 0);
		su_kv_free(&copy);
	}
}

static void as_record(const su_kv *record)
{
	const char *address;
	su_totp t;
	uint64_t step;
	char why[256], masked[SU_MAIL_ADDRESS_MAX + 8];

	if (su_totp_load(&fuzz_log, PATH, record, &t) == 0) {
		FUZZ_CHECK(su_totp_enrolled(record));
		FUZZ_CHECK(t.digits == 6 || t.digits == 8);
		FUZZ_CHECK(t.key_len >= SU_TOTP_MIN_SECRET_BYTES &&
			   t.key_len <= SU_TOTP_MAX_SECRET_BYTES);
		FUZZ_CHECK(su_totp_code_shaped(&t, t.digits == 6 ? "123456" : "12345678"));
		FUZZ_CHECK(su_totp_verify(&t, "123456", FUZZ_NOW, 1, &step) >= 0);
		su_totp_clear(&t);
	}
	address = su_email_address(record);
	FUZZ_CHECK(su_email_enrolled(record) == (address != NULL));
	if (address != NULL) {
		/* As stepup.c does: only a sound address is shown (masked). */
		if (su_mail_address_ok(address, why, sizeof(why)))
			su_mail_mask(address, masked, sizeof(masked));
	}
}

static void as_state(su_kv *state)
{
	static const time_t nows[] = {FUZZ_NOW, FUZZ_NOW + 45, FUZZ_NOW + 3600, 0};
	enum su_email_limit limit;
	enum su_email_verdict verdict;
	char mine[SU_HMAC_HEX], theirs[SU_HMAC_HEX] = "";
	const char *h;
	time_t retry, expires;
	unsigned count;
	uint64_t v;
	size_t len;
	char *text;
	su_kv again;

	(void)su_kv_get_u64(&fuzz_log, PATH, state, "totp_last_time", 0, UINT64_MAX, &v);
	(void)su_kv_get_u64(&fuzz_log, PATH, state, "totp_last_time", 0, INT64_MAX, &v);
	(void)su_lockout_failures(state);
	for (size_t i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
		if (su_lockout_locked(&fuzz_log, PATH, state, nows[i], &retry) == 1)
			FUZZ_CHECK(retry > nows[i]);
		if (su_email_rate_check(&fuzz_log, PATH, state, &settings, nows[i], &limit,
					&retry) == 0 && limit != SU_EMAIL_ALLOWED)
			FUZZ_CHECK(retry > nows[i]);
		(void)su_email_sends_last_hour(&fuzz_log, PATH, state, nows[i], &count);
		if (su_email_pending(state, nows[i], &expires))
			FUZZ_CHECK(expires >= nows[i]);
	}

	/* The updates of the email flow, in the order a login makes them. */
	if (su_email_code_hmac(hostkey, "alice", "12345678", mine) != 0)
		abort();
	h = su_kv_get(state, "email_code_hmac");
	if (h != NULL && strlen(h) < sizeof(theirs))
		memcpy(theirs, h, strlen(h) + 1);
	(void)su_email_judge(&fuzz_log, PATH, state, mine, FUZZ_NOW, &verdict);
	(void)su_email_judge(&fuzz_log, PATH, state, theirs, FUZZ_NOW, &verdict);
	if (su_email_issue(&fuzz_log, PATH, state, mine, FUZZ_NOW, FUZZ_NOW + 300) == 0)
		FUZZ_CHECK(su_email_pending(state, FUZZ_NOW, &expires) &&
			   expires == FUZZ_NOW + 300);
	(void)su_email_withdraw(&fuzz_log, PATH, state, mine, FUZZ_NOW);
	(void)su_kv_set_u64(state, "totp_last_time", (uint64_t)FUZZ_NOW);

	text = su_kv_format(state, &len);
	if (text == NULL)
		abort();
	FUZZ_CHECK(su_kv_parse(&fuzz_log, PATH, text, len, &again) == 0);
	su_kv_free(&again);
	su_free_string(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	su_kv kv;

	if (su_kv_parse(&fuzz_log, PATH, (const char *)data, size, &kv) != 0)
		return 0;
	round_trip(&kv);
	as_record(&kv);
	lockout(&kv);
	as_state(&kv); /* last: it changes kv */
	su_kv_free(&kv);
	return 0;
}
