/* A client of the user's ssh-agent (draft-miller-ssh-agent; OpenSSH's
 * PROTOCOL.agent), for the method sshsk: list the identities, ask for a
 * signature. The agent and the socket path are the user's: a hostile
 * agent may answer anything (huge lengths, thousands of identities,
 * garbage, nothing at all), so every length read is capped before it is
 * trusted, every wait has a deadline, and any failure is "no key".
 *
 * Split in three: the pure parsers and builders (fuzzed:
 * tests/fuzz/fuzz_sshagent.c), the I/O of one request and its answer on a
 * connected descriptor, and the connection to SSH_AUTH_SOCK with the
 * user's identity. Nothing logs: each failure is -1 with the reason in
 * why, for the caller to log. */
#ifndef SU_SSHAGENT_H
#define SU_SSHAGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Message numbers (draft-miller-ssh-agent section 5.1). */
#define SU_AGENT_FAILURE 5
#define SU_AGENTC_REQUEST_IDENTITIES 11
#define SU_AGENT_IDENTITIES_ANSWER 12
#define SU_AGENTC_SIGN_REQUEST 13
#define SU_AGENT_SIGN_RESPONSE 14

/* Caps on what an agent may send. An answer longer than SU_AGENT_MSG_MAX
 * is refused from its length alone, before it is read. */
#define SU_AGENT_MSG_MAX (256 * 1024)
#define SU_AGENT_IDS_MAX 512       /* identities in one answer */
#define SU_AGENT_BLOB_MAX 16384    /* one key blob (an RSA certificate fits) */
#define SU_AGENT_COMMENT_MAX 4096  /* one identity's comment */
#define SU_AGENT_SIG_MAX 16384     /* the signature of a sign response */
/* What this client sends: a request with a larger key or message is not
 * built. */
#define SU_AGENT_DATA_MAX 8192

typedef struct su_agent_id {
	unsigned char *blob; /* the key blob, as the agent names the key */
	size_t blob_len;
	char *comment;       /* NUL-terminated; may hold anything else */
} su_agent_id;

typedef struct su_agent_ids {
	su_agent_id *ids;
	size_t count;
} su_agent_ids;

/* --- parsers and builders (no I/O) ------------------------------------ */

/* msg: one message as read (its type byte first, the length frame taken
 * off). SU_AGENT_IDENTITIES_ANSWER: uint32 count, then count times
 * (string blob, string comment), nothing after. 0 and *out (free with
 * su_agent_ids_free), or -1 (why) and *out empty: a count over
 * SU_AGENT_IDS_MAX, a blob or comment over its cap, a count the message
 * cannot hold, anything after, any other message. */
int su_agent_parse_identities(const unsigned char *msg, size_t len, su_agent_ids *out,
			      char *why, size_t why_size);
void su_agent_ids_free(su_agent_ids *ids);

/* SU_AGENT_SIGN_RESPONSE: string signature, nothing after. 0 and *sig
 * (malloc'ed, the caller frees), 1 for SU_AGENT_FAILURE (the agent
 * refused: no key, no touch), -1 (why) for anything else. */
int su_agent_parse_sign_response(const unsigned char *msg, size_t len, unsigned char **sig,
				 size_t *sig_len, char *why, size_t why_size);

/* The body (no length frame) of SSH_AGENTC_SIGN_REQUEST: string key blob,
 * string data, uint32 flags 0. *out malloc'ed; 0 or -1. */
int su_agent_sign_request(const unsigned char *blob, size_t blob_len,
			  const unsigned char *data, size_t data_len, unsigned char **out,
			  size_t *out_len);

/* --- I/O ---------------------------------------------------------------- */

/* A deadline timeout_ms from now (CLOCK_MONOTONIC), for the calls below. */
void su_agent_deadline(unsigned timeout_ms, struct timespec *deadline);

/* One request and its answer on a connected stream socket: the length
 * frame and body sent (MSG_NOSIGNAL: a closed peer is an error, never a
 * SIGPIPE), then a uint32 length, refused if 0 or over SU_AGENT_MSG_MAX,
 * and exactly that many bytes read (nothing more is read). Every wait is
 * a poll that ends at the deadline; EINTR is waited out. 0 and *resp
 * (malloc'ed, the caller frees), or -1 (why). */
int su_agent_call(int fd, const unsigned char *req, size_t req_len,
		  const struct timespec *deadline, unsigned char **resp, size_t *resp_len,
		  char *why, size_t why_size);

/* SSH_AGENTC_REQUEST_IDENTITIES and its answer, parsed. */
int su_agent_list(int fd, const struct timespec *deadline, su_agent_ids *out, char *why,
		  size_t why_size);

/* A signature of data by the key blob: 0 and *sig, 1 when the agent
 * refused, -1 (why) otherwise; as su_agent_parse_sign_response. */
int su_agent_sign(int fd, const struct timespec *deadline, const unsigned char *blob,
		  size_t blob_len, const unsigned char *data, size_t data_len,
		  unsigned char **sig, size_t *sig_len, char *why, size_t why_size);

/* Connect to the agent socket at path as the user uid (primary group gid)
 * would, never as the caller: a child process drops to uid and gid (no
 * supplementary groups) for good, connects, and hands the descriptor
 * back over a socket pair (SCM_RIGHTS); see sshagent.c for why a child.
 * Then the peer is checked (SO_PEERCRED): its uid must be uid or 0. The
 * descriptor (close-on-exec) in *fd, or -1 (why) and *fd -1. path must be
 * absolute. The whole is bounded by the deadline (a child that answered
 * is given 500 ms more to end): the child is signalled and reaped only
 * through its pidfd, never by pid, whatever the host does with SIGCHLD. */
int su_agent_connect(const char *path, uid_t uid, gid_t gid, const struct timespec *deadline,
		     int *fd, char *why, size_t why_size);

#endif
