/* The files backend of the store: user records under user_dir (secrets,
 * written by stepupctl) and state under state_dir (written at every
 * attempt), one file per user, named after the validated user name.
 * Dot names in those directories are ours: "state_dir/.USER.lock" is the
 * user's lock, held around every write of their record or state;
 * ".USER.tmp" are the temporary files of those atomic writes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guard.h"
#include "secret.h"
#include "statefile.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

#define STATE_LOCK_TIMEOUT_MS 5000

struct files_store {
	su_log log;
	char *user_dir;
	char *state_dir;
};

struct files_txn {
	struct files_store *store;
	char *user;
	char *path;
	int lock_fd;
	bool guarded;
	su_statefile *file;
	su_kv state;
};

int su_files_open(const su_log *log, const su_settings *settings, struct files_store **out)
{
	struct files_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return su_fail(log, "out of memory");
	s->log = *log;
	s->user_dir = su_strdup(settings->user_dir);
	s->state_dir = su_strdup(settings->state_dir);
	if (s->user_dir == NULL || s->state_dir == NULL) {
		su_files_close(s);
		return su_fail(log, "out of memory");
	}
	*out = s;
	return SU_OK;
}

void su_files_close(struct files_store *store)
{
	if (store == NULL)
		return;
	free(store->user_dir);
	free(store->state_dir);
	free(store);
}

/* dir/user after checking that user is safe as a file name. */
static char *user_path(struct files_store *store, const char *dir, const char *user)
{
	char *path;

	if (!su_valid_username(user)) {
		su_logf(&store->log, LOG_ERR, "refusing user name '%.*s...': not a valid user name",
			16, user);
		return NULL;
	}
	path = su_path_join(dir, user);
	if (path == NULL)
		su_logf(&store->log, LOG_ERR, "%s: path too long", dir);
	return path;
}

char *su_files_name(struct files_store *store, const char *user, enum su_store_part part)
{
	return user_path(store, part == SU_STORE_STATE ? store->state_dir :
			 store->user_dir, user);
}

static int read_kv(struct files_store *store, const char *path, size_t max, su_kv *out)
{
	su_buf buf;
	int rc = su_read_file(&store->log, path, SU_FILE_SECRET, max, &buf);

	if (rc != SU_OK)
		return rc;
	rc = su_kv_parse(&store->log, path, buf.data, buf.len, out) == 0 ? SU_OK : SU_ERR;
	su_buf_free(&buf);
	return rc;
}

static int write_kv(struct files_store *store, const char *path, const su_kv *kv)
{
	size_t len = 0;
	char *text = su_kv_format(kv, &len);
	int rc;

	if (text == NULL)
		return su_fail(&store->log, "%s: out of memory", path);
	rc = su_write_file(&store->log, path, text, len, 0600);
	su_free_secret(text, len);
	return rc;
}

int su_files_load_user(struct files_store *store, const char *user, su_kv *record)
{
	char *path = su_files_name(store, user, SU_STORE_RECORD);
	int rc;

	*record = (su_kv){0};
	if (path == NULL)
		return SU_ERR;
	rc = read_kv(store, path, SU_RECORD_MAX_SIZE, record);
	free(path);
	return rc;
}

static char *lock_path(struct files_store *store, const char *user)
{
	char name[SU_USER_MAX + 8];

	snprintf(name, sizeof(name), ".%s.lock", user);
	return su_path_join(store->state_dir, name);
}

/* Take user's lock: every writer of their record or state holds it. */
static int lock_user(struct files_store *store, const char *user, int *fd)
{
	char *lock = lock_path(store, user);
	int rc;

	*fd = -1;
	if (lock == NULL)
		return su_fail(&store->log, "%s: path too long", store->state_dir);
	rc = su_lock(&store->log, lock, STATE_LOCK_TIMEOUT_MS, fd);
	free(lock);
	return rc;
}

int su_files_save_user(struct files_store *store, const char *user, const su_kv *record)
{
	char *path = user_path(store, store->user_dir, user);
	int fd = -1, rc = SU_ERR;

	if (path != NULL && lock_user(store, user, &fd) == SU_OK)
		rc = write_kv(store, path, record);
	su_unlock(fd);
	free(path);
	return rc;
}

int su_files_remove_user(struct files_store *store, const char *user)
{
	char *record = user_path(store, store->user_dir, user);
	char *state = user_path(store, store->state_dir, user);
	int fd = -1, rc = SU_ERR, rc_state;

	if (record == NULL || state == NULL || lock_user(store, user, &fd) != SU_OK)
		goto out;
	rc = su_remove_file(&store->log, record);
	rc_state = su_remove_file(&store->log, state);
	if (rc_state == SU_ERR)
		rc = SU_ERR;
out:
	su_unlock(fd);
	free(record);
	free(state);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_name(char ***names, size_t *count, size_t *cap, const char *name)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **n = realloc(*names, ncap * sizeof(*n));
		if (n == NULL)
			return -1;
		*names = n;
		*cap = ncap;
	}
	(*names)[*count] = strdup(name);
	if ((*names)[*count] == NULL)
		return -1;
	(*count)++;
	return 0;
}

