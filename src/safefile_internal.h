/* What the four files of the safe-file helper share (safefile.c: checks
 * and reads; safefile_write.c: whole-file writes; safefile_foreign.c: a
 * user's file; filelock.c: the writers' lock). No other file includes
 * this: the rest of the project goes through safefile.h. */
#ifndef SU_SAFEFILE_INTERNAL_H
#define SU_SAFEFILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include "log.h"
#include "safefile.h"

/* Rule 6: log "refusing PATH: REASON" (with strerror(errno) after what)
 * and return SU_ERR. */
int su_refuse(const su_log *log, const char *path, const char *reason);
int su_refuse_errno(const su_log *log, const char *path, const char *what);

/* dirname() of a copy; the caller frees; NULL on no memory. */
char *su_dir_of(const char *path);

/* Rule 4 on one directory's lstat: NULL if it passes, else why (in buf or
 * a constant). holding: the directory holding the file (no sticky pass). */
const char *su_dir_problem(const struct stat *st, bool holding, char *buf, size_t size);

/* Absolute, with no empty, "." or ".." component. */
bool su_plain_path(const char *p);

/* "/a/b/c" -> "/a/b" -> "/a" -> "/" -> false (no parent). */
bool su_cut_to_parent(char *dir);

/* su_check_dir, with a missing directory refused (and logged) as the
 * sign of a host never set up: what every write and lock needs. */
int su_require_dir(const su_log *log, const char *dir);

/* Rule 1: open path, a symlink refused. SU_NOTFOUND (not logged) if absent. */
int su_open_nofollow(const su_log *log, const char *path, int how, int *fd_out);

/* Rules 2, 3 and 7 on an open descriptor; *st is its fstat. */
int su_check_open_file(const su_log *log, const char *path, int fd,
		       enum su_file_kind kind, size_t max_size, struct stat *st);

/* Rule 7: a foreign file opened for reading (safefile_foreign.c). */
int su_open_foreign(const su_log *log, const char *path, size_t max_size,
		    int *fd_out, struct stat *st);

#endif
