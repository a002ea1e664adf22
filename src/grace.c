/* Grace records: see grace.h for the file, its fields and the binding.
 *
 * Every field a record carries is covered by its HMAC, and every field is
 * also compared with what is true now: the HMAC proves the record was made
 * by this host's module, the comparisons prove it was made for this user,
 * this session and this boot. The current rule's grace caps the lifetime
 * (a record written under a longer grace is not stretched by it), and the
 * current rule's methods decide whether the method that earned it counts,
 * its grace_from whether the service that earned it does.
 *
 * This file decides whether a record holds, reading and verifying it on
 * every call (nothing is kept between calls: docs/decisions.md, "Nothing
 * cached between calls"); the
 * record's format is grace_record.c's, where the session is grace_here.c's,
 * writing and revoking grace_write.c's, the admin's listing grace_list.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "grace.h"
#include "grace_internal.h"
#include "kv.h"
#include "safefile.h"
#include "util.h"

#define CLOCK_SLACK 60       /* issued this far ahead: a clock set back */

static unsigned method_bit(const char *name)
{
	unsigned bit = 0;

	return su_parse_methods(name, &bit) && (bit & (bit - 1)) == 0 ? bit : 0;
}

/* ---- check ------------------------------------------------------------------ */

/* Earned in this service, or in one the rule's grace_from names. */
static bool service_counts(const struct record *r, const su_grace_want *want)
{
	return strcmp(r->service, want->service) == 0 || su_service_listed(want->from, r->service);
}

/* NULL if r holds for want now; else why not. *expired: remove it. */
static const char *record_refused(const struct record *r, const su_grace_want *want,
				  unsigned *method, bool *expired)
{
	uint64_t uid, issued, expires, own_expires;

	*expired = false;
	if (!su_parse_u64(r->uid, 0, UINT32_MAX, &uid) ||
	    !su_parse_u64(r->issued, 0, INT64_MAX, &issued) ||
	    !su_parse_u64(r->expires, 0, INT64_MAX, &expires))
		return "a number is malformed";
	if (strcmp(r->user, want->user) != 0 || uid != (uint64_t)want->uid)
		return "another user's record";
	if (strcmp(r->binding, want->here->binding) != 0)
		return "another session's record";
	/* One root daemon serving many remote clients is one session: the
	 * client's host keeps alice's grace from a connection not hers. */
	if (strcmp(r->rhost, want->rhost) != 0)
		return "earned from another remote host";
	if (strcmp(r->boot_id, want->here->boot_id) != 0)
		return "a record from another boot";
	if (!service_counts(r, want))
		return "earned in another service (not in this rule's grace_from)";
	*method = method_bit(r->method);
	if (*method == 0 || !(*method & want->methods))
		return "earned by a method this rule does not accept";
	if (want->now < 0 || issued > (uint64_t)want->now + CLOCK_SLACK)
		return "issued in the future";
	/* The current rule caps the lifetime: a record written under a
	 * longer grace, or a grace since shortened, stretches nothing. */
	own_expires = expires;
	if (expires > issued + want->grace)
		expires = issued + want->grace;
	if ((uint64_t)want->now >= expires) {
		/* Removed only when over for its own service too: a shorter
		 * grace here must not end the longer one of the service that
		 * earned it. */
		*expired = (uint64_t)want->now >= own_expires ||
			   strcmp(r->service, want->service) == 0;
		return "expired";
	}
	return NULL;
}

/* One record file: SU_OK if it is genuine and holds for want. */
static int check_file(const su_log *log, const char *path,
		      const unsigned char key[SU_HOSTKEY_BYTES],
		      const su_grace_want *want, unsigned *method)
{
	const char *why = NULL;
	su_kv kv = {0};
	su_buf buf = {0};
	struct record r;
	bool expired = false;
	int rc;

	*method = 0;
	rc = su_read_file(log, path, SU_FILE_SECRET, RECORD_MAX, &buf);
	if (rc == SU_OK && su_kv_parse(log, path, buf.data, buf.len, &kv) != 0)
		rc = SU_ERR;
	if (rc == SU_OK) {
		grace_record_from(&kv, &r);
		why = grace_record_forged(key, &r);
		if (why == NULL)
			why = record_refused(&r, want, method, &expired);
		if (why != NULL) {
			su_debug(log, "grace: %s: not honoured: %s", path, why);
			if (expired)
				su_remove_file(log, path);
			*method = 0;
			rc = SU_NOTFOUND;
		} else {
			su_debug(log, "grace: %s: honoured", path);
		}
	}
	su_kv_free(&kv);
	su_buf_free(&buf);
	return rc;
}