int su_files_list_users(struct files_store *store, char ***names_out, size_t *count_out)
{
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = su_check_dir(&store->log, store->user_dir);

	*names_out = NULL;
	*count_out = 0;
	if (rc == SU_NOTFOUND)
		return SU_OK; /* nobody enrolled yet */
	if (rc != SU_OK)
		return SU_ERR;
	d = opendir(store->user_dir);
	if (d == NULL)
		return su_fail(&store->log, "%s: cannot list: %m", store->user_dir);
	while ((de = readdir(d)) != NULL) {
		/* Dot names are temporary files and locks; skip foreign names. */
		if (de->d_name[0] == '.' || !su_valid_username(de->d_name))
			continue;
		if (add_name(&names, &count, &cap, de->d_name) != 0) {
			closedir(d);
			su_store_free_list(names, count);
			return su_fail(&store->log, "out of memory");
		}
	}
	closedir(d);
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_out = names;
	*count_out = count;
	return SU_OK;
}


void su_files_state_end(struct files_txn *txn)
{
	if (txn == NULL)
		return;
	su_statefile_close(txn->file);
	su_unlock(txn->lock_fd);
	/* Last: a signal held meanwhile arrives once the lock is dropped. */
	if (txn->guarded)
		su_guard_release();
	su_kv_free(&txn->state);
	free(txn->user);
	free(txn->path);
	free(txn);
}

/* statefile.c rules 1 and 2: the limits lifted and the signals held before
 * the lock is taken, so that nothing stops or cuts short a holder. */
int su_files_state_begin(struct files_store *store, const char *user, struct files_txn **txn_out,
		   su_kv **state)
{
	struct files_txn *txn = calloc(1, sizeof(*txn));
	int rc = SU_ERR;

	*txn_out = NULL;
	*state = NULL;
	if (txn == NULL)
		return su_fail(&store->log, "out of memory");
	txn->store = store;
	txn->lock_fd = -1;
	txn->path = user_path(store, store->state_dir, user);
	txn->user = su_strdup(user);
	if (txn->path == NULL || txn->user == NULL)
		goto out;
	if (su_guard_hold(&store->log) != 0)
		goto out;
	txn->guarded = true;
	if (lock_user(store, user, &txn->lock_fd) != SU_OK ||
	    su_statefile_open(&store->log, txn->path, &txn->file, &txn->state) != SU_OK)
		goto out;
	rc = SU_OK;
	*txn_out = txn;
	*state = &txn->state;
	txn = NULL;
out:
	su_files_state_end(txn);
	return rc;
}

const char *su_files_state_name(const struct files_txn *txn)
{
	return txn->path;
}

int su_files_state_save_record(struct files_txn *txn, const su_kv *record)
{
	char *path = user_path(txn->store, txn->store->user_dir, txn->user);
	int rc = path == NULL ? SU_ERR : write_kv(txn->store, path, record);

	free(path);
	return rc;
}

int su_files_state_arm(struct files_txn *txn)
{
	if (su_statefile_prepare(txn->file, &txn->state) != SU_OK)
		return SU_ERR;
	su_statefile_keep_fallback(txn->file);
	return SU_OK;
}

int su_files_state_commit(struct files_txn *txn)
{
	if (su_statefile_prepare(txn->file, &txn->state) != SU_OK)
		return SU_ERR;
	return su_statefile_write(txn->file, 0);
}

int su_files_state_commit_armed(struct files_txn *txn)
{
	return su_statefile_write(txn->file, 1);
}

int su_files_state_peek(struct files_store *store, const char *user, su_kv *state)
{
	char *path = su_files_name(store, user, SU_STORE_STATE);
	su_buf buf;
	int rc;

	*state = (su_kv){0};
	if (path == NULL)
		return SU_ERR;
	rc = su_read_file(&store->log, path, SU_FILE_SECRET, SU_STATE_FILE_SIZE, &buf);
	if (rc == SU_OK) {
		rc = su_statefile_parse(&store->log, path, buf.data, buf.len, state);
		su_buf_free(&buf);
	}
	free(path);
	return rc;
}

/* A copy of state as the transaction's state, to be committed. */
static int take_state(struct files_txn *txn, const su_kv *state)
{
	su_kv_free(&txn->state);
	for (size_t i = 0; i < state->count; i++)
		if (su_kv_set(&txn->state, state->items[i].key, state->items[i].value) != 0)
			return su_fail(&txn->store->log, "out of memory");
	return SU_OK;
}

/* Under the user's lock, so that no enrolment or login comes between the
 * check that the user is new and the writes. The state first: a replay
 * barrier alone lets nothing in, a record without it would let a code
 * already used elsewhere work once more. An empty state is not written
 * (the transaction leaves what it leaves for any user). */
int su_files_add_user(struct files_store *store, const char *user, const su_kv *record,
		      const su_kv *state)
{
	struct files_txn *txn = NULL;
	su_kv *current, existing = {0};
	int rc = su_files_state_begin(store, user, &txn, &current);

	if (rc != SU_OK)
		return rc;
	rc = su_files_load_user(store, user, &existing);
	su_kv_free(&existing);
	if (rc == SU_OK || (rc == SU_NOTFOUND && current->count > 0))
		rc = SU_EXISTS;
	else if (rc == SU_NOTFOUND && state->count > 0)
		rc = take_state(txn, state) == SU_OK ? su_files_state_commit(txn) : SU_ERR;
	else if (rc == SU_NOTFOUND)
		rc = SU_OK;
	if (rc == SU_OK)
		rc = su_files_state_save_record(txn, record);
	su_files_state_end(txn);
	return rc;
}
