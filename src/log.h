/* One way to report: the module logs through pam_syslog (never openlog, which
 * would steal the host program's identity); the CLI writes one line to stderr.
 * Library code takes a su_log and never knows which it is talking to. */
#ifndef SU_LOG_H
#define SU_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>
#include <security/pam_modules.h>

typedef struct su_log {
	pam_handle_t *pamh; /* set: pam_syslog (authpriv); NULL: stderr */
	const char *prog;   /* stderr prefix, e.g. "stepupctl" */
	bool debug;         /* LOG_DEBUG lines are dropped unless set */
	FILE *out;          /* pamh NULL: where the lines go; NULL: stderr */
} su_log;

void su_logf(const su_log *log, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void su_vlogf(const su_log *log, int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Between hold and release, this thread's lines are kept (up to 8, the
 * rest counted) and written at release: nothing leaves the process
 * between an answer's judgement and its durable write (statefile.c
 * rule 3), not even a log line a caller might read. */
void su_log_hold(void);
void su_log_release(void);
/* Release, dropping what was held: the lines of a judgement that was not
 * written because another host wrote first (store.h, SU_CONFLICT). */
void su_log_drop(void);

/* Log at LOG_ERR and return -1, for one-line error exits. */
int su_fail(const su_log *log, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define su_debug(log, ...)                                \
	do {                                              \
		if ((log)->debug)                         \
			su_logf((log), LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
