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

const su_escape_style su_escape_printable = { .replacement = '?' };

static bool escape_passes(unsigned char c, const su_escape_style *style)
{
	return c >= 0x20 && c < 0x7f && (style->held == NULL || strchr(style->held, c) == NULL);
}

/* One byte as style writes it, into piece (NUL-terminated); its length. */
static size_t escape_byte(unsigned char c, const su_escape_style *style, char piece[5])
{
	char one = escape_passes(c, style) ? (char)c : style->replacement;

	if (c == '\\' && style->backslash_doubled)
		return (size_t)snprintf(piece, 5, "\\\\");
	if (one != '\0') {
		piece[0] = one;
		piece[1] = '\0';
		return 1;
	}
	return (size_t)snprintf(piece, 5, "\\x%02x", c);
}

static size_t escaped_length(const unsigned char *in, const su_escape_style *style)
{
	char piece[5];
	size_t n = 0;

	for (; *in != '\0'; in++)
		n += escape_byte(*in, style, piece);
	return n;
}

/* What a cut text ends in: the style's marker, or nothing when the marker
 * itself would not fit within max. */
static const char *cut_marker(const su_escape_style *style, size_t max)
{
	const char *marker = style->cut_marker != NULL ? style->cut_marker : "";

	return style->marker_after_max || strlen(marker) <= max ? marker : "";
}

/* How many characters of escapes may come before the cut marker: max when
 * there is no marker to make room for, when it goes after max, or when all
 * of in fits (no marker then); else max less the marker. */
static size_t escape_room(const unsigned char *in, const su_escape_style *style, size_t max)
{
	size_t marker = strlen(cut_marker(style, max));

	if (marker == 0 || style->marker_after_max || escaped_length(in, style) <= max)
		return max;
	return max - marker;
}

const char *su_escape(const char *in, const su_escape_style *style, size_t max, char *out)
{
	const unsigned char *c = (const unsigned char *)(in != NULL ? in : "");
	size_t room = escape_room(c, style, max), n = 0;

	for (; *c != '\0'; c++) {
		char piece[5];
		size_t len = escape_byte(*c, style, piece);

		if (n + len > room)
			break;
		memcpy(out + n, piece, len);
		n += len;
	}
	if (*c != '\0') { /* cut */
		const char *marker = cut_marker(style, max);

		memcpy(out + n, marker, strlen(marker));
		n += strlen(marker);
	}
	out[n] = '\0';
	return out;
}
