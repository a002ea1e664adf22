/* The state file: what every attempt writes. See the rules at the top of
 * statefile.c. */
#ifndef SU_STATEFILE_H
#define SU_STATEFILE_H

#include <stdint.h>
#include "kv.h"
#include "log.h"

/* One slot: a header line, the state as kv text, NUL padding. */
#define SU_STATE_SLOT 8192
#define SU_STATE_FILE_SIZE (2 * SU_STATE_SLOT)

typedef struct su_statefile su_statefile;

/* Open path for an attempt: the caller holds the user's lock and
 * su_guard_hold. A missing file is created, an older (plain kv) one
 * converted, both before anything is judged. *state is the newest intact
 * slot's contents. SU_OK or SU_ERR (logged: path and reason). */
int su_statefile_open(const su_log *log, const char *path, su_statefile **out,
		      su_kv *state);

/* Format state as the next slot into the file's own buffer (no
 * allocation): SU_ERR when it does not fit in a slot (logged). */
int su_statefile_prepare(su_statefile *sf, const su_kv *state);
/* Keep the prepared slot aside as the fallback: what is written when the
 * state meant to follow it cannot be (rule 4). */
void su_statefile_keep_fallback(su_statefile *sf);
/* Write the prepared slot, or with use_fallback the one kept aside. */
int su_statefile_write(su_statefile *sf, int use_fallback);
void su_statefile_close(su_statefile *sf);

/* Parse a state file's contents (either format) without writing:
 * stepupctl status, the peek before a prompt. SU_ERR on anything that is
 * not an intact state (logged, naming path). */
int su_statefile_parse(const su_log *log, const char *path, const char *data,
		       size_t len, su_kv *state);

#endif
