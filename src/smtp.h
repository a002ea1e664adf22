/* Sending one message through libcurl's SMTP (docs/design.md, "Email").
 *
 * TLS is required (smtps://, or smtp:// with STARTTLS and CURLUSESSL_ALL)
 * unless the config says smtp_tls = none; the certificate and host name
 * are verified against smtp_ca_file or the system store; AUTH uses the
 * root-owned smtp_credentials file when it exists; smtp_timeout bounds the
 * connection and the whole transaction, so a dead or silent server costs
 * at most that long. */
#ifndef SU_SMTP_H
#define SU_SMTP_H

#include <stddef.h>
#include "config.h"
#include "log.h"

/* What went wrong, as a user can be told it (su_smtp_failure_text). */
enum su_smtp_status {
	SU_SMTP_SENT = 0,
	SU_SMTP_NOT_CONFIGURED, /* no smtp_url or smtp_from */
	SU_SMTP_LOCAL_ERROR,    /* credentials file refused, out of memory */
	SU_SMTP_UNREACHABLE,    /* name not resolved, connection refused */
	SU_SMTP_TIMEOUT,        /* connect or transaction past smtp_timeout */
	SU_SMTP_TLS_FAILED,     /* no STARTTLS offered, handshake failed */
	SU_SMTP_BAD_CERTIFICATE,/* chain or host name not verified */
	SU_SMTP_AUTH_FAILED,    /* server refused our credentials */
	SU_SMTP_RECIPIENT_REFUSED,
	SU_SMTP_REFUSED,        /* any other refusal by the server */
};

typedef struct su_smtp_result {
	enum su_smtp_status status;
	long code;         /* the server's last reply code, 0 if none */
	char reply[256];   /* the server's last reply line, printable ASCII */
	char detail[512];  /* for the log and stepupctl: libcurl's error and
			      what it means, one line, never a credential */
} su_smtp_result;

/* Send message (from su_mail_compose) from settings->smtp_from to one
 * recipient. Logs the outcome (LOG_INFO on success, LOG_ERR on failure:
 * server URL, recipient masked, detail, last reply). Returns 0 when the
 * server accepted the message, -1 otherwise; res says which. */
int su_smtp_send(const su_log *log, const su_settings *settings,
		 const char *to, const char *message, size_t len,
		 su_smtp_result *res);

/* What to tell a user: "the mail server could not be reached", ... */
const char *su_smtp_status_text(enum su_smtp_status status);

#endif
