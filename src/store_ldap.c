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
#include "secret.h"
#include "store.h"
#include "store_internal.h"
#include "store_ldap.h"
#include "util.h"

void su_ldap_forget_cached(struct ldap_store *s)
{
	free(s->cached_user);
	s->cached_user = NULL;
	su_ldap_entry_free(&s->cached);
}

static void forget_loaded(struct ldap_store *s)
{
	free(s->loaded_user);
	s->loaded_user = NULL;
	su_kv_free(&s->loaded);
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
	su_ldap_forget_cached(s);
	forget_loaded(s);
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

bool su_ldap_canary_secret_visible(struct ldap_store *s, LDAPMessage *m)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	struct berval **v = api->get_values_len(su_ldap_conn_handle(s->conn), m,
						 "stepupTotpSecret");
	bool visible = v != NULL && api->count_values_len(v) > 0;

	if (v != NULL)
		api->value_free_len(v);
	return visible;
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
		bool is_canary = n == 1 && uid[0]->bv_len == strlen(CANARY) &&
				 memcmp(uid[0]->bv_val, CANARY, uid[0]->bv_len) == 0;

		/* The canary counts only with its secret readable: rules that
		 * hide the secrets from this host must not make every user
		 * look unenrolled either. */
		if (is_canary && !su_ldap_canary_secret_visible(s, m))
			rc = su_fail(&s->log, "ldap:uid=" CANARY ",%s: stepupTotpSecret cannot be "
				     "read: this host cannot read the users' secrets (check the "
				     "access rules; the canary needs a stepupTotpSecret value)", s->base);
		canary = canary || is_canary;
		/* Anything else the filter matched (a second uid value, another
		 * case of the name) is not ours to ignore: it would read as "not
		 * enrolled". */
		if (!is_user && !is_canary)
			rc = su_fail(&s->log, "ldap:%s: an entry matching uid=%s is not uid=%s,%s "
				     "exactly (several uid values, or another case)", s->base, user,
				     user, s->base);
		else if (is_user && found)
			rc = su_fail(&s->log, "ldap:%s: more than one entry with uid=%s", s->base, user);
		else if (is_user)
			rc = su_ldap_entry_read(s, m, user, dn, e);
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
		su_ldap_entry_free(e);
	free(dn);
	free(value);
	free(filter);
	return rc;
}

/* The user's entry: the one this call read, unless a conflict said it is
 * out of date; else a search. *e is the caller's copy. */
static int get_entry(struct ldap_store *s, const char *user, struct entry *e)
{
	int rc;

	*e = (struct entry){0};
	if (s->cached_user == NULL || strcmp(s->cached_user, user) != 0) {
		su_ldap_forget_cached(s);
		rc = fetch(s, user, &s->cached);
		if (rc != SU_OK)
			return rc;
		s->cached_user = su_strdup(user);
		if (s->cached_user == NULL) {
			su_ldap_entry_free(&s->cached);
			return su_fail(&s->log, "out of memory");
		}
	}
	if (su_ldap_copy_kv(&s->cached.record, &e->record) != 0 ||
	    su_ldap_copy_kv(&s->cached.state, &e->state) != 0) {
		su_ldap_entry_free(e);
		return su_fail(&s->log, "out of memory");
	}
	e->serial = s->cached.serial;
	return SU_OK;
}

static bool same_kv(const su_kv *a, const su_kv *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++) {
		const char *v = su_kv_get(b, a->items[i].key);

		if (v == NULL || strcmp(v, a->items[i].value) != 0)
			return false;
	}
	return true;
}

/* Whether record is what load_user gave the caller for user (true when it
 * gave nothing). */
static bool record_as_loaded(struct ldap_store *s, const char *user, const su_kv *record)
{
	return s->loaded_user == NULL || strcmp(s->loaded_user, user) != 0 ||
	       same_kv(&s->loaded, record);
}

