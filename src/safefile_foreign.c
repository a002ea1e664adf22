/* Rule 7 of safefile.c: a foreign file (a user's ~/.google_authenticator
 * or security-key public keys, read once by stepupctl import or enroll
 * USER sshkey), opened for reading only once it is
 * known to be a regular file, and when root owns it, only through root's
 * directories. Never on the module's path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safefile.h"
#include "safefile_internal.h"
#include "util.h"

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
		return su_refuse(log, path, "owned by root, and the working directory is unknown");
	if (abs == NULL)
		return su_refuse(log, path, "out of memory");
	drop_dot_components(abs);
	if (!su_plain_path(abs)) {
		free(abs);
		return su_refuse(log, path, "owned by root, and its path has a \"..\" component: "
			      "give a root-owned file by a path without one");
	}
	while (why == NULL && su_cut_to_parent(abs)) {
		if (lstat(abs, &st) != 0)
			why = strerror(errno);
		else if (S_ISLNK(st.st_mode))
			why = "is a symbolic link";
		else
			why = su_dir_problem(&st, holding, buf, sizeof(buf));
		holding = false;
	}
	if (why != NULL) {
		char reason[PATH_MAX + 192], shown[PATH_MAX];

		snprintf(reason, sizeof(reason), "owned by root, so read only through "
			 "directories of root's that others cannot write; %s: %s",
			 su_escape(abs, &su_escape_printable, sizeof(shown) - 1, shown), why);
		free(abs);
		return su_refuse(log, path, reason);
	}
	free(abs);
	if (lstat(path, &st) != 0 || st.st_dev != pst->st_dev || st.st_ino != pst->st_ino)
		return su_refuse(log, path, "changed while it was opened");
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
 * path only (stepupctl import and enroll USER sshkey), never on the
 * module's. */
int su_open_foreign(const su_log *log, const char *path, size_t max_size,
			int *fd_out, struct stat *st)
{
	char proc[32];
	struct stat pst;
	int pfd = -1, fd = -1;
	int rc = su_open_nofollow(log, path, O_PATH, &pfd);

	if (rc == SU_OK)
		rc = su_check_open_file(log, path, pfd, SU_FILE_FOREIGN, max_size, &pst);
	if (rc == SU_OK && pst.st_uid == 0)
		rc = root_chain_ok(log, path, &pst);
	if (rc == SU_OK) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			rc = su_refuse_errno(log, path, "cannot reopen it through /proc/self/fd");
	}
	if (rc == SU_OK)
		rc = su_check_open_file(log, path, fd, SU_FILE_FOREIGN, max_size, st);
	if (rc == SU_OK && (st->st_dev != pst.st_dev || st->st_ino != pst.st_ino ||
			    st->st_uid != pst.st_uid))
		rc = su_refuse(log, path, "changed while it was opened");
	if (pfd >= 0)
		close(pfd);
	if (rc == SU_OK)
		*fd_out = fd;
	else if (fd >= 0)
		close(fd);
	return rc;
}
