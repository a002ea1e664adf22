/* What the grace files share and nothing else may use: a record's fields
 * and the functions over its name, text and HMAC (grace_record.c), which
 * the check (grace.c), the writer (grace_write.c) and the listing
 * (grace_list.c) all go through. grace.h is the interface the rest of the
 * project sees; this is the seam between those files, so that the format
 * of a record is defined once. */
#ifndef SU_GRACE_INTERNAL_H
#define SU_GRACE_INTERNAL_H

#include <stdbool.h>
#include "config.h"
#include "grace.h"
#include "kv.h"
#include "log.h"

#define RECORD_MAX 2048
#define SERVICE_TAG ":service="

/* A record's fields as text, pointing into the su_kv they came from; NULL
 * for a field the file does not have. */
struct record {
	const char *user, *uid, *binding, *service, *rhost, *boot_id, *method, *issued,
		*expires, *hmac;
};

/* grace_dir/USER:BINDING:service=SERVICE (service "": the start of every
 * record name of that user and binding); NULL for a name that cannot be. */
char *grace_record_path(const char *grace_dir, const char *user, const char *binding,
			const char *service);
/* The service in a record name, or NULL in an old one (USER:BINDING). */
const char *grace_name_service(const char *name);
/* want with its service as records name it, into *w (service in buf). */
bool grace_want_normalised(const su_grace_want *want, su_grace_want *w,
			   char buf[SU_SERVICE_MAX + 1]);

void grace_record_from(const su_kv *kv, struct record *r);
bool grace_record_complete(const struct record *r);
/* NULL if the record was made by this host's module, else what is wrong. */
const char *grace_record_forged(const unsigned char *key, const struct record *r);
/* The record want earns by method, HMAC included, into kv. 0 or -1. */
int grace_record_text(const su_grace_want *want, unsigned method,
		      const unsigned char *key, su_kv *kv);

/* Called by grace_each_record for a record file; owner is fn's to free.
 * 0: go on, 1: done, -1: failed. */
typedef int (*record_fn)(const char *file, char *owner, void *ctx);
int grace_each_record(const su_log *log, const char *grace_dir, const char *user,
		      record_fn fn, void *ctx);

#endif
