/* What the fleet key files share and nothing else may use: the keys as
 * read (fleetkey.c), which sealing and opening (fleetkey_seal.c) take by
 * their id. fleetkey.h is the interface the rest of the project sees. */
#ifndef SU_FLEETKEY_INTERNAL_H
#define SU_FLEETKEY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "fleetkey.h"

struct fleet_entry {
	char kid[SU_FLEETKEY_KID_MAX + 1];
	unsigned char key[SU_FLEETKEY_BYTES];
};

struct su_fleetkey {
	char *path; /* names the file in messages */
	size_t count;
	struct fleet_entry keys[SU_FLEETKEY_MAX]; /* [0]: the current key */
};

/* len bytes at s are a key id: 1 to SU_FLEETKEY_KID_MAX of a-z 0-9. */
bool fleet_kid_ok(const char *s, size_t len);
/* The index of the key whose id is the len bytes at kid, or -1. */
int fleet_find_kid(const su_fleetkey *fk, const char *kid, size_t len);

#endif
