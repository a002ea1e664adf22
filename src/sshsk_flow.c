/* The method sshsk: a signature by one of the user's enrolled security
 * keys, asked of the user's own ssh-agent (docs/decisions.md, "Security
 * keys over SSH"). The agent is found through SSH_AUTH_SOCK, reached as
 * the user (never as root: sshagent.c), asked for the keys it holds and
 * for one signature of a fresh challenge bound to this host, service,
 * user and time; the signature, its flags and its counter are judged
 * here, inside the attempt's transaction like any code.
 *
 * What the user controls: the variable, the agent, what it answers and
 * when. So: a socket is connected to by a child with the user's ids only,
 * its peer must be the user or root, every read is bounded and the whole
 * dialogue ends at sshsk_timeout. Anything the agent does short of a
 * signature (no socket, no key, a refusal, garbage, silence) is a
 * fallback to the prompt, and counts for nothing: it proves nothing and
 * costs the user nothing they could not cost themselves by unsetting the
 * variable. A signature that is not a good one (does not verify, no
 * touch, no PIN when one is required, a counter that went backwards) is
 * a failed attempt, counted towards lockout as a wrong code is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include "conv.h"
#include "flow.h"
#include "secret.h"
#include "sshagent.h"
#include "sshsk.h"

#define HOST_MAX 256

bool su_flow_sshsk_enrolled(const su_kv *record)
{
	return su_sshsk_enrolled_in(record);
}

int su_flow_sshsk_load(struct stepup *s)
{
	char *name = su_store_name(s->store, s->user, SU_STORE_RECORD);
	int rc = name != NULL ? su_sshsk_set_load(&s->log, name, &s->record, &s->sshsk) : SU_ERR;

	free(name);
	return rc;
}

/* The agent's socket: the PAM environment first (a PAM application
 * that keeps one, or pam_env), then the process's own (sudo, su and
 * stepup-gate run with the caller's). Either is the user's to choose:
 * what keeps it from being a door is how it is connected to. */
static const char *agent_path(struct stepup *s)
{
	const char *path = pam_getenv(s->pamh, "SSH_AUTH_SOCK");

	if (path == NULL || path[0] == '\0')
		path = getenv("SSH_AUTH_SOCK");
	return path != NULL && path[0] != '\0' ? path : NULL;
}

/* Nothing to judge: said in one line, logged, and the prompt follows. */
static enum outcome fall_back(struct stepup *s, const struct method *m, const char *reason,
			      const char *why)
{
	su_logf(&s->log, LOG_NOTICE, "sshsk: %s: %s: %s; falling back to the other methods",
		s->user, reason, why);
	if (!s->silent)
		su_conv_info(s->pamh, "No security key: %s%s", why,
			     su_flow_prompted(s) != 0 ? "; enter a verification code." : ".");
	(void)m;
	return OUTCOME_FALLBACK;
}

/* The first enrolled key (in the record's order) that the agent holds. */
static bool key_in_agent(const struct stepup *s, const su_agent_ids *ids, size_t *index)
{
	for (size_t k = 0; k < s->sshsk.count; k++)
		for (size_t i = 0; i < ids->count; i++)
			if (su_sshsk_key_is(&s->sshsk.keys[k].key, ids->ids[i].blob,
					    ids->ids[i].blob_len)) {
				*index = k;
				return true;
			}
	return false;
}

static int host_name(char host[HOST_MAX])
{
	memset(host, 0, HOST_MAX);
	if (gethostname(host, HOST_MAX - 1) != 0 || host[0] == '\0')
		return -1;
	return 0;
}

enum outcome su_flow_sshsk_ask(struct stepup *s, const struct method *m)
{
	unsigned char nonce[SU_SSHSK_NONCE_BYTES];
	unsigned char *msg = NULL, *sig = NULL;
	size_t msg_len = 0, sig_len = 0, index = 0;
	su_agent_ids ids = {0};
	struct timespec deadline;
	const struct passwd *pw = NULL;
	su_pwent pwent;
	char why[256] = "", host[HOST_MAX];
	const char *path = agent_path(s);
	enum outcome o = OUTCOME_FALLBACK;
	gid_t gid;
	int fd = -1, rc;

