#include <stdio.h>
#include <security/pam_ext.h>
#include "log.h"

/* Lines kept while held, written at release. A fixed table: holding
 * must not allocate (it spans a judgement and its write). */
#define HELD_MAX 8
static _Thread_local struct {
	bool on;
	unsigned n, dropped;
	struct {
		su_log log;
		int prio;
		char text[320];
	} line[HELD_MAX];
} held;

void su_log_hold(void)
{
	held.on = true;
	held.n = held.dropped = 0;
}

void su_log_drop(void)
{
	held.on = false;
	held.n = held.dropped = 0;
}

void su_log_release(void)
{
	unsigned n = held.n, dropped = held.dropped;

	held.on = false;
	for (unsigned i = 0; i < n; i++)
		su_logf(&held.line[i].log, held.line[i].prio, "%s", held.line[i].text);
	if (dropped > 0 && n > 0)
		su_logf(&held.line[n - 1].log, LOG_ERR, "(%u more lines not logged)", dropped);
	held.n = held.dropped = 0;
}

void su_vlogf(const su_log *log, int prio, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !log->debug)
		return;
	if (held.on) {
		if (held.n == HELD_MAX) {
			held.dropped++;
			return;
		}
		held.line[held.n].log = *log;
		held.line[held.n].prio = prio;
		vsnprintf(held.line[held.n].text, sizeof(held.line[held.n].text), fmt, ap);
		held.n++;
		return;
	}
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
