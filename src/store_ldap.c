/* The directory backend of the store: each user is one entry
 * uid=USER,ldap_base (objectClass stepupUser, etc/ldap/stepup.schema)
 * holding both the record (written by stepupctl) and the state (written by
 * every host at every attempt), and stepupSerial, the entry's generation.
 *
 * A directory cannot be locked, so every write is one Modify made
 * conditional on the serial read: it deletes that value and adds the next,
 * and the server refuses the whole Modify (noSuchAttribute) if another
 * host wrote first. The caller then judges again from the entry as it now
 * is (store.h, SU_CONFLICT). So a code is accepted on one host only, every
 * failure is counted once, and a lock set through one host holds on all.
 *
 * The entry read for the record before the prompt is kept (for this call
 * only) and judged against after it: if anyone wrote meanwhile, the serial
 * has moved and the commit conflicts. A right code is then one search and
 * one Modify after the bind.
 *
 * "Not enrolled" is believed only when the same search also returned the
 * canary entry uid=stepup-canary: an ACL mistake that hides the subtree
 * must not read as "nobody is enrolled" (with missing = allow, a bypass).
 *
 * The TOTP secret is kept sealed under the fleet key (fleetkey.c), bound
 * to the user's name. Keys with no attribute of their own travel as
 * stepupRecordExtra or stepupStateExtra values "key=value". What is read
 * obeys the rules of a state file: a malformed value is refused, naming
 * the attribute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fleetkey.h"
#include "ldapconn.h"
#include "secret.h"
#include "store.h"
#include "store_internal.h"
#include "totp.h"
#include "util.h"

#define CANARY "stepup-canary"
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

/* An entry as read: its parts and its generation. */
struct entry {
	su_kv record, state;
	unsigned long long serial;
};

struct ldap_store {
	su_log log;
	su_ldap_conn *conn;
	char *base, *fleet_key_path;
	su_fleetkey *fleet_key; /* read when a secret is first sealed or opened */
	unsigned retries, tries_left;
	/* The entry this call read last (never kept beyond the call). */
	char *cached_user;
	struct entry cached;
};

struct ldap_txn {
	struct ldap_store *s;
	char *user, *dn, *name;
	unsigned long long serial;
	su_kv before, state, armed;
	bool have_armed;
	su_kv record; /* su_state_save_record: written with the next commit */
	bool have_record;
};

static void entry_free(struct entry *e)
{
	su_kv_free(&e->record);
	su_kv_free(&e->state);
	e->serial = 0;
}

static void forget_cached(struct ldap_store *s)
{
	free(s->cached_user);
	s->cached_user = NULL;
	entry_free(&s->cached);
}

int su_ldap_open(const su_log *log, const su_settings *settings, struct ldap_store **out)
{
	struct ldap_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return su_fail(log, "out of memory");
	s->log = *log;
	s->retries = s->tries_left = settings->ldap_retries;
	s->base = su_strdup(settings->ldap_base);
	s->fleet_key_path = su_strdup(settings->fleet_key);
	if (s->base == NULL || s->fleet_key_path == NULL) {
		su_ldap_close(s);
		return su_fail(log, settings->ldap_base == NULL ? "store = ldap: no ldap_base" :
								    "out of memory");
	}
	if (su_ldap_conn_open(log, settings, &s->conn) != SU_OK) {
		su_ldap_close(s);
		return SU_ERR;
	}
	*out = s;
	return SU_OK;
}

void su_ldap_close(struct ldap_store *s)
{
	if (s == NULL)
		return;
	forget_cached(s);
	su_ldap_conn_close(s->conn);
	su_fleetkey_free(s->fleet_key);
	free(s->base);
	free(s->fleet_key_path);
	free(s);
}

static char *user_dn(struct ldap_store *s, const char *user)
{
	char *value = su_valid_username(user) ? su_ldap_dn_value(user) : NULL;
	char *dn = NULL;

	if (value != NULL && asprintf(&dn, "uid=%s,%s", value, s->base) < 0)
		dn = NULL;
	free(value);
	if (dn == NULL)
		su_logf(&s->log, LOG_ERR, "refusing user name '%.*s...': not a valid user name",
			16, user);
	return dn;
}

