/* Shared by the fuzz harnesses (header only). */
#ifndef SU_FUZZ_H
#define SU_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"

/* The library's own logger, writing to /dev/null: every message is still
 * formatted (so the sanitizers check each format string against its
 * arguments), and a run's stderr holds only what libFuzzer, ASan and UBSan
 * say. FUZZ_VERBOSE=1 sends the messages to stderr instead. debug on, so
 * that the debug messages are formatted as well. */
static su_log fuzz_log = {.pamh = NULL, .prog = "fuzz", .debug = true};

__attribute__((constructor)) static void fuzz_log_init(void)
{
	const char *v = getenv("FUZZ_VERBOSE");

	if (v == NULL || v[0] == '\0' || v[0] == '0')
		fuzz_log.out = fopen("/dev/null", "w");
}

/* A fixed time for everything that asks "now": 2026-01-01 00:00:00 UTC.
 * The seeds carry times around it. */
#define FUZZ_NOW ((time_t)1767225600)

/* A fixed host key: 32 bytes 0x00..0x1f. */
static inline void fuzz_hostkey(unsigned char key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (unsigned char)i;
}

/* data as a C string (stops at the first NUL, as a C API sees it). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An invariant of the code under test does not hold: a finding. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

#endif
