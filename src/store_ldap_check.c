/* stepupctl check-config with store = ldap (su_store_check): whether the
 * directory can serve this host. Each check that can run does: the server
 * reached, the identity it sees, the canary as the store's own search
 * finds it (with its secret readable), a conditional write of the canary's
 * serial (the proof that this identity may write state), the fleet key.
 * Every failure is logged with the setting to look at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_internal.h"
#include "store_ldap.h"
#include "util.h"

/* ---- whether the directory can serve this host (su_store_check) ------------------- */

/* The search the store makes for a user (fetch), for the canary alone. */
#define CANARY_FILTER "(&(objectClass=stepupUser)(uid=" CANARY "))"

/* The connection could not be made: which setting to look at, from the
 * step that failed (the lines above have the directory's own words). */
static int log_unreached(struct ldap_store *s)
{
	int result;

	switch (su_ldap_conn_failure(s->conn, &result)) {
	case SU_LDAP_FAILED_FILES:
		return su_fail(&s->log, "the directory was not tried: fix the file that "
			       "ldap_ca_file, ldap_cert, ldap_key or ldap_password_file names "
			       "(see above)");
	case SU_LDAP_FAILED_TLS:
		return su_fail(&s->log, "TLS with the directory failed (see above): its "
			       "certificate must chain to ldap_ca_file and name the host of "
			       "ldap_uri; check ldap_ca_file (and ldap_cert, ldap_key)");
	case SU_LDAP_FAILED_BIND:
		return su_fail(&s->log, "the directory refused to bind (see above): check "
			       "ldap_cert and ldap_key (SASL EXTERNAL), or ldap_bind_dn and "
			       "ldap_password_file");
	default:
		return su_fail(&s->log, "the directory did not answer (see above): check "
			       "ldap_uri, that the server runs and can be reached from here, "
			       "and ldap_timeout");
	}
}

/* Connect (TLS, bind) and ask who we are. A server that does not answer
 * who-am-I was reached all the same: identity stays NULL. */
static int check_reached(struct ldap_store *s, su_store_report *out)
{
	char *identity = NULL;

	if (su_ldap_whoami(s->conn, &identity) == SU_OK)
		out->identity = identity;
	if (su_ldap_conn_handle(s->conn) == NULL)
		return log_unreached(s);
	out->server = su_strdup(su_ldap_conn_server(s->conn));
	return out->server != NULL ? SU_OK : su_fail(&s->log, "out of memory");
}

/* The canary's stepupSerial from the first entry of res. */
static bool canary_serial(struct ldap_store *s, LDAPMessage *res, unsigned long long *serial)
{
	const su_ldap_api *api = su_ldap_conn_api(s->conn);
	LDAP *ld = su_ldap_conn_handle(s->conn);
	LDAPMessage *m = api->first_entry(ld, res);
	struct berval **v = m != NULL ? api->get_values_len(ld, m, "stepupSerial") : NULL;
	bool ok = v != NULL && api->count_values_len(v) == 1 && su_ldap_serial_parse(v[0], serial);

	if (v != NULL)
		api->value_free_len(v);
	return ok;
}

static const char *who(const su_store_report *out)
{
	return out->identity == NULL ? "this host's identity" :
	       out->identity[0] == '\0' ? "an anonymous bind" : out->identity;
}

/* The canary, as the store's search for a user finds it, and its serial:
 * without it "not enrolled" is never believed, and every user is refused
 * as unavailable. */
static int read_canary(struct ldap_store *s, su_store_report *out)
{
	char serial_attr[] = "stepupSerial", secret_attr[] = "stepupTotpSecret";
	char *attrs[] = {serial_attr, secret_attr, NULL};
	LDAPMessage *res = NULL;
	bool secret;
	int rc;

	out->canary_read = false;
	rc = su_ldap_search(s->conn, s->base, LDAP_SCOPE_ONELEVEL, CANARY_FILTER, attrs, &res);
	if (rc != SU_OK && su_ldap_conn_handle(s->conn) == NULL)
		return log_unreached(s);
	if (rc != SU_OK)
		return su_fail(&s->log, "canary: ldap_base = %s cannot be searched (see above): "
			       "check ldap_base, and that the access rules let %s read the "
			       "entries under it (the shipped rules: a host in cn=stepup-hosts)",
			       s->base, who(out));
	out->canary_read = canary_serial(s, res, &out->serial);
	secret = out->canary_read &&
		 su_ldap_canary_secret_visible(s, su_ldap_conn_api(s->conn)->first_entry(
						  su_ldap_conn_handle(s->conn), res));
	su_ldap_conn_api(s->conn)->msgfree(res);
	if (out->canary_read && !secret) {
		out->canary_read = false;
		return su_fail(&s->log, "canary: %s has no stepupTotpSecret %s can read: give "
			       "it one (any value), and let this identity read the secrets "
			       "(the shipped rules: a host in cn=stepup-hosts); until then every "
			       "user is refused", out->canary, who(out));
	}
	if (!out->canary_read)
		return su_fail(&s->log, "canary: %s cannot be read by %s (or has no single "
			       "stepupSerial): create it (objectClass stepupUser, stepupSerial "
			       "0, stepupTotpSecret canary) if it is missing, else let this identity read the entries "
			       "under ldap_base (the shipped rules: a host in cn=stepup-hosts); "
			       "until then every user is refused", out->canary, who(out));
	return SU_OK;
}

