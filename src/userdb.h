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

/* The rule "records are keyed by the account's name as the user database
 * spells it" ("ALICE" or "alice@corp" resolving to alice is alice: the
 * record of alice, not a user who is not enrolled), in one place for the
 * module and stepupctl. given is looked up by name into e:
 *   SU_USERDB_KNOWN    *canon = the user database's spelling (given, or
 *                      another one), *uid its uid
 *   SU_USERDB_UNKNOWN  no such user: *canon = given, used as given (it
 *                      can own no session to protect); *uid untouched
 *   SU_USERDB_INVALID  given, or the user database's spelling of it, is
 *                      not su_valid_username: *canon = the name refused
 *   SU_USERDB_ERROR    the user database cannot answer: *err = the error
 *                      number (strerror), *canon = given. Fail closed: the
 *                      name may be an enrolled user's other spelling.
 * Nothing is logged. *canon points into e or is given: valid until the
 * next lookup with e or su_pwent_free. uid and err may be NULL; given
 * must not point into e. */
enum su_userdb_canon {
	SU_USERDB_KNOWN = 0,
	SU_USERDB_UNKNOWN = 1,
	SU_USERDB_INVALID = -1,
	SU_USERDB_ERROR = -2,
};
int su_userdb_canonical(su_pwent *e, const char *given, const char **canon,
			uid_t *uid, int *err);

/* Frees the heap buffer, if any; e can be looked up with again. */
void su_pwent_free(su_pwent *e);

#endif
