/* The inside of the step-up flow, shared by its files (docs/design.md,
 * "The flow"):
 *
 *   stepup.c    the entry point and the flow, step by step
 *   identity.c  who steps up: PAM_USER or the caller, as NSS spells them
 *   methods.c   the methods (TOTP, email, recovery, sshsk): a table of hooks
 *   sshsk_flow.c  the method sshsk: the user's ssh-agent and security key
 *   attempt.c   the prompts, and each answer judged and counted in one write
 *   email_flow.c  sending an email code when the user asks for one
 *   words.c     what the user is told and what the log says
 *
 * Not a public interface: the module's only entry is stepup.h. */
#ifndef SU_FLOW_H
#define SU_FLOW_H

#include <stdbool.h>
#include <time.h>
#include <security/pam_modules.h>
#include "audit.h"
#include "config.h"
#include "hostkey.h"
#include <stdint.h>
#include "kv.h"
#include "log.h"
#include "mail.h"
#include "sshsk_record.h"
#include "store.h"
#include "totp.h"
#include "userdb.h"
#include "util.h"

/* What judging one answer against one method (or all of them) found. */
enum verdict {
	VERDICT_ACCEPTED,
	VERDICT_WRONG,     /* well-formed, does not match */
	VERDICT_REPLAYED,  /* matched a code that was already used */
	VERDICT_EXPIRED,   /* matched an emailed code past its expiry */
	VERDICT_VOIDED,    /* wrong, and the emailed code is now void */
	VERDICT_MALFORMED, /* not the shape of any accepted code */
	VERDICT_BAD_SIGNATURE, /* a security key's signature that does not verify */
	VERDICT_NO_PRESENCE,   /* ... verifies, but the key was not touched */
	VERDICT_NO_PIN,        /* ... touched, but no PIN (sshsk_require_pin) */
	VERDICT_CLONED,        /* ... its counter went backwards: a possible clone */
	VERDICT_LOCKED,    /* the user is locked out: not judged */
	VERDICT_ERROR,     /* store or crypto failure: fail closed */
};

/* What a step of the flow decides: go on to the next step, or end the
 * call, allowed or denied (the PAM code then in stepup.deny). */
enum step { STEP_GO, STEP_ALLOW, STEP_DENY };

/* How one prompt ended, for the prompt loop. */
enum outcome {
	OUTCOME_ACCEPTED,
	OUTCOME_RETRY,      /* a wrong or malformed answer: ask again */
	OUTCOME_EMAILED,    /* the answer asked for an email: ask again, free */
	OUTCOME_CONV_ENDED, /* no answer could be had (EOF, Ctrl-C) */
	OUTCOME_LOCKED,     /* locked out (now or by a concurrent attempt) */
	OUTCOME_ERROR,      /* store or crypto failure: stop */
	OUTCOME_FALLBACK,   /* a method that asks itself had nothing to judge
			     * (no agent, no key, no touch): nothing counted */
};

struct method;

/* One answer, and what the part of judging it that touches no state found
 * for each method. Every usable method does that work for every answer,
 * whichever of them accepts it (attempt.c), so that the time from an
 * answer to its write does not tell the outcome (statefile.c rule 3). */
struct answer {
	const char *code;     /* normalised; NULL: no code at all */
	int totp;             /* 1 a step matched, 0 none, -1 error */
	uint64_t totp_step;
	int email;            /* 0 HMAC made, -1 error */
	char email_hmac[SU_HMAC_HEX];
	int recovery;         /* 0 matched (index) or not (0), -1 error */
	unsigned recovery_index;
	su_kv record_now;     /* the record as it is now, read under the lock */
	/* A method that asks itself (sshsk): only it judges, what it got. */
	const struct method *direct;
	size_t sk_index;      /* the enrolled key (s->sshsk) that signed */
	const unsigned char *sk_msg, *sk_sig;
	size_t sk_msg_len, sk_sig_len;
};

/* The longest command shown at the prompt and in the mail. */
#define SU_FLOW_COMMAND_SHOWN 256

/* Everything one pam_authenticate call knows. */
struct stepup {
	pam_handle_t *pamh;
	su_log log;
	bool silent;
	const char *user;
	const char *service;
	su_audit_who who;
	su_settings settings;
	int deny;             /* the PAM code of a STEP_DENY */
	su_store *store;
	su_kv record;
	su_totp totp;
	bool oath_ready;      /* su_totp_init was called */
	unsigned usable;      /* methods enrolled and accepted by the rule */
	const struct method *offered; /* the method the prompt asks for */
	unsigned char hostkey[SU_HOSTKEY_BYTES];
	bool have_hostkey;
	const char *address;  /* enrolled email address (in record) */
	char masked[SU_MAIL_ADDRESS_MAX + 1]; /* a***@example.com */
	bool email_requested; /* one email per call: a second Enter is a try */
	bool email_delivered; /* ... and the mail went out */
	bool have_uid;        /* NSS knows the user: uid is theirs */
	uid_t uid;
	unsigned accepted;    /* the method whose answer was accepted */
	time_t locked_until;  /* set when a lockout is found or imposed */
	unsigned recovery_left; /* after a recovery code was accepted */
	su_sshsk_set sshsk;   /* the enrolled security keys (sshsk_record.h) */
	size_t sshsk_used;    /* the one whose signature was accepted */
	su_pwent pw;          /* the user's entry and its strings */
	/* identity = ruser from the real uid: a copy, since pw is reused by
	 * the next lookup (a name looked up from inside the buffer the lookup
	 * overwrites matched the first passwd line: root). */
	char caller_name[SU_USER_MAX + 1];
	/* With the argument sudo_plugin and a command from stepup_sudo.so:
	 * the command as shown (cmdrule.h display form), whom it runs as, and
	 * the service grace records are kept under, "SERVICE.SCOPE" (empty:
	 * the service itself). */
	char command[SU_FLOW_COMMAND_SHOWN + 4];
	char runas[SU_USER_MAX + 1];
	char grace_service[SU_SERVICE_MAX + 1];
};

