/* Line-oriented key=value records (user records and state): "version=1"
 * first, then one key=value per line. Keys are [a-z0-9_]+, values have no
 * control characters. Unknown keys survive a read-modify-write unchanged.
 * All memory is wiped on free, since records carry secrets. */
#ifndef SU_KV_H
#define SU_KV_H

#include <stddef.h>
#include <stdint.h>
#include "log.h"

#define SU_KV_VERSION "1"

typedef struct su_kv_entry {
	char *key;
	char *value;
	unsigned line; /* source line, for errors; 0 if set in memory */
} su_kv_entry;

typedef struct su_kv {
	su_kv_entry *items;
	size_t count, cap;
} su_kv;

/* Parse text from path (path only names errors: "PATH:LINE: reason").
 * out is left empty on failure. */
int su_kv_parse(const su_log *log, const char *path, const char *text,
		size_t len, su_kv *out);
const char *su_kv_get(const su_kv *kv, const char *key);
const su_kv_entry *su_kv_find(const su_kv *kv, const char *key);
int su_kv_set(su_kv *kv, const char *key, const char *value);
int su_kv_set_u64(su_kv *kv, const char *key, uint64_t value);
void su_kv_del(su_kv *kv, const char *key);
/* Delete every key starting with prefix (e.g. "totp_"). */
void su_kv_del_prefix(su_kv *kv, const char *prefix);

/* Typed read: 0 when read, SU_KV_ABSENT when absent (out untouched), -1
 * (logged with path, line and key) when not a number in [min, max]. */
#define SU_KV_ABSENT 1
int su_kv_get_u64(const su_log *log, const char *path, const su_kv *kv,
		  const char *key, uint64_t min, uint64_t max, uint64_t *out);

/* Serialise into buf (NUL-terminated) when the text and its NUL fit in
 * size; returns the text's length either way (as snprintf), allocating
 * nothing. */
size_t su_kv_format_to(const su_kv *kv, char *buf, size_t size);
/* Serialise with "version=1" first; caller frees with su_free_string. */
char *su_kv_format(const su_kv *kv, size_t *len_out);
void su_kv_free(su_kv *kv);

#endif
