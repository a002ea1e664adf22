/* store.h's calls, each sent to the backend the host's config chose
 * (settings->store): the files on this host, or a directory server. One
 * `if` per call, so that what runs is plain to see. */
#include <stdlib.h>
#include "store.h"
#include "store_internal.h"
#include "util.h"

struct su_store {
	struct files_store *files; /* exactly one of the two is set */
	struct ldap_store *ldap;
};

struct su_state_txn {
	struct files_txn *files;
	struct ldap_txn *ldap;
};

int su_store_open(const su_log *log, const su_settings *settings, su_store **out)
{
	su_store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (s == NULL)
		return su_fail(log, "out of memory");
	rc = settings->store == SU_STORE_LDAP ? su_ldap_open(log, settings, &s->ldap) :
						su_files_open(log, settings, &s->files);
	if (rc != SU_OK) {
		free(s);
		return rc;
	}
	*out = s;
	return SU_OK;
}

void su_store_close(su_store *store)
{
	if (store == NULL)
		return;
	if (store->ldap != NULL)
		su_ldap_close(store->ldap);
	else
		su_files_close(store->files);
	free(store);
}

char *su_store_name(su_store *store, const char *user, enum su_store_part part)
{
	return store->ldap ? su_ldap_name(store->ldap, user, part) :
			     su_files_name(store->files, user, part);
}

int su_store_load_user(su_store *store, const char *user, su_kv *record)
{
	return store->ldap ? su_ldap_load_user(store->ldap, user, record) :
			     su_files_load_user(store->files, user, record);
}

int su_store_save_user(su_store *store, const char *user, const su_kv *record)
{
	return store->ldap ? su_ldap_save_user(store->ldap, user, record) :
			     su_files_save_user(store->files, user, record);
}

int su_store_remove_user(su_store *store, const char *user)
{
	return store->ldap ? su_ldap_remove_user(store->ldap, user) :
			     su_files_remove_user(store->files, user);
}

int su_store_add_user(su_store *store, const char *user, const su_kv *record,
		      const su_kv *state)
{
	return store->ldap ? su_ldap_add_user(store->ldap, user, record, state) :
			     su_files_add_user(store->files, user, record, state);
}

int su_store_list_users(su_store *store, char ***names, size_t *count)
{
	return store->ldap ? su_ldap_list_users(store->ldap, names, count) :
			     su_files_list_users(store->files, names, count);
}

void su_store_free_list(char **names, size_t count)
{
	for (size_t i = 0; i < count && names != NULL; i++)
		free(names[i]);
	free(names);
}

int su_store_verifier_keys(su_store *store, const unsigned char *hostkey,
			   const unsigned char *keys[], size_t max, size_t *n)
{
	*n = 0;
	if (store->ldap != NULL)
		return su_ldap_verifier_keys(store->ldap, keys, max, n);
	if (max == 0)
		return SU_ERR;
	keys[0] = hostkey;
	*n = 1;
	return SU_OK;
}

bool su_store_may_retry(su_store *store)
{
	return store->ldap != NULL && su_ldap_may_retry(store->ldap);
}

int su_store_check(su_store *store, su_store_report *out)
{
	*out = (su_store_report){0};
	/* Files: the config named the paths, and they are checked where
	 * they are read, with the reason; nothing can be tried beforehand. */
	return store->ldap ? su_ldap_check(store->ldap, out) : SU_OK;
}

void su_store_report_free(su_store_report *r)
{
	free(r->server);
	free(r->identity);
	free(r->canary);
	free(r->fleet_key);
	free(r->fleet_kid);
	*r = (su_store_report){0};
}

int su_state_begin(su_store *store, const char *user, su_state_txn **txn, su_kv **state)
{
	su_state_txn *t = calloc(1, sizeof(*t));
	int rc;

	*txn = NULL;
	*state = NULL;
	if (t == NULL)
		return SU_ERR;
	rc = store->ldap ? su_ldap_state_begin(store->ldap, user, &t->ldap, state) :
			   su_files_state_begin(store->files, user, &t->files, state);
	if (rc != SU_OK) {
		free(t);
		return rc;
	}
	*txn = t;
	return SU_OK;
}

int su_state_commit(su_state_txn *txn)
{
	return txn->ldap ? su_ldap_state_commit(txn->ldap) : su_files_state_commit(txn->files);
}

int su_state_arm(su_state_txn *txn)
{
	return txn->ldap ? su_ldap_state_arm(txn->ldap) : su_files_state_arm(txn->files);
}

int su_state_commit_armed(su_state_txn *txn)
{
	return txn->ldap ? su_ldap_state_commit_armed(txn->ldap) :
			   su_files_state_commit_armed(txn->files);
}

int su_state_save_record(su_state_txn *txn, const su_kv *record)
{
	return txn->ldap ? su_ldap_state_save_record(txn->ldap, record) :
			   su_files_state_save_record(txn->files, record);
}

const char *su_state_name(const su_state_txn *txn)
{
	return txn->ldap ? su_ldap_state_name(txn->ldap) : su_files_state_name(txn->files);
}

void su_state_end(su_state_txn *txn)
{
	if (txn == NULL)
		return;
	if (txn->ldap != NULL)
		su_ldap_state_end(txn->ldap);
	else
		su_files_state_end(txn->files);
	free(txn);
}

int su_state_peek(su_store *store, const char *user, su_kv *state)
{
	return store->ldap ? su_ldap_state_peek(store->ldap, user, state) :
			     su_files_state_peek(store->files, user, state);
}
