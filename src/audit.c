#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include "audit.h"
#include "util.h"

#define AUDIT_VALUE_MAX SU_AUDIT_VALUE_MAX

/* Values come from users (rhost, tty, user names): one token each, so a
 * crafted value can never forge another key=value field: a blank, '"',
 * '\\' and '=' are written "\xHH" like every byte that is not printable.
 * A value that does not fit ends in "...", and no escape is cut in half. */
static const su_escape_style log_token = {
	.held = " \"\\=",
	.cut_marker = "...",
};

const char *su_audit_escape(const char *value, char *buf, size_t size)
{
	if (value == NULL || *value == '\0')
		return "-";
	if (size < 8)
		return "?";
	return su_escape(value, &log_token, size - 1, buf);
}

static const char *pam_item_string(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

void su_audit_who_from_pam(pam_handle_t *pamh, const char *user, su_audit_who *who)
{
	who->user = user;
	who->service = pam_item_string(pamh, PAM_SERVICE);
	who->tty = pam_item_string(pamh, PAM_TTY);
	who->rhost = pam_item_string(pamh, PAM_RHOST);
	who->command = NULL;
}

int su_audit_priority(const char *result)
{
	if (strcmp(result, "success") == 0 || strcmp(result, "allow") == 0)
		return LOG_INFO;
	if (strcmp(result, "error") == 0)
		return LOG_ERR;
	return LOG_NOTICE;
}

void su_audit_extra(pam_handle_t *pamh, const su_audit_who *who, const char *method,
		    const char *result, const char *reason, const char *key,
		    const char *value)
{
	char user[AUDIT_VALUE_MAX], service[AUDIT_VALUE_MAX];
	char tty[AUDIT_VALUE_MAX], rhost[AUDIT_VALUE_MAX], extra[AUDIT_VALUE_MAX];
	char command[SU_AUDIT_COMMAND_MAX + 1];

	pam_syslog(pamh, su_audit_priority(result),
		   "user=%s service=%s tty=%s rhost=%s method=%s result=%s reason=%s%s%s%s%s%s%s",
		   su_audit_escape(who->user, user, sizeof(user)),
		   su_audit_escape(who->service, service, sizeof(service)),
		   su_audit_escape(who->tty, tty, sizeof(tty)),
		   su_audit_escape(who->rhost, rhost, sizeof(rhost)),
		   method ? method : "-", result, reason,
		   key ? " " : "", key ? key : "", key ? "=" : "",
		   key ? su_audit_escape(value, extra, sizeof(extra)) : "",
		   who->command ? " command=" : "",
		   who->command ? su_audit_escape(who->command, command, sizeof(command)) : "");
}

void su_audit(pam_handle_t *pamh, const su_audit_who *who, const char *method,
	      const char *result, const char *reason)
{
	su_audit_extra(pamh, who, method, result, reason, NULL, NULL);
}
