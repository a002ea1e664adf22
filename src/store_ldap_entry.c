/* The directory store's entries (store_ldap.h): one stepupUser entry to
 * and from a record and a state. One attribute per key, as the table
 * below says; keys with no attribute of their own travel as
 * stepupRecordExtra or stepupStateExtra values "key=value"; recovery_N are
 * the stepupRecoveryCode values "N:SALT:MAC" and recovery_count is their
 * number. What is read obeys the rules of a state file (kv.h): text, no
 * control characters, bounded, one value where one is allowed; anything
 * else is refused, naming the attribute, and the step-up fails closed.
 * The TOTP secret is kept sealed under the fleet key (fleetkey.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "secret.h"
#include "store.h"
#include "store_ldap.h"
#include "totp.h"
#include "util.h"

#define VALUE_MAX 4096
#define A_SERIAL "stepupSerial"
#define A_SECRET "stepupTotpSecret"
#define A_CODE "stepupRecoveryCode"
#define A_RECORD_EXTRA "stepupRecordExtra"
#define A_STATE_EXTRA "stepupStateExtra"

enum part { RECORD, STATE };

/* One attribute per key; the rest go to the part's Extra attribute.
 * recovery_N and recovery_count are stepupRecoveryCode's values. */
static const struct mapping {
	enum part part;
	const char *key, *attr;
} mappings[] = {
	{RECORD, "totp_secret", A_SECRET},
	{RECORD, "totp_digits", "stepupTotpDigits"},
	{RECORD, "totp_period", "stepupTotpPeriod"},
	{RECORD, "email_address", "stepupEmailAddress"},
	{RECORD, "recovery_set", "stepupRecoverySet"},
	{RECORD, "recovery_format", "stepupRecoveryFormat"},
	{STATE, "totp_last_time", "stepupTotpLastTime"},
	{STATE, "fail_count", "stepupFailCount"},
	{STATE, "fail_times", "stepupFailTimes"},
	{STATE, "locked_until", "stepupLockedUntil"},
	{STATE, "email_code_hmac", "stepupEmailCodeHmac"},
	{STATE, "email_code_expires", "stepupEmailCodeExpires"},
	{STATE, "email_code_attempts", "stepupEmailCodeAttempts"},
	{STATE, "email_code_used", "stepupEmailCodeUsed"},
	{STATE, "email_code_host", "stepupEmailCodeHost"},
	{STATE, "email_sent", "stepupEmailSent"},
	{STATE, "recovery_set", "stepupRecoveryUsedSet"},
	{STATE, "recovery_used", "stepupRecoveryUsed"},
	{STATE, "last_success", "stepupLastSuccess"},
};
#define MAPPINGS (sizeof(mappings) / sizeof(mappings[0]))

void su_ldap_entry_free(struct entry *e)
{
	su_kv_free(&e->record);
	su_kv_free(&e->state);
	e->serial = 0;
}

int su_ldap_copy_kv(const su_kv *from, su_kv *to)
{
	*to = (su_kv){0};
	for (size_t i = 0; i < from->count; i++)
		if (su_kv_set(to, from->items[i].key, from->items[i].value) != 0) {
			su_kv_free(to);
			return -1;
		}
	return 0;
}

int su_ldap_need_fleet_key(struct ldap_store *s)
{
	if (s->fleet_key != NULL)
		return SU_OK;
	return su_fleetkey_load(&s->log, s->fleet_key_path, &s->fleet_key) == SU_OK ? SU_OK :
														SU_ERR;
}

/* ---- from an entry ------------------------------------------------------------ */

static const struct mapping *mapping_of_attr(const char *attr)
{
	for (size_t i = 0; i < MAPPINGS; i++)
		if (strcasecmp(mappings[i].attr, attr) == 0)
			return &mappings[i];
	return NULL;
}

static const struct mapping *mapping_of_key(enum part part, const char *key)
{
	for (size_t i = 0; i < MAPPINGS; i++)
		if (mappings[i].part == part && strcmp(mappings[i].key, key) == 0)
			return &mappings[i];
	return NULL;
}

static bool recovery_code_key(const char *key)
{
	size_t n = strspn(key + (strncmp(key, "recovery_", 9) == 0 ? 9 : 0), "0123456789");

	return strncmp(key, "recovery_", 9) == 0 && n > 0 && key[9 + n] == '\0';
}