/* What a refused proof means: a host writes state at every attempt, an
 * admin to unlock. */
static int log_refused_write(struct ldap_store *s, const su_store_report *out)
{
	return su_fail(&s->log, "write: refused: %s has no write access to the state of "
		       "the entries under ldap_base (stepupSerial of %s): a host's identity "
		       "must write state at every attempt, an admin's too (the shipped "
		       "rules: members of cn=stepup-hosts and cn=stepup-admins)", who(out),
		       out->canary);
}

/* The canary's serial from N to N + 1 in one conditional Modify, as every
 * write of a user's entry is made; tried again while another writer
 * (another check) moves it first. */
static int prove_write(struct ldap_store *s, su_store_report *out)
{
	int rc, result;

	for (;;) {
		su_ldap_mods *m = su_ldap_mods_new();

		su_ldap_mods_swap_serial(m, out->serial);
		rc = su_ldap_mods_list(m) == NULL ?
			     su_fail(&s->log, "out of memory") :
			     su_ldap_modify(s->conn, out->canary, su_ldap_mods_list(m));
		su_ldap_mods_free(m);
		if (rc != SU_CONFLICT || !su_ldap_may_retry(s))
			break;
		if (read_canary(s, out) != SU_OK) {
			out->proof = SU_PROOF_FAILED;
			return SU_ERR;
		}
	}
	out->proof = rc == SU_OK ? SU_PROOF_WRITTEN : SU_PROOF_FAILED;
	if (rc == SU_OK)
		return SU_OK;
	if (rc == SU_ERR &&
	    su_ldap_conn_failure(s->conn, &result) == SU_LDAP_FAILED_OPERATION &&
	    result == LDAP_INSUFFICIENT_ACCESS) {
		out->proof = SU_PROOF_REFUSED;
		return log_refused_write(s, out);
	}
	if (rc == SU_ERR && su_ldap_conn_handle(s->conn) == NULL)
		return log_unreached(s);
	return su_fail(&s->log, "write: %s: %s", out->canary,
		       rc == SU_NOTFOUND ? "removed while it was checked" :
		       rc == SU_CONFLICT ? "others kept writing it; try again" :
					   "not written (see above)");
}

/* Every host of the directory needs the same fleet key: it opens the
 * secrets. */
static int check_fleet_key(struct ldap_store *s, su_store_report *out)
{
	if (su_ldap_need_fleet_key(s) != SU_OK)
		return su_fail(&s->log, "fleet_key = %s cannot be used (see above): every host "
			       "of the directory needs the same file; make it once with "
			       "'stepupctl fleet-key init', then copy it to each host",
			       s->fleet_key_path);
	out->fleet_key_read = true;
	out->fleet_keys = su_fleetkey_count(s->fleet_key);
	out->fleet_kid = su_strdup(su_fleetkey_current(s->fleet_key));
	return out->fleet_kid != NULL ? SU_OK : su_fail(&s->log, "out of memory");
}

int su_ldap_check(struct ldap_store *s, su_store_report *out)
{
	int rc = SU_OK;

	out->remote = true;
	su_ldap_forget_cached(s);
	out->fleet_key = su_strdup(s->fleet_key_path);
	if (out->fleet_key == NULL || asprintf(&out->canary, "uid=" CANARY ",%s", s->base) < 0) {
		out->canary = NULL;
		return su_fail(&s->log, "out of memory");
	}
	/* Each directory check needs the one before it; the fleet key is
	 * checked whatever they found. */
	if (check_reached(s, out) != SU_OK || read_canary(s, out) != SU_OK ||
	    prove_write(s, out) != SU_OK)
		rc = SU_ERR;
	if (check_fleet_key(s, out) != SU_OK)
		rc = SU_ERR;
	return rc;
}
