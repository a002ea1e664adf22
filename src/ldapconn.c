/* The connection to the directory: see ldapconn.h for what it promises. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ldapconn.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define URIS_MAX 4
#define PASSWORD_MAX 1024
/* Idle longer than this, the connection is made again before use. */
#define IDLE_MS 1000

struct su_ldap_conn {
	su_log log;
	const su_ldap_api *api;
	LDAP *ld;
	char *uri_list; /* the config's, cut into uris[] in place */
	char *uris[URIS_MAX];
	size_t n_uris;
	const char *server; /* the URI ld is connected to */
	char *ca_file, *cert, *key, *bind_dn, *password_file;
	long budget_ms, spent_ms;
	bool gave_up; /* every URI failed: the rest of the call fails at once */
	long last_used_ms; /* when the last operation ended */
	enum su_ldap_failure failed; /* the last failure, for su_ldap_conn_failure */
	int failed_rc;
};

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long left_ms(const su_ldap_conn *c)
{
	return c->budget_ms - c->spent_ms;
}

bool su_ldap_conn_time_left(const su_ldap_conn *c)
{
	return left_ms(c) > 0;
}

void su_ldap_conn_spend(su_ldap_conn *c, long ms)
{
	c->spent_ms += ms;
}

const su_ldap_api *su_ldap_conn_api(const su_ldap_conn *c)
{
	return c->api;
}

LDAP *su_ldap_conn_handle(const su_ldap_conn *c)
{
	return c->ld;
}

const char *su_ldap_conn_server(const su_ldap_conn *c)
{
	return c->server != NULL ? c->server : "";
}

enum su_ldap_failure su_ldap_conn_failure(const su_ldap_conn *c, int *result)
{
	*result = c->failed_rc;
	return c->failed;
}

/* Remember what failed: rc says whether the server was reached at all
 * (down, unreachable, timed out) or the TLS handshake failed; otherwise
 * it is the step's own failure. */
static void note_failure(su_ldap_conn *c, enum su_ldap_failure step, int rc)
{
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT)
		step = SU_LDAP_FAILED_CONNECT;
	else if (rc == LDAP_CONNECT_ERROR && step != SU_LDAP_FAILED_OPERATION)
		step = SU_LDAP_FAILED_TLS;
	c->failed = step;
	c->failed_rc = rc;
}

/* ---- SIGPIPE ----------------------------------------------------------------
 * liblber and GnuTLS write without MSG_NOSIGNAL: a server that closes the
 * connection mid-request would raise SIGPIPE in sudo. Held around each
 * operation; one raised meanwhile is taken off the queue before the mask
 * is put back (unless one was already pending: that one is the caller's). */
struct pipe_hold {
	sigset_t old;
	bool was_pending;
};

static void pipe_hold(struct pipe_hold *h)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &h->old);
	h->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void pipe_release(const struct pipe_hold *h)
{
	static const struct timespec now = {0, 0};
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (!h->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&pipe, NULL, &now) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &h->old, NULL);
}

/* ---- setting up ------------------------------------------------------------------ */

static int dup_setting(const char *from, char **to)
{
	*to = NULL;
	return from == NULL || (*to = strdup(from)) != NULL ? 0 : -1;
}

int su_ldap_conn_open(const su_log *log, const su_settings *settings, su_ldap_conn **out)
{
	su_ldap_conn *c = calloc(1, sizeof(*c));
	char why[256] = "";
	char *save = NULL;

	*out = NULL;
	if (c == NULL)
		return su_fail(log, "out of memory");
	c->log = *log;
	c->budget_ms = (long)settings->ldap_timeout * 1000;
	c->api = su_ldap_api_load(why, sizeof(why));
	if (c->api == NULL) {
		su_ldap_conn_close(c);
		return su_fail(log, "store = ldap: %s (install libldap-2.5-0)", why);
	}
	if (dup_setting(settings->ldap_uri, &c->uri_list) != 0 ||
	    dup_setting(settings->ldap_ca_file, &c->ca_file) != 0 ||
	    dup_setting(settings->ldap_cert, &c->cert) != 0 ||
	    dup_setting(settings->ldap_key, &c->key) != 0 ||
	    dup_setting(settings->ldap_bind_dn, &c->bind_dn) != 0 ||
	    dup_setting(settings->ldap_password_file, &c->password_file) != 0 ||
	    c->uri_list == NULL) {
		const char *why_not = settings->ldap_uri == NULL ? "store = ldap: no ldap_uri" :
								  "out of memory";

		su_ldap_conn_close(c);
		return su_fail(log, "%s", why_not);
	}
	for (char *u = strtok_r(c->uri_list, " ", &save); u != NULL && c->n_uris < URIS_MAX;
	     u = strtok_r(NULL, " ", &save))
		c->uris[c->n_uris++] = u;
	*out = c;
	return SU_OK;
}

