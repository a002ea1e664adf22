/* What a user's ssh-agent sends (the agent is the user's: anything at all),
 * and what the keys and signatures in it are:
 *
 *  - the input as an agent's answer on a socket: su_agent_call reads the
 *    length and exactly that many bytes, never more than announced or
 *    SU_AGENT_MSG_MAX, and gives up at the end of the stream;
 *  - the input as an identities answer (su_agent_parse_identities): at
 *    most SU_AGENT_IDS_MAX identities, each within its caps, and each
 *    identity's blob as a key (su_sshsk_parse_blob, su_sshsk_fingerprint,
 *    su_sshsk_key_is);
 *  - the input as a sign response (su_agent_parse_sign_response), and its
 *    signature verified (su_sshsk_verify) with two fixed keys (ecdsa-sk and
 *    ed25519-sk, made by ssh-keygen with tests/helpers/sk_soft) over a
 *    fixed challenge; a verdict of VALID has the user-presence flag;
 *  - the input as a public key line (su_sshsk_parse_line).
 *
 * The seeds (corpus/sshagent/) are messages made of the two keys' blobs
 * and of signatures a real ssh-agent 9.2 made of the fixed challenge (the
 * fixtures of tests/unit/test_sshsk.c), with broken variants. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "fuzz.h"
#include "sshagent.h"
#include "sshsk.h"
#include "sshsk_record.h"

static const char *const KEY_LINES[] = {
	"sk-ecdsa-sha2-nistp256@openssh.com AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20"
	"AAAAIbmlzdHAyNTYAAABBBNjUA9VKEjkl6G59Gyk6DIVMQOxTvO1cU7CBPyhKOybX3XOF1+Di73VXk2RBO62hhDr"
	"NUryhmvV/7Z6JwXeYYsQAAAAEc3NoOg== fuzz",
	"sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIO/5AHo0RK46to9Uv7"
	"IYWou2LStCMtMeGolKpMxphdAMAAAABHNzaDo= fuzz",
};

static su_sshsk_key keys[2];
static unsigned char *challenge;
static size_t challenge_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char nonce[SU_SSHSK_NONCE_BYTES];
	char why[256];

	(void)argc;
	(void)argv;
	for (int i = 0; i < SU_SSHSK_NONCE_BYTES; i++)
		nonce[i] = (unsigned char)i;
	for (int i = 0; i < 2; i++)
		if (su_sshsk_parse_line(KEY_LINES[i], &keys[i], why, sizeof(why)) != 0)
			abort();
	/* The challenge of tests/unit/test_sshsk.c, which the seeds sign. */
	if (su_sshsk_challenge(nonce, "host", "sudo", "alice", (uint64_t)FUZZ_NOW, &challenge,
			       &challenge_len) != 0)
		abort();
	return 0;
}

