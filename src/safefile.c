/* Safe file io. The rules every file the module reads or writes obeys:
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
 *  7. A foreign file (SU_FILE_FOREIGN: a user's ~/.google_authenticator,
 *     read once by stepupctl import) obeys rules 1 and 2 except the owner,
 *     and is not writable by group or others. Its path runs through
 *     directories a user controls, so it is never opened for reading
 *     before it is known to be a regular file: it is opened with O_PATH
 *     (no open-time effect of a device or FIFO), checked on that
 *     descriptor, and only then opened for reading through
 *     /proc/self/fd, which reopens that very inode (see open_foreign).
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
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "guard.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define LOCK_POLL_MS 2

static int refuse(const su_log *log, const char *path, const char *reason)
{
	su_logf(log, LOG_ERR, "refusing %s: %s", path, reason);
	return SU_ERR;
}

static int refuse_errno(const su_log *log, const char *path, const char *what)
{
	char reason[256];

	snprintf(reason, sizeof(reason), "%s: %s", what, strerror(errno));
	return refuse(log, path, reason);
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
static char *dir_of(const char *path)
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
static const char *dir_problem(const struct stat *st, bool holding, char *buf,
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
		return may_fall_back ? FALLBACK : refuse_errno(log, dir, "cannot stat directory");
	if (S_ISLNK(st.st_mode) && may_fall_back)
		return FALLBACK;
	why = dir_problem(&st, holding, buf, sizeof(buf));
	return why == NULL ? SU_OK : refuse(log, dir, why);
}

/* ---- directories found safe during one PAM call ----------------------------
 * A call reads the config, the host key and a grace record or the user's
 * files, in directories that share their ancestors; on the grace path the
 * lstat of each directory was the largest single cost. Between
 * su_dir_memo_begin and su_dir_memo_end a directory found safe is not
 * checked again: a window of microseconds, like the one between a check
 * and the open that follows it. The flow begins the memo afresh after
 * every prompt, whose length the user decides. Only successes are
 * kept; a directory kept as an ancestor (sticky allowed) does not stand in
 * for a holding directory. Per thread, off unless begun. */
#define MEMO_MAX 12

static _Thread_local struct {
	bool on;
	size_t n;
	struct {
		char *dir;
		bool holding;
	} e[MEMO_MAX];
} memo;

void su_dir_memo_begin(void)
{
	su_dir_memo_end();
	memo.on = true;
}

void su_dir_memo_end(void)
{
	for (size_t i = 0; i < memo.n; i++)
		free(memo.e[i].dir);
	memset(&memo, 0, sizeof(memo));
}

/* dir was found safe, and so were all its ancestors. */
static bool memo_has(const char *dir, bool holding)
{
	for (size_t i = 0; memo.on && i < memo.n; i++)
		if (strcmp(memo.e[i].dir, dir) == 0 && (memo.e[i].holding || !holding))
			return true;
	return false;
}

static void memo_add(const char *dir, bool holding)
{
	if (!memo.on || memo.n == MEMO_MAX || memo_has(dir, holding))
		return;
	memo.e[memo.n].dir = strdup(dir);
	if (memo.e[memo.n].dir != NULL)
		memo.e[memo.n++].holding = holding;
}

/* "/a/b/c" -> "/a/b" -> "/a" -> "/" -> false (no parent). */
static bool cut_to_parent(char *dir)
{
	char *slash = strrchr(dir, '/');

	if (slash == NULL || (slash == dir && dir[1] == '\0'))
		return false;
	slash[slash == dir ? 1 : 0] = '\0';
	return true;
}

/* Check dir, then each directory above it, stopping at one this call has
 * already found safe. The whole chain is remembered only when it all
 * passed. */
static int check_chain(const su_log *log, const char *dir, bool may_fall_back)
{
	char *d = strdup(dir);
	bool holding = true;
	int rc = SU_OK;

	if (d == NULL)
		return refuse(log, dir, "out of memory");
	do {
		if (memo_has(d, holding))
			break;
		rc = check_one_dir(log, d, holding, may_fall_back);
		holding = false;
	} while (rc == SU_OK && cut_to_parent(d));
	if (rc == SU_OK) {
		strcpy(d, dir);
		holding = true;
		do {
			memo_add(d, holding);
			holding = false;
		} while (cut_to_parent(d));
	}
	free(d);
	return rc;
}

/* Absolute, with no empty, "." or ".." component: such a path is its own
 * canonical form unless one of its components is a symlink, which
 * check_chain notices. Checking it as written saves realpath's readlink
 * on every component (half the syscalls of these checks). */
