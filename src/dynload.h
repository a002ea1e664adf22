/* The one way the module loads a library on first use rather than with
 * itself (libcurl for mail, libldap for a directory store): by soname,
 * with the dynamic loader's own search (under a setuid program it ignores
 * LD_LIBRARY_PATH), once per process under a lock, its symbols resolved
 * into a table whose types each caller checks against the library's
 * header. A library loaded is never unloaded: they keep global state. */
#ifndef SU_DYNLOAD_H
#define SU_DYNLOAD_H

#include <pthread.h>
#include <stddef.h>
#include <string.h>

/* The first of sonames (NULL-terminated) that loads, its name in *opened;
 * NULL with why set ("cannot load A or B: dlerror"). */
void *su_dl_open(const char *const sonames[], const char **opened, char *why, size_t size);

/* name in handle (or what it loaded); NULL with why set ("SONAME has no
 * NAME"). */
void *su_dl_symbol(void *handle, const char *soname, const char *name, char *why,
		   size_t size);

/* load() on the first call, and again after a failure; its table after. */
const void *su_dl_once(pthread_mutex_t *lock, const void **loaded,
		       const void *(*load)(char *why, size_t size), char *why, size_t size);

/* dlsym's object pointer into a function pointer field of api: memcpy,
 * which ISO C allows where a cast is not (POSIX guarantees the
 * representation). Jumps to the caller's label "missing" on failure. */
#define SU_DL_RESOLVE(api, field, handle, soname, name, why, size)                 \
	do {                                                                     \
		void *sym_ = su_dl_symbol((handle), (soname), (name), (why), (size)); \
		if (sym_ == NULL)                                                \
			goto missing;                                            \
		_Static_assert(sizeof((api).field) == sizeof(sym_), "pointer size"); \
		memcpy(&(api).field, &sym_, sizeof(sym_));                        \
	} while (0)

#endif