static void drop_connection(su_ldap_conn *c)
{
	if (c->ld != NULL) {
		struct pipe_hold h;

		pipe_hold(&h);
		c->api->unbind_ext_s(c->ld, NULL, NULL);
		pipe_release(&h);
	}
	c->ld = NULL;
	c->server = NULL;
}

void su_ldap_conn_close(su_ldap_conn *c)
{
	if (c == NULL)
		return;
	if (c->api != NULL)
		drop_connection(c);
	free(c->uri_list);
	free(c->ca_file);
	free(c->cert);
	free(c->key);
	free(c->bind_dn);
	free(c->password_file);
	free(c);
}

/* What the directory said, with its diagnostic message if it gave one. */
static void log_ldap_error(su_ldap_conn *c, LDAP *ld, const char *server, const char *what,
			   int rc)
{
	char *diag = NULL;

	if (ld != NULL)
		c->api->get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	su_logf(&c->log, LOG_ERR, "directory %s: %s: %s%s%.200s", server, what,
		c->api->err2string(rc), diag != NULL && *diag != '\0' ? ": " : "",
		diag != NULL ? diag : "");
	if (diag != NULL)
		c->api->memfree(diag);
}

/* The timeouts of ld, from what is left of the budget. */
static int set_timeouts(su_ldap_conn *c, LDAP *ld)
{
	long ms = left_ms(c);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	unsigned int user_timeout = (unsigned int)ms;

	if (ms <= 0)
		return -1;
	if (c->api->set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    c->api->set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS)
		return -1;
	/* A peer that stops acknowledging: not every system has it. */
	c->api->set_option(ld, LDAP_OPT_TCP_USER_TIMEOUT, &user_timeout);
	return 0;
}

struct str_option {
	int option;
	const char *value; /* NULL clears what ldap.conf or LDAP* may have set */
};

/* Whom the connection trusts, set on ld whatever the defaults say; then a
 * TLS context of its own (NEWCTX, last: it is made from the options). */
static int set_trust(su_ldap_conn *c, LDAP *ld)
{
	const struct str_option strings[] = {
		{LDAP_OPT_X_TLS_CACERTFILE, c->ca_file},
		{LDAP_OPT_X_TLS_CACERTDIR, NULL},
		{LDAP_OPT_X_TLS_CERTFILE, c->cert},
		{LDAP_OPT_X_TLS_KEYFILE, c->key},
		{LDAP_OPT_X_TLS_CIPHER_SUITE, NULL},
		{LDAP_OPT_X_TLS_CRLFILE, NULL},
		{LDAP_OPT_X_TLS_PEERKEY_HASH, NULL},
		{LDAP_OPT_X_TLS_DHFILE, NULL},
		{LDAP_OPT_X_TLS_ECNAME, NULL},
	};
	const int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND,
		  hard = LDAP_OPT_X_TLS_HARD, tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
	/* LDAP_OPT_ON names a liblber symbol this file must not link: any
	 * pointer but NULL means on. */
	static const int on = 1;
	int rc = 0;

	rc |= c->api->set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	rc |= c->api->set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	rc |= c->api->set_option(ld, LDAP_OPT_RESTART, &on);
	rc |= c->api->set_option(ld, LDAP_OPT_X_SASL_NOCANON, &on);
	rc |= c->api->set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	rc |= c->api->set_option(ld, LDAP_OPT_X_TLS_REQUIRE_SAN, &hard);
	rc |= c->api->set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		rc |= c->api->set_option(ld, strings[i].option, strings[i].value);
	if (rc == 0 && c->ca_file != NULL)
		rc = c->api->set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	return rc == 0 ? 0 : -1;
}

/* The password of a simple bind, from its file (root, 0600), without the
 * line end an editor adds. */
static int read_password(su_ldap_conn *c, su_buf *pw)
{
	if (su_read_file(&c->log, c->password_file, SU_FILE_SECRET, PASSWORD_MAX, pw) != SU_OK)
		return su_fail(&c->log, "%s: cannot read the directory password", c->password_file);
	while (pw->len > 0 && (pw->data[pw->len - 1] == '\n' || pw->data[pw->len - 1] == '\r'))
		pw->data[--pw->len] = '\0';
	return SU_OK;
}

