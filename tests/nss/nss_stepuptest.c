/* A glibc NSS passwd module for the tests only (service "stepuptest",
 * loaded as libnss_stepuptest.so.2).  It knows one account, stepup-canon,
 * and also answers for the name STEPUP-ALIAS with that account, the way
 * a directory service may answer for an alias or another spelling.  The
 * files backend never does that, so without this module there is no way
 * to test that the module and stepupctl use the name NSS returns.
 *
 * Two more names test how a lookup fails: STEPUP-NSSERR is a name the
 * source cannot answer for (NSS_STATUS_UNAVAIL, EIO: a directory server
 * down), and stepup-huge is an account whose entry (a 64 KiB gecos) does
 * not fit in a 4096-byte buffer (ERANGE until the caller offers more); it
 * answers for STEPUP-HUGE too, so that a caller that gave up on ERANGE
 * and used the name as given would miss stepup-huge's record.
 *
 * tests/integration/canonical.sh loads it in a private mount namespace;
 * it is never installed. */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#define CANON_NAME "stepup-canon"
#define ALIAS_NAME "STEPUP-ALIAS"
#define CANON_ID 64999
#define NSSERR_NAME "STEPUP-NSSERR"
#define HUGE_NAME "stepup-huge"
#define HUGE_ALIAS "STEPUP-HUGE"
#define HUGE_ID 64998
#define HUGE_GECOS 65536

enum nss_status _nss_stepuptest_getpwnam_r(const char *name, struct passwd *pw,
					    char *buf, size_t buflen, int *errnop);
enum nss_status _nss_stepuptest_getpwuid_r(uid_t uid, struct passwd *pw,
					    char *buf, size_t buflen, int *errnop);
enum nss_status _nss_stepuptest_setpwent(int stayopen);
enum nss_status _nss_stepuptest_getpwent_r(struct passwd *pw, char *buf,
					    size_t buflen, int *errnop);
enum nss_status _nss_stepuptest_endpwent(void);

/* Copies s into the caller's buffer at *pos; NULL when it does not fit. */
static char *put(const char *s, char *buf, size_t buflen, size_t *pos)
{
	size_t len = strlen(s) + 1;
	char *at;

	if (len > buflen - *pos)
		return NULL;
	at = buf + *pos;
	memcpy(at, s, len);
	*pos += len;
	return at;
}

/* The gecos of stepup-huge, HUGE_GECOS - 1 letters, at *pos; NULL when
 * it does not fit. Written in place: no shared buffer between threads. */
static char *put_huge(char *buf, size_t buflen, size_t *pos)
{
	char *at;

	if (HUGE_GECOS > buflen - *pos)
		return NULL;
	at = buf + *pos;
	memset(at, 'g', HUGE_GECOS - 1);
	at[HUGE_GECOS - 1] = '\0';
	*pos += HUGE_GECOS;
	return at;
}

static enum nss_status fill(struct passwd *pw, bool huge, char *buf, size_t buflen,
			    int *errnop)
{
	size_t pos = 0;

	pw->pw_name = put(huge ? HUGE_NAME : CANON_NAME, buf, buflen, &pos);
	pw->pw_passwd = put("x", buf, buflen, &pos);
	pw->pw_gecos = huge ? put_huge(buf, buflen, &pos) :
			      put("pam_stepup test account", buf, buflen, &pos);
	pw->pw_dir = put("/nonexistent", buf, buflen, &pos);
	pw->pw_shell = put("/usr/sbin/nologin", buf, buflen, &pos);
	if (pw->pw_name == NULL || pw->pw_passwd == NULL || pw->pw_gecos == NULL ||
	    pw->pw_dir == NULL || pw->pw_shell == NULL) {
		/* glibc retries with a larger buffer. */
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_uid = huge ? HUGE_ID : CANON_ID;
	pw->pw_gid = pw->pw_uid;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_stepuptest_getpwnam_r(const char *name, struct passwd *pw,
					    char *buf, size_t buflen, int *errnop)
{
	if (name != NULL && strcmp(name, NSSERR_NAME) == 0) {
		*errnop = EIO;
		return NSS_STATUS_UNAVAIL;
	}
	if (name != NULL && (strcmp(name, HUGE_NAME) == 0 || strcmp(name, HUGE_ALIAS) == 0))
		return fill(pw, true, buf, buflen, errnop);
	if (name == NULL || (strcmp(name, ALIAS_NAME) != 0 && strcmp(name, CANON_NAME) != 0)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return fill(pw, false, buf, buflen, errnop);
}

enum nss_status _nss_stepuptest_getpwuid_r(uid_t uid, struct passwd *pw,
					    char *buf, size_t buflen, int *errnop)
{
	if (uid != CANON_ID && uid != HUGE_ID) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return fill(pw, uid == HUGE_ID, buf, buflen, errnop);
}

/* No enumeration: getpwent() sees only what the other sources list. */
enum nss_status _nss_stepuptest_setpwent(int stayopen)
{
	(void)stayopen;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_stepuptest_getpwent_r(struct passwd *pw, char *buf,
					    size_t buflen, int *errnop)
{
	(void)pw;
	(void)buf;
	(void)buflen;
	*errnop = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_stepuptest_endpwent(void)
{
	return NSS_STATUS_SUCCESS;
}
