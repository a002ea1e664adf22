/* The changes the module makes to grace_dir: a record written after a
 * step-up, and every record of a user removed (on lockout, or by
 * stepupctl grace revoke).
 *
 * A failed write costs the user a prompt later, never the step-up now, so
 * everything here says what went wrong and returns; and as record names
 * say who holds grace in which session, none is written where anyone but
 * root could list them. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "config.h"
#include "grace.h"
#include "grace_internal.h"
#include "kv.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define LOCK_TIMEOUT_MS 5000

/* Record names say who holds grace in which session (and so when to
 * strike at it): none is written where anyone but root can list them. The
 * read path does not check (it costs a syscall on every grace call, and
 * nothing is written into such a directory to be read). */
static int private_dir(const su_log *log, const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return -1; /* su_write_file says why */
	if (S_ISDIR(st.st_mode) && (st.st_mode & 077) != 0) {
		su_logf(log, LOG_ERR, "refusing %s: mode %04o; grace records are written only "
			"into a directory no one but root can read (chmod 0700 %s)", dir,
			(unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

/* Writers of one user's records are serialised (su_write_file's fixed
 * temporary name needs it) by a lock file per user in grace_dir. */
static char *lock_path(const char *grace_dir, const char *user)
{
	char name[SU_USER_MAX + 8];

	snprintf(name, sizeof(name), ".%s.lock", user);
	return su_path_join(grace_dir, name);
}

int su_grace_write(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES],
		   const su_grace_want *want_in, unsigned method)
{
	char service[SU_SERVICE_MAX + 1];
	su_grace_want w, *want = &w;
	char *path, *lock;
	su_kv kv = {0};
	char *text = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;

	if (!grace_want_normalised(want_in, &w, service)) {
		su_logf(log, LOG_INFO, "grace: this service's name cannot name a record (1 to %d "
			"of A-Z a-z 0-9 _ . -): no grace is kept for it", SU_SERVICE_MAX);
		return -1;
	}
	path = grace_record_path(grace_dir, want->user, want->here->binding, want->service);
	lock = lock_path(grace_dir, want->user);
	if (path == NULL || lock == NULL || private_dir(log, grace_dir) != 0 ||
	    grace_record_text(want, method, key, &kv) != 0 ||
	    (text = su_kv_format(&kv, &len)) == NULL)
		goto out;
	if (su_lock(log, lock, LOCK_TIMEOUT_MS, &fd) != SU_OK)
		goto out;
	rc = su_write_file(log, path, text, len, 0600) == SU_OK ? 0 : -1;
	su_unlock(fd);
out:
	if (rc != 0)
		su_logf(log, LOG_ERR, "grace: cannot write the record for %s", want->user);
	su_free_string(text);
	su_kv_free(&kv);
	free(lock);
	free(path);
	return rc;
}

struct revoking {
	const su_log *log;
	const char *grace_dir;
	unsigned removed;
	bool failed;
};

static int revoke_one(const char *file, char *owner, void *ctx)
{
	struct revoking *r = ctx;
	char *path = su_path_join(r->grace_dir, file);

	free(owner);
	if (path != NULL && su_remove_file(r->log, path) == SU_OK)
		r->removed++;
	else
		r->failed = true; /* and go on: remove what can be removed */
	free(path);
	return 0;
}

int su_grace_revoke(const su_log *log, const char *grace_dir, const char *user,
		    unsigned *removed)
{
	struct revoking r = {log, grace_dir, 0, false};
	int rc = grace_each_record(log, grace_dir, user, revoke_one, &r);

	*removed = r.removed;
	return rc == SU_OK && !r.failed ? SU_OK : SU_ERR;
}
