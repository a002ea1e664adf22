#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

bool su_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	/* strtoull accepts blanks, signs and "0x"; a number here is digits. */
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool su_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	uint64_t v;

	if (!su_parse_u64(s, min, max, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

bool su_valid_username(const char *name)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strlen(name);
	if (len == 0 || len > SU_USER_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

bool su_has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

char *su_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

char *su_path_join(const char *dir, const char *name)
{
	size_t dlen = strlen(dir), nlen = strlen(name);
	char *p;

	while (dlen > 0 && dir[dlen - 1] == '/')
		dlen--; /* "/" becomes "", so "/" and "etc" give "/etc" */
	if (dlen + nlen + 2 > PATH_MAX)
		return NULL;
	p = malloc(dlen + nlen + 2);
	if (p == NULL)
		return NULL;
	memcpy(p, dir, dlen);
	p[dlen] = '/';
	memcpy(p + dlen + 1, name, nlen + 1);
	return p;
}

const char *su_local_time(time_t t, time_t now, char *buf, size_t size)
{
	struct tm when, today;

	if (localtime_r(&t, &when) == NULL || localtime_r(&now, &today) == NULL ||
	    strftime(buf, size, when.tm_yday == today.tm_yday && when.tm_year == today.tm_year ?
			     "%H:%M" : "%Y-%m-%d %H:%M", &when) == 0)
		snprintf(buf, size, "%lld (epoch)", (long long)t);
	return buf;
}

void su_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

bool su_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || size == 0)
		return false;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return false;
}
