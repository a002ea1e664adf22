/* Every secret (seed, code, key, conversation reply) is wiped through these
 * helpers on every path, and compared only in constant time. */
#ifndef SU_SECRET_H
#define SU_SECRET_H

#include <stdbool.h>
#include <stddef.h>

void su_erase(void *p, size_t n);
/* Wipe a NUL-terminated string and free it; accepts NULL. */
void su_free_string(char *s);
/* Wipe n bytes and free; accepts NULL. */
void su_free_secret(void *p, size_t n);
/* Constant-time equality of two buffers of the same public length. */
bool su_equal(const void *a, const void *b, size_t n);
/* Fill with cryptographically strong random bytes (OpenSSL); 0 or -1. */
int su_random(void *buf, size_t n);

#endif