int su_ldap_load_user(struct ldap_store *s, const char *user, su_kv *record)
{
	struct entry e;
	int rc = get_entry(s, user, &e);

	*record = (su_kv){0};
	forget_loaded(s);
	if (rc == SU_OK && (su_ldap_copy_kv(&e.record, &s->loaded) != 0 ||
			    (s->loaded_user = su_strdup(user)) == NULL)) {
		forget_loaded(s);
		rc = su_fail(&s->log, "out of memory");
	}
	if (rc == SU_OK) {
		*record = e.record;
		e.record = (su_kv){0};
	}
	su_ldap_entry_free(&e);
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
	su_ldap_entry_free(&e);
	return rc == SU_NOTFOUND ? SU_OK : rc; /* no entry: no state, as no file */
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
	if (!record_as_loaded(s, user, &e.record)) {
		rc = su_fail(&s->log, "%s: the user's record changed since it was read (enrolled "
			     "again?): not judging against the old one; try again", t->name);
		goto out;
	}
	t->serial = e.serial;
	t->before = e.state;
	e.state = (su_kv){0};
	if (su_ldap_copy_kv(&t->before, &t->state) != 0) {
		rc = su_fail(&s->log, "out of memory");
		goto out;
	}
	*out = t;
	*state = &t->state;
	t = NULL;
out:
	su_ldap_entry_free(&e);
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
	t->have_armed = su_ldap_copy_kv(&t->state, &t->armed) == 0;
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
	su_ldap_mods *m = su_ldap_mods_new();
	char *sealed = NULL;
	int rc;

	su_ldap_mods_swap_serial(m, t->serial);
	su_ldap_mods_change(m, false, &t->before, state, NULL);
	if (t->have_record) {
		if (su_ldap_copy_kv(&s->cached.record, &before_record.record) != 0 ||
		    su_ldap_seal_secret(s, t->user, &t->record, &sealed) != SU_OK) {
			su_ldap_entry_free(&before_record);
			su_ldap_mods_free(m);
			return SU_ERR;
		}
		su_ldap_mods_change(m, true, &before_record.record, &t->record, sealed);
		su_ldap_entry_free(&before_record);
	}
	rc = su_ldap_mods_list(m) == NULL ? su_fail(&s->log, "out of memory") :
					    su_ldap_modify(s->conn, t->dn, su_ldap_mods_list(m));
	su_ldap_mods_free(m);
	if (sealed != NULL)
		su_free_string(sealed);
	if (rc == SU_NOTFOUND)
		rc = SU_CONFLICT; /* removed meanwhile: judge again from nothing */
	if (rc == SU_OK) {
		su_kv_free(&s->cached.state);
		rc = su_ldap_copy_kv(state, &s->cached.state) == 0 ? SU_OK : SU_ERR;
		if (rc == SU_OK && t->have_record) {
			su_kv_free(&s->cached.record);
			rc = su_ldap_copy_kv(&t->record, &s->cached.record) == 0 ? SU_OK : SU_ERR;
		}
		s->cached.serial = ++t->serial;
		s->tries_left = s->retries; /* ldap_retries is per write */
		su_kv_free(&t->before);
		if (rc == SU_OK && su_ldap_copy_kv(state, &t->before) != 0)
			rc = SU_ERR;
		if (rc != SU_OK)
			su_ldap_forget_cached(s); /* written; only the copies failed */
		return SU_OK;
	}
	su_ldap_forget_cached(s);
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
	t->have_record = su_ldap_copy_kv(record, &t->record) == 0;
	if (!t->have_record || su_ldap_copy_kv(&t->before, &unchanged) != 0)
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
	su_ldap_conn_spend(s->conn, pause.tv_nsec / 1000000 + 1);
	return true;
}

int su_ldap_verifier_keys(struct ldap_store *s, const unsigned char *keys[], size_t max,
			  size_t *n)
{
	*n = 0;
	if (su_ldap_need_fleet_key(s) != SU_OK)
		return SU_ERR;
	for (size_t i = 0; i < su_fleetkey_count(s->fleet_key) && *n < max; i++)
		keys[(*n)++] = su_fleetkey_key(s->fleet_key, i);
	return *n > 0 ? SU_OK : SU_ERR;
}

/* ---- records (stepupctl) --------------------------------------------------------- */

