#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include "audit.h"

#define AUDIT_VALUE_MAX 64

const char *su_audit_escape(const char *value, char *buf, size_t size)
{
	size_t n = 0;

	if (value == NULL || *value == '\0')
		return "-";
	/* Values come from users (rhost, tty, user names): one token each, so
	 * a crafted value can never forge another key=value field. */
	for (; *value != '\0' && n + 5 < size; value++) {
		unsigned char c = (unsigned char)*value;
		if (c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	if (*value != '\0' && size >= 4)
		memcpy(buf + (n < size - 4 ? n : size - 4), "...", 4);
	else
		buf[n] = '\0';
	return buf;
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
}

static int priority_of(const char *result)
{
	if (strcmp(result, "success") == 0 || strcmp(result, "allow") == 0)
		return LOG_INFO;
	if (strcmp(result, "error") == 0)
		return LOG_ERR;
	return LOG_NOTICE;
}

void su_audit(pam_handle_t *pamh, const su_audit_who *who, const char *method,
	      const char *result, const char *reason)
{
	char user[AUDIT_VALUE_MAX], service[AUDIT_VALUE_MAX];
	char tty[AUDIT_VALUE_MAX], rhost[AUDIT_VALUE_MAX];

	pam_syslog(pamh, priority_of(result),
		   "user=%s service=%s tty=%s rhost=%s method=%s result=%s reason=%s",
		   su_audit_escape(who->user, user, sizeof(user)),
		   su_audit_escape(who->service, service, sizeof(service)),
		   su_audit_escape(who->tty, tty, sizeof(tty)),
		   su_audit_escape(who->rhost, rhost, sizeof(rhost)),
		   method ? method : "-", result, reason);
}