/* A method the flow can offer, as hooks: the flow knows no method by name. */
struct method {
	enum su_method id;
	const char *name; /* in the log's method= field */
	bool needs_hostkey; /* its codes are HMACs under the host key */
	bool (*enrolled)(const su_kv *record);
	/* Read what judging needs from the record; SU_OK or SU_ERR (logged). */
	int (*load)(struct stepup *s);
	/* A method with no typed code (sshsk) gets its answer itself, once,
	 * before the first prompt, and has it judged with su_flow_judge:
	 * OUTCOME_ACCEPTED, OUTCOME_RETRY (refused and counted), OUTCOME_FALLBACK
	 * (nothing to judge, the reason told: the prompt follows), or an end
	 * (LOCKED, ERROR, CONV_ENDED). NULL for a method of typed codes. A
	 * method that asks has no shaped or work and is never the one the
	 * prompt offers. */
	enum outcome (*ask)(struct stepup *s, const struct method *m);
	/* Whether the answer has the shape of this method's codes: the
	 * caller knows that much already, so it may decide work. */
	bool (*shaped)(const struct stepup *s, const char *code);
	/* The work of judging that reads no state (HMACs, the record now),
	 * its results into a. */
	void (*work)(struct stepup *s, struct answer *a);
	/* The judgement against state, inside the attempt's transaction (txn
	 * names the state in messages), changing state as an accepted or
	 * refused answer must; nothing said. */
	enum verdict (*check)(struct stepup *s, struct answer *a, su_state_txn *txn,
			      su_kv *state);
	/* Log and tell an acceptance (NULL: the plain success line). */
	void (*accepted)(struct stepup *s, const struct method *m);
	/* What a replayed code is told. */
	const char *replayed_words;
};

/* methods.c; at most SU_FLOW_METHODS_MAX of them */
#define SU_FLOW_METHODS_MAX 8
extern const struct method su_flow_methods[];
extern const size_t su_flow_method_count;
const struct method *su_flow_method(enum su_method id);
unsigned su_flow_enrolled(const su_kv *record);
/* The usable methods the prompt asks for (no ask hook). */
unsigned su_flow_prompted(const struct stepup *s);
int su_flow_need_hostkey(struct stepup *s);

/* identity.c: 0, -1 (refused: invalid user) or USERDB_ERROR (logged). */
#define USERDB_ERROR (-2)
int su_flow_who_steps_up(struct stepup *s);
int su_flow_canonical_user(struct stepup *s);
bool su_flow_exempt(struct stepup *s);
bool su_flow_caller_is_user(const struct stepup *s);

/* attempt.c: the prompts of a user who is enrolled and not locked out. */
enum step su_flow_prompts(struct stepup *s);
/* An answer a method got itself (a->direct), judged and counted in one
 * write as a typed one is, and said. */
enum outcome su_flow_judge(struct stepup *s, struct answer *a);

/* sshsk_flow.c: the hooks of the method sshsk. */
bool su_flow_sshsk_enrolled(const su_kv *record);
int su_flow_sshsk_load(struct stepup *s);
enum outcome su_flow_sshsk_ask(struct stepup *s, const struct method *m);
enum verdict su_flow_sshsk_check(struct stepup *s, struct answer *a, su_state_txn *txn,
				 su_kv *state);
void su_flow_sshsk_accepted(struct stepup *s, const struct method *m);

/* email_flow.c */
bool su_flow_offers_email(const struct stepup *s);
bool su_flow_asks_for_email(const struct stepup *s, const char *answer);
enum outcome su_flow_email_request(struct stepup *s);
bool su_flow_email_first(struct stepup *s, enum outcome *o);

/* words.c */
void su_flow_say_error(struct stepup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *su_flow_reason(enum verdict v);
const char *su_flow_name(const struct method *m);
enum outcome su_flow_refuse(struct stepup *s, const struct method *m, const char *reason,
			    const char *message);
enum outcome su_flow_refused(struct stepup *s, enum verdict v, const struct method *m);
enum outcome su_flow_unavailable(struct stepup *s, const struct method *m);
enum outcome su_flow_locked_out(struct stepup *s, const char *reason);
void su_flow_end_grace(struct stepup *s);

#endif
