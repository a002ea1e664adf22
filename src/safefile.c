/* Safe file io: the checks, reads and in-place updates. The rules every
 * file the module reads or writes obeys are listed here, once, for the
 * four files that make the helper (safefile.h is its one interface):
 * this one (rules 1 to 4 and 6), safefile_write.c (rule 5),
 * safefile_foreign.c (rule 7) and filelock.c (the lock writers take).
 *
 *  1. A file is opened with O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK: a symlink in the
 *     last component is refused, a FIFO cannot hang us.
 *  2. The checks are made on the open descriptor (fstat), not the name:
 *     regular file, owned by root, size within the caller's cap.
 *  3. A public file (stepup.conf) is not writable by group or others; a
 *     secret or state file has no group or other bits at all.
 *  4. The directory holding it and every directory above it (canonical path)
 *     is owned by root; the holding directory is not writable by group or
 *     others; an ancestor may be only if it is sticky (/tmp), where others
 *     cannot rename or remove root's entries.
 *  5. A write goes to a temporary file ".NAME.tmp" in the same directory,
 *     is fsynced, renamed over the target and the directory is fsynced:
 *     readers see the old file or the new one, never a mix, even across a
 *     crash. Writers of one name are serialised by the caller's lock (the
 *     user's state lock), so the temporary name is fixed and a stale one
 *     left by a killed writer is removed by the next. Dot names are never
 *     read as records. A file that must never be replaced (the host key)
 *     is created with O_EXCL instead.
 *  6. Every refusal is logged as "refusing PATH: REASON" and fails closed.
 *     PATH is shown printable (su_escape_printable): a user may name a
 *     file stepupctl reads (rule 7), and no byte of a name may reach root's
 *     terminal or a log as a control.
 *  7. A foreign file (SU_FILE_FOREIGN: a user's ~/.google_authenticator
 *     or security-key public keys, read once by stepupctl import or
 *     enroll USER sshkey) obeys rules 1 and 2 except the owner,
 *     and is not writable by group or others. Its path runs through
 *     directories a user controls, so it is never opened for reading
 *     before it is known to be a regular file: it is opened with O_PATH
 *     (no open-time effect of a device or FIFO), checked on that
 *     descriptor, and only then opened for reading through
 *     /proc/self/fd, which reopens that very inode (see su_open_foreign).
 *     A file the user owns may sit in any directory (their home is
 *     theirs). A file root owns must be reached only through root's
 *     directories, rule 4 on the path as written, a symlink refused
 *     (root_chain_ok): else a user's directory symlink (or a hard link)
 *     would make root read root's own files for them. Any other owner is
 *     the caller's question (su_file_id.uid): the file is only read, never
 *     trusted as a root file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safefile.h"
#include "safefile_internal.h"
#include "secret.h"
#include "util.h"

int su_refuse(const su_log *log, const char *path, const char *reason)
{
	char shown[PATH_MAX];

	su_logf(log, LOG_ERR, "refusing %s: %s",
		su_escape(path, &su_escape_printable, sizeof(shown) - 1, shown), reason);
	return SU_ERR;
}

int su_refuse_errno(const su_log *log, const char *path, const char *what)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s: %s", what, strerror(errno));
	return su_refuse(log, path, reason);
}

void su_buf_free(su_buf *buf)
{
	if (buf == NULL)
		return;
	su_free_secret(buf->data, buf->len);
	buf->data = NULL;
	buf->len = 0;
}

/* dirname() without modifying the argument; caller frees. */
char *su_dir_of(const char *path)
{
	char *copy = strdup(path), *dir;

	if (copy == NULL)
		return NULL;
	dir = strdup(dirname(copy));
	free(copy);
	return dir;
}

/* FALLBACK: dir cannot be judged from its text (it is not there, or is a
 * symlink); the caller resolves the path and asks again. */
#define FALLBACK 99

/* Rule 4 on one directory's lstat: NULL if it passes, else why (in buf or
 * a constant). holding: the directory holding the file (no sticky pass). */