static bool plain_path(const char *p)
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

	if (plain_path(dir)) {
		rc = check_chain(log, dir, true);
		if (rc != FALLBACK)
			return rc;
	}
	path = realpath(dir, NULL);
	if (path == NULL) {
		if (errno == ENOENT)
			return SU_NOTFOUND;
		return refuse_errno(log, dir, "cannot resolve directory");
	}
	rc = check_chain(log, path, false);
	free(path);
	return rc;
}

/* Rules 2, 3 and 7 on a stat of the file. */
static int check_stat(const su_log *log, const char *path, const struct stat *st,
		      enum su_file_kind kind, size_t max_size)
{
	mode_t forbidden = kind == SU_FILE_SECRET ? 077 : 022;
	char reason[128];

	if (S_ISLNK(st->st_mode))
		return refuse(log, path, "is a symbolic link");
	if (!S_ISREG(st->st_mode))
		return refuse(log, path, "not a regular file");
	if (st->st_uid != 0 && kind != SU_FILE_FOREIGN) {
		snprintf(reason, sizeof(reason), "not owned by root (uid %u)",
			 (unsigned)st->st_uid);
		return refuse(log, path, reason);
	}
	if (st->st_mode & forbidden) {
		snprintf(reason, sizeof(reason), "mode %04o gives %s to group or others",
			 (unsigned)(st->st_mode & 07777),
			 kind == SU_FILE_SECRET ? "access" : "write access");
		return refuse(log, path, reason);
	}
	if ((size_t)st->st_size > max_size) {
		snprintf(reason, sizeof(reason), "larger than %zu bytes", max_size);
		return refuse(log, path, reason);
	}
	return SU_OK;
}

static int check_file(const su_log *log, const char *path, int fd,
		      enum su_file_kind kind, size_t max_size, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return refuse_errno(log, path, "cannot stat");
	return check_stat(log, path, st, kind, max_size);
}

static void file_id_of(const struct stat *st, su_file_id *id)
{
	struct timespec now;

	*id = (su_file_id){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.mtime = st->st_mtim,
		.ctime = st->st_ctim,
		.uid = st->st_uid,
		.mode = st->st_mode & 07777,
	};
	id->settled = clock_gettime(CLOCK_REALTIME, &now) == 0 &&
		      st->st_ctim.tv_sec <= now.tv_sec - SU_FILE_SETTLE_SECONDS;
}