/* A new entry: objectClass, uid, serial 0 and the record. */
static int add_entry(struct ldap_store *s, const char *user, const char *dn,
		     const su_kv *record, const su_kv *state)
{
	unsigned long long r = 0;
	char start[24];
	su_ldap_mods *m;
	char *sealed = NULL;
	int rc;

	/* A random first serial (store_ldap.h, SU_LDAP_SERIAL_LIMIT). */
	if (su_random(&r, sizeof(r)) != 0)
		return su_fail(&s->log, "%s: no randomness for the entry's first serial", dn);
	snprintf(start, sizeof(start), "%llu", r % (SU_LDAP_SERIAL_LIMIT / 2));
	rc = su_ldap_seal_secret(s, user, record, &sealed);
	if (rc != SU_OK)
		return rc;
	m = su_ldap_mods_new();
	su_ldap_mods_add(m, LDAP_MOD_ADD, "objectClass", "stepupUser");
	su_ldap_mods_add(m, LDAP_MOD_ADD, "uid", user);
	su_ldap_mods_add(m, LDAP_MOD_ADD, "stepupSerial", start);
	su_ldap_mods_change(m, true, NULL, record, sealed);
	if (state != NULL)
		su_ldap_mods_change(m, false, NULL, state, NULL);
	rc = su_ldap_mods_list(m) == NULL ? su_fail(&s->log, "out of memory") :
					    su_ldap_add(s->conn, dn, su_ldap_mods_list(m));
	su_ldap_mods_free(m);
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

		su_ldap_forget_cached(s);
		rc = begin(s, user, &t, &state);
		if (rc == SU_NOTFOUND)
			rc = add_entry(s, user, dn, record, NULL);
		else if (rc == SU_OK)
			rc = su_ldap_state_save_record(t, record);
		su_ldap_state_end(t);
		if ((rc == SU_CONFLICT || rc == SU_EXISTS) && !su_ldap_may_retry(s))
			rc = su_fail(&s->log, "ldap:%s: others kept writing it; try again", dn);
	}
	su_ldap_forget_cached(s);
	free(dn);
	return rc;
}

int su_ldap_remove_user(struct ldap_store *s, const char *user)
{
	char *dn = user_dn(s, user);
	int rc = dn != NULL ? su_ldap_delete(s->conn, dn) : SU_ERR;

	su_ldap_forget_cached(s);
	free(dn);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of one page's entries added to *names (the canary noted). */
static int add_page(struct ldap_store *s, LDAPMessage *res, char ***names, size_t *count,
		    bool *canary)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	LDAP *ld = su_ldap_conn_handle(s->conn);

	for (LDAPMessage *m = api->first_entry(ld, res); m != NULL; m = api->next_entry(ld, m)) {
		struct berval **uid = api->get_values_len(ld, m, "uid");
		char *name = uid != NULL && api->count_values_len(uid) == 1 ?
				     strndup(uid[0]->bv_val, uid[0]->bv_len) : NULL;
		char **grown;

		if (uid != NULL)
			api->value_free_len(uid);
		*canary = *canary || (name != NULL && strcmp(name, CANARY) == 0);
		if (name == NULL || strcmp(name, CANARY) == 0 || !su_valid_username(name)) {
			free(name);
			continue;
		}
		grown = realloc(*names, (*count + 1) * sizeof(**names));
		if (grown == NULL) {
			free(name);
			return su_fail(&s->log, "out of memory");
		}
		*names = grown;
		(*names)[(*count)++] = name;
	}
	return SU_OK;
}

/* Every entry, a page at a time: a fleet may hold more users than the
 * server's size limit lets one search return. */
int su_ldap_list_users(struct ldap_store *s, char ***names_out, size_t *count_out)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	char uid_attr[] = "uid", *attrs[] = {uid_attr, NULL};
	struct berval cookie = {0, NULL};
	char **names = NULL;
	size_t count = 0;
	bool canary = false;
	int rc;

	*names_out = NULL;
	*count_out = 0;
	do {
		LDAPMessage *res = NULL;

		rc = su_ldap_search_page(s->conn, s->base, LDAP_SCOPE_ONELEVEL,
					 "(objectClass=stepupUser)", attrs, &cookie, &res);
		if (rc == SU_OK)
			rc = add_page(s, res, &names, &count, &canary);
		if (res != NULL)
			api->msgfree(res);
	} while (rc == SU_OK && cookie.bv_len > 0);
	if (cookie.bv_val != NULL)
		api->memfree(cookie.bv_val);
	/* As for one user: an empty list is believed only with the canary. */
	if (rc == SU_OK && !canary)
		rc = su_fail(&s->log, "ldap:%s: the canary entry uid=" CANARY " is not in the "
			     "listing: refusing to take it as everyone enrolled (check the access "
			     "rules and ldap_base)", s->base);
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

/* ---- a new user (su_store_add_user) ------------------------------------------------ */

/* One Add of the whole entry, the record and the state in it: a host
 * reads both or nothing, so an imported replay barrier is there from the
 * first moment the record is. The server refuses it (alreadyExists) when
 * the entry is there: SU_EXISTS, and the caller changes it instead. */
int su_ldap_add_user(struct ldap_store *s, const char *user, const su_kv *record,
		     const su_kv *state)
{
	char *dn = user_dn(s, user);
	int rc;

	su_ldap_forget_cached(s);
	rc = dn != NULL ? add_entry(s, user, dn, record, state) : SU_ERR;
	free(dn);
	return rc;
}
