/* OpenSSH security-key public keys (sk-ecdsa-sha2-nistp256@openssh.com,
 * sk-ssh-ed25519@openssh.com) and their signatures, checked with OpenSSL:
 * the enrolled key line, its fingerprint as ssh-keygen -lf prints it, the
 * challenge the agent is asked to sign, and the verification of the
 * agent's answer (formats: OpenSSH PROTOCOL.u2f).
 *
 * Everything here is pure (no I/O, no logging): a refusal is a return
 * value and a reason in why, for the caller to log. Every input is
 * bounded; anything malformed is refused, never trusted. */
#ifndef SU_SSHSK_H
#define SU_SSHSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SU_SSHSK_ECDSA_NAME "sk-ecdsa-sha2-nistp256@openssh.com"
#define SU_SSHSK_ED25519_NAME "sk-ssh-ed25519@openssh.com"

/* The flags of an authenticator's signature (CTAP authenticator data). */
#define SU_SSHSK_FLAG_UP 0x01 /* user presence: the key was touched */
#define SU_SSHSK_FLAG_UV 0x04 /* user verification: PIN or biometric */

#define SU_SSHSK_LINE_MAX 8192 /* a key line, comment included */
/* The FIDO application string: "ssh:" and a few bytes in practice; 256
 * keeps SU_SSHSK_KEYS_MAX key lines well inside a record. */
#define SU_SSHSK_APP_MAX 256
#define SU_SSHSK_BLOB_MAX 2048 /* a key blob */
#define SU_SSHSK_SIG_MAX 1024  /* a signature blob (about 110 bytes in practice) */
/* "SHA256:" + 43 base64 characters + NUL */
#define SU_SSHSK_FP_SIZE 51
#define SU_SSHSK_NONCE_BYTES 32

enum su_sshsk_type { SU_SSHSK_ECDSA = 1, SU_SSHSK_ED25519 = 2 };

typedef struct su_sshsk_key {
	enum su_sshsk_type type;
	unsigned char pub[65];  /* the uncompressed P-256 point, or 32 bytes Ed25519 */
	size_t pub_len;
	char *application;      /* "ssh:...", NUL-terminated, no NUL inside */
	unsigned char *blob;    /* the whole key blob as the agent names the key */
	size_t blob_len;
} su_sshsk_key;

/* One public key line "TYPE BASE64 [COMMENT]" as ssh-keygen writes it
 * (FILE.pub); leading and trailing blanks are allowed, options are not.
 * 0 and *out filled (free with su_sshsk_key_free), or -1 with the reason
 * in why (every type but the two above is refused by name). */
int su_sshsk_parse_line(const char *line, su_sshsk_key *out, char *why, size_t why_size);

/* A key blob (the base64 part decoded; an agent's identity). Same
 * returns. */
int su_sshsk_parse_blob(const unsigned char *blob, size_t len, su_sshsk_key *out,
			char *why, size_t why_size);

/* Frees what the key holds and clears it; accepts a cleared key. */
void su_sshsk_key_free(su_sshsk_key *key);

/* True if blob is exactly this key (type, public key and application). */
bool su_sshsk_key_is(const su_sshsk_key *key, const unsigned char *blob, size_t len);

/* "SHA256:" and the unpadded base64 of SHA-256 of the blob, as
 * ssh-keygen -lf prints it. 0 or -1. */
int su_sshsk_fingerprint(const su_sshsk_key *key, char out[SU_SSHSK_FP_SIZE]);

/* The message the agent is asked to sign (freed by the caller, public):
 *
 *   "pam_stepup-sshsk-challenge-v1" (29 bytes, no length, no NUL)
 *   string nonce (SU_SSHSK_NONCE_BYTES random bytes from the caller)
 *   string host      (the host's name)
 *   string service   (the PAM service)
 *   string user      (the user stepping up)
 *   uint64 time      (seconds since the epoch, big-endian)
 *
 * (string: uint32 big-endian length, then the bytes). The magic first:
 * read as an SSH string length it is 0x70616d5f, more than any userauth
 * request or SSHSIG blob could be, so a signature of a challenge is never
 * one of those, and no two different lists of fields give the same bytes.
 * 0, or -1 (a field too long: each is at most 1024 bytes, or no memory). */
int su_sshsk_challenge(const unsigned char nonce[SU_SSHSK_NONCE_BYTES], const char *host,
		       const char *service, const char *user, uint64_t now,
		       unsigned char **out, size_t *out_len);

enum su_sshsk_verdict {
	SU_SSHSK_VALID = 0,       /* signed by the key, touched (and verified if asked) */
	SU_SSHSK_INVALID = 1,     /* malformed, another type, or not a signature of the
				   * message by this key (and this application) */
	SU_SSHSK_NO_PRESENCE = 2, /* a good signature without the user-presence flag */
	SU_SSHSK_NO_VERIFICATION = 3, /* good, touched, but not verified, and
				       * require_uv was asked */
};

/* Verify an agent's signature blob (the string of SSH_AGENT_SIGN_RESPONSE)
 * over msg with key: type matching the key's, the ECDSA (mpint r, mpint s)
 * or the 64-byte Ed25519 signature, the flags byte and the counter, nothing
 * after; what the authenticator signed rebuilt as SHA256(key's
 * application) || flags || counter || SHA256(msg) and verified with
 * OpenSSL. User presence is always required; user verification when
 * require_uv. *flags and *counter are set only for SU_SSHSK_VALID: the
 * counter is for su_sshsk_counter_check against the one kept. */
enum su_sshsk_verdict su_sshsk_verify(const su_sshsk_key *key, const unsigned char *msg,
				      size_t msg_len, const unsigned char *sig, size_t sig_len,
				      bool require_uv, uint8_t *flags, uint32_t *counter,
				      char *why, size_t why_size);

enum su_sshsk_counter {
	SU_SSHSK_COUNTER_OK = 0,        /* higher than the one kept */
	SU_SSHSK_COUNTER_NONE = 1,      /* 0 and 0 kept: a key that keeps no counter */
	SU_SSHSK_COUNTER_BACKWARDS = 2, /* not higher than the one kept (a key that
					 * keeps a counter): a possible clone */
};

/* The counter of a valid signature against the one kept for the key (0
 * when none was kept yet). The caller keeps seen after OK. */
enum su_sshsk_counter su_sshsk_counter_check(uint32_t kept, uint32_t seen);

#endif
