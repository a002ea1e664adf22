/* One message through libcurl's SMTP.
 *
 * We are a module inside someone else's process (sshd, sudo, login), so:
 *  - CURLOPT_NOSIGNAL: libcurl installs no SIGALRM handler and raises no
 *    signal; timeouts are its own (the threaded resolver needs no alarm).
 *  - curl_global_init is called before each use (after the first it only
 *    counts), and curl_global_cleanup never: it "is not thread safe. You
 *    must not call it when any other thread in the program ... is
 *    running", and it tears down state of libraries (OpenSSL) the host
 *    program may be using itself (curl_global_cleanup(3)). The few bytes
 *    of global state live until the process ends.
 *  - The environment is the invoking user's under sudo and su, and
 *    libcurl reads it with plain getenv, not secure_getenv: a proxy from
 *    ALL_PROXY/smtp_proxy would route the mail through the user's host
 *    (CURLOPT_PROXY "" turns every proxy off, environment included), and
 *    SSLKEYLOGFILE would make root write the TLS session keys, with which
 *    the code and the SMTP password could be decrypted, to a file the user
 *    names. libcurl reads it once, when it initialises TLS, so it is
 *    hidden around curl_global_init (init_curl).
 *  - AUTH is PLAIN or LOGIN only, inside TLS: no mechanism (GSSAPI, NTLM)
 *    that would reach for Kerberos caches or other per-user files.
 *  - The debug callback reads only what the server sends (HEADER_IN).
 *    What we send carries the AUTH exchange (HEADER_OUT) and the code
 *    (DATA_OUT); neither is ever looked at, let alone logged.
 *
 * libcurl facts this file relies on (curl lib/smtp.c):
 *  - a refused RCPT TO ends the transfer with CURLE_SEND_ERROR and the
 *    error text "RCPT failed: CODE"; a refused MAIL FROM or DATA also
 *    gives CURLE_SEND_ERROR ("MAIL failed", "DATA failed"), so the error
 *    text, not the code, tells a refused recipient apart;
 *  - no STARTTLS in the EHLO reply with CURLUSESSL_ALL gives
 *    CURLE_USE_SSL_FAILED ("STARTTLS not supported."), a refused STARTTLS
 *    the same ("STARTTLS denied");
 *  - a refused login gives CURLE_LOGIN_DENIED; a server that offers no
 *    AUTH at all is not asked to authenticate. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "curlapi.h"
#include "mail.h"
#include "safefile.h"
#include "secret.h"
#include "smtp.h"

#define CREDENTIALS_MAX 4096
#define URL_LOG_MAX 256
#define DEFAULT_TIMEOUT 10

/* libcurl's functions, loaded on the first send (curlapi.h says why). */
static const su_curl_api *lib;

/* What libcurl's read callback uploads. */
struct upload {
	const char *data;
	size_t len, off;
};

#define REPLY_MAX sizeof(((su_smtp_result *)0)->reply)
/* Complete reply lines kept: after a refusal libcurl still sends QUIT,
 * and "221 Bye" is not the line a sysadmin needs. */
#define REPLIES_KEPT 4

/* The server's replies, line by line, as printable ASCII. */
struct replies {
	char line[REPLY_MAX]; /* being received */
	size_t len;
	char last[REPLIES_KEPT][REPLY_MAX]; /* complete ones, a ring */
	unsigned count;
};

