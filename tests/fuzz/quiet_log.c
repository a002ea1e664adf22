/* Stands in for src/log.c in the fuzz harnesses: every message is formatted
 * (so the sanitizers still check each format string against its arguments)
 * and then dropped, so that a run's stderr holds what libFuzzer, ASan and
 * UBSan say and nothing else. FUZZ_VERBOSE=1 in the environment prints the
 * messages to stderr as src/log.c would (for a look at one input).
 * The harnesses set log.debug, so su_debug lines are formatted too. */
#include <stdio.h>
#include <stdlib.h>
#include "log.h"

static int verbose = -1;

void su_vlogf(const su_log *log, int prio, const char *fmt, va_list ap)
{
	char msg[4096];

	if (prio == LOG_DEBUG && !log->debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (verbose < 0) {
		const char *v = getenv("FUZZ_VERBOSE");
		verbose = v != NULL && v[0] != '\0' && v[0] != '0';
	}
	if (verbose)
		fprintf(stderr, "%s: <%d> %s\n", log->prog ? log->prog : "stepup", prio, msg);
}

void su_logf(const su_log *log, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	su_vlogf(log, prio, fmt, ap);
	va_end(ap);
}

int su_fail(const su_log *log, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	su_vlogf(log, LOG_ERR, fmt, ap);
	va_end(ap);
	return -1;
}
