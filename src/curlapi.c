#include <stdio.h>
#include <string.h>
#include "dynload.h"
#include "curlapi.h"

/* Each pointer's type must be the one curl.h and ssl.h declare. */
#define SAME_TYPE(field, fn)                                                        \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((su_curl_api *)0)->field), \
						    __typeof__(&fn)),                       \
		       #fn " does not match su_curl_api." #field)
SAME_TYPE(global_init, curl_global_init);
SAME_TYPE(easy_init, curl_easy_init);
SAME_TYPE(easy_perform, curl_easy_perform);
SAME_TYPE(easy_cleanup, curl_easy_cleanup);
SAME_TYPE(easy_strerror, curl_easy_strerror);
SAME_TYPE(slist_append, curl_slist_append);
SAME_TYPE(slist_free_all, curl_slist_free_all);
SAME_TYPE(ssl_ctx_set_keylog_callback, SSL_CTX_set_keylog_callback);
/* curl_easy_setopt and curl_easy_getinfo are macros under GCC (curl's type
 * checks); the functions behind them are variadic, as declared above. */

#define RESOLVE(field, name) SU_DL_RESOLVE(api, field, handle, soname, name, why, why_size)

static const void *load(char *why, size_t why_size)
{
	static const char *const sonames[] = {SU_LIBCURL_SONAME, NULL};
	static su_curl_api api;
	const char *soname = NULL;
	void *handle = su_dl_open(sonames, &soname, why, why_size);

	if (handle == NULL)
		return NULL;
	RESOLVE(global_init, "curl_global_init");
	RESOLVE(easy_init, "curl_easy_init");
	RESOLVE(easy_setopt, "curl_easy_setopt");
	RESOLVE(easy_perform, "curl_easy_perform");
	RESOLVE(easy_cleanup, "curl_easy_cleanup");
	RESOLVE(easy_getinfo, "curl_easy_getinfo");
	RESOLVE(easy_strerror, "curl_easy_strerror");
	RESOLVE(slist_append, "curl_slist_append");
	RESOLVE(slist_free_all, "curl_slist_free_all");
	/* Only an OpenSSL libcurl brings it; the key-log guard needs it. */
	RESOLVE(ssl_ctx_set_keylog_callback, "SSL_CTX_set_keylog_callback");
	return &api;
missing:
	api = (su_curl_api){0};
	return NULL; /* the handle stays: unloading libcurl is not safe */
}

/* Loaded once, under a lock (a threaded host may call PAM from two
 * threads); a failure is tried again at the next call. */
const su_curl_api *su_curl_api_load(char *why, size_t why_size)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static const void *loaded;

	return su_dl_once(&lock, &loaded, load, why, why_size);
}
