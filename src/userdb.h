/* One way to ask the user database (NSS) for an account, shared by the
 * module, stepupctl and stepup-gate, so that all of them tell "no such
 * user" from "the user database cannot answer" the same way. The two must
 * never be confused: records are keyed by the name NSS returns, and a name
 * taken as unknown while its directory is down would skip its owner's
 * record (and pass under missing = allow). */
#ifndef SU_USERDB_H
#define SU_USERDB_H

#include <pwd.h>
#include <sys/types.h>

/* Entries larger than this are an error (ERANGE): far beyond any real one. */
#define SU_PWENT_MAX (1024 * 1024)

/* An entry and the storage its strings live in: buf, which fits every
 * ordinary entry, or a heap buffer for a larger one. The strings of the
 * last entry found stay valid until the next lookup or su_pwent_free. */
typedef struct su_pwent {
	struct passwd pw;
	char *big;
	char buf[4096];
} su_pwent;

/* 0 with *out the entry, or *out NULL when the user database has no such
 * user; otherwise an error number (strerror), *out NULL: the answer is
 * unknown, never "no such user". name must not point into e. */
int su_userdb_name(su_pwent *e, const char *name, const struct passwd **out);
int su_userdb_uid(su_pwent *e, uid_t uid, const struct passwd **out);

/* Frees the heap buffer, if any; e can be looked up with again. */
void su_pwent_free(su_pwent *e);

#endif
