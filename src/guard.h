/* What the caller of a setuid program controls and a state write must not
 * obey (statefile.c rule 2): the file size limit (RLIMIT_FSIZE, which
 * cuts a write short or raises SIGXFSZ) and the signals that would
 * interrupt the write or stop the process while it holds a user's lock
 * (SIGINT, SIGTSTP, SIGPIPE, SIGXFSZ, SIGHUP, ...). su_guard_hold lifts the
 * one and holds the others; su_guard_release puts back exactly what the
 * caller had, and a signal held meanwhile is delivered then.
 *
 * Holds nest (a transaction that converts a file holds while
 * su_write_file holds again): the limit is lifted by the first holder in
 * the process and put back by the last; the signal mask is per thread. */
#ifndef SU_GUARD_H
#define SU_GUARD_H

#include "log.h"

/* The largest file this project writes is far below this (a state file
 * is 16 KiB, a record at most 16 KiB). */
#define SU_GUARD_FSIZE_MIN (1024 * 1024)

/* 0, or -1 (logged): the limit could not be lifted, nothing is held and
 * nothing may be judged or written. */
int su_guard_hold(const su_log *log);
void su_guard_release(void);

#endif
