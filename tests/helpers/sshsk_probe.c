/* tests/integration/sshsk_agent.sh: the agent client (sshagent.c) and the
 * key checks (sshsk.c) against a real ssh-agent, as the method will use
 * them.
 *
 *   sshsk_probe [OPTIONS] list SOCKET
 *       connect, list the identities: one line per identity,
 *       "sk FINGERPRINT" for a security key, "other" for anything else.
 *   sshsk_probe [OPTIONS] sign SOCKET KEYFILE.pub
 *       connect, find the key among the identities, have it sign a fresh
 *       challenge, verify the signature, judge the counter.
 *
 * OPTIONS: --uv (user verification required), --kept N (the counter kept
 * for the key), --timeout MS (default 30000), --as UID:GID (connect as
 * that user; default the caller's ids).
 *
 * Prints one line "result=R ..." and exits: 0 valid (counter ok or none),
 * 1 refused (R: no-key, agent-refused, invalid, no-presence,
 * no-verification), 3 counter-backwards, 2 an error (R: error, with why).
 * "elapsed_ms=N" says how long it took. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "secret.h"
#include "sshagent.h"
#include "sshsk.h"
#include "util.h"

static struct timespec started;

static long elapsed_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - started.tv_sec) * 1000 +
	       (now.tv_nsec - started.tv_nsec) / 1000000;
}

static int say(int rc, const char *result, const char *why)
{
	printf("result=%s elapsed_ms=%ld%s%s\n", result, elapsed_ms(), why ? " why=" : "",
	       why ? why : "");
	return rc;
}

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (f == NULL)
		return -1;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	return ok ? 0 : -1;
}

static int list(int fd, const struct timespec *deadline)
{
	su_agent_ids ids;
	char why[256] = "";

	if (su_agent_list(fd, deadline, &ids, why, sizeof(why)) != 0)
		return say(2, "error", why);
	for (size_t i = 0; i < ids.count; i++) {
		su_sshsk_key key;
		char fp[SU_SSHSK_FP_SIZE];

		if (su_sshsk_parse_blob(ids.ids[i].blob, ids.ids[i].blob_len, &key, why,
					sizeof(why)) == 0 &&
		    su_sshsk_fingerprint(&key, fp) == 0)
			printf("sk %s %s\n", fp, key.application);
		else
			printf("other\n");
		su_sshsk_key_free(&key);
	}
	printf("count=%zu\n", ids.count);
	su_agent_ids_free(&ids);
	return say(0, "listed", NULL);
}

static int sign(int fd, const struct timespec *deadline, const char *keyfile, bool uv,
		uint32_t kept)
{
	char line[SU_SSHSK_LINE_MAX + 2], why[256] = "", host[256];
	unsigned char nonce[SU_SSHSK_NONCE_BYTES], *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0;
	su_sshsk_key key;
	su_agent_ids ids;
	bool held = false;
	enum su_sshsk_verdict v;
	uint8_t flags = 0;
	uint32_t counter = 0;
	int rc;

	if (read_line(keyfile, line, sizeof(line)) != 0)
		return say(2, "error", "cannot read the key file");
	if (su_sshsk_parse_line(line, &key, why, sizeof(why)) != 0)
		return say(2, "error", why);
	if (su_agent_list(fd, deadline, &ids, why, sizeof(why)) != 0) {
		su_sshsk_key_free(&key);
		return say(2, "error", why);
	}
	for (size_t i = 0; i < ids.count; i++)
		held = held || su_sshsk_key_is(&key, ids.ids[i].blob, ids.ids[i].blob_len);
	su_agent_ids_free(&ids);
	if (!held) {
		su_sshsk_key_free(&key);
		return say(1, "no-key", "the agent does not hold the key");
	}
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if (su_random(nonce, sizeof(nonce)) != 0 ||
	    su_sshsk_challenge(nonce, host, "sshsk_probe", "probe", (uint64_t)time(NULL), &msg,
			       &msg_len) != 0) {
		su_sshsk_key_free(&key);
		return say(2, "error", "no challenge");
	}
	rc = su_agent_sign(fd, deadline, key.blob, key.blob_len, msg, msg_len, &sig, &sig_len,
			   why, sizeof(why));
	if (rc != 0) {
		free(msg);
		su_sshsk_key_free(&key);
		return rc == 1 ? say(1, "agent-refused", why) : say(2, "error", why);
	}
	v = su_sshsk_verify(&key, msg, msg_len, sig, sig_len, uv, &flags, &counter, why,
			    sizeof(why));
	free(msg);
	free(sig);
	su_sshsk_key_free(&key);
	switch (v) {
	case SU_SSHSK_VALID:
		break;
	case SU_SSHSK_NO_PRESENCE:
		return say(1, "no-presence", why);
	case SU_SSHSK_NO_VERIFICATION:
		return say(1, "no-verification", why);
	default:
		return say(1, "invalid", why);
	}
	printf("flags=0x%02x counter=%u\n", flags, counter);
	switch (su_sshsk_counter_check(kept, counter)) {
	case SU_SSHSK_COUNTER_BACKWARDS:
		return say(3, "counter-backwards", NULL);
	case SU_SSHSK_COUNTER_NONE:
		return say(0, "valid-no-counter", NULL);
	default:
		return say(0, "valid", NULL);
	}
}

int main(int argc, char **argv)
{
	unsigned timeout = 30000;
	uid_t uid = getuid();
	gid_t gid = getgid();
	uint32_t kept = 0;
	bool uv = false;
	struct timespec deadline;
	char why[256] = "";
	int i = 1, fd, rc;

	clock_gettime(CLOCK_MONOTONIC, &started);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		uint64_t v;

		if (strcmp(argv[i], "--uv") == 0)
			uv = true;
		else if (strcmp(argv[i], "--kept") == 0 && i + 1 < argc &&
			 su_parse_u64(argv[i + 1], 0, UINT32_MAX, &v))
			kept = (uint32_t)v, i++;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc &&
			 su_parse_uint(argv[i + 1], 1, 600000, &timeout))
			i++;
		else if (strcmp(argv[i], "--as") == 0 && i + 1 < argc) {
			unsigned u, g;

			if (sscanf(argv[++i], "%u:%u", &u, &g) != 2)
				return say(2, "error", "--as UID:GID");
			uid = u;
			gid = g;
		} else
			return say(2, "error", "unknown option");
	}
	if (argc - i < 2 || (strcmp(argv[i], "sign") == 0 && argc - i < 3))
		return say(2, "error", "usage: sshsk_probe [OPTIONS] list|sign SOCKET [KEY.pub]");
	su_agent_deadline(timeout, &deadline);
	if (su_agent_connect(argv[i + 1], uid, gid, &deadline, &fd, why, sizeof(why)) != 0)
		return say(2, "error", why);
	if (strcmp(argv[i], "list") == 0)
		rc = list(fd, &deadline);
	else if (strcmp(argv[i], "sign") == 0)
		rc = sign(fd, &deadline, argv[i + 2], uv, kept);
	else
		rc = say(2, "error", "unknown command");
	close(fd);
	return rc;
}