char *su_ldap_name(struct ldap_store *s, const char *user, enum su_store_part part)
{
	char *dn = user_dn(s, user), *name = NULL;

	(void)part; /* record and state are one entry */
	if (dn != NULL && asprintf(&name, "ldap:%s", dn) < 0)
		name = NULL;
	free(dn);
	return name;
}

static int need_fleet_key(struct ldap_store *s)
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
	if (need_fleet_key(r->s) != SU_OK ||
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
	}
	if (su_kv_get(kv, key) != NULL)
		return refuse_attr(r, attr, "a key given twice");
	return su_kv_set(kv, key, sep + 1) == 0 ? SU_OK : su_fail(&r->s->log, "out of memory");
}

static int take_serial(struct reading *r, const char *attr, const char *v)
{
	char *end;

	r->e->serial = strtoull(v, &end, 10);
	if (*end != '\0' || v[0] < '0' || v[0] > '9' || (v[0] == '0' && v[1] != '\0'))
		return refuse_attr(r, attr, "not a whole number");
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
			rc = take_serial(r, attr, v);
		else if (strcasecmp(attr, A_SECRET) == 0)
			rc = take_secret(r, attr, v);
		else if (strcasecmp(attr, A_CODE) == 0)
			rc = take_pair(r, attr, v, &r->e->record, true);
		else if (many)
			rc = take_pair(r, attr, v,
				       strcasecmp(attr, A_RECORD_EXTRA) == 0 ? &r->e->record :
										&r->e->state, false);
		else if (su_kv_set(m->part == RECORD ? &r->e->record : &r->e->state, m->key, v) != 0)
			rc = su_fail(&r->s->log, "out of memory");
		su_erase(v, sizeof(v));
	}
	if (rc == SU_OK && strcasecmp(attr, A_CODE) == 0 &&
	    su_kv_set_u64(&r->e->record, "recovery_count", (uint64_t)count) != 0)
		rc = su_fail(&r->s->log, "out of memory");
	return rc;
}

static int read_entry(struct ldap_store *s, LDAPMessage *msg, const char *user,
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
		entry_free(e);
	return rc;
}

/* The user's entry and the canary, in one search. SU_OK (e set, kept as
 * the cached entry), SU_NOTFOUND (no entry, and the canary was read: the
 * directory answered for the subtree), SU_ERR (logged). */
static int fetch(struct ldap_store *s, const char *user, struct entry *e)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	char *dn = user_dn(s, user), *value = su_ldap_filter_value(user), *filter = NULL;
	LDAPMessage *res = NULL;
	bool canary = false, found = false;
	int rc = SU_ERR;

	*e = (struct entry){0};
	if (dn == NULL || value == NULL ||
	    asprintf(&filter, "(&(objectClass=stepupUser)(|(uid=%s)(uid=" CANARY ")))", value) < 0) {
		filter = NULL;
		goto out;
	}
	if (su_ldap_search(s->conn, s->base, LDAP_SCOPE_ONELEVEL, filter, NULL, &res) != SU_OK)
		goto out;
	rc = SU_OK;
	for (LDAPMessage *m = api->first_entry(su_ldap_conn_handle(s->conn), res);
	     m != NULL && rc == SU_OK; m = api->next_entry(su_ldap_conn_handle(s->conn), m)) {
		struct berval **uid = api->get_values_len(su_ldap_conn_handle(s->conn), m, "uid");
		int n = uid != NULL ? api->count_values_len(uid) : 0;
		bool is_user = n == 1 && uid[0]->bv_len == strlen(user) &&
			       memcmp(uid[0]->bv_val, user, uid[0]->bv_len) == 0;

		if (n == 1 && uid[0]->bv_len == strlen(CANARY) &&
		    memcmp(uid[0]->bv_val, CANARY, uid[0]->bv_len) == 0)
			canary = true;
		if (is_user && found)
			rc = su_fail(&s->log, "ldap:%s: more than one entry with uid=%s", s->base, user);
		else if (is_user)
			rc = read_entry(s, m, user, dn, e);
		found = found || is_user;
		if (uid != NULL)
			api->value_free_len(uid);
	}
	if (rc == SU_OK && !found)
		rc = canary ? SU_NOTFOUND :
			      su_fail(&s->log, "ldap:%s: neither %s nor the canary entry uid=" CANARY
					       " can be read: refusing to take that as \"not "
					       "enrolled\" (check the ACLs and ldap_base)", s->base, user);
	if (rc == SU_OK && !canary)
		su_debug(&s->log, "ldap:%s: no canary entry uid=" CANARY, s->base);