/* The files named for TLS pass the module's checks before libldap is
 * given their names: the key as a secret, the certificates as public. */
static int check_tls_files(su_ldap_conn *c)
{
	int rc = SU_OK;

	if (c->ca_file != NULL)
		rc = su_check_file(&c->log, c->ca_file, SU_FILE_PUBLIC, 1 << 20);
	if (rc == SU_OK && c->cert != NULL)
		rc = su_check_file(&c->log, c->cert, SU_FILE_PUBLIC, 1 << 20);
	if (rc == SU_OK && c->key != NULL)
		rc = su_check_file(&c->log, c->key, SU_FILE_SECRET, 1 << 20);
	if (rc == SU_NOTFOUND)
		su_logf(&c->log, LOG_ERR, "store = ldap: a file ldap_ca_file, ldap_cert or "
			"ldap_key names does not exist");
	return rc == SU_OK ? SU_OK : SU_ERR;
}

static int bind_host(su_ldap_conn *c, LDAP *ld, const char *uri)
{
	su_buf pw = {0};
	struct berval cred = {0, NULL};
	int rc;

	if (c->bind_dn != NULL) {
		if (read_password(c, &pw) != SU_OK) {
			note_failure(c, SU_LDAP_FAILED_FILES, LDAP_SUCCESS);
			return -1;
		}
		cred.bv_val = pw.data;
		cred.bv_len = pw.len;
		rc = c->api->sasl_bind_s(ld, c->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
					 NULL);
		su_buf_free(&pw);
	} else {
		/* The TLS client certificate, or over ldapi:// our uid. An
		 * empty (not absent) authorization identity: take the one the
		 * server derives, in one round trip (absent, Cyrus SASL on the
		 * server asks for it in a second). */
		char none[] = "";

		cred.bv_val = none;
		rc = c->api->sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL, NULL);
	}
	if (rc != LDAP_SUCCESS) {
		log_ldap_error(c, ld, uri, c->bind_dn != NULL ? "simple bind" : "SASL EXTERNAL bind",
			       rc);
		/* over ldaps:// the connection and the handshake happen here */
		note_failure(c, SU_LDAP_FAILED_BIND, rc);
		return -1;
	}
	return 0;
}

/* One URI: options, TLS, bind. 0 with c->ld set, or -1 (logged). */
static int connect_one(su_ldap_conn *c, const char *uri)
{
	/* ldaps:// is TLS from the start, ldapi:// a local socket; ldap://
	 * must upgrade before anything is said. */
	bool starttls = strncmp(uri, "ldap://", 7) == 0, local = strncmp(uri, "ldapi://", 8) == 0;
	LDAP *ld = NULL;
	long start = now_ms();
	int rc;

	/* TLS only with a context of our own: without ldap_ca_file libldap
	 * would use its process-wide one, which ldap.conf and LDAPTLS_*
	 * make. config_parse.c requires the file; this holds regardless. */
	if (!local && c->ca_file == NULL) {
		su_logf(&c->log, LOG_ERR, "directory %s: no ldap_ca_file: refusing TLS without it",
			uri);
		note_failure(c, SU_LDAP_FAILED_FILES, LDAP_SUCCESS);
		return -1;
	}
	if (c->api->initialize(&ld, uri) != LDAP_SUCCESS || ld == NULL) {
		su_logf(&c->log, LOG_ERR, "directory %s: not a URI libldap accepts", uri);
		note_failure(c, SU_LDAP_FAILED_CONNECT, LDAP_PARAM_ERROR);
		return -1;
	}
	if (set_trust(c, ld) != 0 || set_timeouts(c, ld) != 0) {
		su_logf(&c->log, LOG_ERR, "directory %s: cannot set the connection's TLS options "
			"(ldap_ca_file, ldap_cert, ldap_key readable?)", uri);
		note_failure(c, SU_LDAP_FAILED_FILES, LDAP_SUCCESS);
		c->api->unbind_ext_s(ld, NULL, NULL);
		return -1;
	}
	rc = starttls ? c->api->start_tls_s(ld, NULL, NULL) : LDAP_SUCCESS;
	if (rc != LDAP_SUCCESS) {
		log_ldap_error(c, ld, uri, "StartTLS", rc);
		/* Any refusal of StartTLS is about TLS, not about who we are. */
		note_failure(c, SU_LDAP_FAILED_TLS, rc);
	} else {
		/* Each step draws on what the one before left of the budget. */
		c->spent_ms += now_ms() - start;
		start = now_ms();
		rc = set_timeouts(c, ld) == 0 && bind_host(c, ld, uri) == 0 ? LDAP_SUCCESS :
									       LDAP_OTHER;
	}
	c->spent_ms += now_ms() - start;
	if (rc != LDAP_SUCCESS) {
		c->api->unbind_ext_s(ld, NULL, NULL);
		return -1;
	}
	c->ld = ld;
	c->server = uri;
	c->last_used_ms = now_ms();
	return 0;
}

