/* The email method's mails: what a code's mail and a test mail say (every
 * value from a PAM item, the host or the user database made printable and
 * cut to FIELD_MAX), and handing them to smtp.c. The codes and the state
 * they live in are email.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "email.h"
#include "mail.h"
#include "secret.h"
#include "util.h"

#define FIELD_MAX 100 /* a PAM item or host name shown in a message */
#define COMMAND_SHOWN 300 /* a sudo command's display form (cut at 256 + "...") */
#define ORIGIN_MAX (2 * FIELD_MAX + 32)
#define REQUEST_MAX (3 * FIELD_MAX + ORIGIN_MAX + 64)
#define BODY_MAX 2048

/* A value from a PAM item, the host name or the user database, as it may
 * appear in a mail: printable ASCII, others as '?', cut at max characters
 * or what out holds (shown: FIELD_MAX). */
static void shown_at_most(const char *in, char *out, size_t size, size_t max)
{
	su_escape(in, &su_escape_printable, size - 1 < max ? size - 1 : max, out);
}

static void shown(const char *in, char *out, size_t size)
{
	shown_at_most(in, out, size, FIELD_MAX);
}

static void host_name(char *out, size_t size)
{
	char raw[256];

	if (gethostname(raw, sizeof(raw)) != 0)
		snprintf(raw, sizeof(raw), "this host");
	raw[sizeof(raw) - 1] = '\0';
	shown(raw, out, size);
}

/* Local time as "2026-11-23 12:00:00 UTC" (with_date) or "12:05:00 UTC". */
static void local_time(time_t t, bool with_date, char *out, size_t size)
{
	char raw[64];
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(raw, sizeof(raw), with_date ? "%Y-%m-%d %H:%M:%S %Z" : "%H:%M:%S %Z",
		     &tm) == 0)
		snprintf(raw, sizeof(raw), "@%lld", (long long)t);
	shown(raw, out, size);
}

static bool same_day(time_t a, time_t b)
{
	struct tm x, y;

	return localtime_r(&a, &x) != NULL && localtime_r(&b, &y) != NULL &&
	       x.tm_year == y.tm_year && x.tm_yday == y.tm_yday;
}

/* " (tty TTY, from RHOST)", " (tty TTY)", " (from RHOST)" or "". */
static void origin(const su_email_context *ctx, char *out, size_t size)
{
	char tty[FIELD_MAX + 1], rhost[FIELD_MAX + 1];

	shown(ctx->tty, tty, sizeof(tty));
	shown(ctx->rhost, rhost, sizeof(rhost));
	if (tty[0] != '\0' && rhost[0] != '\0')
		snprintf(out, size, " (tty %s, from %s)", tty, rhost);
	else if (tty[0] != '\0')
		snprintf(out, size, " (tty %s)", tty);
	else if (rhost[0] != '\0')
		snprintf(out, size, " (from %s)", rhost);
	else
		out[0] = '\0';
}

/* The request line: "It was requested for SERVICE on HOST by USER (...)". */
static void request_line(const su_email_context *ctx, const char *host, char *out,
			 size_t size)
{
	char service[FIELD_MAX + 1], user[FIELD_MAX + 1], from[ORIGIN_MAX];

	shown(ctx->service, service, sizeof(service));
	shown(ctx->user, user, sizeof(user));
	origin(ctx, from, sizeof(from));
	snprintf(out, size, "It was requested%s%s on %s%s%s%s", service[0] ? " for " : "",
		 service, host, user[0] ? " by " : "", user, from);
}

/* "\nFor the command (as RUNAS): COMMAND" or "": in the body only, never
 * a header; the command comes escaped (printable ASCII, cmdrule.h) and is
 * passed through shown() again all the same. */
static void command_line(const su_email_context *ctx, char *out, size_t size)
{
	char runas[FIELD_MAX + 1], command[COMMAND_SHOWN + 1];

	out[0] = '\0';
	if (ctx->command == NULL)
		return;
	shown(ctx->runas, runas, sizeof(runas));
	shown_at_most(ctx->command, command, sizeof(command), COMMAND_SHOWN);
	snprintf(out, size, "\nfor the command (run as %s):\n    %s", runas[0] ? runas : "?",
		 command);
}

