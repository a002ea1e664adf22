/* What the two files of the directory store share: store_ldap.c (the
 * store's operations: reads, the conditional writes, retries, records)
 * and store_ldap_entry.c (one entry to and from a record and a state:
 * the attribute table, the checks on what is read, the Modify built from
 * a change). No other file includes this. */
#ifndef SU_STORE_LDAP_H
#define SU_STORE_LDAP_H

#include <stdbool.h>
#include "fleetkey.h"
#include "kv.h"
#include "ldapconn.h"
#include "log.h"

#define CANARY "stepup-canary"
/* Serials are below this: a new entry starts at a random one under 2^61
 * (so that an entry removed and made again does not repeat the serials a
 * host may still hold of the old one), and 2^61 more writes do not reach
 * it. */
#define SU_LDAP_SERIAL_LIMIT (1ULL << 62)

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
	/* The record su_store_load_user gave the caller, who judges with what
	 * it parsed from it: a transaction that finds another record refuses
	 * rather than judge an answer against the old one. */
	char *loaded_user;
	su_kv loaded;
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

void su_ldap_entry_free(struct entry *e);
int su_ldap_copy_kv(const su_kv *from, su_kv *to);
/* Whether the canary entry m of a search shows its stepupTotpSecret: the
 * proof that this host may read the users' secrets. */
bool su_ldap_canary_secret_visible(struct ldap_store *s, LDAPMessage *m);
/* Forget the entry this call read: the next read asks the directory. */
void su_ldap_forget_cached(struct ldap_store *s);
/* The fleet key, read on first use. */
int su_ldap_need_fleet_key(struct ldap_store *s);

/* A stepupSerial value (bv_len bytes, not NUL-terminated): decimal digits
 * without a leading zero, below SU_LDAP_SERIAL_LIMIT. The one parser of
 * serials, for the users' entries and the canary alike. */
bool su_ldap_serial_parse(const struct berval *v, unsigned long long *out);

/* One search result entry of user (dn names it in messages) into e:
 * the record (the TOTP secret opened with the fleet key), the state and
 * the serial. SU_OK, or SU_ERR (logged, naming the attribute). */
int su_ldap_entry_read(struct ldap_store *s, LDAPMessage *msg, const char *user,
		       const char *dn, struct entry *e);

/* A Modify (or Add) being built; the values are owned by it. */
typedef struct su_ldap_mods su_ldap_mods;
su_ldap_mods *su_ldap_mods_new(void);
void su_ldap_mods_free(su_ldap_mods *m);
/* The NULL-terminated list for ldap_modify/ldap_add; NULL if building
 * failed (no memory). */
LDAPMod **su_ldap_mods_list(su_ldap_mods *m);
/* op on attr with one value (the value is copied). */
void su_ldap_mods_add(su_ldap_mods *m, int op, const char *attr, const char *value);
/* First in every Modify: delete serial, add serial + 1 (what makes it
 * conditional: the server refuses to delete a value that is not there). */
void su_ldap_mods_swap_serial(su_ldap_mods *m, unsigned long long serial);
/* The changes of the record (record: true) or the state from before to
 * after, as replacements; before NULL: every value of after (an Add).
 * sealed_secret: the record's TOTP secret as stored. */
void su_ldap_mods_change(su_ldap_mods *m, bool record, const su_kv *before,
			 const su_kv *after, const char *sealed_secret);
/* record's TOTP secret sealed under the fleet key for user; *sealed NULL
 * when it has none. */
int su_ldap_seal_secret(struct ldap_store *s, const char *user, const su_kv *record,
			char **sealed);

/* value with the characters special in a DN (RFC 4514) or in a filter
 * (RFC 4515) escaped; NULL on no memory. The caller frees
 * (store_ldap_entry.c). */
char *su_ldap_dn_value(const char *value);
char *su_ldap_filter_value(const char *value);

#endif