/* A value as the kv rules take it: text, no control characters, bounded. */
static bool value_ok(const struct berval *v)
{
	if (v->bv_len == 0 || v->bv_len > VALUE_MAX || memchr(v->bv_val, '\0', v->bv_len))
		return false;
	for (size_t i = 0; i < v->bv_len; i++)
		if ((unsigned char)v->bv_val[i] < 0x20 || (unsigned char)v->bv_val[i] == 0x7f)
			return false;
	return true;
}

static bool key_ok(const char *key, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		      key[i] == '_'))
			return false;
	return true;
}

struct reading {
	struct ldap_store *s;
	const char *user, *dn;
	struct entry *e;
	bool have_serial;
};

static int refuse_attr(struct reading *r, const char *attr, const char *why)
{
	return su_fail(&r->s->log, "ldap:%s: attribute %s: %s", r->dn, attr, why);
}

/* The TOTP secret, opened with the fleet key, into the record as base32. */
static int take_secret(struct reading *r, const char *attr, const char *blob)
{
	unsigned char raw[SU_TOTP_MAX_SECRET_BYTES];
	char what[512];
	size_t len = 0;
	char *text;
	int rc;

	snprintf(what, sizeof(what), "ldap:%s: attribute %s", r->dn, attr);
	if (su_ldap_need_fleet_key(r->s) != SU_OK ||
	    su_fleetkey_open(&r->s->log, what, r->s->fleet_key, r->user, blob, raw, sizeof(raw),
			     &len) != SU_OK)
		return SU_ERR;
	text = su_base32_encode(raw, len);
	su_erase(raw, sizeof(raw));
	rc = text != NULL && su_kv_set(&r->e->record, "totp_secret", text) == 0 ? SU_OK : SU_ERR;
	if (text != NULL)
		su_free_string(text);
	return rc == SU_OK ? SU_OK : su_fail(&r->s->log, "out of memory");
}

/* "key=value" of an Extra attribute, or "N:SALT:MAC" of a recovery code. */
static int take_pair(struct reading *r, const char *attr, const char *v, su_kv *kv,
		     bool recovery)
{
	const char *sep = strchr(v, recovery ? ':' : '=');
	char key[80];
	unsigned long n;
	char *end;

	if (sep == NULL)
		return refuse_attr(r, attr, recovery ? "not N:SALT:MAC" : "not key=value");
	if (recovery) {
		n = strtoul(v, &end, 10);
		if (end != sep || n == 0 || n > 1000 || v[0] == '0')
			return refuse_attr(r, attr, "not N:SALT:MAC");
		snprintf(key, sizeof(key), "recovery_%lu", n);
	} else {
		if (!key_ok(v, (size_t)(sep - v)))
			return refuse_attr(r, attr, "not key=value with a key of [a-z0-9_]");
		snprintf(key, sizeof(key), "%.*s", (int)(sep - v), v);
		/* A key with an attribute of its own (in either part), or one
		 * the record's codes stand for, never comes as an Extra: else
		 * a plain totp_secret would pass the seal by, and an Extra
		 * locked_until outlive an unlock. */
		if (mapping_of_key(RECORD, key) != NULL || mapping_of_key(STATE, key) != NULL ||
		    recovery_code_key(key) || strcmp(key, "recovery_count") == 0)
			return refuse_attr(r, attr, "an Extra value for a key with an attribute of its "
					   "own");
	}
	if (su_kv_get(kv, key) != NULL)
		return refuse_attr(r, attr, "a key given twice");
	return su_kv_set(kv, key, sep + 1) == 0 ? SU_OK : su_fail(&r->s->log, "out of memory");
}

