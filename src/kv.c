#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kv.h"
#include "secret.h"
#include "util.h"

/* Caps: a record is a handful of short lines; anything bigger is damage. */
#define KV_KEY_MAX 64
#define KV_VALUE_MAX 4096
#define KV_ENTRIES_MAX 256

static void entry_clear(su_kv_entry *e)
{
	su_free_string(e->key);
	su_free_string(e->value);
	e->key = e->value = NULL;
}

void su_kv_free(su_kv *kv)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < kv->count; i++)
		entry_clear(&kv->items[i]);
	free(kv->items);
	kv->items = NULL;
	kv->count = kv->cap = 0;
}

static bool valid_key(const char *key, size_t len)
{
	if (len == 0 || len > KV_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

static bool valid_value(const char *value)
{
	return strlen(value) <= KV_VALUE_MAX && !su_has_control(value);
}

const su_kv_entry *su_kv_find(const su_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->count; i++)
		if (strcmp(kv->items[i].key, key) == 0)
			return &kv->items[i];
	return NULL;
}

const char *su_kv_get(const su_kv *kv, const char *key)
{
	const su_kv_entry *e = su_kv_find(kv, key);
	return e ? e->value : NULL;
}

static int append(su_kv *kv, const char *key, size_t key_len,
		  const char *value, unsigned line)
{
	su_kv_entry *e;

	if (kv->count == kv->cap) {
		size_t cap = kv->cap ? kv->cap * 2 : 8;
		su_kv_entry *items = realloc(kv->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		kv->items = items;
		kv->cap = cap;
	}
	e = &kv->items[kv->count];
	e->key = strndup(key, key_len);
	e->value = strdup(value);
	e->line = line;
	if (e->key == NULL || e->value == NULL) {
		entry_clear(e);
		return -1;
	}
	kv->count++;
	return 0;
}

int su_kv_set(su_kv *kv, const char *key, const char *value)
{
	su_kv_entry *e = (su_kv_entry *)su_kv_find(kv, key);
	char *copy;

	if (!valid_key(key, strlen(key)) || strcmp(key, "version") == 0 ||
	    !valid_value(value))
		return -1;
	if (e == NULL) {
		/* Never build a record that su_kv_parse would refuse. */
		if (kv->count >= KV_ENTRIES_MAX)
			return -1;
		return append(kv, key, strlen(key), value, 0);
	}
	copy = strdup(value);
	if (copy == NULL)
		return -1;
	su_free_string(e->value);
	e->value = copy;
	e->line = 0;
	return 0;
}

int su_kv_set_u64(su_kv *kv, const char *key, uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return su_kv_set(kv, key, buf);
}

static void remove_at(su_kv *kv, size_t i)
{
	entry_clear(&kv->items[i]);
	memmove(&kv->items[i], &kv->items[i + 1],
		(kv->count - i - 1) * sizeof(kv->items[0]));
	kv->count--;
}

void su_kv_del(su_kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->count; i++) {
		if (strcmp(kv->items[i].key, key) == 0) {
			remove_at(kv, i);
			return;
		}
	}
}

void su_kv_del_prefix(su_kv *kv, const char *prefix)
{
	size_t plen = strlen(prefix);

	for (size_t i = kv->count; i > 0; i--)
		if (strncmp(kv->items[i - 1].key, prefix, plen) == 0)
			remove_at(kv, i - 1);
}

int su_kv_get_u64(const su_log *log, const char *path, const su_kv *kv,
		  const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const su_kv_entry *e = su_kv_find(kv, key);

	if (e == NULL)
		return SU_KV_ABSENT;
	if (!su_parse_u64(e->value, min, max, out)) {
		su_logf(log, LOG_ERR, "%s:%u: key '%s': not a number from %llu to %llu",
			path, e->line, key, (unsigned long long)min,
			(unsigned long long)max);
		return -1;
	}
	return 0;
}

/* One "key=value" line (without its newline) into kv. */
static int parse_line(const su_log *log, const char *path, unsigned lineno,
		      char *line, su_kv *kv)
{
	char *eq = strchr(line, '=');

	if (eq == NULL)
		return su_fail(log, "%s:%u: malformed line (expected key=value)", path, lineno);
	if (!valid_key(line, (size_t)(eq - line)))
		return su_fail(log, "%s:%u: malformed key (expected [a-z0-9_], at most %d)",
			       path, lineno, KV_KEY_MAX);
	*eq = '\0';
	if (!valid_value(eq + 1))
		return su_fail(log, "%s:%u: key '%s': value has control characters or is too long",
			       path, lineno, line);
	if (strcmp(line, "version") == 0 || su_kv_find(kv, line) != NULL)
		return su_fail(log, "%s:%u: key '%s' appears twice", path, lineno, line);
	if (kv->count >= KV_ENTRIES_MAX)
		return su_fail(log, "%s:%u: more than %d keys", path, lineno, KV_ENTRIES_MAX);
	if (append(kv, line, strlen(line), eq + 1, lineno) != 0)
		return su_fail(log, "%s: out of memory", path);
	return 0;
}

/* Line number (from 1) of offset off in text. */
static unsigned line_at(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

static int check_framing(const su_log *log, const char *path, const char *text,
			 size_t len)
{
	const char *nul;

	if (len == 0)
		return su_fail(log, "%s: empty file (expected version=%s first)", path, SU_KV_VERSION);
	nul = memchr(text, '\0', len);
	if (nul != NULL)
		return su_fail(log, "%s:%u: contains binary data (a NUL byte)", path,
			       line_at(text, (size_t)(nul - text)));
	if (text[len - 1] != '\n')
		return su_fail(log, "%s:%u: truncated (last line has no newline)", path,
			       line_at(text, len - 1));
	return 0;
}

int su_kv_parse(const su_log *log, const char *path, const char *text,
		size_t len, su_kv *out)
{
	su_kv kv = {0};
	char *copy = NULL, *line, *next;
	unsigned lineno = 0;
	int rc = -1;

	*out = (su_kv){0};
	if (check_framing(log, path, text, len) != 0)
		return -1;
	copy = strndup(text, len);
	if (copy == NULL)
		return su_fail(log, "%s: out of memory", path);
	for (line = copy; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "version=" SU_KV_VERSION) != 0) {
				su_fail(log, "%s:1: expected version=%s first", path, SU_KV_VERSION);
				goto out;
			}
			continue;
		}
		if (parse_line(log, path, lineno, line, &kv) != 0)
			goto out;
	}
	*out = kv;
	kv = (su_kv){0};
	rc = 0;