/* The record service earned for want's user and session. */
static int check_service(const su_log *log, const char *grace_dir,
			 const unsigned char key[SU_HOSTKEY_BYTES],
			 const su_grace_want *want, const char *service, unsigned *method)
{
	char *path = grace_record_path(grace_dir, want->user, want->here->binding, service);
	int rc = path != NULL ? check_file(log, path, key, want, method) : SU_ERR;

	free(path);
	return rc;
}

/* SU_OK if either is; else SU_ERR if either is (a refused file is logged);
 * else SU_NOTFOUND. */
static int either(int a, int b)
{
	return a == SU_OK || b == SU_OK ? SU_OK : a == SU_ERR || b == SU_ERR ? SU_ERR : SU_NOTFOUND;
}

/* The records of the services grace_from names ("a,b", valid lower-case
 * names: config.c made it so), this service's own left out (tried first). */
static int check_listed(const su_log *log, const char *grace_dir,
			const unsigned char key[SU_HOSTKEY_BYTES],
			const su_grace_want *want, unsigned *method)
{
	char name[SU_SERVICE_MAX + 1];
	const char *p = want->from;
	int rc = SU_NOTFOUND;

	while (*p != '\0' && rc != SU_OK) {
		size_t len = strcspn(p, ",");

		if (len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			if (strcmp(name, want->service) != 0)
				rc = either(rc, check_service(log, grace_dir, key, want,
							      name, method));
		}
		p += len + (p[len] == ',');
	}
	return rc;
}

struct any_service {
	const su_log *log;
	const char *grace_dir;
	const unsigned char *key;
	const su_grace_want *want;
	const char *prefix; /* USER:BINDING:service= */
	unsigned *method;
	int rc;
};

static int check_one_of_any(const char *file, char *owner, void *ctx)
{
	struct any_service *a = ctx;
	size_t len = strlen(a->prefix);
	char *path;

	free(owner);
	if (strncmp(file, a->prefix, len) != 0 || strcmp(file + len, a->want->service) == 0)
		return 0; /* another session's, an old one, or our own: tried first */
	path = su_path_join(a->grace_dir, file);
	a->rc = either(a->rc, path != NULL ? check_file(a->log, path, a->key, a->want,
							 a->method) : SU_ERR);
	free(path);
	return a->rc == SU_OK ? 1 : 0;
}

/* grace_from = *: every record of this user and session, whatever its
 * service. The one case that reads grace_dir itself. */
static int check_any(const su_log *log, const char *grace_dir,
		     const unsigned char key[SU_HOSTKEY_BYTES],
		     const su_grace_want *want, unsigned *method)
{
	char prefix[SU_USER_MAX + SU_GRACE_BINDING_MAX + sizeof(SERVICE_TAG) + 2];
	struct any_service a = {log, grace_dir, key, want, prefix, method, SU_NOTFOUND};
	int n = snprintf(prefix, sizeof(prefix), "%s:%s" SERVICE_TAG, want->user,
			 want->here->binding);

	if (n < 0 || (size_t)n >= sizeof(prefix))
		return SU_ERR;
	/* each_record's SU_OK says the scan went through, not that one held */
	if (grace_each_record(log, grace_dir, want->user, check_one_of_any, &a) == SU_ERR &&
	    a.rc != SU_OK)
		return SU_ERR;
	return a.rc;
}

int su_grace_check(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES],
		   const su_grace_want *want, unsigned *method)
{
	char service[SU_SERVICE_MAX + 1];
	su_grace_want w;
	int rc;

	*method = 0;
	if (!grace_want_normalised(want, &w, service)) {
		su_debug(log, "grace: this service's name cannot name a record: no grace");
		return SU_NOTFOUND;
	}
	/* By default exactly one file is opened: this service's record. */
	rc = check_service(log, grace_dir, key, &w, w.service, method);
	if (rc == SU_OK || w.from == NULL)
		return rc;
	if (strcmp(w.from, "*") == 0)
		return either(rc, check_any(log, grace_dir, key, &w, method));
	return either(rc, check_listed(log, grace_dir, key, &w, method));
}