out:
	if (res != NULL)
		api->msgfree(res);
	if (rc != SU_OK)
		entry_free(e);
	free(dn);
	free(value);
	free(filter);
	return rc;
}

static int copy_kv(const su_kv *from, su_kv *to)
{
	*to = (su_kv){0};
	for (size_t i = 0; i < from->count; i++)
		if (su_kv_set(to, from->items[i].key, from->items[i].value) != 0) {
			su_kv_free(to);
			return -1;
		}
	return 0;
}

/* The user's entry: the one this call read, unless a conflict said it is
 * out of date; else a search. *e is the caller's copy. */
static int get_entry(struct ldap_store *s, const char *user, struct entry *e)
{
	int rc;

	*e = (struct entry){0};
	if (s->cached_user == NULL || strcmp(s->cached_user, user) != 0) {
		forget_cached(s);
		rc = fetch(s, user, &s->cached);
		if (rc != SU_OK)
			return rc;
		s->cached_user = su_strdup(user);
		if (s->cached_user == NULL) {
			entry_free(&s->cached);
			return su_fail(&s->log, "out of memory");
		}
	}
	if (copy_kv(&s->cached.record, &e->record) != 0 ||
	    copy_kv(&s->cached.state, &e->state) != 0) {
		entry_free(e);
		return su_fail(&s->log, "out of memory");
	}
	e->serial = s->cached.serial;
	return SU_OK;
}

int su_ldap_load_user(struct ldap_store *s, const char *user, su_kv *record)
{
	struct entry e;
	int rc = get_entry(s, user, &e);

	*record = (su_kv){0};
	if (rc == SU_OK) {
		*record = e.record;
		e.record = (su_kv){0};
	}
	entry_free(&e);
	return rc;
}

int su_ldap_state_peek(struct ldap_store *s, const char *user, su_kv *state)
{
	struct entry e;
	int rc = get_entry(s, user, &e);

	*state = (su_kv){0};
	if (rc == SU_OK) {
		*state = e.state;
		e.state = (su_kv){0};
	}
	entry_free(&e);
	return rc == SU_NOTFOUND ? SU_OK : rc; /* no entry: no state, as no file */
}

/* ---- to a Modify --------------------------------------------------------------- */

/* The Modify being built: at most one change per attribute, the values
 * owned here. */
#define MODS_MAX (MAPPINGS + 8)
struct mods {
	LDAPMod mod[MODS_MAX];
	LDAPMod *list[MODS_MAX + 1];
	struct berval *vals[MODS_MAX][2];
	struct berval bv[MODS_MAX];
	char *owned[MODS_MAX];
	struct berval **multi[MODS_MAX]; /* the Extra and code lists */
	size_t n;
	bool failed;
};