const char *su_dir_problem(const struct stat *st, bool holding, char *buf,
			       size_t size)
{
	if (!S_ISDIR(st->st_mode))
		return "not a directory";
	if (st->st_uid != 0) {
		snprintf(buf, size, "directory not owned by root (uid %u)",
			 (unsigned)st->st_uid);
		return buf;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    (holding || !(st->st_mode & S_ISVTX))) {
		snprintf(buf, size, "directory mode %04o lets group or others write in it",
			 (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

static int check_one_dir(const su_log *log, const char *dir, bool holding,
			 bool may_fall_back)
{
	struct stat st;
	char buf[128];
	const char *why;

	if (lstat(dir, &st) != 0)
		return may_fall_back ? FALLBACK : su_refuse_errno(log, dir, "cannot stat directory");
	if (S_ISLNK(st.st_mode) && may_fall_back)
		return FALLBACK;
	why = su_dir_problem(&st, holding, buf, sizeof(buf));
	return why == NULL ? SU_OK : su_refuse(log, dir, why);
}

/* "/a/b/c" -> "/a/b" -> "/a" -> "/" -> false (no parent). */
bool su_cut_to_parent(char *dir)
{
	char *slash = strrchr(dir, '/');

	if (slash == NULL || (slash == dir && dir[1] == '\0'))
		return false;
	slash[slash == dir ? 1 : 0] = '\0';
	return true;
}

/* Check dir, then each directory above it. */
static int check_chain(const su_log *log, const char *dir, bool may_fall_back)
{
	char *d = strdup(dir);
	bool holding = true;
	int rc;

	if (d == NULL)
		return su_refuse(log, dir, "out of memory");
	do {
		rc = check_one_dir(log, d, holding, may_fall_back);
		holding = false;
	} while (rc == SU_OK && su_cut_to_parent(d));
	free(d);
	return rc;
}

/* Absolute, with no empty, "." or ".." component: such a path is its own
 * canonical form unless one of its components is a symlink, which
 * check_chain notices. Checking it as written saves realpath's readlink
 * on every component (half the syscalls of these checks). */
bool su_plain_path(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p + 1; *c != '\0'; c = strchr(c, '/') + 1) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c[len] == '\0')
			break;
	}
	return true;
}

int su_check_dir(const su_log *log, const char *dir)
{
	char *path;
	int rc;

	if (su_plain_path(dir)) {
		rc = check_chain(log, dir, true);
		if (rc != FALLBACK)
			return rc;
	}
	path = realpath(dir, NULL);
	if (path == NULL) {
		if (errno == ENOENT)
			return SU_NOTFOUND;
		return su_refuse_errno(log, dir, "cannot resolve directory");
	}
	rc = check_chain(log, path, false);
	free(path);
	return rc;
}

int su_require_dir(const su_log *log, const char *dir)
{
	int rc = su_check_dir(log, dir);

	if (rc == SU_NOTFOUND)
		return su_refuse(log, dir, "directory does not exist (run 'stepupctl init')");
	return rc;
}

/* Rules 2, 3 and 7 on a stat of the file. */
static int check_stat(const su_log *log, const char *path, const struct stat *st,
		      enum su_file_kind kind, size_t max_size)
{
	mode_t forbidden = kind == SU_FILE_SECRET ? 077 : 022;
	char reason[128];

	if (S_ISLNK(st->st_mode))
		return su_refuse(log, path, "is a symbolic link");
	if (!S_ISREG(st->st_mode))
		return su_refuse(log, path, "not a regular file");
	if (st->st_uid != 0 && kind != SU_FILE_FOREIGN) {
		snprintf(reason, sizeof(reason), "not owned by root (uid %u)",
			 (unsigned)st->st_uid);
		return su_refuse(log, path, reason);
	}
	if (st->st_mode & forbidden) {
		snprintf(reason, sizeof(reason), "mode %04o gives %s to group or others",
			 (unsigned)(st->st_mode & 07777),
			 kind == SU_FILE_SECRET ? "access" : "write access");
		return su_refuse(log, path, reason);
	}
	if ((size_t)st->st_size > max_size) {
		snprintf(reason, sizeof(reason), "larger than %zu bytes", max_size);
		return su_refuse(log, path, reason);
	}
	return SU_OK;
}

int su_check_open_file(const su_log *log, const char *path, int fd,
		      enum su_file_kind kind, size_t max_size, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return su_refuse_errno(log, path, "cannot stat");
	return check_stat(log, path, st, kind, max_size);
}

static void file_id_of(const struct stat *st, su_file_id *id)
{
	*id = (su_file_id){.uid = st->st_uid, .mode = st->st_mode & 07777};
}

/* Rule 1. how: O_RDONLY | O_NONBLOCK | O_NOCTTY to read, O_PATH for
 * su_open_foreign (a symlink then opens as itself, and check_stat refuses it). */
int su_open_nofollow(const su_log *log, const char *path, int how, int *fd_out)
{
	int fd = open(path, how | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return SU_NOTFOUND;
		if (errno == ELOOP)
			return su_refuse(log, path, "is a symbolic link");
		return su_refuse_errno(log, path, "cannot open");
	}
	*fd_out = fd;
	return SU_OK;
}

/* Read to EOF, at most max bytes: the file may have grown since fstat.
 * When a read brings exactly the size fstat saw, that is the file (ours
 * are replaced by rename, never rewritten in place), and the read that
 * would only return 0 is saved; any other count reads on to EOF. */
static int read_all(const su_log *log, const char *path, int fd, size_t max,
		    size_t expected, su_buf *out)
{
	char *data = malloc(max + 1);
	size_t len = 0;

	if (data == NULL)
		return su_refuse(log, path, "out of memory");
	for (;;) {
		ssize_t n = read(fd, data + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			su_free_secret(data, max + 1);
			return su_refuse_errno(log, path, "read failed");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			su_free_secret(data, max + 1);
			return su_refuse(log, path, "grew beyond its size limit while read");
		}
		if (len == expected)
			break;
	}
	data[len] = '\0';
	out->data = data;
	out->len = len;
	return SU_OK;
}

int su_read_file_id(const su_log *log, const char *path, enum su_file_kind kind,
		    size_t max_size, su_buf *out, su_file_id *id)
{
	char *dir = su_dir_of(path);
	struct stat st;
	int fd = -1, rc;

	*out = (su_buf){0};
	if (dir == NULL)
		return su_refuse(log, path, "out of memory");
	if (kind == SU_FILE_FOREIGN) {
		rc = su_open_foreign(log, path, max_size, &fd, &st);
	} else {
		rc = su_check_dir(log, dir);
		if (rc == SU_OK)
			rc = su_open_nofollow(log, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
		if (rc == SU_OK)
			rc = su_check_open_file(log, path, fd, kind, max_size, &st);
	}
	if (rc == SU_OK)
		rc = read_all(log, path, fd, max_size, (size_t)st.st_size, out);
	if (rc == SU_OK && id != NULL) {
		if (fstat(fd, &st) == 0) {
			file_id_of(&st, id);
		} else {
			su_buf_free(out);
			rc = su_refuse_errno(log, path, "cannot stat");
		}
	}
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int su_check_file(const su_log *log, const char *path, enum su_file_kind kind,
		  size_t max_size)
{
	char *dir = su_dir_of(path);
	struct stat st;
	int fd = -1, rc;

	if (dir == NULL)
		return su_refuse(log, path, "out of memory");
	rc = su_check_dir(log, dir);
	if (rc == SU_OK)
		rc = su_open_nofollow(log, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
	if (rc == SU_OK)
		rc = su_check_open_file(log, path, fd, kind, max_size, &st);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

int su_read_file(const su_log *log, const char *path, enum su_file_kind kind,
		 size_t max_size, su_buf *out)
{
	return su_read_file_id(log, path, kind, max_size, out, NULL);
}

int su_open_update(const su_log *log, const char *path, size_t max_size, int *fd_out,
		   struct stat *st)
{
	char *dir = su_dir_of(path);
	int fd = -1, rc;

	*fd_out = -1;
	if (dir == NULL)
		return su_refuse(log, path, "out of memory");
	rc = su_check_dir(log, dir);
	free(dir);
	if (rc == SU_OK)
		rc = su_open_nofollow(log, path, O_RDWR | O_NONBLOCK | O_NOCTTY, &fd);
	if (rc == SU_OK)
		rc = su_check_open_file(log, path, fd, SU_FILE_SECRET, max_size, st);
	if (rc == SU_OK)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
	return rc;
}

int su_read_at_start(const su_log *log, const char *path, int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return su_refuse_errno(log, path, "read failed");
		if (n == 0)
			return su_refuse(log, path, "shrank while it was read");
		got += (size_t)n;
	}
	return SU_OK;
}

int su_write_at(const su_log *log, const char *path, int fd, const void *data,
		size_t len, off_t offset)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return su_refuse_errno(log, path, "cannot write");
		p += n;
		len -= (size_t)n;
		offset += n;
	}
	/* Data only: the size and the blocks are the same as before, so
	 * fdatasync flushes what a reader after a crash needs. */
	if (fdatasync(fd) != 0)
		return su_refuse_errno(log, path, "cannot sync");
	return SU_OK;
}