bool su_ldap_serial_parse(const struct berval *v, unsigned long long *out)
{
	unsigned long long n = 0;

	if (v->bv_len == 0 || (v->bv_val[0] == '0' && v->bv_len > 1))
		return false;
	for (size_t i = 0; i < v->bv_len; i++) {
		unsigned d = (unsigned)(unsigned char)v->bv_val[i] - '0';

		if (d > 9 || n > (SU_LDAP_SERIAL_LIMIT - 1 - d) / 10)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

static int take_serial(struct reading *r, const char *attr, const struct berval *v)
{
	if (!su_ldap_serial_parse(v, &r->e->serial))
		return refuse_attr(r, attr, "not a whole number below 2^62");
	r->have_serial = true;
	return SU_OK;
}

/* One attribute with its values into the entry. */
static int take_attr(struct reading *r, const char *attr, struct berval **vals, int count)
{
	const struct mapping *m = mapping_of_attr(attr);
	bool many = strcasecmp(attr, A_CODE) == 0 || strcasecmp(attr, A_RECORD_EXTRA) == 0 ||
		    strcasecmp(attr, A_STATE_EXTRA) == 0;
	int rc = SU_OK;

	if (strcasecmp(attr, "objectClass") == 0 || strcasecmp(attr, "uid") == 0)
		return SU_OK;
	if (m == NULL && !many && strcasecmp(attr, A_SERIAL) != 0)
		return SU_OK; /* not ours (another schema's attribute on the entry) */
	if (count != 1 && !many)
		return refuse_attr(r, attr, "more than one value");
	for (int i = 0; i < count && rc == SU_OK; i++) {
		char v[VALUE_MAX + 1];

		if (!value_ok(vals[i]))
			return refuse_attr(r, attr, "empty, too long, or a control character");
		memcpy(v, vals[i]->bv_val, vals[i]->bv_len);
		v[vals[i]->bv_len] = '\0';
		if (strcasecmp(attr, A_SERIAL) == 0)
			rc = take_serial(r, attr, vals[i]);
		else if (strcasecmp(attr, A_SECRET) == 0)
			rc = take_secret(r, attr, v);
		else if (strcasecmp(attr, A_CODE) == 0)
			rc = take_pair(r, attr, v, &r->e->record, true);
		else if (many)
			rc = take_pair(r, attr, v,
				       strcasecmp(attr, A_RECORD_EXTRA) == 0 ? &r->e->record :
										&r->e->state, false);
		else if (su_kv_get(m->part == RECORD ? &r->e->record : &r->e->state, m->key) != NULL)
			rc = refuse_attr(r, attr, "a key given twice");
		else if (su_kv_set(m->part == RECORD ? &r->e->record : &r->e->state, m->key, v) != 0)
			rc = su_fail(&r->s->log, "out of memory");
		su_erase(v, sizeof(v));
	}
	if (rc == SU_OK && strcasecmp(attr, A_CODE) == 0 &&
	    su_kv_set_u64(&r->e->record, "recovery_count", (uint64_t)count) != 0)
		rc = su_fail(&r->s->log, "out of memory");
	return rc;
}

int su_ldap_entry_read(struct ldap_store *s, LDAPMessage *msg, const char *user,
		      const char *dn, struct entry *e)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	LDAP *ld = su_ldap_conn_handle(s->conn);
	struct reading r = {s, user, dn, e, false};
	BerElement *ber = NULL;
	int rc = SU_OK;

	*e = (struct entry){0};
	for (char *a = api->first_attribute(ld, msg, &ber); a != NULL && rc == SU_OK;
	     a = api->next_attribute(ld, msg, ber)) {
		struct berval **vals = api->get_values_len(ld, msg, a);

		rc = take_attr(&r, a, vals, vals != NULL ? api->count_values_len(vals) : 0);
		if (vals != NULL)
			api->value_free_len(vals);
		api->memfree(a);
	}
	if (ber != NULL)
		api->ber_free(ber, 0);
	if (rc == SU_OK && !r.have_serial)
		rc = su_fail(&s->log, "ldap:%s: no stepupSerial (not a stepupUser entry?)", dn);
	if (rc != SU_OK)
		su_ldap_entry_free(e);
	return rc;
}

/* ---- to a Modify --------------------------------------------------------------- */

/* The Modify being built: at most one change per attribute, the values
 * owned here. */
#define MODS_MAX (MAPPINGS + 8)
struct su_ldap_mods {
	LDAPMod mod[MODS_MAX];
	LDAPMod *list[MODS_MAX + 1];
	struct berval *vals[MODS_MAX][2];
	struct berval bv[MODS_MAX];
	char *owned[MODS_MAX];
	struct berval **multi[MODS_MAX]; /* the Extra and code lists */
	size_t n;
	bool failed;
};

static void mods_clear(struct su_ldap_mods *m)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->owned[i] != NULL)
			su_free_string(m->owned[i]);
		if (m->multi[i] != NULL) {
			for (struct berval **b = m->multi[i]; *b != NULL; b++) {
				su_free_secret((*b)->bv_val, (*b)->bv_len);
				free(*b);
			}
			free(m->multi[i]);
		}
	}
	memset(m, 0, sizeof(*m));
}

