/* Test helpers shared by the unit tests (header only, static functions):
 *
 *   capture_begin / capture_end  collect what the code under test writes to
 *                                stderr (su_log with pamh == NULL prints
 *                                "prog: message" lines there), so a test can
 *                                assert that a message names a path, a line
 *                                or a key. Assert only after capture_end:
 *                                cmocka reports failures on stdout/stderr.
 *   safe_tmpdir_make             a scratch directory whose ancestors pass
 *                                the safe-file checks (here, else /tmp)
 *   tmpdir_make / tmpdir_remove  a private directory under the current
 *                                directory, removed recursively at the end.
 *   NEED_ROOT()                  skip the cmocka test unless run as root
 *                                (root-owned files, chown).
 */
#ifndef SU_TEST_CAPTURE_H
#define SU_TEST_CAPTURE_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "safefile.h"

#define NEED_ROOT()                 \
	do {                        \
		if (geteuid() != 0) \
			skip();     \
	} while (0)

typedef struct capture {
	int saved_fd;
	FILE *file;
} capture;

static inline void capture_begin(capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	c->saved_fd = dup(STDERR_FILENO);
	if (c->file == NULL || c->saved_fd < 0 ||
	    dup2(fileno(c->file), STDERR_FILENO) < 0) {
		perror("capture_begin");
		abort();
	}
}

/* Restore stderr and return everything written meanwhile (caller frees).
 * Never NULL: an empty capture is "". */
static inline char *capture_end(capture *c)
{
	char *text;
	long len;

	fflush(stderr);
	if (dup2(c->saved_fd, STDERR_FILENO) < 0) {
		perror("capture_end");
		abort();
	}
	close(c->saved_fd);
	c->saved_fd = -1;
	if (fseek(c->file, 0, SEEK_END) != 0 || (len = ftell(c->file)) < 0 ||
	    fseek(c->file, 0, SEEK_SET) != 0) {
		perror("capture_end");
		abort();
	}
	text = calloc((size_t)len + 1, 1);
	if (text == NULL || fread(text, 1, (size_t)len, c->file) != (size_t)len) {
		perror("capture_end");
		abort();
	}
	fclose(c->file);
	c->file = NULL;
	return text;
}

static inline int tmpdir_rm_one(const char *path, const struct stat *st,
				int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		perror(path);
	return 0;
}

/* Remove a tree (depth first, symlinks not followed). */
static inline void tmpdir_remove(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp(template) and chmod 0755 (mkdtemp makes 0700). Aborts on failure:
 * without a scratch directory no test can mean anything. */
static inline char *tmpdir_make(char *template)
{
	if (mkdtemp(template) == NULL || chmod(template, 0755) != 0) {
		perror(template);
		abort();
	}
	return template;
}

/* A scratch directory NAME-XXXXXX that the safe-file rules accept: here if
 * every directory above passes su_check_dir, else under /tmp (sticky); a
 * checkout under a user's home does not pass. Caller holds PATH_MAX. */
static inline char *safe_tmpdir_make(char *dir, size_t size, const char *name)
{
	static const su_log quiet_check = { .pamh = NULL, .prog = "test", .debug = false };
	const char *base = ".";
	capture cap;
	char *msg;

	capture_begin(&cap);
	if (su_check_dir(&quiet_check, ".") != SU_OK)
		base = "/tmp";
	msg = capture_end(&cap);
	free(msg);
	snprintf(dir, size, "%s/%s-XXXXXX", base, name);
	return tmpdir_make(dir);
}

#endif
