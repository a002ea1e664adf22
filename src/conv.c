#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_ext.h>
#include "conv.h"

static int send_message(pam_handle_t *pamh, int style, const char *fmt, va_list ap)
{
	char text[512];
	char *resp = NULL;
	int rc;

	vsnprintf(text, sizeof(text), fmt, ap);
	rc = pam_prompt(pamh, style, &resp, "%s", text);
	free(resp); /* messages get no answer worth keeping */
	return rc;
}

int su_conv_info(pam_handle_t *pamh, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = send_message(pamh, PAM_TEXT_INFO, fmt, ap);
	va_end(ap);
	return rc;
}

int su_conv_error(pam_handle_t *pamh, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = send_message(pamh, PAM_ERROR_MSG, fmt, ap);
	va_end(ap);
	return rc;
}

int su_conv_ask_secret(pam_handle_t *pamh, const char *prompt, char **answer)
{
	*answer = NULL;
	return pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, answer, "%s", prompt);
}

int su_normalise_code(const char *in, char *out, size_t out_size)
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == ' ' || c == '\t' || c == '-')
			continue;
		if (!isalnum(c) || n + 1 >= out_size)
			return -1;
		out[n++] = (char)toupper(c);
	}
	out[n] = '\0';
	return (int)n;
}
