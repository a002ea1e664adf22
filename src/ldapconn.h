/* One connection to the directory for one PAM call (or one stepupctl
 * command): made on the first operation, to the first URI of ldap_uri
 * that answers (the rest are failover only), over TLS (ldaps://, or
 * ldap:// with StartTLS; ldapi:// is a local socket), bound as this host
 * (SASL EXTERNAL with its certificate, or a simple bind).
 *
 * Every option that decides whom the connection trusts is set on the
 * connection itself, so that no ldap.conf, ldaprc or LDAP* variable of the
 * caller can weaken it (libldap reads those when the real and effective
 * uids are equal: sshd, cron, root's su). Referrals are never followed.
 * SIGPIPE is held around every operation, so a server that goes away
 * cannot kill the host program.
 *
 * One budget, ldap_timeout, bounds all the directory work of the call:
 * connecting, TLS, binding and every operation draw on it, and once it is
 * spent every operation fails at once. Time the user spends answering a
 * prompt is not counted. */
#ifndef SU_LDAPCONN_H
#define SU_LDAPCONN_H

#include <stdbool.h>
#include "config.h"
#include "ldapapi.h"
#include "log.h"

typedef struct su_ldap_conn su_ldap_conn;

/* No network yet. SU_OK, or SU_ERR (logged: libldap missing, no memory). */
int su_ldap_conn_open(const su_log *log, const su_settings *settings, su_ldap_conn **out);
void su_ldap_conn_close(su_ldap_conn *c);
const su_ldap_api *su_ldap_conn_api(const su_ldap_conn *c);
/* The handle of the connection, for reading a search's entries (NULL
 * before the first operation). */
LDAP *su_ldap_conn_handle(const su_ldap_conn *c);
/* The server the connection went to, for messages ("" before one). */
const char *su_ldap_conn_server(const su_ldap_conn *c);
/* Whether some of the budget is left. */
bool su_ldap_conn_time_left(const su_ldap_conn *c);
/* Count ms of waiting (a pause before a retry) against the budget. */
void su_ldap_conn_spend(su_ldap_conn *c, long ms);

/* The step the connection last failed at, and libldap's result code for
 * it (*result; LDAP_SUCCESS for SU_LDAP_FAILED_NONE and _FILES): so that
 * a check can name the setting to fix (stepupctl check-config), where the
 * log already has the directory's words. A later success does not clear
 * it; an operation's failure (the server's answer: no access, no such
 * entry) is SU_LDAP_FAILED_OPERATION. */
enum su_ldap_failure {
	SU_LDAP_FAILED_NONE,
	SU_LDAP_FAILED_FILES,     /* ldap_ca_file, ldap_cert or ldap_key refused */
	SU_LDAP_FAILED_CONNECT,   /* no answer: down, refused, unreachable, timed out */
	SU_LDAP_FAILED_TLS,       /* the handshake (the server's certificate, or ours) */
	SU_LDAP_FAILED_BIND,      /* the server refused our credentials */
	SU_LDAP_FAILED_OPERATION, /* a search, Modify, ... refused */
};
enum su_ldap_failure su_ldap_conn_failure(const su_ldap_conn *c, int *result);

/* The operations, each connecting first if need be. SU_OK; SU_ERR (logged,
 * naming the server, the DN and the directory's answer). */
int su_ldap_search(su_ldap_conn *c, const char *base, int scope, const char *filter,
		   char **attrs, LDAPMessage **res);
/* One page of a paged search (RFC 2696), for a listing that may be longer
 * than the server's size limit: *cookie is empty ({0, NULL}) for the first
 * page, and is replaced by the server's; empty after the last page. Free
 * a cookie's bv_val with the api's memfree. */
#define SU_LDAP_PAGE_SIZE 200
int su_ldap_search_page(su_ldap_conn *c, const char *base, int scope, const char *filter,
			char **attrs, struct berval *cookie, LDAPMessage **res);
/* SU_OK; SU_CONFLICT (a value to delete was not there: another writer
 * came first); SU_NOTFOUND (no such entry); SU_ERR. */
int su_ldap_modify(su_ldap_conn *c, const char *dn, LDAPMod **mods);
/* SU_OK; SU_EXISTS (another writer added it first); SU_ERR. */
int su_ldap_add(su_ldap_conn *c, const char *dn, LDAPMod **mods);
/* SU_OK; SU_NOTFOUND; SU_ERR. */
int su_ldap_delete(su_ldap_conn *c, const char *dn);
/* The identity the server sees (RFC 4532), "" when anonymous; free(). */
int su_ldap_whoami(su_ldap_conn *c, char **authzid);


#endif