static int code_body(const su_email_context *ctx, const char *host, const char *code,
		     time_t now, time_t expires, char *out, size_t size)
{
	char request[REQUEST_MAX], at[80], until[80], command[COMMAND_SHOWN + FIELD_MAX + 64];
	long long minutes = ((long long)expires - (long long)now + 59) / 60;
	int n;

	if (minutes < 1)
		minutes = 1;
	request_line(ctx, host, request, sizeof(request));
	command_line(ctx, command, sizeof(command));
	local_time(now, true, at, sizeof(at));
	local_time(expires, !same_day(now, expires), until, sizeof(until));
	n = snprintf(out, size,
		     "Your verification code is:\n"
		     "\n"
		     "    %s\n"
		     "\n"
		     "%s%s\n"
		     "at %s and expires at %s (in %lld minute%s).\n"
		     "\n"
		     "If this was not you, tell your administrator: someone may be using\n"
		     "your account.\n",
		     code, request, command, at, until, minutes, minutes == 1 ? "" : "s");
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Compose and send; a compose failure is SU_SMTP_LOCAL_ERROR (logged). */
static int compose_and_send(const su_log *log, const su_settings *settings,
			    const char *address, const char *subject,
			    const char *body, time_t now, su_smtp_result *res)
{
	su_mail mail = {.from = settings->smtp_from, .to = address, .subject = subject,
			.body = body, .date = now};
	char why[128], masked[SU_MAIL_ADDRESS_MAX + 4];
	const char *at;
	size_t len = 0;
	char *msg;
	int rc;

	/* Not configured: su_smtp_send says so (and logs it) before any I/O. */
	if (settings->smtp_url == NULL || settings->smtp_from == NULL)
		return su_smtp_send(log, settings, address, "", 0, res);
	at = strchr(settings->smtp_from, '@');
	mail.message_id_domain = at != NULL ? at + 1 : ""; /* "" is refused */
	msg = su_mail_compose(&mail, &len, why, sizeof(why));
	if (msg == NULL) {
		*res = (su_smtp_result){.status = SU_SMTP_LOCAL_ERROR};
		snprintf(res->detail, sizeof(res->detail), "cannot compose the message: %s", why);
		su_mail_mask(address, masked, sizeof(masked));
		return su_fail(log, "mail to %s not sent: %s", masked, res->detail);
	}
	rc = su_smtp_send(log, settings, address, msg, len, res);
	su_free_secret(msg, len); /* it carries the code */
	return rc;
}

static int local_error(const su_log *log, su_smtp_result *res, const char *what)
{
	*res = (su_smtp_result){.status = SU_SMTP_LOCAL_ERROR};
	snprintf(res->detail, sizeof(res->detail), "%s", what);
	return su_fail(log, "mail not sent: %s", what);
}

int su_email_send_code(const su_log *log, const su_settings *settings,
		       const char *address, const su_email_context *ctx,
		       const char *code, time_t now, time_t expires,
		       su_smtp_result *res)
{
	const su_email_context none = {0};
	char host[FIELD_MAX + 1], service[FIELD_MAX + 1], subject[2 * FIELD_MAX + 64];
	char body[BODY_MAX];
	int rc;

	if (ctx == NULL)
		ctx = &none;
	if (code == NULL || strlen(code) < SU_EMAIL_CODE_MIN || strlen(code) > SU_EMAIL_CODE_MAX ||
	    !su_email_code_shaped(code, (unsigned)strlen(code)))
		return local_error(log, res, "internal error: the code is not digits");
	host_name(host, sizeof(host));
	shown(ctx->service, service, sizeof(service));
	snprintf(subject, sizeof(subject), "Verification code%s%s on %s",
		 service[0] ? " for " : "", service, host);
	if (code_body(ctx, host, code, now, expires, body, sizeof(body)) != 0) {
		su_erase(body, sizeof(body));
		return local_error(log, res, "internal error: message body too long");
	}
	rc = compose_and_send(log, settings, address, subject, body, now, res);
	su_erase(body, sizeof(body));
	return rc;
}

int su_email_send_test(const su_log *log, const su_settings *settings,
		       const char *user, const char *address,
		       su_smtp_result *res)
{
	char host[FIELD_MAX + 1], who[FIELD_MAX + 1], at[80];
	char subject[FIELD_MAX + 64], body[BODY_MAX];
	time_t now = time(NULL);

	host_name(host, sizeof(host));
	shown(user, who, sizeof(who));
	local_time(now, true, at, sizeof(at));
	snprintf(subject, sizeof(subject), "pam_stepup test message from %s", host);
	snprintf(body, sizeof(body),
		 "This is a test message from pam_stepup on %s for the user %s,\n"
		 "sent at %s by 'stepupctl test-email'.\n"
		 "\n"
		 "It carries no code. If it reached you, this host can send you\n"
		 "verification codes by email.\n",
		 host, who[0] ? who : "(unknown)", at);
	return compose_and_send(log, settings, address, subject, body, now, res);
}