static void set_detail(su_smtp_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_detail(su_smtp_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

static size_t read_upload(char *buf, size_t size, size_t nitems, void *userp)
{
	struct upload *up = userp;
	size_t room = size * nitems, n = up->len - up->off;

	if (n > room)
		n = room;
	memcpy(buf, up->data + up->off, n);
	up->off += n;
	return n;
}

static void reply_byte(struct replies *r, char c)
{
	if (c == '\n') {
		char *slot = r->last[r->count++ % REPLIES_KEPT];
		memcpy(slot, r->line, r->len);
		slot[r->len] = '\0';
		r->len = 0;
		return;
	}
	if (c == '\r')
		return;
	if (r->len < sizeof(r->line) - 1)
		r->line[r->len++] = (c >= ' ' && c <= '~') ? c : '?';
}

static int on_debug(CURL *handle, curl_infotype type, char *data, size_t size,
		    void *userp)
{
	(void)handle;
	/* Server replies only: see the top of this file. */
	if (type != CURLINFO_HEADER_IN)
		return 0;
	for (size_t i = 0; i < size; i++)
		reply_byte(userp, data[i]);
	return 0;
}

/* The newest kept reply line with the code libcurl last acted on (the
 * refusal, not the QUIT after it), else the newest line. */
static const char *reply_for(const struct replies *r, long code)
{
	char prefix[8];

	if (r->count == 0)
		return "";
	snprintf(prefix, sizeof(prefix), "%03ld", code);
	for (unsigned i = 0; i < REPLIES_KEPT && i < r->count; i++) {
		const char *line = r->last[(r->count - 1 - i) % REPLIES_KEPT];
		if (code > 0 && strncmp(line, prefix, 3) == 0)
			return line;
	}
	return r->last[(r->count - 1) % REPLIES_KEPT];
}

/* The URL without any "user:password@" in it, for the log. */
static void url_for_log(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://"), *at, *end;

	if (host == NULL) {
		snprintf(out, size, "%s", url);
		return;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	at = NULL;
	for (const char *p = host; p < end; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' */
	if (at == NULL)
		snprintf(out, size, "%s", url);
	else
		snprintf(out, size, "%.*s%s", (int)(host - url), url, at + 1);
}

/* --- credentials --------------------------------------------------------------- */

typedef struct login {
	su_buf file; /* holds both strings; wiped by su_buf_free */
	const char *user;
	const char *password;
} login;

/* "username:password" on one line, a trailing newline allowed. The file is
 * named in every refusal; its content never is. */
static int parse_login(const char *path, login *l, su_smtp_result *res)
{
	char *text = l->file.data, *colon;
	size_t len = l->file.len;

	if (memchr(text, '\0', len) != NULL) {
		set_detail(res, "%s: contains a NUL byte (expected username:password)", path);
		return -1;
	}
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (strchr(text, '\n') != NULL) {
		set_detail(res, "%s:2: more than one line (expected username:password on one line)",
			   path);
		return -1;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\r') {
			set_detail(res, "%s:1: ends with CR LF; save it with a plain newline",
				   path);
			return -1;
		}
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			set_detail(res, "%s:1: contains a control character", path);
			return -1;
		}
	}
	colon = strchr(text, ':');
	if (colon == NULL || colon == text) {
		set_detail(res, "%s:1: %s (expected username:password)", path,
			   colon == NULL ? "no ':'" : "empty user name");
		return -1;
	}
	*colon = '\0';
	l->user = text;
	l->password = colon + 1;
	return 0;
}

/* 0 with l->user set, 0 with l->user NULL (no file: no AUTH), or -1. */
static int load_login(const su_log *log, const char *path, login *l,
		      su_smtp_result *res)
{
	int rc;

	if (path == NULL)
		return 0;
	rc = su_read_file(log, path, SU_FILE_SECRET, CREDENTIALS_MAX, &l->file);
	if (rc == SU_NOTFOUND)
		return 0;
	if (rc != SU_OK) {
		set_detail(res, "cannot use smtp_credentials %s (see the message before)", path);
		return -1;
	}
	if (parse_login(path, l, res) != 0) {
		su_buf_free(&l->file);
		return -1;
	}
	return 0;
}

static void login_free(login *l)
{
	su_buf_free(&l->file);
	l->user = l->password = NULL;
}

/* --- the transfer ------------------------------------------------------------- */

typedef struct session {
	CURL *curl;
	struct curl_slist *rcpt;
	char from[SU_MAIL_ADDRESS_MAX + 3]; /* <address> */
	char errbuf[CURL_ERROR_SIZE];
	struct upload upload;
	struct replies replies;
} session;

#define SETOPT(rc, c, opt, val)                                  \
	do {                                                     \
		if ((rc) == CURLE_OK)                            \
			(rc) = lib->easy_setopt((c), (opt), (val)); \
	} while (0)

/* libcurl installs its key-log callback when SSLKEYLOGFILE was set at its
 * initialisation, which another module in this process may have done
 * before us; this runs after libcurl's own set-up of the context and
 * takes the callback out again, whoever initialised libcurl. */
static CURLcode no_key_log(CURL *curl, void *ssl_ctx, void *userp)
{
	(void)curl;
	(void)userp;
	lib->ssl_ctx_set_keylog_callback((SSL_CTX *)ssl_ctx, NULL);
	return CURLE_OK;
}

static CURLcode set_transport(session *s, const su_settings *st)
{
	long timeout = st->smtp_timeout > 0 ? (long)st->smtp_timeout : DEFAULT_TIMEOUT;
	CURLcode rc = CURLE_OK;

	SETOPT(rc, s->curl, CURLOPT_URL, st->smtp_url);
	SETOPT(rc, s->curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	SETOPT(rc, s->curl, CURLOPT_PROXY, ""); /* none, whatever the environment */
	SETOPT(rc, s->curl, CURLOPT_NOSIGNAL, 1L);
	SETOPT(rc, s->curl, CURLOPT_CONNECTTIMEOUT, timeout);
	SETOPT(rc, s->curl, CURLOPT_TIMEOUT, timeout);
	/* CURLOPT_TIMEOUT does not cover the QUIT that curl_easy_cleanup
	 * sends and waits for (120 s by default), nor a resolver thread that
	 * is still waiting for a silent name server when the transfer ends:
	 * without these a dead server or network could hold sudo for minutes. */
	SETOPT(rc, s->curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
	SETOPT(rc, s->curl, CURLOPT_QUICK_EXIT, 1L);
	/* smtps:// is TLS from the start whatever this says. */
	SETOPT(rc, s->curl, CURLOPT_USE_SSL,
	       st->smtp_tls == SU_SMTP_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	SETOPT(rc, s->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(rc, s->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(rc, s->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(rc, s->curl, CURLOPT_SSL_CTX_FUNCTION, no_key_log);
	if (st->smtp_ca_file != NULL)
		SETOPT(rc, s->curl, CURLOPT_CAINFO, st->smtp_ca_file);
	SETOPT(rc, s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
	SETOPT(rc, s->curl, CURLOPT_VERBOSE, 1L);
	SETOPT(rc, s->curl, CURLOPT_DEBUGFUNCTION, on_debug);
	SETOPT(rc, s->curl, CURLOPT_DEBUGDATA, &s->replies);
	return rc;
}

static CURLcode set_envelope(session *s, const su_settings *st, const char *to,
			     const char *message, size_t len)
{
	char rcpt[SU_MAIL_ADDRESS_MAX + 3];
	CURLcode rc = CURLE_OK;

	snprintf(s->from, sizeof(s->from), "<%s>", st->smtp_from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", to);
	s->rcpt = lib->slist_append(NULL, rcpt);
	if (s->rcpt == NULL)
		return CURLE_OUT_OF_MEMORY;
	s->upload = (struct upload){message, len, 0};
	SETOPT(rc, s->curl, CURLOPT_MAIL_FROM, s->from);
	SETOPT(rc, s->curl, CURLOPT_MAIL_RCPT, s->rcpt);
	SETOPT(rc, s->curl, CURLOPT_UPLOAD, 1L);
	SETOPT(rc, s->curl, CURLOPT_READFUNCTION, read_upload);
	SETOPT(rc, s->curl, CURLOPT_READDATA, &s->upload);
	SETOPT(rc, s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	return rc;
}

/* libcurl copies both strings (it does not wipe its copies when it frees
 * them: nothing we can do); ours are wiped right after. */
static CURLcode set_login(session *s, const login *l)
{
	CURLcode rc = CURLE_OK;

	if (l->user == NULL)
		return CURLE_OK;
	SETOPT(rc, s->curl, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN;AUTH=LOGIN");
	SETOPT(rc, s->curl, CURLOPT_USERNAME, l->user);
	SETOPT(rc, s->curl, CURLOPT_PASSWORD, l->password);
	return rc;
}

/* --- what happened ------------------------------------------------------------- */

static enum su_smtp_status status_of(CURLcode rc, long code, const char *err)
{
	switch (rc) {
	case CURLE_OK:
		return SU_SMTP_SENT;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return SU_SMTP_LOCAL_ERROR;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return SU_SMTP_UNREACHABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return SU_SMTP_TIMEOUT;
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
		return SU_SMTP_TLS_FAILED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return SU_SMTP_BAD_CERTIFICATE;
	case CURLE_LOGIN_DENIED:
		return SU_SMTP_AUTH_FAILED;
	case CURLE_SEND_ERROR:
		if (strncmp(err, "RCPT failed", 11) == 0)
			return SU_SMTP_RECIPIENT_REFUSED;
		break;
	default:
		break;
	}
	return code == 535 ? SU_SMTP_AUTH_FAILED : SU_SMTP_REFUSED;
}

/* What went wrong and what to look at, without libcurl's words. */
static void explain(enum su_smtp_status status, CURLcode rc, const su_settings *st,
		    char *out, size_t size)
{
	const char *ca = st->smtp_ca_file ? st->smtp_ca_file : "the system CA store";
	bool smtps = strncmp(st->smtp_url, "smtps:", 6) == 0;

	switch (status) {
	case SU_SMTP_UNREACHABLE:
		snprintf(out, size, "cannot %s the mail server; check smtp_url",
			 rc == CURLE_COULDNT_CONNECT ? "connect to" : "resolve the name of");
		break;
	case SU_SMTP_TIMEOUT:
		snprintf(out, size, "no answer within smtp_timeout (%u s): server down, port "
			 "filtered, or smtp:// used on an smtps port", st->smtp_timeout);
		break;
	case SU_SMTP_TLS_FAILED:
		if (rc == CURLE_USE_SSL_FAILED)
			snprintf(out, size, "TLS required but the server does not offer STARTTLS "
				 "(use smtps://, or smtp_tls = none for a loopback relay)");
		else
			snprintf(out, size, "TLS handshake failed%s",
				 smtps ? "; smtps:// needs a port that speaks TLS at once (465), "
					 "a plain SMTP port (25, 587) needs smtp://" : "");
		break;
	case SU_SMTP_BAD_CERTIFICATE:
		if (rc == CURLE_SSL_CACERT_BADFILE)
			snprintf(out, size, "cannot load %s (smtp_ca_file)", ca);
		else
			snprintf(out, size, "the server's certificate or name was not "
				 "verified against %s", ca);
		break;
	case SU_SMTP_AUTH_FAILED:
		snprintf(out, size, "the server refused the login in %s",
			 st->smtp_credentials ? st->smtp_credentials : "smtp_credentials");
		break;
	case SU_SMTP_RECIPIENT_REFUSED:
		snprintf(out, size, "the server refused the recipient");
		break;
	case SU_SMTP_LOCAL_ERROR:
		snprintf(out, size, "libcurl could not set up the transfer; check smtp_url");
		break;
	default:
		snprintf(out, size, "the server refused the message");
		break;
	}
}

/* One line a sysadmin can act on: what failed, what to look at, and
 * libcurl's own error. */
static void describe(su_smtp_result *res, CURLcode rc, const char *err,
		     const su_settings *st)
{
	char what[sizeof(res->detail)];

	if (res->status == SU_SMTP_SENT) {
		set_detail(res, "accepted by the server");
		return;
	}
	explain(res->status, rc, st, what, sizeof(what));
	set_detail(res, "%s (libcurl error %d: %s)", what, (int)rc, err);
}

static void finish(session *s, CURLcode rc, const su_settings *st, su_smtp_result *res)
{
	const char *err = s->errbuf[0] != '\0' ? s->errbuf : lib->easy_strerror(rc);
	long code = 0;

	if (s->curl != NULL &&
	    lib->easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
		res->code = code;
	snprintf(res->reply, sizeof(res->reply), "%s", reply_for(&s->replies, res->code));
	res->status = status_of(rc, res->code, err);
	describe(res, rc, err, st);
}

static int report(const su_log *log, const su_settings *st, const char *to,
		  const su_smtp_result *res)
{
	char url[URL_LOG_MAX], masked[SU_MAIL_ADDRESS_MAX + 4];

	url_for_log(st->smtp_url ? st->smtp_url : "(no smtp_url)", url, sizeof(url));
	su_mail_mask(to, masked, sizeof(masked));
	if (res->status == SU_SMTP_SENT) {
		su_logf(log, LOG_INFO, "mail to %s sent via %s (server: %s)", masked, url,
			res->reply[0] ? res->reply : "no reply line");
		return 0;
	}
	su_logf(log, LOG_ERR, "mail to %s via %s failed: %s%s%s", masked, url, res->detail,
		res->reply[0] ? "; last reply: " : "", res->reply);
	return -1;
}

/* True if the URL's host is this machine: 127.0.0.0/8, [::1], localhost.
 * The config has already refused a login in the URL. */
static bool loopback_url(const char *url)
{
	const char *host = strstr(url, "://");
	size_t len;

	if (host == NULL)
		return false;
	host += 3;
	if (strncmp(host, "[::1]", 5) == 0)
		return host[5] == '\0' || host[5] == ':' || host[5] == '/';
	len = strcspn(host, ":/?#");
	return (len == 9 && strncasecmp(host, "localhost", 9) == 0) ||
	       (len >= 9 && strncmp(host, "127.", 4) == 0 &&
		strspn(host, "0123456789.") >= len);
}

static bool configured(const su_settings *st, su_smtp_result *res)
{
	if (st->smtp_url == NULL || st->smtp_from == NULL) {
		res->status = SU_SMTP_NOT_CONFIGURED;
		set_detail(res, "%s not set in the [global] section of stepup.conf",
			   st->smtp_url == NULL ? "smtp_url is" : "smtp_from is");
		return false;
	}
	/* Plain text is for a relay on this machine only: anywhere else the
	 * code (and any AUTH) would cross the network readable. */
	if (st->smtp_tls == SU_SMTP_TLS_NONE && !loopback_url(st->smtp_url)) {
		res->status = SU_SMTP_TLS_FAILED;
		set_detail(res, "smtp_tls = none is allowed only for a relay on this "
			   "machine (127.0.0.1, [::1] or localhost in smtp_url)");
		return false;
	}
	return true;
}

static bool addresses_ok(const su_settings *st, const char *to, su_smtp_result *res)
{
	char why[128];

	if (!su_mail_address_ok(st->smtp_from, why, sizeof(why))) {
		set_detail(res, "smtp_from refused: %s", why);
		return false;
	}
	if (!su_mail_address_ok(to, why, sizeof(why))) {
		set_detail(res, "recipient address refused: %s", why);
		return false;
	}
	return true;
}

/* curl_global_init with SSLKEYLOGFILE and CURL_SSL_BACKEND out of the
 * environment, then put back as they were: the host's environment is not
 * ours to change. Not thread safe, like curl_global_init itself; PAM
 * conversations are not run concurrently in one process. */
static CURLcode init_curl(void)
{
	/* SSLKEYLOGFILE: see the top of this file. CURL_SSL_BACKEND: on a
	 * libcurl built with several TLS libraries the user would pick the
	 * one, and no_key_log would then treat another library's context as
	 * OpenSSL's. */
	static const char *const names[] = { "SSLKEYLOGFILE", "CURL_SSL_BACKEND" };
	char *saved[2] = { NULL, NULL };
	CURLcode rc = CURLE_FAILED_INIT;
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *value = getenv(names[i]);

		if (value == NULL)
			continue;
		saved[i] = strdup(value);
		if (saved[i] == NULL || unsetenv(names[i]) != 0)
			goto out; /* never initialise with it set */
	}
	rc = lib->global_init(CURL_GLOBAL_DEFAULT);
out:
	for (i = 0; i < 2; i++) {
		if (saved[i] != NULL) {
			setenv(names[i], saved[i], 1);
			free(saved[i]);
		}
	}
	return rc;
}

static CURLcode perform(session *s, const su_settings *st, login *l,
			const char *to, const char *message, size_t len)
{
	CURLcode rc;

	if (init_curl() != CURLE_OK || (s->curl = lib->easy_init()) == NULL) {
		login_free(l);
		return CURLE_FAILED_INIT;
	}
	rc = set_transport(s, st);
	if (rc == CURLE_OK)
		rc = set_envelope(s, st, to, message, len);
	if (rc == CURLE_OK)
		rc = set_login(s, l);
	login_free(l); /* libcurl has its own copies now */
	if (rc == CURLE_OK)
		rc = lib->easy_perform(s->curl);
	return rc;
}

int su_smtp_send(const su_log *log, const su_settings *settings,
		 const char *to, const char *message, size_t len,
		 su_smtp_result *res)
{
	session s = {0};
	login l = {0};
	CURLcode rc;

	*res = (su_smtp_result){.status = SU_SMTP_LOCAL_ERROR};
	if (!configured(settings, res) || !addresses_ok(settings, to, res) ||
	    load_login(log, settings->smtp_credentials, &l, res) != 0)
		return report(log, settings, to, res);
	lib = su_curl_api_load(res->detail, sizeof(res->detail));
	if (lib == NULL) {
		login_free(&l);
		return report(log, settings, to, res);
	}
	rc = perform(&s, settings, &l, to, message, len); /* frees l */
	finish(&s, rc, settings, res);
	lib->slist_free_all(s.rcpt);
	if (s.curl != NULL)
		lib->easy_cleanup(s.curl);
	return report(log, settings, to, res);
}

const char *su_smtp_status_text(enum su_smtp_status status)
{
	switch (status) {
	case SU_SMTP_SENT:
		return "the message was sent";
	case SU_SMTP_NOT_CONFIGURED:
		return "email is not set up on this host";
	case SU_SMTP_UNREACHABLE:
		return "the mail server could not be reached";
	case SU_SMTP_TIMEOUT:
		return "the mail server did not answer in time";
	case SU_SMTP_TLS_FAILED:
		return "a secure connection to the mail server could not be made";
	case SU_SMTP_BAD_CERTIFICATE:
		return "the mail server's certificate could not be verified";
	case SU_SMTP_AUTH_FAILED:
		return "the mail server refused our login";
	case SU_SMTP_RECIPIENT_REFUSED:
		return "the mail server refused the address";
	case SU_SMTP_REFUSED:
		return "the mail server refused the message";
	case SU_SMTP_LOCAL_ERROR:
	default:
		return "an internal error occurred";
	}
}