out:
	su_free_secret(copy, len);
	su_kv_free(&kv);
	return rc;
}

size_t su_kv_format_to(const su_kv *kv, char *buf, size_t size)
{
	size_t len = strlen("version=" SU_KV_VERSION "\n");

	for (size_t i = 0; i < kv->count; i++)
		len += strlen(kv->items[i].key) + strlen(kv->items[i].value) + 2;
	if (len >= size)
		return len;
	buf[0] = '\0';
	/* Pieces copied, not printf'd: this runs between a judgement and its
	 * write (statefile.c rule 3), where nothing may fail. */
	for (size_t i = 0, off = 0; i <= kv->count; i++) {
		const char *k = i == 0 ? "version" : kv->items[i - 1].key;
		const char *v = i == 0 ? SU_KV_VERSION : kv->items[i - 1].value;
		size_t kl = strlen(k), vl = strlen(v);

		memcpy(buf + off, k, kl);
		buf[off + kl] = '=';
		memcpy(buf + off + kl + 1, v, vl);
		buf[off + kl + 1 + vl] = '\n';
		off += kl + vl + 2;
		buf[off] = '\0';
	}
	return len;
}

char *su_kv_format(const su_kv *kv, size_t *len_out)
{
	size_t len = su_kv_format_to(kv, NULL, 0);
	char *buf = malloc(len + 1);

	if (buf == NULL)
		return NULL;
	su_kv_format_to(kv, buf, len + 1);
	if (len_out != NULL)
		*len_out = len;
	return buf;
}
