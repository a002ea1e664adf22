/* A grace record as a file: its name in grace_dir, its text, its HMAC,
 * and the walk over the records of grace_dir.
 *
 * Checking a record (grace.c), writing one (grace_write.c) and listing
 * them (grace_list.c) must agree on every byte of this, or a record one
 * writes is one another refuses; so the format lives here once, and each
 * of them only decides what to do with a record. Every field a record
 * carries is covered by its HMAC, service included; the name carries no
 * secret and needs none. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "grace.h"
#include "grace_internal.h"
#include "kv.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define BINDING_CHARS "abcdefghijklmnopqrstuvwxyz0123456789=:"

static bool binding_chars_ok(const char *binding)
{
	return binding[0] != '\0' && strspn(binding, BINDING_CHARS) == strlen(binding);
}

/* grace_dir/USER:BINDING:service=SERVICE, or with service "" the start
 * every record name of this user and binding shares. The binding is made of
 * [a-z0-9=:] only (see session_binding, grace_here.c), a user name has no ':' or '/' and
 * a service name no ':' (su_valid_service_name): the name is one path
 * component, the first ':' splits off the user and the last SERVICE_TAG
 * the service. Nothing in it is secret (grace_dir is root's alone), so it
 * needs no MAC: the record inside does, service included. */
char *grace_record_path(const char *grace_dir, const char *user, const char *binding,
			const char *service)
{
	char name[SU_USER_MAX + SU_GRACE_BINDING_MAX + sizeof(SERVICE_TAG) + SU_SERVICE_MAX + 2];

	if (!su_valid_username(user) || !binding_chars_ok(binding) ||
	    (service[0] != '\0' && !su_valid_service_name(service)))
		return NULL;
	snprintf(name, sizeof(name), "%s:%s" SERVICE_TAG "%s", user, binding, service);
	return su_path_join(grace_dir, name);
}

/* The service in a record name, or NULL in an old one (USER:BINDING). */
const char *grace_name_service(const char *name)
{
	const char *found = NULL;

	for (const char *p = name; (p = strstr(p, SERVICE_TAG)) != NULL; p++)
		found = p + strlen(SERVICE_TAG);
	return found;
}

/* The service a record names and is named by: PAM_SERVICE in lower case
 * (libpam lowercases it already; a host program that set it otherwise
 * must not get two records). false: none a file name can carry (no grace
 * for such a service: said by the caller). */
static bool service_key(const char *service, char out[SU_SERVICE_MAX + 1])
{
	size_t i;

	if (service == NULL || !su_valid_service_name(service))
		return false;
	for (i = 0; service[i] != '\0'; i++)
		out[i] = service[i] >= 'A' && service[i] <= 'Z' ? (char)(service[i] - 'A' + 'a') :
								  service[i];
	out[i] = '\0';
	return true;
}

/* want with its service as records name it, into *w (service in buf). */
bool grace_want_normalised(const su_grace_want *want, su_grace_want *w,
			   char buf[SU_SERVICE_MAX + 1])
{
	if (!service_key(want->service, buf))
		return false;
	*w = *want;
	w->service = buf;
	return true;
}


static int record_mac(const unsigned char *key, const struct record *r,
		      char out[SU_HMAC_HEX])
{
	const char *parts[] = {"grace", r->user, r->uid, r->binding, r->rhost, r->boot_id,
			       r->method, r->issued, r->expires, r->service};

	return su_hmac_hex(key, parts, sizeof(parts) / sizeof(parts[0]), out);
}

void grace_record_from(const su_kv *kv, struct record *r)
{
	r->user = su_kv_get(kv, "user");
	r->uid = su_kv_get(kv, "uid");
	r->binding = su_kv_get(kv, "binding");
	r->service = su_kv_get(kv, "service");
	r->rhost = su_kv_get(kv, "rhost");
	r->boot_id = su_kv_get(kv, "boot_id");
	r->method = su_kv_get(kv, "method");
	r->issued = su_kv_get(kv, "issued");
	r->expires = su_kv_get(kv, "expires");
	r->hmac = su_kv_get(kv, "hmac");
}

bool grace_record_complete(const struct record *r)
{
	return r->user && r->uid && r->binding && r->service && r->rhost && r->boot_id &&
	       r->method && r->issued && r->expires && r->hmac;
}