static void mods_free(struct mods *m)
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
static void mods_add(struct mods *m, int op, const char *attr, const char *value)
{
	size_t i = m->n;

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
static void mods_replace_many(struct mods *m, const char *attr, struct berval **values)
{
	size_t i = m->n;

	mods_add(m, LDAP_MOD_REPLACE, attr, NULL);
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
static void mods_for_part(struct mods *m, enum part part, const su_kv *before,
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
		mods_add(m, LDAP_MOD_REPLACE, mappings[i].attr, now);
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
static void mods_swap_serial(struct mods *m, unsigned long long serial)
{
	char old[24], next[24];

	snprintf(old, sizeof(old), "%llu", serial);
	snprintf(next, sizeof(next), "%llu", serial + 1);
	mods_add(m, LDAP_MOD_DELETE, A_SERIAL, old);
	mods_add(m, LDAP_MOD_ADD, A_SERIAL, next);
}

/* record's TOTP secret sealed under the fleet key for user; *sealed NULL
 * when it has none. */
static int seal_secret(struct ldap_store *s, const char *user, const su_kv *record,
		       char **sealed)
{
	const char *b32 = su_kv_get(record, "totp_secret");
	unsigned char *raw = NULL;
	size_t len = 0;
	int rc;

	*sealed = NULL;
	if (b32 == NULL)
		return SU_OK;
	if (need_fleet_key(s) != SU_OK)
		return SU_ERR;
	if (su_base32_decode(b32, &raw, &len) != 0 || len == 0 || len > SU_TOTP_MAX_SECRET_BYTES)
		return su_fail(&s->log, "%s: key 'totp_secret' is not base32 of at most %d bytes",
			       user, SU_TOTP_MAX_SECRET_BYTES);
	rc = su_fleetkey_seal(s->fleet_key, user, raw, len, sealed) == SU_OK ? SU_OK : SU_ERR;
	su_free_secret(raw, len);
	return rc == SU_OK ? SU_OK : su_fail(&s->log, "%s: cannot seal the TOTP secret", user);
}

/* ---- the state transaction ---------------------------------------------------- */

/* SU_NOTFOUND (not logged) when the user has no entry. */
static int begin(struct ldap_store *s, const char *user, struct ldap_txn **out, su_kv **state)
{
	struct ldap_txn *t = calloc(1, sizeof(*t));
	struct entry e = {0};
	int rc = SU_ERR;

	*out = NULL;
	*state = NULL;
	if (t == NULL)
		return su_fail(&s->log, "out of memory");
	t->s = s;
	t->user = su_strdup(user);
	t->dn = user_dn(s, user);
	t->name = su_ldap_name(s, user, SU_STORE_STATE);
	if (t->user == NULL || t->dn == NULL || t->name == NULL)
		goto out;
	rc = get_entry(s, user, &e);
	if (rc != SU_OK)
		goto out;
	t->serial = e.serial;
	t->before = e.state;
	e.state = (su_kv){0};
	if (copy_kv(&t->before, &t->state) != 0) {
		rc = su_fail(&s->log, "out of memory");
		goto out;
	}
	*out = t;
	*state = &t->state;
	t = NULL;
out:
	entry_free(&e);
	su_ldap_state_end(t);
	return rc;
}

int su_ldap_state_begin(struct ldap_store *s, const char *user, struct ldap_txn **out,
			su_kv **state)
{
	int rc = begin(s, user, out, state);

	if (rc == SU_NOTFOUND)
		rc = su_fail(&s->log, "ldap:uid=%s,%s: no such entry: %s is not enrolled in the "
			     "directory", user, s->base, user);
	return rc;
}

const char *su_ldap_state_name(const struct ldap_txn *t)
{
	return t->name;
}

int su_ldap_state_arm(struct ldap_txn *t)
{
	su_kv_free(&t->armed);
	t->have_armed = copy_kv(&t->state, &t->armed) == 0;
	return t->have_armed ? SU_OK : su_fail(&t->s->log, "out of memory");
}


/* One conditional Modify from what was read to state (and the record
 * given to su_state_save_record). On success the entry this call keeps
 * is the one written; on a conflict it is forgotten, so the next begin
 * reads the entry as it now is. */
static int write_state(struct ldap_txn *t, const su_kv *state)
{
	struct ldap_store *s = t->s;
	struct entry before_record = {0};
	struct mods m = {0};
	char *sealed = NULL;
	int rc;

	mods_swap_serial(&m, t->serial);
	mods_for_part(&m, STATE, &t->before, state, NULL);
	if (t->have_record) {
		if (copy_kv(&s->cached.record, &before_record.record) != 0 ||
		    seal_secret(s, t->user, &t->record, &sealed) != SU_OK) {
			entry_free(&before_record);
			mods_free(&m);
			return SU_ERR;
		}
		mods_for_part(&m, RECORD, &before_record.record, &t->record, sealed);
		entry_free(&before_record);
	}
	rc = m.failed ? su_fail(&s->log, "out of memory") : su_ldap_modify(s->conn, t->dn, m.list);
	mods_free(&m);
	if (sealed != NULL)
		su_free_string(sealed);
	if (rc == SU_NOTFOUND)
		rc = SU_CONFLICT; /* removed meanwhile: judge again from nothing */
	if (rc == SU_OK) {
		su_kv_free(&s->cached.state);
		rc = copy_kv(state, &s->cached.state) == 0 ? SU_OK : SU_ERR;
		if (rc == SU_OK && t->have_record) {
			su_kv_free(&s->cached.record);
			rc = copy_kv(&t->record, &s->cached.record) == 0 ? SU_OK : SU_ERR;
		}
		s->cached.serial = ++t->serial;
		su_kv_free(&t->before);
		if (rc == SU_OK && copy_kv(state, &t->before) != 0)
			rc = SU_ERR;
		if (rc != SU_OK)
			forget_cached(s); /* written; only the copies failed */
		return SU_OK;
	}
	forget_cached(s);
	if (rc == SU_CONFLICT)
		su_debug(&s->log, "%s: another host wrote first; judging again", t->name);
	return rc;
}

int su_ldap_state_commit(struct ldap_txn *t)
{
	return write_state(t, &t->state);
}

/* The record, written now with the state as last written (or read): one
 * conditional Modify, like every other write of the entry. */
int su_ldap_state_save_record(struct ldap_txn *t, const su_kv *record)
{
	su_kv unchanged;
	int rc;

	su_kv_free(&t->record);
	t->have_record = copy_kv(record, &t->record) == 0;
	if (!t->have_record || copy_kv(&t->before, &unchanged) != 0)
		return su_fail(&t->s->log, "out of memory");
	rc = write_state(t, &unchanged);
	su_kv_free(&unchanged);
	su_kv_free(&t->record);
	t->have_record = false;
	return rc;
}

int su_ldap_state_commit_armed(struct ldap_txn *t)
{
	return t->have_armed ? write_state(t, &t->armed) : SU_ERR;
}

void su_ldap_state_end(struct ldap_txn *t)
{
	if (t == NULL)
		return;
	su_kv_free(&t->before);
	su_kv_free(&t->state);
	su_kv_free(&t->armed);
	su_kv_free(&t->record);
	free(t->user);
	free(t->dn);
	free(t->name);
	free(t);
}

/* A random number of microseconds below max. */
static long jitter_us(unsigned max)
{
	unsigned r = 0;

	if (su_random(&r, sizeof(r)) != 0)
		r = (unsigned)clock();
	return (long)(r % max);
}

bool su_ldap_may_retry(struct ldap_store *s)
{
	struct timespec pause = {0, 0};

	if (s->tries_left == 0 || !su_ldap_conn_time_left(s->conn))
		return false;
	s->tries_left--;
	/* A short random pause, growing with each try, so that hosts that
	 * lost the same race do not meet again at once. */
	pause.tv_nsec = jitter_us(1000u << (s->retries - s->tries_left > 5 ? 5 :
					    s->retries - s->tries_left)) * 1000L;
	nanosleep(&pause, NULL);
	return true;
}

int su_ldap_verifier_keys(struct ldap_store *s, const unsigned char *keys[], size_t max,
			  size_t *n)
{
	*n = 0;
	if (need_fleet_key(s) != SU_OK)
		return SU_ERR;
	for (size_t i = 0; i < su_fleetkey_count(s->fleet_key) && *n < max; i++)
		keys[(*n)++] = su_fleetkey_key(s->fleet_key, i);
	return *n > 0 ? SU_OK : SU_ERR;
}

/* ---- records (stepupctl) --------------------------------------------------------- */

/* A new entry: objectClass, uid, serial 0 and the record. */
static int add_entry(struct ldap_store *s, const char *user, const char *dn,
		     const su_kv *record)
{
	struct mods m = {0};
	char *sealed = NULL;
	int rc = seal_secret(s, user, record, &sealed);

	if (rc != SU_OK)
		return rc;
	mods_add(&m, LDAP_MOD_ADD, "objectClass", "stepupUser");
	mods_add(&m, LDAP_MOD_ADD, "uid", user);
	mods_add(&m, LDAP_MOD_ADD, A_SERIAL, "0");
	mods_for_part(&m, RECORD, NULL, record, sealed);
	rc = m.failed ? su_fail(&s->log, "out of memory") : su_ldap_add(s->conn, dn, m.list);
	mods_free(&m);
	if (sealed != NULL)
		su_free_string(sealed);
	return rc;
}

/* The record, in one conditional Modify of the entry (or an Add of a new
 * one), tried again while another writer comes first. */
int su_ldap_save_user(struct ldap_store *s, const char *user, const su_kv *record)
{
	char *dn = user_dn(s, user);
	int rc = dn != NULL ? SU_CONFLICT : SU_ERR;

	while (rc == SU_CONFLICT || rc == SU_EXISTS) {
		struct ldap_txn *t = NULL;
		su_kv *state;

		forget_cached(s);
		rc = begin(s, user, &t, &state);
		if (rc == SU_NOTFOUND)
			rc = add_entry(s, user, dn, record);
		else if (rc == SU_OK)
			rc = su_ldap_state_save_record(t, record);
		su_ldap_state_end(t);
		if ((rc == SU_CONFLICT || rc == SU_EXISTS) && !su_ldap_may_retry(s))
			rc = su_fail(&s->log, "ldap:%s: others kept writing it; try again", dn);
	}
	forget_cached(s);
	free(dn);
	return rc;
}

int su_ldap_remove_user(struct ldap_store *s, const char *user)
{
	char *dn = user_dn(s, user);
	int rc = dn != NULL ? su_ldap_delete(s->conn, dn) : SU_ERR;

	forget_cached(s);
	free(dn);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int su_ldap_list_users(struct ldap_store *s, char ***names_out, size_t *count_out)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	char uid_attr[] = "uid", *attrs[] = {uid_attr, NULL};
	LDAPMessage *res = NULL;
	char **names = NULL;
	size_t count = 0;
	int rc;

	*names_out = NULL;
	*count_out = 0;
	rc = su_ldap_search(s->conn, s->base, LDAP_SCOPE_ONELEVEL, "(objectClass=stepupUser)",
			    attrs, &res);
	for (LDAPMessage *m = rc == SU_OK ? api->first_entry(su_ldap_conn_handle(s->conn), res) :
					    NULL;
	     m != NULL && rc == SU_OK; m = api->next_entry(su_ldap_conn_handle(s->conn), m)) {
		struct berval **uid = api->get_values_len(su_ldap_conn_handle(s->conn), m, "uid");
		char *name = uid != NULL && api->count_values_len(uid) == 1 ?
				     strndup(uid[0]->bv_val, uid[0]->bv_len) : NULL;
		char **grown;

		if (uid != NULL)
			api->value_free_len(uid);
		if (name == NULL || strcmp(name, CANARY) == 0 || !su_valid_username(name)) {
			free(name);
			continue;
		}
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (grown == NULL) {
			free(name);
			rc = su_fail(&s->log, "out of memory");
			break;
		}
		names = grown;
		names[count++] = name;
	}
	if (res != NULL)
		api->msgfree(res);
	if (rc != SU_OK) {
		su_store_free_list(names, count);
		return SU_ERR;
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_out = names;
	*count_out = count;
	return SU_OK;
}