	memset(&pwent, 0, sizeof(pwent));
	/* The variable is the caller's. Another user (su USER with identity =
	 * user) could name the socket of the user's own agent, which the
	 * child, as the user, would reach: the user's key, touched by a user
	 * who thinks it is for them, must not step up someone else. */
	if (!su_flow_caller_is_user(s))
		return fall_back(s, m, "not-callers", "the SSH agent would be another user's "
				 "(you are not the user who steps up)");
	if (path == NULL)
		return fall_back(s, m, "no-agent", "no SSH agent (SSH_AUTH_SOCK not set)");
	if (!s->have_uid || su_userdb_uid(&pwent, s->uid, &pw) != 0 || pw == NULL) {
		su_pwent_free(&pwent);
		return fall_back(s, m, "no-uid", "the user database does not know this user");
	}
	gid = pw->pw_gid;
	su_pwent_free(&pwent);
	su_agent_deadline(s->settings.sshsk_timeout * 1000u, &deadline);
	if (su_agent_connect(path, s->uid, gid, &deadline, &fd, why, sizeof(why)) != 0) {
		o = fall_back(s, m, "no-agent", "cannot reach your SSH agent");
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: SSH_AUTH_SOCK: %s", s->user, why);
		goto out;
	}
	if (su_agent_list(fd, &deadline, &ids, why, sizeof(why)) != 0) {
		o = fall_back(s, m, "agent-error", "your SSH agent did not list its keys");
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: agent: %s", s->user, why);
		goto out;
	}
	if (!key_in_agent(s, &ids, &index)) {
		o = fall_back(s, m, "no-key", "none of your enrolled security keys is in "
			      "your SSH agent");
		goto out;
	}
	if (su_random(nonce, sizeof(nonce)) != 0 || host_name(host) != 0 ||
	    su_sshsk_challenge(nonce, host, s->service, s->user, (uint64_t)time(NULL), &msg,
			       &msg_len) != 0) {
		su_logf(&s->log, LOG_ERR, "sshsk: %s: cannot make a challenge", s->user);
		o = fall_back(s, m, "error", "cannot make a challenge (see the system log)");
		goto out;
	}
	if (!s->silent)
		su_conv_info(s->pamh, "Touch your security key to continue (%s).",
			     s->sshsk.keys[index].fp);
	rc = su_agent_sign(fd, &deadline, s->sshsk.keys[index].key.blob,
			   s->sshsk.keys[index].key.blob_len, msg, msg_len, &sig, &sig_len, why,
			   sizeof(why));
	close(fd);
	fd = -1;
	if (rc == 1) {
		o = fall_back(s, m, "refused", "the security key was not touched, or the agent "
			      "refused");
		goto out;
	}
	if (rc != 0) {
		o = fall_back(s, m, "agent-error", "no signature from your SSH agent in time");
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: agent: %s", s->user, why);
		goto out;
	}
	o = su_flow_judge(s, &(struct answer){.direct = m, .sk_index = index, .sk_msg = msg,
					       .sk_msg_len = msg_len, .sk_sig = sig,
					       .sk_sig_len = sig_len});
	if (o == OUTCOME_RETRY && su_flow_prompted(s) != 0 && !s->silent)
		su_conv_info(s->pamh, "Enter a verification code instead.");
out:
	if (fd >= 0)
		close(fd);
	su_agent_ids_free(&ids);
	su_erase(nonce, sizeof(nonce));
	free(msg);
	free(sig);
	return o;
}

/* Inside the attempt's transaction, the failure already counted: the
 * signature, its flags, then the counter against the one kept. */
enum verdict su_flow_sshsk_check(struct stepup *s, struct answer *a, su_state_txn *txn,
				 su_kv *state)
{
	const su_sshsk_enrolled *k;
	char name[SU_SSHSK_KEYNAME_SIZE], why[256] = "";
	uint64_t kept = 0;
	uint32_t counter = 0;
	uint8_t flags = 0;
	int rc;

	if (a->sk_index >= s->sshsk.count)
		return VERDICT_ERROR;
	k = &s->sshsk.keys[a->sk_index];
	switch (su_sshsk_verify(&k->key, a->sk_msg, a->sk_msg_len, a->sk_sig, a->sk_sig_len,
				s->settings.sshsk_require_pin, &flags, &counter, why,
				sizeof(why))) {
	case SU_SSHSK_VALID:
		break;
	case SU_SSHSK_NO_PRESENCE:
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: key %s: %s", s->user, k->fp, why);
		return VERDICT_NO_PRESENCE;
	case SU_SSHSK_NO_VERIFICATION:
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: key %s: %s", s->user, k->fp, why);
		return VERDICT_NO_PIN;
	default:
		su_logf(&s->log, LOG_NOTICE, "sshsk: %s: key %s: %s", s->user, k->fp, why);
		return VERDICT_BAD_SIGNATURE;
	}
	su_sshsk_key_name(SU_SSHSK_COUNTER_PREFIX, k->id, name);
	rc = su_kv_get_u64(&s->log, su_state_name(txn), state, name, 0, UINT32_MAX, &kept);
	if (rc < 0)
		return VERDICT_ERROR;
	switch (su_sshsk_counter_check((uint32_t)kept, counter)) {
	case SU_SSHSK_COUNTER_OK:
		if (su_kv_set_u64(state, name, counter) != 0)
			return VERDICT_ERROR;
		break;
	case SU_SSHSK_COUNTER_NONE:
		break;
	case SU_SSHSK_COUNTER_BACKWARDS:
		su_logf(&s->log, LOG_WARNING, "sshsk: %s: key %s (%s): signature counter %lu, "
			"not above the %llu kept: possible cloned security key; refused",
			s->user, k->fp, k->comment, (unsigned long)counter,
			(unsigned long long)kept);
		return VERDICT_CLONED;
	}
	s->sshsk_used = a->sk_index;
	return VERDICT_ACCEPTED;
}

void su_flow_sshsk_accepted(struct stepup *s, const struct method *m)
{
	const su_sshsk_enrolled *k = &s->sshsk.keys[s->sshsk_used];

	su_audit_extra(s->pamh, &s->who, m->name, "success", "key-accepted", "key", k->fp);
	if (!s->silent)
		su_conv_info(s->pamh, "Security key accepted.");
}
