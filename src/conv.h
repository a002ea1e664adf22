/* The PAM conversation, in one place: information, errors, and a prompt
 * whose answer is a secret (echo off, wiped by the caller). */
#ifndef SU_CONV_H
#define SU_CONV_H

#include <security/pam_modules.h>

int su_conv_info(pam_handle_t *pamh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int su_conv_error(pam_handle_t *pamh, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* *answer is NULL or a string to free with su_free_string. */
int su_conv_ask_secret(pam_handle_t *pamh, const char *prompt, char **answer);

/* Strip the blanks and dashes people type ("123 456", "abcd-efgh"), upper-
 * case letters. Returns length, or -1 if out is too small or a character
 * other than [A-Za-z0-9], blank or '-' is present. */
int su_normalise_code(const char *in, char *out, size_t out_size);

#endif