/* The input as the bytes an agent sends back on the socket. */
static void as_stream(const uint8_t *data, size_t size)
{
	static const unsigned char req[] = {SU_AGENTC_REQUEST_IDENTITIES};
	struct timespec deadline;
	unsigned char *resp = NULL;
	size_t resp_len = 0;
	char why[256];
	int sv[2], rc;

	if (size > 65536 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	su_agent_deadline(1000, &deadline);
	rc = su_agent_call(sv[0], req, sizeof(req), &deadline, &resp, &resp_len, why,
			   sizeof(why));
	if (rc == 0) {
		uint32_t announced = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
				     (uint32_t)data[2] << 8 | data[3];

		FUZZ_CHECK(resp_len == announced && resp_len <= SU_AGENT_MSG_MAX &&
			   resp_len + 4 <= size);
		FUZZ_CHECK(memcmp(resp, data + 4, resp_len) == 0);
	} else {
		FUZZ_CHECK(resp == NULL && resp_len == 0);
	}
	free(resp);
	close(sv[0]);
	close(sv[1]);
}

static void as_identities(const uint8_t *data, size_t size)
{
	su_agent_ids ids;
	char why[256];

	if (su_agent_parse_identities(data, size, &ids, why, sizeof(why)) != 0) {
		FUZZ_CHECK(ids.ids == NULL && ids.count == 0);
		return;
	}
	FUZZ_CHECK(ids.count <= SU_AGENT_IDS_MAX);
	for (size_t i = 0; i < ids.count; i++) {
		su_sshsk_key key;
		char fp[SU_SSHSK_FP_SIZE];

		FUZZ_CHECK(ids.ids[i].blob_len <= SU_AGENT_BLOB_MAX);
		FUZZ_CHECK(strlen(ids.ids[i].comment) <= SU_AGENT_COMMENT_MAX);
		if (su_sshsk_parse_blob(ids.ids[i].blob, ids.ids[i].blob_len, &key, why,
					sizeof(why)) != 0) {
			FUZZ_CHECK(key.blob == NULL && key.application == NULL);
			continue;
		}
		FUZZ_CHECK(key.type == SU_SSHSK_ECDSA || key.type == SU_SSHSK_ED25519);
		FUZZ_CHECK(strncmp(key.application, "ssh:", 4) == 0);
		FUZZ_CHECK(su_sshsk_key_is(&key, ids.ids[i].blob, ids.ids[i].blob_len));
		FUZZ_CHECK(su_sshsk_fingerprint(&key, fp) == 0 && strlen(fp) == 50);
		for (int k = 0; k < 2; k++)
			if (su_sshsk_key_is(&keys[k], ids.ids[i].blob, ids.ids[i].blob_len))
				FUZZ_CHECK(key.type == keys[k].type);
		su_sshsk_key_free(&key);
	}
	su_agent_ids_free(&ids);
}

static void as_sign_response(const uint8_t *data, size_t size)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char why[256];
	int rc = su_agent_parse_sign_response(data, size, &sig, &sig_len, why, sizeof(why));

	if (rc != 0) {
		FUZZ_CHECK(sig == NULL && sig_len == 0);
		return;
	}
	FUZZ_CHECK(sig_len > 0 && sig_len <= SU_AGENT_SIG_MAX);
	for (int k = 0; k < 2; k++)
		for (int uv = 0; uv < 2; uv++) {
			uint8_t flags = 0;
			uint32_t counter = 0;
			enum su_sshsk_verdict v;

			v = su_sshsk_verify(&keys[k], challenge, challenge_len, sig, sig_len,
					    uv == 1, &flags, &counter, why, sizeof(why));
			if (v == SU_SSHSK_VALID) {
				FUZZ_CHECK(flags & SU_SSHSK_FLAG_UP);
				FUZZ_CHECK(uv == 0 || (flags & SU_SSHSK_FLAG_UV));
			} else {
				FUZZ_CHECK(why[0] != '\0');
			}
		}
	free(sig);
}

static void as_key_line(const uint8_t *data, size_t size)
{
	char *line = fuzz_cstr(data, size), why[256];
	su_sshsk_key key;

	su_sshsk_enrolled e, again;
	char *back;

	if (su_sshsk_parse_line(line, &key, why, sizeof(why)) == 0) {
		FUZZ_CHECK(key.blob != NULL && key.blob_len <= SU_SSHSK_BLOB_MAX);
		su_sshsk_key_free(&key);
	}
	/* As stepupctl enrols it (sshsk_record.c): the comment printable
	 * ASCII, single-spaced and capped, the id 16 hex digits, and the
	 * record line written back reads as the same key and comment. */
	if (su_sshsk_enrolled_parse(line, &e, why, sizeof(why)) == 0) {
		FUZZ_CHECK(strlen(e.comment) <= SU_SSHSK_COMMENT_MAX);
		for (const char *c = e.comment; *c != '\0'; c++)
			FUZZ_CHECK(*c >= 0x20 && *c <= 0x7e && !(c[0] == ' ' && c[1] == ' '));
		FUZZ_CHECK(strlen(e.id) == 16 && strspn(e.id, "0123456789abcdef") == 16);
		back = su_sshsk_enrolled_line(&e);
		FUZZ_CHECK(back != NULL);
		FUZZ_CHECK(su_sshsk_enrolled_parse(back, &again, why, sizeof(why)) == 0);
		FUZZ_CHECK(strcmp(again.id, e.id) == 0 && strcmp(again.comment, e.comment) == 0);
		su_sshsk_key_free(&again.key);
		free(back);
		su_sshsk_key_free(&e.key);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_stream(data, size);
	/* The message itself: what su_agent_call gives the parsers. */
	as_identities(data, size);
	as_sign_response(data, size);
	as_key_line(data, size);
	return 0;
}
