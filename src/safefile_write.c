/* Rule 5 of safefile.c: every write replaces the whole file (temporary
 * file, fsync, rename, fsync of the directory) or creates it once; the
 * caller's file size limit and signals cannot cut one short (guard.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guard.h"
#include "safefile.h"
#include "safefile_internal.h"
#include "util.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* ".NAME.tmp" beside NAME: a dot name no reader opens. One fixed name, not
 * a random one, so that a writer killed half-way leaves at most one stale
 * file, which the next writer (holding the same lock) removes. */
static char *temp_name_for(const char *dir, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char name[NAME_MAX + 1];

	if (snprintf(name, sizeof(name), ".%s.tmp", base) >= (int)sizeof(name))
		return NULL;
	return su_path_join(dir, name);
}

/* Owner, mode, data, fsync, close: the body of every write. */
static int fill_file(const su_log *log, const char *path, int fd,
		     const void *data, size_t len, mode_t mode)
{
	int rc = SU_OK;

	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0 ||
	    write_all(fd, data, len) != 0 || fsync(fd) != 0)
		rc = su_refuse_errno(log, path, "cannot write");
	if (close(fd) != 0 && rc == SU_OK)
		rc = su_refuse_errno(log, path, "cannot write");
	return rc;
}

static int replace_file(const su_log *log, const char *path, const void *data,
			size_t len, mode_t mode)
{
	char *dir = su_dir_of(path), *tmp = NULL;
	int fd, rc = SU_ERR;

	if (dir == NULL || su_require_dir(log, dir) != SU_OK)
		goto out;
	tmp = temp_name_for(dir, path);
	if (tmp == NULL) {
		su_refuse(log, path, "name too long");
		goto out;
	}
	/* A leftover from a writer that died is stale: we hold the lock. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		su_refuse_errno(log, tmp, "cannot remove stale temporary file");
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		su_refuse_errno(log, tmp, "cannot create temporary file");
		goto out;
	}
	if (fill_file(log, tmp, fd, data, len, mode) != SU_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		su_refuse_errno(log, path, "cannot replace");
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (fsync_dir(dir) != 0) {
		su_refuse_errno(log, dir, "cannot sync directory");
		goto out;
	}
	rc = SU_OK;
out:
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

/* What the caller of a setuid program set (a file size limit, signals)
 * does not cut a write of ours short: see guard.h. */
typedef int (*file_writer)(const su_log *, const char *, const void *, size_t, mode_t);

static int guarded(file_writer write_fn, const su_log *log, const char *path,
		   const void *data, size_t len, mode_t mode)
{
	int rc;

	if (su_guard_hold(log) != 0)
		return SU_ERR;
	rc = write_fn(log, path, data, len, mode);
	su_guard_release();
	return rc;
}

int su_write_file(const su_log *log, const char *path, const void *data,
		  size_t len, mode_t mode)
{
	return guarded(replace_file, log, path, data, len, mode);
}

static int create_file(const su_log *log, const char *path, const void *data,
		       size_t len, mode_t mode)
{
	char *dir = su_dir_of(path);
	int fd, rc = SU_ERR;

	if (dir == NULL || su_require_dir(log, dir) != SU_OK)
		goto out;
	/* O_EXCL: never replace, never follow a link. A crash mid-write
	 * leaves a short file, which readers refuse by its size. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? SU_EXISTS : su_refuse_errno(log, path, "cannot create");
		goto out;
	}
	if (fill_file(log, path, fd, data, len, mode) != SU_OK) {
		unlink(path);
		goto out;
	}
	rc = fsync_dir(dir) == 0 ? SU_OK : su_refuse_errno(log, dir, "cannot sync directory");
out:
	free(dir);
	return rc;
}

int su_create_file(const su_log *log, const char *path, const void *data,
		   size_t len, mode_t mode)
{
	return guarded(create_file, log, path, data, len, mode);
}

int su_remove_file(const su_log *log, const char *path)
{
	char *dir = su_dir_of(path);
	int rc = SU_ERR;

	if (dir == NULL || su_require_dir(log, dir) != SU_OK)
		goto out;
	if (unlink(path) != 0) {
		rc = errno == ENOENT ? SU_NOTFOUND : su_refuse_errno(log, path, "cannot remove");
		goto out;
	}
	rc = fsync_dir(dir) == 0 ? SU_OK : su_refuse_errno(log, dir, "cannot sync directory");
out:
	free(dir);
	return rc;
}

/* mkdir, then set owner and mode through a descriptor of the new
 * directory itself, never by name: no symlink swapped in can redirect it. */
static int create_one_dir(const su_log *log, const char *dir, mode_t mode)
{
	int fd;

	if (mkdir(dir, mode) != 0 && errno != EEXIST)
		return su_refuse_errno(log, dir, "cannot create directory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return su_refuse_errno(log, dir, "cannot open new directory");
	/* mkdir obeys the umask and the caller's gid; set both exactly. */
	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0) {
		close(fd);
		return su_refuse_errno(log, dir, "cannot set owner and mode");
	}
	close(fd);
	return SU_OK;
}

int su_make_dir(const su_log *log, const char *dir, mode_t mode)
{
	char *parent;
	int rc = su_check_dir(log, dir);

	if (rc != SU_NOTFOUND)
		return rc;
	/* Missing: its parent must be safe, or made safe, before anything is
	 * created in it. */
	parent = su_dir_of(dir);
	if (parent == NULL)
		return su_refuse(log, dir, "out of memory");
	rc = strcmp(parent, dir) == 0 ? SU_ERR : su_make_dir(log, parent, 0755);
	free(parent);
	if (rc == SU_OK)
		rc = create_one_dir(log, dir, mode);
	if (rc == SU_OK)
		rc = su_check_dir(log, dir);
	return rc;
}
