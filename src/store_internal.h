/* The two backends behind store.h, and nothing else includes this: the
 * files on this host (store_files.c) and a directory server
 * (store_ldap.c). store.c sends each call of store.h to the one the
 * host's config chose; a backend's functions are those of store.h with
 * its own handle types, so that each reads on its own. */
#ifndef SU_STORE_INTERNAL_H
#define SU_STORE_INTERNAL_H

#include "store.h"

struct files_store;
struct files_txn;
struct ldap_store;
struct ldap_txn;

int su_files_open(const su_log *log, const su_settings *settings, struct files_store **out);
void su_files_close(struct files_store *store);
char *su_files_name(struct files_store *store, const char *user, enum su_store_part part);
int su_files_load_user(struct files_store *store, const char *user, su_kv *record);
int su_files_save_user(struct files_store *store, const char *user, const su_kv *record);
int su_files_remove_user(struct files_store *store, const char *user);
int su_files_list_users(struct files_store *store, char ***names, size_t *count);
int su_files_state_begin(struct files_store *store, const char *user, struct files_txn **txn,
			 su_kv **state);
int su_files_state_commit(struct files_txn *txn);
int su_files_state_arm(struct files_txn *txn);
int su_files_state_commit_armed(struct files_txn *txn);
int su_files_state_save_record(struct files_txn *txn, const su_kv *record);
const char *su_files_state_name(const struct files_txn *txn);
void su_files_state_end(struct files_txn *txn);
int su_files_state_peek(struct files_store *store, const char *user, su_kv *state);
int su_files_add_user(struct files_store *store, const char *user, const su_kv *record,
		      const su_kv *state);

int su_ldap_open(const su_log *log, const su_settings *settings, struct ldap_store **out);
void su_ldap_close(struct ldap_store *store);
char *su_ldap_name(struct ldap_store *store, const char *user, enum su_store_part part);
int su_ldap_load_user(struct ldap_store *store, const char *user, su_kv *record);
int su_ldap_save_user(struct ldap_store *store, const char *user, const su_kv *record);
int su_ldap_remove_user(struct ldap_store *store, const char *user);
int su_ldap_list_users(struct ldap_store *store, char ***names, size_t *count);
int su_ldap_state_begin(struct ldap_store *store, const char *user, struct ldap_txn **txn,
			su_kv **state);
int su_ldap_state_commit(struct ldap_txn *txn);
int su_ldap_state_arm(struct ldap_txn *txn);
int su_ldap_state_commit_armed(struct ldap_txn *txn);
int su_ldap_state_save_record(struct ldap_txn *txn, const su_kv *record);
const char *su_ldap_state_name(const struct ldap_txn *txn);
void su_ldap_state_end(struct ldap_txn *txn);
int su_ldap_state_peek(struct ldap_store *store, const char *user, su_kv *state);
bool su_ldap_may_retry(struct ldap_store *store);
int su_ldap_verifier_keys(struct ldap_store *store, const unsigned char *keys[], size_t max,
			  size_t *n);
int su_ldap_add_user(struct ldap_store *store, const char *user, const su_kv *record,
		     const su_kv *state);
int su_ldap_check(struct ldap_store *store, su_store_report *out);

#endif
