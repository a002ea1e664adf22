/* One authpriv syslog line per outcome, as key=value fields. Never carries
 * a code or a secret: callers pass only names of methods, results and
 * reasons, and the PAM items, which are escaped. */
#ifndef SU_AUDIT_H
#define SU_AUDIT_H

#include <security/pam_modules.h>

typedef struct su_audit_who {
	const char *user;
	const char *service;
	const char *tty;
	const char *rhost;
	/* The command a sudo step-up is for (display form), or NULL: then
	 * every line carries command=, escaped and cut at
	 * SU_AUDIT_COMMAND_MAX characters. */
	const char *command;
} su_audit_who;

#define SU_AUDIT_COMMAND_MAX 256

/* Fill from the PAM items (strings stay owned by libpam); command NULL. */
void su_audit_who_from_pam(pam_handle_t *pamh, const char *user,
			   su_audit_who *who);

/* result: "success", "failure", "allow", "deny", "error". */
void su_audit(pam_handle_t *pamh, const su_audit_who *who, const char *method,
	      const char *result, const char *reason);
/* The same line with one more field, key=value (value escaped), at the end. */
void su_audit_extra(pam_handle_t *pamh, const su_audit_who *who, const char *method,
		    const char *result, const char *reason, const char *key,
		    const char *value);

/* The syslog priority of a result= value. */
int su_audit_priority(const char *result);

/* Room for a user name of SU_USER_MAX bytes that are all escaped. */
#define SU_AUDIT_VALUE_MAX (4 * 64 + 8)

/* Escape a value for a key=value log line into buf: printable ASCII without
 * spaces, '"', '\\' or '=' passes; anything else becomes \xHH; empty or NULL
 * becomes "-". Truncated values end in "...". */
const char *su_audit_escape(const char *value, char *buf, size_t size);

#endif
