/* The one way this project touches a file. Every read opens without following
 * symlinks and checks the open descriptor (regular, root-owned, mode, size)
 * and the directory chain above it; every write is temp file + fsync +
 * rename + fsync(dir). Refusals are logged with the path and the reason.
 * A user's own file that stepupctl reads once (SU_FILE_FOREIGN) gets the
 * same descriptor checks except the owner, made before it is opened for
 * reading; its directories are checked only when root owns it. */
#ifndef SU_SAFEFILE_H
#define SU_SAFEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "log.h"

/* SU_CONFLICT: a conditional write refused because another writer came
 * first (the directory store, store.h). */
enum su_result { SU_OK = 0, SU_NOTFOUND = 1, SU_EXISTS = 2, SU_CONFLICT = 3, SU_ERR = -1 };

enum su_file_kind {
	SU_FILE_PUBLIC, /* root-owned, not group/world writable (stepup.conf) */
	SU_FILE_SECRET, /* root-owned, no group/world bits at all */
	SU_FILE_FOREIGN, /* any owner, not group/world writable, never
			  * opened for reading unless regular: a user's file
			  * stepupctl reads once (~/.google_authenticator,
			  * a security key's id_*_sk.pub).
			  * In any directory, unless root owns it: then only
			  * through root's directories, none a symlink. The
			  * caller judges the owner from su_file_id.uid */
};

typedef struct su_buf {
	char *data; /* NUL-terminated; wiped on free */
	size_t len;
} su_buf;

void su_buf_free(su_buf *buf);

/* Check that dir and every directory above it is root-owned; dir itself not
 * writable by group or others, ancestors likewise unless sticky (/tmp). */
int su_check_dir(const su_log *log, const char *dir);

/* Read a whole file after the checks above. SU_NOTFOUND (not logged) when it
 * does not exist; SU_ERR (logged: path and reason) for any refusal. */
int su_read_file(const su_log *log, const char *path, enum su_file_kind kind,
		 size_t max_size, su_buf *out);

/* The checks of su_read_file without the read: for a file another library
 * opens by its path (libldap's TLS files). SU_NOTFOUND (not logged) when
 * it does not exist; SU_ERR (logged) for any refusal. (SU_FILE_FOREIGN is
 * not for this: its owner is judged by the caller after a read.) */
int su_check_file(const su_log *log, const char *path, enum su_file_kind kind,
		  size_t max_size);

/* Who owns what su_read_file_id read, and its permission bits: for a
 * caller that judges them itself (SU_FILE_FOREIGN). Taken after the read. */
typedef struct su_file_id {
	uid_t uid;
	mode_t mode;
} su_file_id;

/* su_read_file, also giving the owner and mode of what was read. */
int su_read_file_id(const su_log *log, const char *path, enum su_file_kind kind,
		    size_t max_size, su_buf *out, su_file_id *id);

/* Open a secret file for rewriting in place (the state file: see
 * statefile.c), after the checks of a read: a root-owned regular file
 * with no group or other bits, not larger than max_size, in a safe
 * directory. SU_NOTFOUND (not logged) when it does not exist. */
int su_open_update(const su_log *log, const char *path, size_t max_size, int *fd_out,
		   struct stat *st);

/* Read exactly len bytes at offset 0 of an open file (its size as fstat
 * saw it). */
int su_read_at_start(const su_log *log, const char *path, int fd, void *buf, size_t len);

/* Write len bytes at offset in place, then fdatasync: one write, one
 * flush. The caller holds the lock of path and su_guard_hold. */
int su_write_at(const su_log *log, const char *path, int fd, const void *data,
		size_t len, off_t offset);

/* Replace path atomically with data, mode as given, owned by root. The
 * caller holds the lock that serialises writers of path. */
int su_write_file(const su_log *log, const char *path, const void *data,
		  size_t len, mode_t mode);

/* Create path with data; never replaces: SU_EXISTS if path exists. */
int su_create_file(const su_log *log, const char *path, const void *data,
		   size_t len, mode_t mode);

/* Remove a file (SU_NOTFOUND if absent) and fsync its directory. */
int su_remove_file(const su_log *log, const char *path);

/* Create dir (and missing parents, 0755) with the given mode if absent;
 * an existing dir must pass su_check_dir. */
int su_make_dir(const su_log *log, const char *dir, mode_t mode);

/* Exclusive advisory lock on a root-owned 0600 lock file, created if needed.
 * Waits at most timeout_ms; the lock dies with the process. */
int su_lock(const su_log *log, const char *lock_path, unsigned timeout_ms,
	    int *fd_out);
void su_unlock(int fd);

#endif
