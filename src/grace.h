/* Grace records (docs/design.md, "Grace"): after a successful step-up,
 * a record under grace_dir lets the same user in the same login session on
 * the same boot through without a prompt until it expires, in the PAM
 * service that earned it, and in those whose rule names that service in
 * grace_from (docs/decisions.md "Grace is per service").
 *
 * File: grace_dir/USER:BINDING:service=SERVICE: one record per user,
 * session binding and service (lower case), replaced atomically (grace_dir
 * is root's alone, 0700), so a user alternating sudo and su keeps both.
 * Content (kv.h): version=1, user, uid, binding, service, rhost, boot_id,
 * method, issued, expires, hmac, where hmac = HMAC(hostkey, "grace", user,
 * uid, binding, rhost, boot_id, method, issued, expires, service) with
 * su_hmac_hex (decimal numbers). A record named USER:BINDING, written
 * before grace was per service, has no service: it is listed and revoked,
 * never honoured.
 *
 * The binding (su_grace_here) is "audit=ID" when the kernel audit session
 * id is set (/proc/self/sessionid), else "tty=DEV:sid=PID:start=TICKS"
 * (the session's controlling tty device number, the session leader's pid
 * and its start time from its /proc/PID/stat, which defeats pid reuse) or
 * "sid=PID:start=TICKS" with no tty. Nothing in it comes from the environment or from a file a
 * user can write. */
#ifndef SU_GRACE_H
#define SU_GRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "hostkey.h"
#include "log.h"
#include "safefile.h"

#define SU_GRACE_BINDING_MAX 96
#define SU_GRACE_BOOT_ID_MAX 40

/* Where and when a step-up happens. */
typedef struct su_grace_here {
	char binding[SU_GRACE_BINDING_MAX];
	char boot_id[SU_GRACE_BOOT_ID_MAX];
} su_grace_here;

/* This process's session binding and the boot id. -1 (logged at info,
 * with the reason) when there is none to bind to (no audit session and no
 * session leader to be seen): then no grace is written or honoured. */
int su_grace_here_now(const su_log *log, su_grace_here *here);

/* What a caller must match. */
typedef struct su_grace_want {
	const char *user;
	uid_t uid;
	const su_grace_here *here;
	const char *rhost;  /* PAM_RHOST, "" when unset: part of the record */
	time_t now;
	unsigned grace;   /* the current rule's grace: caps any record */
	unsigned methods; /* enum su_method bits the rule accepts */
	const char *service; /* PAM_SERVICE: names the record, part of it */
	const char *from;    /* the rule's grace_from: other services whose
				records count ("a,b" or "*"); NULL: none */
} su_grace_want;

/* SU_OK: a valid record matches; *method is the method that earned it.
 * Looked for: want->service's record, then that of each service in
 * want->from; for "*", every record of this user and binding (a directory
 * scan, only then). SU_NOTFOUND: none, or none that holds (reasons at
 * debug; an expired one is removed). SU_ERR: a file that is refused
 * (logged): no grace, the caller prompts. */
int su_grace_check(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES], const su_grace_want *want,
		   unsigned *method);

/* Write (or replace) the record for want->user and want->here, earned by
 * method (one enum su_method bit), valid want->grace seconds from
 * want->now. 0 or -1 (logged); a failure costs the user a prompt later,
 * never the step-up now. */
int su_grace_write(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES],
		   const su_grace_want *want, unsigned method);

/* For stepupctl grace list. */
enum su_grace_status { SU_GRACE_VALID, SU_GRACE_EXPIRED, SU_GRACE_INVALID };
typedef struct su_grace_entry {
	char *file;  /* name in grace_dir */
	char *user;  /* from the file name */
	char *binding, *method, *service; /* from the record; NULL if unreadable */
	long long uid, issued, expires;
	enum su_grace_status status;
	const char *why; /* SU_GRACE_INVALID: what is wrong */
} su_grace_entry;

/* Every record in grace_dir (of user, or all when user is NULL), sorted by
 * file name, each checked against key (HMAC) and now (expiry). */
int su_grace_list(const su_log *log, const char *grace_dir,
		  const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		  time_t now, su_grace_entry **entries, size_t *count);
void su_grace_list_free(su_grace_entry *entries, size_t count);

/* Remove every record of user (all users when NULL), of every service;
 * *removed counts. */
int su_grace_revoke(const su_log *log, const char *grace_dir, const char *user,
		    unsigned *removed);

#endif