/* op on attr with one value (value NULL: none, which clears it). The value
 * is copied. */
void su_ldap_mods_add(struct su_ldap_mods *m, int op, const char *attr, const char *value)
{
	size_t i;

	if (m == NULL)
		return; /* su_ldap_mods_new found no memory: mods_list says so */
	i = m->n;
	if (m->failed || i == MODS_MAX) {
		m->failed = true;
		return;
	}
	m->mod[i].mod_op = op | LDAP_MOD_BVALUES;
	m->mod[i].mod_type = (char *)attr;
	m->mod[i].mod_bvalues = NULL;
	if (value != NULL) {
		m->owned[i] = su_strdup(value);
		if (m->owned[i] == NULL) {
			m->failed = true;
			return;
		}
		m->bv[i] = (struct berval){strlen(value), m->owned[i]};
		m->vals[i][0] = &m->bv[i];
		m->vals[i][1] = NULL;
		m->mod[i].mod_bvalues = m->vals[i];
	} else if (op == LDAP_MOD_REPLACE) {
		m->vals[i][0] = NULL;
		m->mod[i].mod_bvalues = m->vals[i];
	}
	m->list[i] = &m->mod[i];
	m->list[++m->n] = NULL;
}

/* Replace attr with the given values (a NULL-terminated list this takes). */
static void mods_replace_many(struct su_ldap_mods *m, const char *attr, struct berval **values)
{
	size_t i = m->n;

	su_ldap_mods_add(m, LDAP_MOD_REPLACE, attr, NULL);
	if (m->failed || m->n != i + 1) {
		for (struct berval **b = values; b != NULL && *b != NULL; b++) {
			su_free_secret((*b)->bv_val, (*b)->bv_len);
			free(*b);
		}
		free(values);
		m->failed = true;
		return;
	}
	m->multi[i] = values;
	m->mod[i].mod_bvalues = values;
}

/* The keys of part kv that have no attribute of their own. */
static bool extra_key(enum part part, const char *key)
{
	if (mapping_of_key(part, key) != NULL)
		return false;
	return part == STATE || (!recovery_code_key(key) && strcmp(key, "recovery_count") != 0);
}

/* The values of a list attribute from kv: "key=value" of every extra key,
 * or "N:value" of every recovery code. NULL-terminated; NULL on no memory,
 * an empty list when there is none. */
static struct berval **list_values(const su_kv *kv, enum part part, bool codes)
{
	struct berval **list = calloc(kv->count + 1, sizeof(*list));
	size_t n = 0;

	for (size_t i = 0; list != NULL && i < kv->count; i++) {
		const su_kv_entry *e = &kv->items[i];
		struct berval *b;
		char *text = NULL;

		if (codes ? !recovery_code_key(e->key) : !extra_key(part, e->key))
			continue;
		if ((codes ? asprintf(&text, "%s:%s", e->key + 9, e->value) :
			     asprintf(&text, "%s=%s", e->key, e->value)) < 0 ||
		    (b = malloc(sizeof(*b))) == NULL) {
			if (text != NULL)
				su_free_string(text);
			for (size_t j = 0; j < n; j++) {
				su_free_secret(list[j]->bv_val, list[j]->bv_len);
				free(list[j]);
			}
			free(list);
			return NULL;
		}
		*b = (struct berval){strlen(text), text};
		list[n++] = b;
	}
	return list;
}

