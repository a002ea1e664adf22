/* Wiping secrets (secret.h) without OpenSSL: explicit_bzero, which the
 * compiler may not drop. Apart from secret.c so that the config parser and
 * the files it reads through need no libcrypto (the sudo plugin). */
#include <stdlib.h>
#include <string.h>
#include "secret.h"

void su_erase(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void su_free_string(char *s)
{
	if (s == NULL)
		return;
	su_erase(s, strlen(s));
	free(s);
}

void su_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	su_erase(p, n);
	free(p);
}
