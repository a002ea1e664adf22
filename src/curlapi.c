#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
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

/* dlsym's object pointer into a function pointer field: memcpy, which ISO
 * C allows where a cast is not (POSIX guarantees the representation). */
#define RESOLVE(handle, field, name, why, size)                                  \
	do {                                                                     \
		void *sym_ = symbol((handle), (name), (why), (size));            \
		if (sym_ == NULL)                                                \
			goto missing;                                            \
		_Static_assert(sizeof(api.field) == sizeof(sym_), "pointer size"); \
		memcpy(&api.field, &sym_, sizeof(sym_));                          \
	} while (0)

static void *symbol(void *handle, const char *name, char *why, size_t size)
{
	void *sym;

	dlerror();
	sym = dlsym(handle, name);
	if (sym == NULL)
		snprintf(why, size, "%s has no %s", SU_LIBCURL_SONAME, name);
	return sym;
}

static const su_curl_api *load(char *why, size_t why_size);

/* Loaded once, under a lock (a threaded host may call PAM from two
 * threads); a failure is tried again at the next mail. */
const su_curl_api *su_curl_api_load(char *why, size_t why_size)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static const su_curl_api *loaded;
	const su_curl_api *api;

	pthread_mutex_lock(&lock);
	if (loaded == NULL)
		loaded = load(why, why_size);
	api = loaded;
	pthread_mutex_unlock(&lock);
	return api;
}

static const su_curl_api *load(char *why, size_t why_size)
{
	static su_curl_api api;
	void *handle;

	/* The dynamic loader's search, as for a linked library: under a
	 * setuid program (sudo, su) it ignores LD_LIBRARY_PATH. */
	handle = dlopen(SU_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		const char *err = dlerror();

		snprintf(why, why_size, "cannot load %s: %s", SU_LIBCURL_SONAME,
			 err != NULL ? err : "unknown error");
		return NULL;
	}
	RESOLVE(handle, global_init, "curl_global_init", why, why_size);
	RESOLVE(handle, easy_init, "curl_easy_init", why, why_size);
	RESOLVE(handle, easy_setopt, "curl_easy_setopt", why, why_size);
	RESOLVE(handle, easy_perform, "curl_easy_perform", why, why_size);
	RESOLVE(handle, easy_cleanup, "curl_easy_cleanup", why, why_size);
	RESOLVE(handle, easy_getinfo, "curl_easy_getinfo", why, why_size);
	RESOLVE(handle, easy_strerror, "curl_easy_strerror", why, why_size);
	RESOLVE(handle, slist_append, "curl_slist_append", why, why_size);
	RESOLVE(handle, slist_free_all, "curl_slist_free_all", why, why_size);
	/* Only an OpenSSL libcurl brings it; the key-log guard needs it. */
	RESOLVE(handle, ssl_ctx_set_keylog_callback, "SSL_CTX_set_keylog_callback", why,
		why_size);
	return &api;
missing:
	api = (su_curl_api){0};
	return NULL; /* the handle stays: unloading libcurl is not safe */
}