/* The first URI that answers, within the budget; the first is the writer,
 * the others are tried only when it does not answer. */
static int ensure_connected(su_ldap_conn *c)
{
	struct pipe_hold h;
	size_t i;
	int rc = -1;

	if (c->ld != NULL)
		return 0;
	if (c->gave_up)
		return -1;
	if (check_tls_files(c) != SU_OK) {
		note_failure(c, SU_LDAP_FAILED_FILES, LDAP_SUCCESS);
		c->gave_up = true;
		return -1;
	}
	pipe_hold(&h);
	for (i = 0; i < c->n_uris && rc != 0 && left_ms(c) > 0; i++)
		rc = connect_one(c, c->uris[i]); /* it counts its own time */
	pipe_release(&h);
	if (rc != 0) {
		if (i == 0) /* the budget was spent before the first try */
			note_failure(c, SU_LDAP_FAILED_CONNECT, LDAP_TIMEOUT);
		c->gave_up = true;
		su_logf(&c->log, LOG_ERR, "directory: no server of ldap_uri answered within "
			"ldap_timeout (%ld s)", c->budget_ms / 1000);
	}
	return rc;
}

/* ---- operations ------------------------------------------------------------------ */

struct op {
	su_ldap_conn *c;
	struct pipe_hold hold;
	long start;
};

static int op_begin(su_ldap_conn *c, struct op *op)
{
	op->c = c;
	/* A connection left idle (the user reading their phone) may have
	 * been closed by the server, a restart, or a middlebox: a new one
	 * costs a handshake, a dead one every answer. */
	if (c->ld != NULL && now_ms() - c->last_used_ms > IDLE_MS)
		drop_connection(c);
	if (ensure_connected(c) != 0)
		return -1;
	if (set_timeouts(c, c->ld) != 0) {
		su_logf(&c->log, LOG_ERR, "directory %s: ldap_timeout (%ld s) spent", c->server,
			c->budget_ms / 1000);
		return -1;
	}
	pipe_hold(&op->hold);
	op->start = now_ms();
	return 0;
}

/* The connection is dropped after any failure that is not the
 * directory's answer: a lost or timed-out request leaves it unusable. */
static void op_end(struct op *op, int rc)
{
	op->c->last_used_ms = now_ms();
	op->c->spent_ms += op->c->last_used_ms - op->start;
	pipe_release(&op->hold);
	if (rc != LDAP_SUCCESS)
		note_failure(op->c, SU_LDAP_FAILED_OPERATION, rc);
	if (rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
	    rc == LDAP_LOCAL_ERROR || rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR) {
		drop_connection(op->c);
		op->c->gave_up = true;
	}
}

int su_ldap_search(su_ldap_conn *c, const char *base, int scope, const char *filter,
		   char **attrs, LDAPMessage **res)
{
	struct op op;
	int rc;

	*res = NULL;
	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL, NULL, NULL,
				  LDAP_NO_LIMIT, res);
	if (rc != LDAP_SUCCESS) {
		log_ldap_error(c, c->ld, c->server, base, rc);
		if (*res != NULL)
			c->api->msgfree(*res);
		*res = NULL;
	}
	op_end(&op, rc);
	return rc == LDAP_SUCCESS ? SU_OK : SU_ERR;
}

/* The cookie of the page-response control in res; empty if none. */
static int next_cookie(su_ldap_conn *c, LDAPMessage *res, struct berval *cookie)
{
	LDAPControl **ctrls = NULL, *page;
	ber_int_t count = 0;
	int err = LDAP_SUCCESS, rc;

	*cookie = (struct berval){0, NULL};
	rc = c->api->parse_result(c->ld, res, &err, NULL, NULL, NULL, &ctrls, 0);
	if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS)
		return -1;
	page = ctrls != NULL ? c->api->control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL) :
			       NULL;
	rc = page != NULL ? c->api->parse_pageresponse_control(c->ld, page, &count, cookie) :
			    LDAP_SUCCESS; /* no control: no more pages */
	if (ctrls != NULL)
		c->api->controls_free(ctrls);
	return rc == LDAP_SUCCESS ? 0 : -1;
}

