#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "userdb.h"
#include "util.h"

/* Not found is only what glibc returns for it: 0 with no entry (NSS said
 * NOTFOUND). getpwnam_r(3) also lists ENOENT, ESRCH, EBADF and EPERM as
 * "not found" on some systems, but glibc returns them only for a failed
 * lookup (a source that could not be loaded or asked): taken as unknown
 * users they would fail open, so every nonzero value is an error here.
 * ERANGE alone is retried, with a larger heap buffer, up to SU_PWENT_MAX. */
static int lookup(su_pwent *e, const char *name, uid_t uid, const struct passwd **out)
{
	struct passwd *found = NULL;
	char *buf = e->buf;
	size_t size = sizeof(e->buf);
	int rc;

	*out = NULL;
	for (;;) {
		rc = name != NULL ? getpwnam_r(name, &e->pw, buf, size, &found) :
				    getpwuid_r(uid, &e->pw, buf, size, &found);
		if (rc != ERANGE || size >= SU_PWENT_MAX)
			break;
		size = size * 4 < SU_PWENT_MAX ? size * 4 : SU_PWENT_MAX;
		free(e->big);
		e->big = malloc(size);
		buf = e->big;
		if (buf == NULL)
			return ENOMEM;
	}
	if (rc != 0)
		return rc;
	*out = found;
	return 0;
}

int su_userdb_name(su_pwent *e, const char *name, const struct passwd **out)
{
	if (name == NULL) {
		*out = NULL;
		return EINVAL;
	}
	return lookup(e, name, 0, out);
}

int su_userdb_uid(su_pwent *e, uid_t uid, const struct passwd **out)
{
	return lookup(e, NULL, uid, out);
}

int su_userdb_canonical(su_pwent *e, const char *given, const char **canon,
			uid_t *uid, int *err)
{
	const struct passwd *pw = NULL;
	int rc;

	*canon = given;
	if (!su_valid_username(given))
		return SU_USERDB_INVALID;
	rc = su_userdb_name(e, given, &pw);
	if (rc != 0) {
		if (err != NULL)
			*err = rc;
		return SU_USERDB_ERROR;
	}
	if (pw == NULL)
		return SU_USERDB_UNKNOWN;
	*canon = pw->pw_name;
	if (strcmp(pw->pw_name, given) != 0 && !su_valid_username(pw->pw_name))
		return SU_USERDB_INVALID;
	if (uid != NULL)
		*uid = pw->pw_uid;
	return SU_USERDB_KNOWN;
}

void su_pwent_free(su_pwent *e)
{
	free(e->big);
	e->big = NULL;
}
