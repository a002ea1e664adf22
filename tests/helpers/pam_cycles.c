/* pam_cycles: whole PAM transactions, one after another, in one process,
 * as a daemon that starts a handle per client makes them. libpam loads
 * the module at each pam_start and unloads it at each pam_end, so whatever
 * the module keeps past its unload is lost once per cycle; the growth of
 * the resident set tells.
 *
 *   pam_cycles CONFDIR SERVICE USER WARMUP CYCLES [ANSWER]
 *
 * Each cycle is pam_start_confdir, pam_authenticate, pam_end. The first
 * cycle may be asked (ANSWER is the answer: it earns grace); every later
 * one must pass without a prompt (the grace path). VmRSS is read after
 * WARMUP cycles (allocator and library caches settled) and after CYCLES;
 * prints "warm_kb=A end_kb=B growth_kb=B-A" and exits 0, or names the
 * cycle that failed and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <security/pam_appl.h>
#include "answers.h"

/* The resident set in KiB, or -1. */
static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* One transaction; its pam_authenticate result, prompts counted in a. */
static int cycle(const char *confdir, const char *service, const char *user,
		 struct answers *a)
{
	struct pam_conv conv = { converse, a };
	pam_handle_t *pamh = NULL;
	int rc = pam_start_confdir(service, user, &conv, confdir, &pamh);

	a->prompts = 0;
	a->next = 0; /* the same answer at each cycle's first prompt */
	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static long count(const char *s)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);

	return *s != '\0' && *end == '\0' && v > 0 ? v : -1;
}

int main(int argc, char **argv)
{
	struct answers a = { .word = { argc > 6 ? argv[6] : NULL }, .count = argc > 6 };
	long warmup = argc > 5 ? count(argv[4]) : -1;
	long cycles = argc > 5 ? count(argv[5]) : -1;
	long warm_kb = -1, end_kb;

	if (warmup < 0 || cycles <= warmup) {
		fprintf(stderr, "usage: pam_cycles CONFDIR SERVICE USER WARMUP CYCLES [ANSWER]\n"
				"       (0 < WARMUP < CYCLES)\n");
		return 2;
	}
	for (long i = 0; i < cycles; i++) {
		int rc = cycle(argv[1], argv[2], argv[3], &a);

		if (rc != PAM_SUCCESS || (i > 0 && a.prompts != 0)) {
			printf("cycle %ld: rc=%d prompts=%d\n", i, rc, a.prompts);
			return 1;
		}
		if (i + 1 == warmup)
			warm_kb = rss_kb();
	}
	end_kb = rss_kb();
	if (warm_kb < 0 || end_kb < 0) {
		printf("cannot read VmRSS from /proc/self/status\n");
		return 1;
	}
	printf("warm_kb=%ld end_kb=%ld growth_kb=%ld\n", warm_kb, end_kb, end_kb - warm_kb);
	return 0;
}
