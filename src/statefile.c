/* The state file, and the rules every attempt obeys (docs/decisions.md,
 * "Counting every attempt"). The caller of a setuid program (sudo, su,
 * stepup-gate) controls its resource limits, signal dispositions,
 * descriptors, terminal and timing, and may SIGKILL or SIGSTOP it at any
 * instant. Whatever the caller does, an attempt MUST:
 *
 *  1. Be judged only inside a state transaction that already holds what
 *     its write needs: the user's lock, this file open for writing, the
 *     slot buffers, the file size limit lifted and signals held (rule 2),
 *     and a fallback slot formatted with the failure already counted
 *     (su_state_arm). Anything that fails before that is "unavailable"
 *     with nothing judged. (tests/integration/hostile.sh: RLIMIT_NOFILE
 *     3 and 10, RLIMIT_AS)
 *  2. Write the same way whatever the outcome: one pwrite of exactly
 *     SU_STATE_SLOT bytes at offset (seq % 2) * SU_STATE_SLOT, then one
 *     fdatasync; seq counts writes, never outcomes. RLIMIT_FSIZE is lifted
 *     and every signal but a fault's is held from before the lock is
 *     taken until after it is dropped (guard.c); the caller's limit and
 *     mask are put back before the PAM call returns. (hostile.sh:
 *     prlimit --fsize 1, 40, 100, 4096 through pamtester, sudo and su;
 *     the strace comparison of a right and a wrong code)
 *  3. Say nothing of the outcome (a message, a log line, the return code,
 *     the next prompt) before that fdatasync has returned, and take the
 *     same time to get there whatever the outcome: every usable method
 *     does the work of judging (all HMACs: TOTP's whole window, every
 *     recovery code) for every answer of its shape, the record is read
 *     whether or not a code matched, log lines are held (su_log_hold),
 *     and the checksum covers the whole slot. A process killed or
 *     stopped before then has revealed nothing, so an answer either
 *     counts or was never judged as far as the caller can tell.
 *     (hostile.sh: 200 attempts SIGKILLed at random instants; the
 *     strace comparison)
 *  4. Count a judged answer even when the state meant to record it cannot
 *     be made or written (memory, a full slot, an I/O error): the
 *     fallback slot of rule 1 is written instead and the user is told
 *     the step-up is unavailable. (tests/unit/test_statefile: fallback)
 *  5. Never destroy the last intact state: a write goes to the slot that
 *     does not hold it; each slot carries its sequence number, its length
 *     and a SHA-256 of them, its text and its padding, so a slot torn by
 *     a crash is seen and the other one read. (test_statefile: torn slots;
 *     tests/integration/crash.sh: kill -9 mid-write)
 *  6. Refuse anything else, naming the file: a file of another size that
 *     starts like one of ours, neither slot intact, a text that is not
 *     kv. A state file of the older format (plain kv, written whole by
 *     rename) is read, and converted before the first attempt is judged.
 *     (tests/integration/badstate.sh, test_statefile)
 *
 * The format, readable with cat (the padding is NUL bytes) or
 * stepupctl status: two slots of SU_STATE_SLOT bytes, each
 *
 *     stepup-state 2 seq=00000000000000000042 len=00057 sha256=HEX\n
 *     version=1\n key=value\n ...   (len bytes)
 *     NUL ... NUL
 *
 * The slot with the higher seq among the intact ones is the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "safefile.h"
#include "secret.h"
#include "statefile.h"
#include "util.h"

#define MAGIC "stepup-state 2 seq="
#define MAGIC_LEN (sizeof(MAGIC) - 1)
#define SEQ_DIGITS 20
#define LEN_DIGITS 5
#define HASHED_LEN (MAGIC_LEN + SEQ_DIGITS + 5 + LEN_DIGITS) /* "... len=NNNNN" */
#define SUM_AT (HASHED_LEN + 8)                               /* after " sha256=" */
#define HEADER_LEN (SUM_AT + 64 + 1)
#define BODY_MAX (SU_STATE_SLOT - HEADER_LEN)

struct su_statefile {
	su_log log;
	char *path;
	int fd;
	uint64_t seq; /* of the slot that holds the state now */
	char slot[SU_STATE_SLOT];     /* prepared: seq + 1 */
	char fallback[SU_STATE_SLOT]; /* kept aside: seq + 1 */
	uint64_t prepared_seq, fallback_seq;
};

/* SHA-256 of the header up to the length and of everything after the
 * header (the text and its padding), in hex: the same work whatever the
 * text's length, so formatting a success and a failure take the same
 * time (rule 3). */