static bool same_value(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_list(const su_kv *a, const su_kv *b, enum part part, bool codes)
{
	for (int pass = 0; pass < 2; pass++) {
		const su_kv *x = pass == 0 ? a : b, *y = pass == 0 ? b : a;

		for (size_t i = 0; i < x->count; i++) {
			const char *key = x->items[i].key;

			if ((codes ? recovery_code_key(key) : extra_key(part, key)) &&
			    !same_value(x->items[i].value, su_kv_get(y, key)))
				return false;
		}
	}
	return true;
}

/* The changes from before to after of one part, as replacements. */
static void mods_for_part(struct su_ldap_mods *m, enum part part, const su_kv *before,
			  const su_kv *after, const char *sealed_secret)
{
	for (size_t i = 0; i < MAPPINGS; i++) {
		const char *old, *now;

		if (mappings[i].part != part)
			continue;
		old = before != NULL ? su_kv_get(before, mappings[i].key) : NULL;
		now = su_kv_get(after, mappings[i].key);
		if ((before != NULL && same_value(old, now)) || (before == NULL && now == NULL))
			continue;
		if (now != NULL && strcmp(mappings[i].attr, A_SECRET) == 0)
			now = sealed_secret;
		su_ldap_mods_add(m, LDAP_MOD_REPLACE, mappings[i].attr, now);
	}
	if (before == NULL || !same_list(before, after, part, false)) {
		struct berval **extra = list_values(after, part, false);

		if (extra == NULL || (before == NULL && extra[0] == NULL)) {
			m->failed = m->failed || extra == NULL;
			free(extra);
		} else {
			mods_replace_many(m, part == RECORD ? A_RECORD_EXTRA : A_STATE_EXTRA, extra);
		}
	}
	if (part == RECORD && (before == NULL || !same_list(before, after, part, true))) {
		struct berval **codes = list_values(after, part, true);

		if (codes == NULL || (before == NULL && codes[0] == NULL)) {
			m->failed = m->failed || codes == NULL;
			free(codes);
		} else {
			mods_replace_many(m, A_CODE, codes);
		}
	}
}

/* The serial's swap, first in every Modify: it is what makes the Modify
 * conditional (the server refuses to delete a value that is not there). */
void su_ldap_mods_swap_serial(struct su_ldap_mods *m, unsigned long long serial)
{
	char old[24], next[24];

	snprintf(old, sizeof(old), "%llu", serial);
	snprintf(next, sizeof(next), "%llu", serial + 1);
	su_ldap_mods_add(m, LDAP_MOD_DELETE, A_SERIAL, old);
	su_ldap_mods_add(m, LDAP_MOD_ADD, A_SERIAL, next);
}

/* record's TOTP secret sealed under the fleet key for user; *sealed NULL
 * when it has none. */
int su_ldap_seal_secret(struct ldap_store *s, const char *user, const su_kv *record,
		       char **sealed)
{
	const char *b32 = su_kv_get(record, "totp_secret");
	unsigned char *raw = NULL;
	size_t len = 0;
	int rc;

	*sealed = NULL;
	if (b32 == NULL)
		return SU_OK;
	if (su_ldap_need_fleet_key(s) != SU_OK)
		return SU_ERR;
	if (su_base32_decode(b32, &raw, &len) != 0 || len == 0 || len > SU_TOTP_MAX_SECRET_BYTES)
		return su_fail(&s->log, "%s: key 'totp_secret' is not base32 of at most %d bytes",
			       user, SU_TOTP_MAX_SECRET_BYTES);
	rc = su_fleetkey_seal(s->fleet_key, user, raw, len, sealed) == SU_OK ? SU_OK : SU_ERR;
	su_free_secret(raw, len);
	return rc == SU_OK ? SU_OK : su_fail(&s->log, "%s: cannot seal the TOTP secret", user);
}


su_ldap_mods *su_ldap_mods_new(void)
{
	return calloc(1, sizeof(su_ldap_mods));
}

void su_ldap_mods_free(su_ldap_mods *m)
{
	if (m == NULL)
		return;
	mods_clear(m);
	free(m);
}

LDAPMod **su_ldap_mods_list(su_ldap_mods *m)
{
	return m == NULL || m->failed ? NULL : m->list;
}

void su_ldap_mods_change(su_ldap_mods *m, bool record, const su_kv *before, const su_kv *after,
			 const char *sealed_secret)
{
	if (m != NULL)
		mods_for_part(m, record ? RECORD : STATE, before, after, sealed_secret);
}

/* ---- names in DNs and filters ---------------------------------------------------------------------- */

static char *escape(const char *value, const char *special, bool dn)
{
	size_t len = strlen(value);
	char *out = malloc(3 * len + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)value[i];
		bool edge = dn && ((i == 0 && (ch == ' ' || ch == '#')) ||
				   (i == len - 1 && ch == ' '));

		if (strchr(special, ch) != NULL || ch < 0x20 || ch >= 0x7f || edge)
			o += sprintf(o, "\\%02x", ch);
		else
			*o++ = (char)ch;
	}
	*o = '\0';
	return out;
}

char *su_ldap_dn_value(const char *value)
{
	return escape(value, ",+\"\\<>;=", true);
}

char *su_ldap_filter_value(const char *value)
{
	return escape(value, "*()\\", false);
}
