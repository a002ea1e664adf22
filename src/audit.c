#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include "audit.h"

#define AUDIT_VALUE_MAX SU_AUDIT_VALUE_MAX

/* One character as it goes into the log: itself or "\xHH". */
static size_t escape_char(unsigned char c, char out[5])
{
	if (c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=') {
		out[0] = (char)c;
		out[1] = '\0';
		return 1;
	}
	snprintf(out, 5, "\\x%02x", c);
	return 4;
}

static size_t escaped_length(const char *value)
{
	char piece[5];
	size_t n = 0;

	for (; *value != '\0'; value++)
		n += escape_char((unsigned char)*value, piece);
	return n;
}

const char *su_audit_escape(const char *value, char *buf, size_t size)
{
	size_t room, n = 0;
	char piece[5];

	if (value == NULL || *value == '\0')
		return "-";
	if (size < 8)
		return "?";
	/* Values come from users (rhost, tty, user names): one token each, so
	 * a crafted value can never forge another key=value field. A value
	 * that does not fit ends in "...", and no escape is cut in half. */
	room = escaped_length(value) < size ? size - 1 : size - 4;
	for (; *value != '\0'; value++) {
		size_t len = escape_char((unsigned char)*value, piece);
		if (n + len > room)
			break;
		memcpy(buf + n, piece, len);
		n += len;
	}
	if (*value != '\0') {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
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