static int slot_sum(const char *slot, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, slot, HASHED_LEN) == 1 &&
		 EVP_DigestUpdate(ctx, slot + HEADER_LEN, BODY_MAX) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md);

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	su_hex(md, sizeof(md), hex);
	return 0;
}

/* The slot for seq holding state's text; -1 if it does not fit. */
static int format_slot(char *slot, uint64_t seq, const su_kv *state)
{
	char head[HEADER_LEN + 1], sum[65];
	size_t len = su_kv_format_to(state, slot + HEADER_LEN, BODY_MAX);

	if (len >= BODY_MAX)
		return -1;
	memset(slot + HEADER_LEN + len, 0, SU_STATE_SLOT - HEADER_LEN - len);
	snprintf(head, sizeof(head), MAGIC "%0*llu len=%0*zu sha256=", SEQ_DIGITS,
		 (unsigned long long)seq, LEN_DIGITS, len);
	memcpy(slot, head, SUM_AT);
	if (slot_sum(slot, sum) != 0)
		return -1;
	memcpy(slot + SUM_AT, sum, 64);
	slot[HEADER_LEN - 1] = '\n';
	return 0;
}

/* A fixed-width decimal field. */
static bool digits(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	char buf[SEQ_DIGITS + 1];

	if (n > SEQ_DIGITS)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return strspn(buf, "0123456789") == n && su_parse_u64(buf, 0, max, out);
}

/* Whether slot is intact; then its seq and text length. */
static bool slot_intact(const char *slot, uint64_t *seq, size_t *len)
{
	uint64_t n;
	char sum[65];

	if (memcmp(slot, MAGIC, MAGIC_LEN) != 0 ||
	    !digits(slot + MAGIC_LEN, SEQ_DIGITS, UINT64_MAX, seq) ||
	    memcmp(slot + MAGIC_LEN + SEQ_DIGITS, " len=", 5) != 0 ||
	    !digits(slot + HASHED_LEN - LEN_DIGITS, LEN_DIGITS, BODY_MAX - 1, &n) ||
	    memcmp(slot + HASHED_LEN, " sha256=", 8) != 0 || slot[HEADER_LEN - 1] != '\n')
		return false;
	*len = (size_t)n;
	return slot_sum(slot, sum) == 0 && memcmp(sum, slot + SUM_AT, 64) == 0;
}

static bool ours(const char *data, size_t len)
{
	return len >= MAGIC_LEN ? memcmp(data, MAGIC, MAGIC_LEN) == 0 :
				  memcmp(data, MAGIC, len) == 0 && len > 0;
}

/* Both slots of a file of ours: the newest intact one's text and seq. */
static int parse_slots(const su_log *log, const char *path, const char *data, size_t len,
		       su_kv *state, uint64_t *seq_out)
{
	uint64_t seq[2] = { 0, 0 };
	size_t blen[2] = { 0, 0 };
	bool ok[2];
	int pick;

	if (len != SU_STATE_FILE_SIZE)
		return su_fail(log, "%s: truncated or padded: %zu bytes, a state file has %d",
			       path, len, SU_STATE_FILE_SIZE);
	for (int i = 0; i < 2; i++)
		ok[i] = slot_intact(data + i * SU_STATE_SLOT, &seq[i], &blen[i]);
	if (!ok[0] && !ok[1])
		return su_fail(log, "%s: neither copy of the state is intact (torn or edited)", path);
	pick = ok[0] && ok[1] ? (seq[1] > seq[0]) : ok[1];
	if (seq_out != NULL)
		*seq_out = seq[pick];
	return su_kv_parse(log, path, data + pick * SU_STATE_SLOT + HEADER_LEN, blen[pick],
			   state) == 0 ? SU_OK : SU_ERR;
}

int su_statefile_parse(const su_log *log, const char *path, const char *data,
		       size_t len, su_kv *state)
{
	*state = (su_kv){0};
	if (ours(data, len))
		return parse_slots(log, path, data, len, state, NULL);
	/* The older format: one kv text. */
	return su_kv_parse(log, path, data, len, state) == 0 ? SU_OK : SU_ERR;
}

/* A whole new file holding state as seq 1 (slot 1; slot 0 the same as
 * seq 0), made by rename: the first state of a user, or a conversion. */
static int write_new_file(su_statefile *sf, const su_kv *state)
{
	char *image = malloc(SU_STATE_FILE_SIZE);
	int rc = SU_ERR;

	if (image == NULL)
		return su_fail(&sf->log, "%s: out of memory", sf->path);
	if (format_slot(image, 0, state) != 0 ||
	    format_slot(image + SU_STATE_SLOT, 1, state) != 0)
		su_logf(&sf->log, LOG_ERR, "%s: the state does not fit in %zu bytes", sf->path,
			(size_t)BODY_MAX);
	else
		rc = su_write_file(&sf->log, sf->path, image, SU_STATE_FILE_SIZE, 0600);
	su_free_secret(image, SU_STATE_FILE_SIZE);
	return rc;
}