/* NULL if the record was made by this host's module, else what is wrong. */
const char *grace_record_forged(const unsigned char *key, const struct record *r)
{
	char mac[SU_HMAC_HEX];
	bool same;

	if (!grace_record_complete(r))
		return "a field is missing";
	if (strlen(r->hmac) != SU_HMAC_HEX - 1 || record_mac(key, r, mac) != 0)
		return "bad hmac";
	same = su_equal(mac, r->hmac, SU_HMAC_HEX - 1);
	su_erase(mac, sizeof(mac));
	return same ? NULL : "bad hmac";
}

int grace_record_text(const su_grace_want *want, unsigned method,
		      const unsigned char *key, su_kv *kv)
{
	char uid[24], issued[24], expires[24], mac[SU_HMAC_HEX], names[64];
	struct record r = {want->user, uid, want->here->binding, want->service, want->rhost,
			   want->here->boot_id, su_methods_str(method, names, sizeof(names)),
			   issued, expires, mac};

	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)want->uid);
	snprintf(issued, sizeof(issued), "%lld", (long long)want->now);
	snprintf(expires, sizeof(expires), "%lld", (long long)want->now + want->grace);
	if (record_mac(key, &r, mac) != 0)
		return -1;
	return su_kv_set(kv, "user", r.user) || su_kv_set(kv, "uid", uid) ||
	       su_kv_set(kv, "binding", r.binding) || su_kv_set(kv, "service", r.service) ||
	       su_kv_set(kv, "rhost", r.rhost) ||
	       su_kv_set(kv, "boot_id", r.boot_id) ||
	       su_kv_set(kv, "method", r.method) || su_kv_set(kv, "issued", issued) ||
	       su_kv_set(kv, "expires", expires) || su_kv_set(kv, "hmac", mac) ? -1 : 0;
}


/* After "USER:": BINDING:service=SERVICE, or BINDING alone in a record
 * written before grace was per service (listed and revoked, never
 * honoured: it has no service). */
static bool after_user_ok(const char *rest)
{
	const char *service = grace_name_service(rest);
	char binding[SU_GRACE_BINDING_MAX];
	size_t blen;

	if (service == NULL)
		return binding_chars_ok(rest);
	blen = (size_t)(service - strlen(SERVICE_TAG) - rest);
	if (blen >= sizeof(binding))
		return false;
	memcpy(binding, rest, blen);
	binding[blen] = '\0';
	return binding_chars_ok(binding) && su_valid_service_name(service);
}

/* A record's name -> the user part, or NULL if name is not a record's
 * (dot files: the lock files and su_write_file's temporary names). */
static char *record_user(const char *name)
{
	const char *colon = strchr(name, ':');
	size_t ulen;
	char *user;

	if (name[0] == '.' || colon == NULL || !after_user_ok(colon + 1))
		return NULL;
	ulen = (size_t)(colon - name);
	user = malloc(ulen + 1);
	if (user == NULL)
		return NULL;
	memcpy(user, name, ulen);
	user[ulen] = '\0';
	if (!su_valid_username(user)) {
		free(user);
		return NULL;
	}
	return user;
}


/* Call fn for every record file of user (every user's when NULL) in
 * grace_dir; owner (the user part of the name) is fn's to free. Stops at
 * the first fn that returns -1 (SU_ERR) or 1 (done: SU_OK). */
int grace_each_record(const su_log *log, const char *grace_dir, const char *user,
		      record_fn fn, void *ctx)
{
	DIR *d;
	struct dirent *de;
	int rc = SU_OK;

	if (su_check_dir(log, grace_dir) != SU_OK)
		return SU_ERR;
	d = opendir(grace_dir);
	if (d == NULL)
		return su_fail(log, "cannot read %s: %s", grace_dir, strerror(errno));
	while (rc == SU_OK && (de = readdir(d)) != NULL) {
		char *owner = record_user(de->d_name);

		if (owner == NULL || (user != NULL && strcmp(owner, user) != 0)) {
			free(owner);
			continue;
		}
		switch (fn(de->d_name, owner, ctx)) {
		case 0: break;
		case 1: goto done;
		default: rc = SU_ERR;
		}
	}
done:
	closedir(d);
	return rc;
}
