/* stepupctl grace list: every record in grace_dir, each with what it says
 * and whether it would hold.
 *
 * Only the admin command needs this, never the PAM module, so it is a file
 * of its own that nothing on the module's path calls. Unlike a check, a
 * listing reports a record it refuses rather than skipping it (with the
 * reason), so that an administrator sees what is there. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "grace.h"
#include "grace_internal.h"
#include "kv.h"
#include "safefile.h"
#include "util.h"

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const su_grace_entry *)a)->file, ((const su_grace_entry *)b)->file);
}

static void entry_load(const su_log *log, const char *grace_dir,
		       const unsigned char *key, time_t now, su_grace_entry *e)
{
	char *path = su_path_join(grace_dir, e->file);
	su_buf buf = {0};
	su_kv kv = {0};
	struct record r;
	uint64_t v;

	e->status = SU_GRACE_INVALID;
	e->why = "unreadable";
	if (path == NULL || su_read_file(log, path, SU_FILE_SECRET, RECORD_MAX, &buf) != SU_OK ||
	    su_kv_parse(log, path, buf.data, buf.len, &kv) != 0)
		goto out;
	grace_record_from(&kv, &r);
	e->why = grace_record_forged(key, &r);
	if (r.binding)
		e->binding = su_strdup(r.binding);
	if (r.method)
		e->method = su_strdup(r.method);
	if (r.service)
		e->service = su_strdup(r.service);
	if (r.uid && su_parse_u64(r.uid, 0, UINT32_MAX, &v))
		e->uid = (long long)v;
	if (r.issued && su_parse_u64(r.issued, 0, INT64_MAX, &v))
		e->issued = (long long)v;
	if (r.expires && su_parse_u64(r.expires, 0, INT64_MAX, &v))
		e->expires = (long long)v;
	if (e->why == NULL && r.user && strcmp(r.user, e->user) != 0)
		e->why = "the user in it is not the one in its name";
	/* Harmless for the check (the service inside counts), but not ours. */
	if (e->why == NULL && r.service &&
	    (grace_name_service(e->file) == NULL ||
	     strcmp(grace_name_service(e->file), r.service) != 0))
		e->why = "the service in it is not the one in its name";
	if (e->why == NULL)
		e->status = (long long)now < e->expires ? SU_GRACE_VALID : SU_GRACE_EXPIRED;
out:
	su_kv_free(&kv);
	su_buf_free(&buf);
	free(path);
}

struct listing {
	const su_log *log;
	const char *grace_dir;
	const unsigned char *key;
	time_t now;
	su_grace_entry *list;
	size_t n;
};

static int list_one(const char *file, char *owner, void *ctx)
{
	struct listing *l = ctx;
	su_grace_entry *grown = realloc(l->list, (l->n + 1) * sizeof(*l->list));

	if (grown == NULL) {
		free(owner);
		return -1;
	}
	l->list = grown;
	l->list[l->n] = (su_grace_entry){.file = su_strdup(file), .user = owner};
	if (l->list[l->n].file == NULL) {
		free(owner);
		return -1;
	}
	entry_load(l->log, l->grace_dir, l->key, l->now, &l->list[l->n]);
	l->n++;
	return 0;
}

int su_grace_list(const su_log *log, const char *grace_dir,
		  const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		  time_t now, su_grace_entry **entries, size_t *count)
{
	struct listing l = {log, grace_dir, key, now, NULL, 0};
	int rc = grace_each_record(log, grace_dir, user, list_one, &l);

	if (rc == SU_ERR && l.n == 0) {
		free(l.list);
		*entries = NULL;
		*count = 0;
		return SU_ERR;
	}
	/* What was read before a failure is still listed. */
	if (l.n > 1)
		qsort(l.list, l.n, sizeof(*l.list), cmp_entry);
	*entries = l.list;
	*count = l.n;
	return SU_OK;
}

void su_grace_list_free(su_grace_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(entries[i].file);
		free(entries[i].user);
		free(entries[i].binding);
		free(entries[i].method);
		free(entries[i].service);
	}
	free(entries);
}
