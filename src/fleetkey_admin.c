/* stepupctl fleet-key: the fleet key file made, given a new current key,
 * and rid of an older one (fleetkey.h has the format).
 *
 * Only the admin command writes the file, never the module, so this is a
 * file of its own in the admin library. Every rewrite reads the file with
 * the module's own reader first, so a file this writes is one the module
 * takes, and it is replaced whole (su_write_file) under a lock beside it:
 * two administrators rotating at once must not lose a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fleetkey.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define KID_BYTES 4 /* a new id: 8 hex digits */
#define LINE_MAX_LEN (SU_FLEETKEY_KID_MAX + 1 + 2 * SU_FLEETKEY_BYTES + 1)
#define TEXT_MAX (SU_FLEETKEY_MAX * LINE_MAX_LEN + 1)
#define LOCK_TIMEOUT_MS 5000

static bool held(const su_fleetkey *fk, const char *kid)
{
	for (size_t i = 0; i < su_fleetkey_count(fk); i++)
		if (strcmp(su_fleetkey_kid(fk, i), kid) == 0)
			return true;
	return false;
}

/* A new key, and an id none of fk's keys has (fk may be NULL). */
static int new_key(const su_fleetkey *fk, char kid[SU_FLEETKEY_KID_MAX + 1],
		   unsigned char key[SU_FLEETKEY_BYTES])
{
	unsigned char r[KID_BYTES];

	/* Two ids of 32 random bits meet once in four billion: a few tries. */
	for (int tries = 0; tries < 8; tries++) {
		if (su_random(r, sizeof(r)) != 0)
			return -1;
		su_hex(r, sizeof(r), kid);
		if (!held(fk, kid))
			return su_random(key, SU_FLEETKEY_BYTES);
	}
	return -1;
}

/* "KID HEX\n" appended to text (TEXT_MAX bytes) at *used. */
static void put_line(char *text, size_t *used, const char *kid, const unsigned char *key)
{
	size_t n = strlen(kid);

	memcpy(text + *used, kid, n);
	text[*used + n] = ' ';
	su_hex(key, SU_FLEETKEY_BYTES, text + *used + n + 1);
	*used += n + 1 + 2 * SU_FLEETKEY_BYTES;
	text[(*used)++] = '\n';
}

/* fk's keys in their order, but the one with id skip (NULL: none). */
static void put_keys(char *text, size_t *used, const su_fleetkey *fk, const char *skip)
{
	for (size_t i = 0; i < su_fleetkey_count(fk); i++)
		if (skip == NULL || strcmp(su_fleetkey_kid(fk, i), skip) != 0)
			put_line(text, used, su_fleetkey_kid(fk, i), su_fleetkey_key(fk, i));
}

int su_fleetkey_create(const su_log *log, const char *path,
		       char kid[SU_FLEETKEY_KID_MAX + 1])
{
	unsigned char key[SU_FLEETKEY_BYTES];
	char text[LINE_MAX_LEN + 1];
	size_t used = 0;
	int rc;

	if (new_key(NULL, kid, key) != 0) {
		su_erase(key, sizeof(key));
		return su_fail(log, "cannot get random bytes for %s; try again", path);
	}
	put_line(text, &used, kid, key);
	/* Never replace: the fleet's secrets are sealed under the key there. */
	rc = su_create_file(log, path, text, used, 0600);
	su_erase(key, sizeof(key));
	su_erase(text, sizeof(text));
	return rc;
}

/* What a rewrite does with the keys read: the new text into text. */
typedef int (*change_fn)(const su_log *log, const su_fleetkey *fk, const char *path,
			 char *text, size_t *used, void *arg);

/* ".NAME.lock" beside path: a dot name no reader takes for the file. */
static char *lock_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	size_t size = strlen(path) + sizeof(".") + sizeof(".lock");
	char *lock = malloc(size);

	if (lock != NULL)
		snprintf(lock, size, "%.*s.%s.lock", (int)dir_len, path, path + dir_len);
	return lock;
}

/* Read path, change, replace it: all under the lock of its writers. */
static int rewrite(const su_log *log, const char *path, change_fn change, void *arg)
{
	char *lock = lock_path(path);
	su_fleetkey *fk = NULL;
	char text[TEXT_MAX];
	size_t used = 0;
	int fd = -1, rc = SU_ERR;

	if (lock == NULL)
		return su_fail(log, "%s: out of memory", path);
	if (su_lock(log, lock, LOCK_TIMEOUT_MS, &fd) != SU_OK)
		goto out;
	rc = su_fleetkey_load(log, path, &fk);
	if (rc == SU_OK)
		rc = change(log, fk, path, text, &used, arg);
	if (rc == SU_OK)
		rc = su_write_file(log, path, text, used, 0600);
out:
	su_unlock(fd);
	su_fleetkey_free(fk);
	su_erase(text, sizeof(text));
	free(lock);
	return rc;
}

static int add_current(const su_log *log, const su_fleetkey *fk, const char *path,
		       char *text, size_t *used, void *arg)
{
	unsigned char key[SU_FLEETKEY_BYTES];
	char *kid = arg;

	if (su_fleetkey_count(fk) >= SU_FLEETKEY_MAX)
		return su_fail(log, "%s holds %d keys, the most it may; retire an older one "
			       "first ('stepupctl fleet-key retire KID')", path, SU_FLEETKEY_MAX);
	if (new_key(fk, kid, key) != 0) {
		su_erase(key, sizeof(key));
		return su_fail(log, "cannot get random bytes for %s; try again", path);
	}
	put_line(text, used, kid, key);
	su_erase(key, sizeof(key));
	put_keys(text, used, fk, NULL);
	return SU_OK;
}

int su_fleetkey_rotate(const su_log *log, const char *path,
		       char kid[SU_FLEETKEY_KID_MAX + 1])
{
	return rewrite(log, path, add_current, kid);
}

static int drop_older(const su_log *log, const su_fleetkey *fk, const char *path,
		      char *text, size_t *used, void *arg)
{
	const char *kid = arg;

	if (strcmp(kid, su_fleetkey_current(fk)) == 0)
		return su_fail(log, "%s: key id '%s' is the current key, which seals new "
			       "secrets; run 'stepupctl fleet-key rotate' first", path, kid);
	if (!held(fk, kid)) {
		su_logf(log, LOG_ERR, "%s holds no key with the id '%s'", path, kid);
		return SU_NOTFOUND;
	}
	put_keys(text, used, fk, kid);
	return SU_OK;
}

int su_fleetkey_retire(const su_log *log, const char *path, const char *kid)
{
	return rewrite(log, path, drop_older, (void *)kid);
}
