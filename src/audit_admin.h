/* stepupctl's log lines: the format of audit.h from a program with no
 * PAM handle. In the admin library only: it calls openlog, which must
 * never run inside a host program (it would take over sshd's or sudo's
 * identity for every later line). */
#ifndef SU_AUDIT_ADMIN_H
#define SU_AUDIT_ADMIN_H

/* syslog (authpriv, ident "stepupctl") with the administrator who ran it.
 * For enrolments, removals, new recovery codes, unlocks and grace revokes:
 * action=ACTION user=USER by=ADMIN result=RESULT [key=value]. */
void su_audit_admin(const char *action, const char *user, const char *result,
		    const char *key, const char *value);

#endif