/* Open the file for update and read what it holds; SU_NOTFOUND if absent. */
static int open_and_read(su_statefile *sf, char *data, size_t *len)
{
	struct stat st;
	int rc = su_open_update(&sf->log, sf->path, SU_STATE_FILE_SIZE, &sf->fd, &st);

	if (rc != SU_OK)
		return rc;
	*len = (size_t)st.st_size;
	return su_read_at_start(&sf->log, sf->path, sf->fd, data, *len);
}

/* Read the state; create or convert the file first if need be (rule 6). */
static int load(su_statefile *sf, su_kv *state)
{
	char *data = malloc(SU_STATE_FILE_SIZE);
	size_t len = 0;
	int rc;

	if (data == NULL)
		return su_fail(&sf->log, "%s: out of memory", sf->path);
	rc = open_and_read(sf, data, &len);
	if (rc == SU_OK && ours(data, len)) {
		rc = parse_slots(&sf->log, sf->path, data, len, state, &sf->seq);
		goto out;
	}
	if (rc == SU_OK)
		rc = su_kv_parse(&sf->log, sf->path, data, len, state) == 0 ? SU_OK : SU_ERR;
	else if (rc == SU_NOTFOUND)
		rc = SU_OK; /* a first attempt ever: the empty state */
	if (rc != SU_OK)
		goto out;
	if (sf->fd >= 0)
		close(sf->fd);
	sf->fd = -1;
	sf->seq = 1;
	rc = write_new_file(sf, state);
	if (rc == SU_OK)
		rc = open_and_read(sf, data, &len) == SU_OK && len == SU_STATE_FILE_SIZE ?
			SU_OK : su_fail(&sf->log, "%s: changed while it was converted", sf->path);
out:
	su_free_secret(data, SU_STATE_FILE_SIZE);
	if (rc != SU_OK)
		su_kv_free(state);
	return rc;
}

int su_statefile_open(const su_log *log, const char *path, su_statefile **out,
		      su_kv *state)
{
	su_statefile *sf = calloc(1, sizeof(*sf));

	*out = NULL;
	*state = (su_kv){0};
	if (sf == NULL)
		return su_fail(log, "%s: out of memory", path);
	sf->log = *log;
	sf->fd = -1;
	sf->path = su_strdup(path);
	if (sf->path == NULL || load(sf, state) != SU_OK) {
		if (sf->path == NULL)
			su_logf(log, LOG_ERR, "%s: out of memory", path);
		su_statefile_close(sf);
		return SU_ERR;
	}
	*out = sf;
	return SU_OK;
}

int su_statefile_prepare(su_statefile *sf, const su_kv *state)
{
	sf->prepared_seq = 0;
	if (sf->seq == UINT64_MAX || format_slot(sf->slot, sf->seq + 1, state) != 0)
		return su_fail(&sf->log, "%s: the state does not fit in %zu bytes", sf->path,
			       (size_t)BODY_MAX);
	sf->prepared_seq = sf->seq + 1;
	return SU_OK;
}

void su_statefile_keep_fallback(su_statefile *sf)
{
	memcpy(sf->fallback, sf->slot, SU_STATE_SLOT);
	sf->fallback_seq = sf->prepared_seq;
}

int su_statefile_write(su_statefile *sf, int use_fallback)
{
	const char *slot = use_fallback ? sf->fallback : sf->slot;
	uint64_t seq = use_fallback ? sf->fallback_seq : sf->prepared_seq;

	/* Only the slot that follows the one read: a stale one would go
	 * back over a write made since. */
	if (seq == 0 || seq != sf->seq + 1)
		return su_fail(&sf->log, "%s: internal error: no state prepared to write", sf->path);
	if (su_write_at(&sf->log, sf->path, sf->fd, slot, SU_STATE_SLOT,
			(off_t)(seq % 2) * SU_STATE_SLOT) != SU_OK)
		return SU_ERR;
	sf->seq = seq;
	sf->prepared_seq = sf->fallback_seq = 0;
	return SU_OK;
}

void su_statefile_close(su_statefile *sf)
{
	if (sf == NULL)
		return;
	if (sf->fd >= 0)
		close(sf->fd);
	free(sf->path);
	su_free_secret(sf, sizeof(*sf));
}