static bool file_id_equal(const su_file_id *a, const su_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Rule 1. how: O_RDONLY | O_NONBLOCK | O_NOCTTY to read, O_PATH for
 * open_foreign (a symlink then opens as itself, and check_stat refuses it). */
static int open_checked(const su_log *log, const char *path, int how, int *fd_out)
{
	int fd = open(path, how | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return SU_NOTFOUND;
		if (errno == ELOOP)
			return refuse(log, path, "is a symbolic link");
		return refuse_errno(log, path, "cannot open");
	}
	*fd_out = fd;
	return SU_OK;
}

/* An absolute path without its empty and "." components, in place: each
 * names the directory before it, so the lookup is the same. */
static void drop_dot_components(char *p)
{
	char *w = p;
	const char *r = p;

	for (;;) {
		size_t len;

		while (*r == '/')
			r++;
		len = strcspn(r, "/");
		if (len == 0)
			break;
		if (len != 1 || r[0] != '.') {
			*w++ = '/';
			memmove(w, r, len); /* w <= r: never ahead of what is read */
			w += len;
		}
		r += len;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

/* Rule 7, a root-owned foreign file: every directory on path as written
 * (from the working directory if relative) passes rule 4, and none is a
 * symlink. Not su_check_dir, which judges the canonical directory: with
 * ~alice/d -> /etc the canonical directory is /etc, which passes, while
 * alice decides where ~alice/d leads. What matters is who can change what
 * the name leads to: every directory it is looked up in. "." and empty
 * components change nothing and are dropped; ".." after a symlink leads
 * where the text does not say: refused. Last, the name must still lead to
 * the inode opened (pst): from here on the chain is root's, so the name
 * cannot be turned elsewhere. */
static int root_chain_ok(const su_log *log, const char *path, const struct stat *pst)
{
	char cwd[PATH_MAX], buf[128], *abs;
	const char *why = NULL;
	bool holding = true;
	struct stat st;

	if (path[0] == '/')
		abs = strdup(path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL && cwd[0] == '/')
		abs = su_path_join(cwd, path);
	else
		return refuse(log, path, "owned by root, and the working directory is unknown");
	if (abs == NULL)
		return refuse(log, path, "out of memory");
	drop_dot_components(abs);
	if (!plain_path(abs)) {
		free(abs);
		return refuse(log, path, "owned by root, and its path has a \"..\" component: "
			      "give a root-owned file by a path without one");
	}
	while (why == NULL && cut_to_parent(abs)) {
		if (lstat(abs, &st) != 0)
			why = strerror(errno);
		else if (S_ISLNK(st.st_mode))
			why = "is a symbolic link";
		else
			why = dir_problem(&st, holding, buf, sizeof(buf));
		holding = false;
	}
	if (why != NULL)
		su_logf(log, LOG_ERR, "refusing %s: owned by root, so read only through "
			"directories of root's that others cannot write; %s: %s", path, abs, why);
	free(abs);
	if (why != NULL)
		return SU_ERR;
	if (lstat(path, &st) != 0 || st.st_dev != pst->st_dev || st.st_ino != pst->st_ino)
		return refuse(log, path, "changed while it was opened");
	return SU_OK;
}

/* Rule 7: open a foreign file for reading only once it is known to be a
 * regular file (and, if root's, reached through root's directories). The
 * O_PATH descriptor has no open-time effect (no device's open routine
 * runs, no FIFO waits) and pins the inode. It cannot be read, and open has
 * no way to reopen it as it is (AT_EMPTY_PATH is a flag of fstatat,
 * linkat and the like, not of openat). Its /proc/self/fd entry is the way:
 * a "magic link" that resolves to the open file itself, not to a path
 * walked again, so nothing a user changes can redirect it. It must be
 * followed: no O_NOFOLLOW there (that fails with ELOOP). An inode never
 * changes type, so what opens is the regular file just checked; device,
 * inode and owner are compared all the same, so that a /proc that is not
 * procfs fails closed. No /proc: refused. The extra syscalls are on this
 * path only (stepupctl import), never on the module's. */
static int open_foreign(const su_log *log, const char *path, size_t max_size,
			int *fd_out, struct stat *st)
{
	char proc[32];
	struct stat pst;
	int pfd = -1, fd = -1;
	int rc = open_checked(log, path, O_PATH, &pfd);

	if (rc == SU_OK)
		rc = check_file(log, path, pfd, SU_FILE_FOREIGN, max_size, &pst);
	if (rc == SU_OK && pst.st_uid == 0)
		rc = root_chain_ok(log, path, &pst);
	if (rc == SU_OK) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			rc = refuse_errno(log, path, "cannot reopen it through /proc/self/fd");
	}
	if (rc == SU_OK)
		rc = check_file(log, path, fd, SU_FILE_FOREIGN, max_size, st);
	if (rc == SU_OK && (st->st_dev != pst.st_dev || st->st_ino != pst.st_ino ||
			    st->st_uid != pst.st_uid))
		rc = refuse(log, path, "changed while it was opened");
	if (pfd >= 0)
		close(pfd);
	if (rc == SU_OK)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
	return rc;
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
		return refuse(log, path, "out of memory");
	for (;;) {
		ssize_t n = read(fd, data + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			su_free_secret(data, max + 1);
			return refuse_errno(log, path, "read failed");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			su_free_secret(data, max + 1);
			return refuse(log, path, "grew beyond its size limit while read");
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
	char *dir = dir_of(path);
	struct stat st;
	int fd = -1, rc;

	*out = (su_buf){0};
	if (dir == NULL)
		return refuse(log, path, "out of memory");
	if (kind == SU_FILE_FOREIGN) {
		rc = open_foreign(log, path, max_size, &fd, &st);
	} else {
		rc = su_check_dir(log, dir);
		if (rc == SU_OK)
			rc = open_checked(log, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
		if (rc == SU_OK)
			rc = check_file(log, path, fd, kind, max_size, &st);
	}
	if (rc == SU_OK)
		rc = read_all(log, path, fd, max_size, (size_t)st.st_size, out);
	if (rc == SU_OK && id != NULL) {
		if (fstat(fd, &st) == 0) {
			file_id_of(&st, id);
		} else {
			su_buf_free(out);
			rc = refuse_errno(log, path, "cannot stat");
		}
	}
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
	char *dir = dir_of(path);
	int fd = -1, rc;

	*fd_out = -1;
	if (dir == NULL)
		return refuse(log, path, "out of memory");
	rc = su_check_dir(log, dir);
	free(dir);
	if (rc == SU_OK)
		rc = open_checked(log, path, O_RDWR | O_NONBLOCK | O_NOCTTY, &fd);
	if (rc == SU_OK)
		rc = check_file(log, path, fd, SU_FILE_SECRET, max_size, st);
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
			return refuse_errno(log, path, "read failed");
		if (n == 0)
			return refuse(log, path, "shrank while it was read");
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
			return refuse_errno(log, path, "cannot write");
		p += n;
		len -= (size_t)n;
		offset += n;
	}
	/* Data only: the size and the blocks are the same as before, so
	 * fdatasync flushes what a reader after a crash needs. */
	if (fdatasync(fd) != 0)
		return refuse_errno(log, path, "cannot sync");
	return SU_OK;
}

bool su_file_unchanged(const char *path, const su_file_id *id)
{
	struct stat st;
	su_file_id now;

	if (!id->settled || fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_uid != 0)
		return false;
	file_id_of(&st, &now);
	return file_id_equal(&now, id);
}

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

static int require_dir(const su_log *log, const char *dir)
{
	int rc = su_check_dir(log, dir);

	if (rc == SU_NOTFOUND)
		return refuse(log, dir, "directory does not exist (run 'stepupctl init')");
	return rc;
}

/* Owner, mode, data, fsync, close: the body of every write. */
static int fill_file(const su_log *log, const char *path, int fd,
		     const void *data, size_t len, mode_t mode)
{
	int rc = SU_OK;

	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0 ||
	    write_all(fd, data, len) != 0 || fsync(fd) != 0)
		rc = refuse_errno(log, path, "cannot write");
	if (close(fd) != 0 && rc == SU_OK)
		rc = refuse_errno(log, path, "cannot write");
	return rc;
}

static int replace_file(const su_log *log, const char *path, const void *data,
			size_t len, mode_t mode)
{
	char *dir = dir_of(path), *tmp = NULL;
	int fd, rc = SU_ERR;

	if (dir == NULL || require_dir(log, dir) != SU_OK)
		goto out;
	tmp = temp_name_for(dir, path);
	if (tmp == NULL) {
		refuse(log, path, "name too long");
		goto out;
	}
	/* A leftover from a writer that died is stale: we hold the lock. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		refuse_errno(log, tmp, "cannot remove stale temporary file");
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		refuse_errno(log, tmp, "cannot create temporary file");
		goto out;
	}
	if (fill_file(log, tmp, fd, data, len, mode) != SU_OK)
		goto out;
	if (rename(tmp, path) != 0) {
		refuse_errno(log, path, "cannot replace");
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (fsync_dir(dir) != 0) {
		refuse_errno(log, dir, "cannot sync directory");
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
	char *dir = dir_of(path);
	int fd, rc = SU_ERR;

	if (dir == NULL || require_dir(log, dir) != SU_OK)
		goto out;
	/* O_EXCL: never replace, never follow a link. A crash mid-write
	 * leaves a short file, which readers refuse by its size. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? SU_EXISTS : refuse_errno(log, path, "cannot create");
		goto out;
	}
	if (fill_file(log, path, fd, data, len, mode) != SU_OK) {
		unlink(path);
		goto out;
	}
	rc = fsync_dir(dir) == 0 ? SU_OK : refuse_errno(log, dir, "cannot sync directory");
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
	char *dir = dir_of(path);
	int rc = SU_ERR;

	if (dir == NULL || require_dir(log, dir) != SU_OK)
		goto out;
	if (unlink(path) != 0) {
		rc = errno == ENOENT ? SU_NOTFOUND : refuse_errno(log, path, "cannot remove");
		goto out;
	}
	rc = fsync_dir(dir) == 0 ? SU_OK : refuse_errno(log, dir, "cannot sync directory");
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
		return refuse_errno(log, dir, "cannot create directory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return refuse_errno(log, dir, "cannot open new directory");
	/* mkdir obeys the umask and the caller's gid; set both exactly. */
	if (fchown(fd, 0, 0) != 0 || fchmod(fd, mode) != 0) {
		close(fd);
		return refuse_errno(log, dir, "cannot set owner and mode");
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
	parent = dir_of(dir);
	if (parent == NULL)
		return refuse(log, dir, "out of memory");
	rc = strcmp(parent, dir) == 0 ? SU_ERR : su_make_dir(log, parent, 0755);
	free(parent);
	if (rc == SU_OK)
		rc = create_one_dir(log, dir, mode);
	if (rc == SU_OK)
		rc = su_check_dir(log, dir);
	return rc;
}

static int open_lock_file(const su_log *log, const char *lock_path)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	struct stat st;

	if (fd < 0) {
		if (errno == ELOOP)
			return refuse(log, lock_path, "is a symbolic link");
		return refuse_errno(log, lock_path, "cannot open lock file");
	}
	if (check_file(log, lock_path, fd, SU_FILE_SECRET, 0, &st) != SU_OK) {
		close(fd);
		return SU_ERR;
	}
	return fd;
}

/* ---- who holds a lock ----------------------------------------------------------
 * A user can stop (SIGSTOP, Ctrl-Z held off by guard.c but not SIGSTOP) their
 * own setuid su while it holds their lock: every later step-up of theirs,
 * and stepupctl unlock, then waits and fails. The refusal names the holder
 * so that an administrator can end it. Nothing here is trusted: it only
 * words a message. */

/* The pid that holds an flock on the inode of fd (/proc/locks), or 0. */
static pid_t flock_holder(int fd)
{
	char line[256], want[64];
	struct stat st;
	pid_t pid = 0;
	FILE *f;

	if (fstat(fd, &st) != 0)
		return 0;
	snprintf(want, sizeof(want), "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	f = fopen("/proc/locks", "re");
	if (f == NULL)
		return 0;
	while (pid == 0 && fgets(line, sizeof(line), f) != NULL) {
		char type[16], dev[64];
		long p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; a waiter's
		 * line has "->" after the number, and so fails this. */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %63s", type, &p, dev) == 3 &&
		    strcmp(type, "FLOCK") == 0 && strcmp(dev, want) == 0 && p > 0)
			pid = (pid_t)p;
	}
	fclose(f);
	return pid;
}

/* "PID (COMM), stopped, started N s ago" from /proc/PID/stat. */
static void describe_process(pid_t pid, char *out, size_t size)
{
	char path[64], stat[1024], *close_paren, state = '?';
	unsigned long long start = 0;
	double uptime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(out, size, "process %d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	close_paren = strrchr(stat, ')');
	/* After "pid (comm) ": state, then 18 fields to starttime (field 22). */
	if (close_paren == NULL ||
	    sscanf(close_paren + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %*s %*s %*s %llu", &state, &start) != 2)
		return;
	*close_paren = '\0';
	/* The command name is the caller's choice (a symlink's name, up to 15
	 * bytes): nothing but printable ASCII goes into a log or onto root's
	 * terminal. */
	for (char *c = stat; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	f = fopen("/proc/uptime", "re");
	if (f != NULL) {
		if (fscanf(f, "%lf", &uptime) != 1)
			uptime = 0;
		fclose(f);
	}
	snprintf(out, size, "process %d (%.32s), %s, started %.0f s ago", (int)pid,
		 strchr(stat, '(') ? strchr(stat, '(') + 1 : "?",
		 state == 'T' || state == 't' ? "stopped" : state == 'R' ? "running" :
		 state == 'D' ? "waiting for the disk" : "sleeping",
		 hz > 0 && uptime > 0 ? uptime - (double)start / (double)hz : 0.0);
}

static void lock_held_too_long(const su_log *log, const char *lock_path, int fd)
{
	pid_t pid = flock_holder(fd);
	char who[160];

	if (pid == 0) {
		refuse(log, lock_path, "lock is held too long by another process");
		return;
	}
	describe_process(pid, who, sizeof(who));
	su_logf(log, LOG_ERR, "refusing %s: lock is held too long by %s; if it does not "
		"finish, end it with 'kill -KILL %d' (its caller has not been told the "
		"outcome of any answer it holds, so killing it reveals nothing)", lock_path, who,
		(int)pid);
}

int su_lock(const su_log *log, const char *lock_path, unsigned timeout_ms,
	    int *fd_out)
{
	char *dir = dir_of(lock_path);
	const struct timespec poll = {0, LOCK_POLL_MS * 1000000L};
	int fd, rc;

	*fd_out = -1;
	if (dir == NULL)
		return refuse(log, lock_path, "out of memory");
	rc = require_dir(log, dir);
	free(dir);
	if (rc != SU_OK)
		return SU_ERR;
	fd = open_lock_file(log, lock_path);
	if (fd < 0)
		return SU_ERR;
	/* Poll rather than block: a wedged holder must not hang sudo. Counted
	 * in polls, not clock time, so a faked clock cannot stretch it. */
	for (unsigned waited = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited += LOCK_POLL_MS) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return refuse_errno(log, lock_path, "cannot lock");
		}
		if (waited >= timeout_ms) {
			lock_held_too_long(log, lock_path, fd);
			close(fd);
			return SU_ERR;
		}
		nanosleep(&poll, NULL);
	}
	*fd_out = fd;
	return SU_OK;
}

void su_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* closing drops the flock */
}
