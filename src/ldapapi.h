/* libldap (OpenLDAP), loaded when a host that keeps its users in a
 * directory first needs it, rather than with the module: a host with
 * store = files never loads it (nor GnuTLS and Cyrus SASL, which it
 * brings), and nobody's grace path pays for it. The table's types are
 * checked against ldap.h at compile time, as curlapi.h does for libcurl. */
#ifndef SU_LDAPAPI_H
#define SU_LDAPAPI_H

#include <ldap.h>
#include <stddef.h>

/* Debian 12's libldap-2.5-0; OpenLDAP 2.6 on renamed it libldap.so.2. */
#define SU_LIBLDAP_SONAME "libldap-2.5.so.0"
#define SU_LIBLDAP_SONAME_NEXT "libldap.so.2"

typedef struct su_ldap_api {
	int (*initialize)(LDAP **ld, const char *uri);
	int (*set_option)(LDAP *ld, int option, const void *invalue);
	int (*get_option)(LDAP *ld, int option, void *outvalue);
	int (*start_tls_s)(LDAP *ld, LDAPControl **sctrls, LDAPControl **cctrls);
	int (*sasl_bind_s)(LDAP *ld, const char *dn, const char *mechanism,
			   struct berval *cred, LDAPControl **sctrls, LDAPControl **cctrls,
			   struct berval **servercredp);
	int (*search_ext_s)(LDAP *ld, const char *base, int scope, const char *filter,
			    char **attrs, int attrsonly, LDAPControl **sctrls,
			    LDAPControl **cctrls, struct timeval *timeout, int sizelimit,
			    LDAPMessage **res);
	LDAPMessage *(*first_entry)(LDAP *ld, LDAPMessage *chain);
	LDAPMessage *(*next_entry)(LDAP *ld, LDAPMessage *entry);
	char *(*first_attribute)(LDAP *ld, LDAPMessage *entry, BerElement **ber);
	char *(*next_attribute)(LDAP *ld, LDAPMessage *entry, BerElement *ber);
	struct berval **(*get_values_len)(LDAP *ld, LDAPMessage *entry, const char *target);
	int (*count_values_len)(struct berval **vals);
	void (*value_free_len)(struct berval **vals);
	void (*memfree)(void *p);
	void (*ber_free)(BerElement *ber, int freebuf);
	int (*msgfree)(LDAPMessage *lm);
	int (*modify_ext_s)(LDAP *ld, const char *dn, LDAPMod **mods, LDAPControl **sctrls,
			    LDAPControl **cctrls);
	int (*add_ext_s)(LDAP *ld, const char *dn, LDAPMod **attrs, LDAPControl **sctrls,
			 LDAPControl **cctrls);
	int (*delete_ext_s)(LDAP *ld, const char *dn, LDAPControl **sctrls,
			    LDAPControl **cctrls);
	int (*whoami_s)(LDAP *ld, struct berval **authzid, LDAPControl **sctrls,
			LDAPControl **cctrls);
	void (*ber_bvfree)(struct berval *bv);
	int (*unbind_ext_s)(LDAP *ld, LDAPControl **sctrls, LDAPControl **cctrls);
	char *(*err2string)(int err);
	/* paged results (RFC 2696), for listing every user */
	int (*create_page_control)(LDAP *ld, ber_int_t pagesize, struct berval *cookie,
				   int iscritical, LDAPControl **ctrlp);
	int (*parse_result)(LDAP *ld, LDAPMessage *res, int *errcodep, char **matcheddnp,
			    char **diagmsgp, char ***referralsp, LDAPControl ***serverctrls,
			    int freeit);
	LDAPControl *(*control_find)(const char *oid, LDAPControl **ctrls,
				     LDAPControl ***nextctrlp);
	int (*parse_pageresponse_control)(LDAP *ld, LDAPControl *ctrl, ber_int_t *count,
					  struct berval *cookie);
	void (*control_free)(LDAPControl *ctrl);
	void (*controls_free)(LDAPControl **ctrls);
} su_ldap_api;

/* The table, loaded on the first call and kept for the life of the process
 * (libldap keeps global state; it is never unloaded). NULL if libldap
 * cannot be loaded or lacks a function: why then says what. */
const su_ldap_api *su_ldap_api_load(char *why, size_t why_size);

#endif
