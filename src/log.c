#include <stdio.h>
#include <security/pam_ext.h>
#include "log.h"

void su_vlogf(const su_log *log, int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !log->debug)
		return;
	if (log->pamh != NULL) {
		pam_vsyslog(log->pamh, prio, fmt, ap);
		return;
	}
	FILE *out = log->out != NULL ? log->out : stderr;

	fprintf(out, "%s: ", log->prog ? log->prog : "stepup");
	vfprintf(out, fmt, ap);
	fputc('\n', out);
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
