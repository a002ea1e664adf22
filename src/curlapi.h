/* libcurl, loaded when the first mail is sent rather than with the module.
 *
 * Linked, libcurl brings some thirty libraries (TLS, Kerberos, LDAP, SSH,
 * HTTP/2, IDN...) into every process that loads pam_stepup: 6 ms of dlopen
 * for each sudo, on the grace path too, for a feature most calls never
 * use. Loading it on first use keeps that cost on the email path alone.
 * The table's types are checked against curl.h at compile time. */
#ifndef SU_CURLAPI_H
#define SU_CURLAPI_H

#include <curl/curl.h>
#include <openssl/ssl.h>

/* The soname Debian's libcurl4 (OpenSSL flavour) has shipped since 2006. */
#define SU_LIBCURL_SONAME "libcurl.so.4"

typedef struct su_curl_api {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	void (*easy_cleanup)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
	void (*slist_free_all)(struct curl_slist *list);
	/* From the libssl libcurl itself uses (found through its handle). */
	void (*ssl_ctx_set_keylog_callback)(SSL_CTX *ctx, SSL_CTX_keylog_cb_func cb);
} su_curl_api;

/* The table, loaded on the first call and kept for the life of the process
 * (libcurl and OpenSSL keep global state; they are never unloaded). NULL
 * if libcurl cannot be loaded or lacks a function: why then says what, for
 * the log and for stepupctl test-email. */
const su_curl_api *su_curl_api_load(char *why, size_t why_size);

#endif
