#include <dlfcn.h>
#include <stdio.h>
#include "dynload.h"

void *su_dl_open(const char *const sonames[], const char **opened, char *why, size_t size)
{
	const char *err = NULL;
	size_t n = 0;

	for (; sonames[n] != NULL; n++) {
		void *handle = dlopen(sonames[n], RTLD_NOW | RTLD_LOCAL);

		if (handle != NULL) {
			*opened = sonames[n];
			return handle;
		}
		err = dlerror();
	}
	snprintf(why, size, "cannot load %s%s%s: %s", n > 0 ? sonames[0] : "?",
		 n > 1 ? " or " : "", n > 1 ? sonames[1] : "", err != NULL ? err : "unknown error");
	return NULL;
}

void *su_dl_symbol(void *handle, const char *soname, const char *name, char *why,
		   size_t size)
{
	void *sym;

	dlerror();
	sym = dlsym(handle, name);
	if (sym == NULL)
		snprintf(why, size, "%s has no %s", soname, name);
	return sym;
}

const void *su_dl_once(pthread_mutex_t *lock, const void **loaded,
		       const void *(*load)(char *why, size_t size), char *why, size_t size)
{
	const void *api;

	pthread_mutex_lock(lock);
	if (*loaded == NULL)
		*loaded = load(why, size);
	api = *loaded;
	pthread_mutex_unlock(lock);
	return api;
}
