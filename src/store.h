/* The narrow interface through which the flow, the CLI and the tests reach
 * users' records and state. Two backends (store.c picks the one the config
 * names): the root-owned files under user_dir and state_dir
 * (store_files.c), and an LDAP directory shared by a fleet of hosts
 * (store_ldap.c). Callers do not learn which one they use.
 *
 * Records (secrets: TOTP seed, email address, recovery hashes) are written
 * rarely, by stepupctl. State (time of the last accepted TOTP code,
 * failures, ...) is written at every attempt, only inside a state
 * transaction: lock, read, modify, commit, end. Every write of a user's
 * record or state holds that user's lock, so two concurrent transactions
 * never interleave and a code can be accepted once only.
 *
 * A directory cannot be locked, so there a commit is a conditional write:
 * it fails with SU_CONFLICT when another host wrote the user's entry since
 * it was read. The caller then ends the transaction and, while
 * su_store_may_retry says so, begins again, judging afresh what the new
 * state says (a code another host just accepted is now a replay). The
 * files backend never answers SU_CONFLICT. */
#ifndef SU_STORE_H
#define SU_STORE_H

#include "config.h"
#include "kv.h"
#include "log.h"
#include "safefile.h"

#define SU_RECORD_MAX_SIZE (16 * 1024)

typedef struct su_store su_store;
typedef struct su_state_txn su_state_txn;

int su_store_open(const su_log *log, const su_settings *settings,
		  su_store **out);
void su_store_close(su_store *store);

/* SU_OK, SU_NOTFOUND (not enrolled) or SU_ERR (logged). */
int su_store_load_user(su_store *store, const char *user, su_kv *record);
int su_store_save_user(su_store *store, const char *user, const su_kv *record);
/* Removes the record and the state of user. */
int su_store_remove_user(su_store *store, const char *user);
/* A user the store holds nothing of yet: their record and state written
 * as one change, so that no login ever sees the record without the state
 * (an imported replay barrier). The directory: one Add of the entry, which
 * needs no transaction (none can begin for a user without an entry).
 * Files: under the user's lock, the state (when not empty), then the
 * record. SU_OK; SU_EXISTS (not logged) when the store holds a record or
 * a state of user already (then change it in a state transaction);
 * SU_ERR (logged). */
int su_store_add_user(su_store *store, const char *user, const su_kv *record,
		      const su_kv *state);
/* Sorted names of enrolled users; free with su_store_free_list. */
int su_store_list_users(su_store *store, char ***names, size_t *count);
void su_store_free_list(char **names, size_t count);

/* Lock user's state and read it (empty if none yet). *state belongs to the
 * transaction; change it, then commit (durable) and/or end (unlock). */
int su_state_begin(su_store *store, const char *user, su_state_txn **txn,
		   su_kv **state);
int su_state_commit(su_state_txn *txn);
/* Before an answer is judged: keep the state as it is now (the failure
 * already counted by the caller) as what su_state_commit_armed writes
 * if the state that records the judgement cannot be committed
 * (statefile.c rules 1 and 4). */
int su_state_arm(su_state_txn *txn);
int su_state_commit_armed(su_state_txn *txn);
/* Replace the user's record while the transaction holds their lock, when
 * a record change and a state change must not interleave with a login. */
int su_state_save_record(su_state_txn *txn, const su_kv *record);
/* The state's name for messages (the files backend: its path). */
const char *su_state_name(const su_state_txn *txn);
void su_state_end(su_state_txn *txn);

/* The keys recovery-code verifiers are made under, which belong with the
 * records: the host key (given) for the files backend; for the directory
 * every host must verify them, so the fleet keys (fleetkey.h), current
 * first. The first makes new verifiers; every one is tried when checking.
 * SU_OK with 1 <= *n <= max; SU_ERR (logged). Valid until the store is
 * closed. */
#define SU_VERIFIER_KEYS_MAX 16
int su_store_verifier_keys(su_store *store, const unsigned char *hostkey,
			   const unsigned char *keys[], size_t max, size_t *n);

/* After SU_CONFLICT: whether another try fits in the retries and the time
 * the config allows (false for the files backend). */
bool su_store_may_retry(su_store *store);

/* ---- whether the store can serve this host (stepupctl check-config) ---- */

enum su_store_proof {
	SU_PROOF_NOT_TRIED, /* an earlier check failed */
	SU_PROOF_WRITTEN,   /* the conditional write was made */
	SU_PROOF_REFUSED,   /* the directory refused it: no write access */
	SU_PROOF_FAILED,    /* another error (logged) */
};

/* What su_store_check found. Only remote is set for the files backend:
 * its paths are checked where the files are read. Strings are malloc'd
 * (su_store_report_free); NULL where the check did not get that far. */
typedef struct su_store_report {
	bool remote;                 /* a directory: what follows applies */
	char *server;                /* the URI that answered */
	char *identity;              /* who-am-I (RFC 4532): "dn:...", "" when anonymous */
	char *canary;                /* the canary's DN */
	bool canary_read;            /* found, with a stepupSerial */
	unsigned long long serial;   /* the canary's stepupSerial before the proof */
	enum su_store_proof proof;   /* the canary's serial from serial to serial + 1 */
	char *fleet_key;             /* the fleet key's path */
	bool fleet_key_read;
	char *fleet_kid;             /* its current key id */
	size_t fleet_keys;           /* how many keys it holds */
} su_store_report;

/* Check that the store can serve this host. The files backend: nothing
 * beyond the config (SU_OK). The directory: it is reached over TLS and
 * bound to (which URI answered), whom it takes us for, that the canary
 * uid=stepup-canary under ldap_base can be read by the search the store
 * makes, that this identity may write state (one conditional Modify of the
 * canary's stepupSerial: delete N, add N + 1, as every write of a user's
 * entry; harmless, since only its presence is ever read), and that the
 * fleet key can be read. Every check that can still run does, so one run
 * shows every problem. SU_OK when all passed; SU_ERR, each failure logged
 * with the setting to fix. *out is set either way. */
int su_store_check(su_store *store, su_store_report *out);
void su_store_report_free(su_store_report *r);

/* Read user's state without locking, for display (stepupctl status). */
int su_state_peek(su_store *store, const char *user, su_kv *state);

/* What names user's record or state in messages (the files backend: its
 * path). NULL for an invalid user name; caller frees. */
enum su_store_part { SU_STORE_RECORD, SU_STORE_STATE };
char *su_store_name(su_store *store, const char *user, enum su_store_part part);

#endif
