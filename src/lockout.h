/* Lockout (docs/design.md, "Lockout"): every refused code, whatever the
 * method, is a failure tallied in the user's state under the state lock;
 * lockout_attempts failures within lockout_time lock the user out until
 * lockout_time after the last of them. A success or `stepupctl unlock`
 * clears the tally. lockout_attempts = 0: failures are counted, never
 * locked on.
 *
 * State keys:
 *   fail_count    failures since the last success or unlock
 *   fail_times    epochs of the failures still inside lockout_time, oldest
 *                 first, comma-separated, at most lockout_attempts of them
 *   locked_until  epoch; refused without a prompt while now < locked_until
 *
 * These functions only read and change a state the caller holds (inside a
 * state transaction for changes); path names the state in messages. */
#ifndef SU_LOCKOUT_H
#define SU_LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "kv.h"
#include "log.h"

typedef struct su_lockout_rule {
	unsigned attempts; /* lockout_attempts; 0 = never lock */
	unsigned time;     /* lockout_time, seconds */
} su_lockout_rule;

/* 1: locked until *until; 0: not locked; -1: any lockout key malformed
 * (logged): the caller fails closed. */
int su_lockout_locked(const su_log *log, const char *path, const su_kv *state,
		      time_t now, time_t *until);

/* Count one failure at now. *until: when this failure locked the user out,
 * the end of the lock; else 0. 0 or -1 (malformed state or no memory). */
int su_lockout_fail(const su_log *log, const char *path, su_kv *state,
		    su_lockout_rule rule, time_t now, time_t *until);

/* Forget failures and any lock (a success, an unlock). */
void su_lockout_clear(su_kv *state);

/* fail_count, for status; 0 when absent or malformed. */
uint64_t su_lockout_failures(const su_kv *state);

#endif
