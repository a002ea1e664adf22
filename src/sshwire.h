/* Reading and writing the SSH wire encoding (RFC 4251 section 5: byte,
 * uint32 big-endian, string = uint32 length + bytes) that the agent
 * protocol and OpenSSH key and signature blobs use. Header only: the agent
 * client (sshagent.c) and the key code (sshsk.c) share it.
 *
 * A reader never reads past its end: every get checks the bytes left
 * first, and a string longer than the caller's cap is refused before
 * anything is copied. Nothing is allocated; a string is a pointer into
 * the buffer read. */
#ifndef SU_SSHWIRE_H
#define SU_SSHWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct su_wire {
	const unsigned char *p;
	size_t left;
} su_wire;

static inline su_wire su_wire_of(const void *data, size_t len)
{
	su_wire w = {data, len};

	return w;
}

static inline bool su_wire_u8(su_wire *w, uint8_t *v)
{
	if (w->left < 1)
		return false;
	*v = w->p[0];
	w->p++;
	w->left--;
	return true;
}

static inline uint32_t su_wire_peek_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool su_wire_u32(su_wire *w, uint32_t *v)
{
	if (w->left < 4)
		return false;
	*v = su_wire_peek_u32(w->p);
	w->p += 4;
	w->left -= 4;
	return true;
}

/* A string of at most max bytes: *s points into the buffer. */
static inline bool su_wire_string(su_wire *w, size_t max, const unsigned char **s, size_t *len)
{
	uint32_t n;
	su_wire save = *w;

	if (!su_wire_u32(w, &n) || n > max || n > w->left) {
		*w = save;
		return false;
	}
	*s = w->p;
	*len = n;
	w->p += n;
	w->left -= n;
	return true;
}

/* A string that must equal the NUL-terminated text. */
static inline bool su_wire_string_is(su_wire *w, const char *text)
{
	const unsigned char *s;
	size_t len, want = strlen(text);
	su_wire save = *w;

	if (!su_wire_string(w, want, &s, &len) || len != want || memcmp(s, text, len) != 0) {
		*w = save;
		return false;
	}
	return true;
}

static inline void su_wire_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

#endif