int su_ldap_search_page(su_ldap_conn *c, const char *base, int scope, const char *filter,
			char **attrs, struct berval *cookie, LDAPMessage **res)
{
	LDAPControl *page = NULL, *controls[2] = {NULL, NULL};
	struct berval mine = *cookie;
	struct op op;
	int rc;

	*res = NULL;
	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->create_page_control(c->ld, SU_LDAP_PAGE_SIZE, &mine, 1, &page);
	controls[0] = page;
	if (rc == LDAP_SUCCESS)
		rc = c->api->search_ext_s(c->ld, base, scope, filter, attrs, 0, controls, NULL,
					  NULL, LDAP_NO_LIMIT, res);
	if (rc == LDAP_SUCCESS && next_cookie(c, *res, cookie) != 0)
		rc = LDAP_DECODING_ERROR;
	if (rc != LDAP_SUCCESS) {
		log_ldap_error(c, c->ld, c->server, base, rc);
		if (*res != NULL)
			c->api->msgfree(*res);
		*res = NULL;
	}
	if (page != NULL)
		c->api->control_free(page);
	if (mine.bv_val != NULL)
		c->api->memfree(mine.bv_val); /* the caller's old cookie: used up */
	if (rc != LDAP_SUCCESS)
		*cookie = (struct berval){0, NULL};
	op_end(&op, rc);
	return rc == LDAP_SUCCESS ? SU_OK : SU_ERR;
}

int su_ldap_modify(su_ldap_conn *c, const char *dn, LDAPMod **mods)
{
	struct op op;
	int rc;

	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->modify_ext_s(c->ld, dn, mods, NULL, NULL);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE && rc != LDAP_NO_SUCH_OBJECT)
		log_ldap_error(c, c->ld, c->server, dn, rc); /* before op_end drops ld */
	op_end(&op, rc);
	switch (rc) {
	case LDAP_SUCCESS: return SU_OK;
	case LDAP_NO_SUCH_ATTRIBUTE: return SU_CONFLICT;
	case LDAP_NO_SUCH_OBJECT: return SU_NOTFOUND;
	default: return SU_ERR;
	}
}

int su_ldap_add(su_ldap_conn *c, const char *dn, LDAPMod **mods)
{
	struct op op;
	int rc;

	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->add_ext_s(c->ld, dn, mods, NULL, NULL);
	if (rc != LDAP_SUCCESS && rc != LDAP_ALREADY_EXISTS)
		log_ldap_error(c, c->ld, c->server, dn, rc); /* before op_end drops ld */
	op_end(&op, rc);
	if (rc == LDAP_SUCCESS || rc == LDAP_ALREADY_EXISTS)
		return rc == LDAP_SUCCESS ? SU_OK : SU_EXISTS;
	return SU_ERR;
}

int su_ldap_delete(su_ldap_conn *c, const char *dn)
{
	struct op op;
	int rc;

	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->delete_ext_s(c->ld, dn, NULL, NULL);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
		log_ldap_error(c, c->ld, c->server, dn, rc); /* before op_end drops ld */
	op_end(&op, rc);
	if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT)
		return rc == LDAP_SUCCESS ? SU_OK : SU_NOTFOUND;
	return SU_ERR;
}

int su_ldap_whoami(su_ldap_conn *c, char **authzid)
{
	struct berval *who = NULL;
	struct op op;
	int rc;

	*authzid = NULL;
	if (op_begin(c, &op) != 0)
		return SU_ERR;
	rc = c->api->whoami_s(c->ld, &who, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		log_ldap_error(c, c->ld, c->server, "who am I", rc); /* before op_end */
	op_end(&op, rc);
	if (rc != LDAP_SUCCESS)
		return SU_ERR;
	*authzid = strndup(who != NULL && who->bv_val != NULL ? who->bv_val : "",
			   who != NULL ? who->bv_len : 0);
	if (who != NULL)
		c->api->ber_bvfree(who);
	return *authzid != NULL ? SU_OK : su_fail(&c->log, "out of memory");
}
