/* The security keys of a record and their counters' names
 * (sshsk_record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "sshsk_record.h"
#include "safefile.h"
#include "util.h"

bool su_sshsk_enrolled_in(const su_kv *record)
{
	for (size_t i = 0; record != NULL && i < record->count; i++)
		if (strncmp(record->items[i].key, SU_SSHSK_RECORD_PREFIX,
			    sizeof(SU_SSHSK_RECORD_PREFIX) - 1) == 0)
			return true;
	return false;
}

void su_sshsk_remove(su_kv *record)
{
	su_kv_del_prefix(record, SU_SSHSK_RECORD_PREFIX);
}

void su_sshsk_key_name(const char *prefix, const char *id, char out[SU_SSHSK_KEYNAME_SIZE])
{
	snprintf(out, SU_SSHSK_KEYNAME_SIZE, "%s%s", prefix, id);
}

bool su_sshsk_is_counter_key(const char *key)
{
	const size_t plen = sizeof(SU_SSHSK_COUNTER_PREFIX) - 1;
	const char *id;

	if (strncmp(key, SU_SSHSK_COUNTER_PREFIX, plen) != 0)
		return false;
	id = key + plen;
	if (strlen(id) != SU_SSHSK_ID_SIZE - 1)
		return false;
	for (; *id != '\0'; id++)
		if (strchr("0123456789abcdef", *id) == NULL)
			return false;
	return true;
}

static int key_id(const su_sshsk_key *key, char id[SU_SSHSK_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;

	if (EVP_Digest(key->blob, key->blob_len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	for (size_t i = 0; i < 8; i++) {
		id[2 * i] = hex[md[i] >> 4];
		id[2 * i + 1] = hex[md[i] & 15];
	}
	id[16] = '\0';
	return 0;
}

/* The comment after the key, blanks squeezed to one space. */
static int comment_of(const char *line, char *out, char *why, size_t why_size)
{
	const char *p = line + strspn(line, " \t");
	size_t n = 0;

	for (int field = 0; field < 2; field++) {
		p += strcspn(p, " \t\r\n");
		p += strspn(p, " \t");
	}
	out[0] = '\0';
	for (; *p != '\0' && *p != '\r' && *p != '\n'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == ' ' || ch == '\t') {
			if (n > 0 && out[n - 1] != ' ' && n < SU_SSHSK_COMMENT_MAX)
				out[n++] = ' ';
			continue;
		}
		if (ch < 0x21 || ch > 0x7e)
			return su_why(why, why_size, "the comment has a byte that is not "
				      "printable ASCII"), -1;
		if (n == SU_SSHSK_COMMENT_MAX)
			return su_why(why, why_size, "the comment is longer than %d bytes",
				      SU_SSHSK_COMMENT_MAX), -1;
		out[n++] = (char)ch;
	}
	p += strspn(p, "\r\n");
	if (*p != '\0')
		return su_why(why, why_size, "more than one line"), -1;
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	return 0;
}

int su_sshsk_enrolled_parse(const char *line, su_sshsk_enrolled *out, char *why,
			    size_t why_size)
{
	memset(out, 0, sizeof(*out));
	if (su_sshsk_parse_line(line, &out->key, why, why_size) != 0)
		return -1;
	if (comment_of(line, out->comment, why, why_size) != 0)
		goto fail;
	if (key_id(&out->key, out->id) != 0 || su_sshsk_fingerprint(&out->key, out->fp) != 0) {
		su_why(why, why_size, "cannot hash the key");
		goto fail;
	}
	return 0;
fail:
	su_sshsk_key_free(&out->key);
	memset(out, 0, sizeof(*out));
	return -1;
}

char *su_sshsk_enrolled_line(const su_sshsk_enrolled *e)
{
	const char *type = e->key.type == SU_SSHSK_ECDSA ? SU_SSHSK_ECDSA_NAME :
			   SU_SSHSK_ED25519_NAME;
	size_t b64_size = 4 * ((e->key.blob_len + 2) / 3) + 1;
	size_t size = strlen(type) + 1 + b64_size + 1 + strlen(e->comment) + 1;
	unsigned char *b64 = malloc(b64_size);
	char *line = malloc(size);

	if (b64 == NULL || line == NULL || e->key.blob_len > SU_SSHSK_BLOB_MAX) {
		free(b64);
		free(line);
		return NULL;
	}
	EVP_EncodeBlock(b64, e->key.blob, (int)e->key.blob_len);
	snprintf(line, size, "%s %s%s%s", type, (const char *)b64,
		 e->comment[0] ? " " : "", e->comment);
	free(b64);
	return line;
}

int su_sshsk_set_load(const su_log *log, const char *name, const su_kv *record,
		      su_sshsk_set *out)
{
	const size_t plen = sizeof(SU_SSHSK_RECORD_PREFIX) - 1;
	char why[256];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < record->count; i++) {
		const su_kv_entry *e = &record->items[i];
		su_sshsk_enrolled *k;

		if (strncmp(e->key, SU_SSHSK_RECORD_PREFIX, plen) != 0)
			continue;
		if (out->count == SU_SSHSK_KEYS_MAX) {
			su_logf(log, LOG_ERR, "%s: more than %d security keys", name,
				SU_SSHSK_KEYS_MAX);
			goto fail;
		}
		k = &out->keys[out->count];
		if (su_sshsk_enrolled_parse(e->value, k, why, sizeof(why)) != 0) {
			su_logf(log, LOG_ERR, "%s:%u: key '%s': %s", name, e->line, e->key, why);
			goto fail;
		}
		out->count++;
		if (strcmp(e->key + plen, k->id) != 0) {
			su_logf(log, LOG_ERR, "%s:%u: key '%s': the name is not the key's id (%s)",
				name, e->line, e->key, k->id);
			goto fail;
		}
	}
	return SU_OK;
fail:
	su_sshsk_set_free(out);
	return SU_ERR;
}

void su_sshsk_set_free(su_sshsk_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		su_sshsk_key_free(&set->keys[i].key);
	memset(set, 0, sizeof(*set));
}
