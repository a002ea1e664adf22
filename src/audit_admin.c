#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>
#include "audit.h"
#include "audit_admin.h"

/* Who ran stepupctl: the sudo caller if there is one (an administrator's
 * own name), else the real uid's name. */
static const char *admin_name(char *buf, size_t size)
{
	const char *sudo_user = getenv("SUDO_USER");
	struct passwd pw, *found = NULL;
	char pwbuf[1024];

	if (sudo_user != NULL && sudo_user[0] != '\0')
		return su_audit_escape(sudo_user, buf, size);
	if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) == 0 && found != NULL)
		return su_audit_escape(found->pw_name, buf, size);
	snprintf(buf, size, "uid%u", (unsigned)getuid());
	return buf;
}

void su_audit_admin(const char *action, const char *user, const char *result,
		    const char *key, const char *value)
{
	char who[SU_AUDIT_VALUE_MAX], by[SU_AUDIT_VALUE_MAX], extra[SU_AUDIT_VALUE_MAX];

	openlog("stepupctl", LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_AUTHPRIV | su_audit_priority(result),
	       "action=%s user=%s by=%s result=%s%s%s%s%s", action,
	       su_audit_escape(user, who, sizeof(who)), admin_name(by, sizeof(by)), result,
	       key ? " " : "", key ? key : "", key ? "=" : "",
	       key ? su_audit_escape(value, extra, sizeof(extra)) : "");
	closelog();
}
