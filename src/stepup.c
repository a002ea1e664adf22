/* The step-up flow (DESIGN.md "The step-up flow"): who, which rule, whether
 * enrolled, then prompt and verify. The result starts as a failure and
 * becomes PAM_SUCCESS in exactly two places: a code accepted and durably
 * recorded, or a rule that lets a user who is not enrolled through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <security/pam_ext.h>
#include <security/pam_modutil.h>
#include "audit.h"
#include "config.h"
#include "conv.h"
#include "secret.h"
#include "stepup.h"
#include "store.h"
#include "totp.h"
#include "util.h"

#define ANSWER_MAX 64 /* longer answers are not codes: refused unparsed */

enum verdict {
	VERDICT_ACCEPTED,
	VERDICT_WRONG,     /* well-formed, does not match */
	VERDICT_REPLAYED,  /* matched a code that was already used */
	VERDICT_MALFORMED, /* not the shape of any accepted code */
	VERDICT_ERROR,     /* store or crypto failure: fail closed */
};

/* Everything one pam_authenticate call knows. */
struct stepup {
	pam_handle_t *pamh;
	su_log log;
	bool silent;
	const char *user;
	const char *service;
	su_audit_who who;
	su_settings settings;
	su_store *store;
	su_kv record;
	su_totp totp;
	const char *offered; /* the method the prompt asks for, for the log */
};

/* A method the flow can offer. Email and recovery codes will join TOTP
 * here; each says whether a user is enrolled and judges an answer. */
struct method {
	enum su_method id;
	const char *name;
	bool (*enrolled)(const su_kv *record);
	enum verdict (*check)(struct stepup *s, const char *code);
};

static enum verdict totp_check(struct stepup *s, const char *code);

static const struct method methods[] = {
	{SU_METHOD_TOTP, "totp", su_totp_enrolled, totp_check},
};

static void say_error(struct stepup *s, const char *text)
{
	if (!s->silent)
		su_conv_error(s->pamh, "%s", text);
}

/* Record the step as used, under the user's state lock, so that two
 * concurrent attempts with one code cannot both get here and succeed.
 * The state keeps the start time of the step in seconds, not its index:
 * a re-enrolment with another period then keeps every second that an
 * accepted code covered used, with no conversion. */
static enum verdict consume_totp_step(struct stepup *s, uint64_t step)
{
	enum verdict v = VERDICT_ERROR;
	su_state_txn *txn = NULL;
	uint64_t last = 0, start;
	su_kv *state;

	if (step > UINT64_MAX / s->totp.period)
		return VERDICT_ERROR;
	start = step * s->totp.period;
	if (su_state_begin(s->store, s->user, &txn, &state) != SU_OK)
		return VERDICT_ERROR;
	if (su_kv_get_u64(&s->log, su_state_name(txn), state, "totp_last_time", 0,
			  UINT64_MAX, &last) < 0)
		goto out;
	if (start <= last) {
		v = VERDICT_REPLAYED;
		goto out;
	}
	if (su_kv_set_u64(state, "totp_last_time", start) != 0 ||
	    su_state_commit(txn) != SU_OK)
		goto out;
	v = VERDICT_ACCEPTED;
out:
	su_state_end(txn);
	return v;
}

static enum verdict totp_check(struct stepup *s, const char *code)
{
	uint64_t step = 0;
	int rc;

	if (!su_totp_code_shaped(&s->totp, code))
		return VERDICT_MALFORMED;
	rc = su_totp_verify(&s->totp, code, time(NULL), s->settings.totp_window, &step);
	if (rc < 0)
		return VERDICT_ERROR;
	if (rc == 0)
		return VERDICT_WRONG;
	return consume_totp_step(s, step);
}

static unsigned enrolled_methods(const struct stepup *s)
{
	unsigned bits = 0;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].enrolled(&s->record))
			bits |= methods[i].id;
	return bits;
}

static int load_settings(struct stepup *s, const su_args *args)
{
	const char *path = args->config_path ? args->config_path : SU_DEFAULT_CONFIG;
	int rc;

	/* A relative path would be resolved in the caller's working directory. */
	if (path[0] != '/')
		return su_fail(&s->log, "module argument 'config=%s': not an absolute path", path);
	rc = su_config_load(&s->log, path, s->service, &s->settings);

	if (rc == SU_NOTFOUND && args->config_path != NULL)
		return su_fail(&s->log, "%s: config file does not exist", path);
	if (rc == SU_NOTFOUND) {
		su_debug(&s->log, "%s does not exist; using built-in defaults", path);
		rc = su_settings_defaults(&s->settings);
	}
	if (rc != SU_OK)
		return -1;
	for (int i = 0; i < args->override_count; i++)
		if (su_settings_apply_arg(&s->log, &s->settings, args->overrides[i]) != 0)
			return -1;
	s->log.debug = s->log.debug || s->settings.debug;
	return 0;
}

static int not_enrolled(struct stepup *s)
{
	if (s->settings.missing == SU_MISSING_ALLOW) {
		su_audit(s->pamh, &s->who, NULL, "allow", "not-enrolled");
		return PAM_SUCCESS;
	}
	su_audit(s->pamh, &s->who, NULL, "deny", "not-enrolled");
	if (!s->silent)
		su_conv_error(s->pamh,
			      "Step-up authentication is required for %s, but %s is not "
			      "enrolled. Ask an administrator to run: stepupctl enroll %s totp",
			      s->service, s->user, s->user);
	return PAM_AUTH_ERR;
}

static int load_user(struct stepup *s, unsigned *usable)
{
	int rc = su_store_open(&s->log, &s->settings, &s->store);

	*usable = 0;
	if (rc == SU_OK)
		rc = su_store_load_user(s->store, s->user, &s->record);
	if (rc != SU_OK)
		return rc;
	*usable = enrolled_methods(s) & s->settings.methods;
	if (*usable & SU_METHOD_TOTP) {
		char *name = su_store_name(s->store, s->user, SU_STORE_RECORD);
		rc = name && su_totp_load(&s->log, name, &s->record, &s->totp) == 0 ?
			SU_OK : SU_ERR;
		free(name);
	}
	return rc;
}

/* Judge one answer against every usable method. */
static enum verdict judge(struct stepup *s, unsigned usable, const char *code,
			  const char **method_name)
{
	*method_name = s->offered;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		enum verdict v;
		if (!(usable & methods[i].id))
			continue;
		v = methods[i].check(s, code);
		*method_name = methods[i].name;
		if (v != VERDICT_MALFORMED)
			return v;
	}
	return VERDICT_MALFORMED;
}

static const char *reason_of(enum verdict v)
{
	switch (v) {
	case VERDICT_ACCEPTED: return "code-accepted";
	case VERDICT_WRONG: return "wrong-code";
	case VERDICT_REPLAYED: return "replayed-code";
	case VERDICT_MALFORMED: return "malformed-code";
	case VERDICT_ERROR: break;
	}
	return "store-error";
}

enum outcome {
	OUTCOME_ACCEPTED,
	OUTCOME_RETRY,      /* a wrong or malformed answer: ask again */
	OUTCOME_CONV_ENDED, /* no answer could be had (EOF, Ctrl-C) */
	OUTCOME_ERROR,      /* store or crypto failure: stop */
};

/* Log and tell the user about one bad answer. */
static enum outcome refuse_answer(struct stepup *s, const char *method,
				  const char *reason, const char *message)
{
	su_audit(s->pamh, &s->who, method, "failure", reason);
	say_error(s, message);
	return OUTCOME_RETRY;
}

/* One prompt and its answer. */
static enum outcome attempt(struct stepup *s, unsigned usable)
{
	char code[ANSWER_MAX + 1];
	const char *method = NULL;
	char *answer = NULL;
	enum verdict v;
	int rc = su_conv_ask_secret(s->pamh, "Verification code: ", &answer);

	if (rc != PAM_SUCCESS || answer == NULL) {
		su_free_string(answer);
		return OUTCOME_CONV_ENDED;
	}
	rc = answer[0] == '\0' ? 0 : su_normalise_code(answer, code, sizeof(code));
	su_free_string(answer);
	if (rc <= 0) {
		su_erase(code, sizeof(code));
		return rc == 0 ?
			refuse_answer(s, s->offered, "no-answer", "No code entered.") :
			refuse_answer(s, s->offered, "malformed-code",
				      "Invalid verification code.");
	}
	v = judge(s, usable, code, &method);
	su_erase(code, sizeof(code));
	switch (v) {
	case VERDICT_ACCEPTED:
		su_audit(s->pamh, &s->who, method, "success", reason_of(v));
		return OUTCOME_ACCEPTED;
	case VERDICT_ERROR:
		su_audit(s->pamh, &s->who, method, "error", reason_of(v));
		say_error(s, "Step-up authentication is unavailable; see the system log.");
		return OUTCOME_ERROR;
	case VERDICT_REPLAYED:
		return refuse_answer(s, method, reason_of(v),
				     "That code has already been used. Wait for the next one.");
	case VERDICT_WRONG:
	case VERDICT_MALFORMED:
		break;
	}
	return refuse_answer(s, method, reason_of(v), "Invalid verification code.");
}

static int prompt_and_verify(struct stepup *s, unsigned usable)
{
	enum outcome o = OUTCOME_RETRY;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (usable & methods[i].id) {
			s->offered = methods[i].name;
			break;
		}
	}
	/* Each failed call costs a guesser this long (libpam randomises it and
	 * applies the longest any module asked for), as pam_unix does. */
	if (s->settings.fail_delay > 0)
		pam_fail_delay(s->pamh, s->settings.fail_delay * 1000000u);
	if (!s->silent)
		su_conv_info(s->pamh, "Step-up authentication required for %s.", s->service);
	for (unsigned i = 0; i < s->settings.tries && o == OUTCOME_RETRY; i++)
		o = attempt(s, usable);
	if (o == OUTCOME_ACCEPTED)
		return PAM_SUCCESS;
	/* Each answer was logged; this line is the outcome of the step-up,
	 * however it ended, so that one line per failure can be alerted on. */
	su_audit(s->pamh, &s->who, s->offered, o == OUTCOME_ERROR ? "error" : "failure",
		 o == OUTCOME_RETRY ? "tries-exhausted" :
		 o == OUTCOME_CONV_ENDED ? "conversation-ended" : "store-error");
	return o == OUTCOME_CONV_ENDED ? PAM_CONV_ERR : PAM_AUTH_ERR;
}

/* Records are keyed by the account's name as NSS spells it: "ALICE" or
 * "alice@corp" resolving to alice must find alice's record, not slip
 * through as a user who is not enrolled. A name NSS does not know is
 * used as given (it can own no session to protect). */
static int canonical_user(struct stepup *s)
{
	const struct passwd *pw;

	if (!su_valid_username(s->user))
		return -1;
	pw = pam_modutil_getpwnam(s->pamh, s->user);
	if (pw == NULL || strcmp(pw->pw_name, s->user) == 0)
		return 0;
	if (!su_valid_username(pw->pw_name))
		return -1;
	su_debug(&s->log, "user '%s' is '%s' in the user database", s->user, pw->pw_name);
	s->user = pw->pw_name;
	s->who.user = pw->pw_name;
	return 0;
}

static int run(struct stepup *s, const su_args *args)
{
	unsigned usable = 0;
	int rc;

	if (load_settings(s, args) != 0) {
		su_audit(s->pamh, &s->who, NULL, "error", "config-error");
		return PAM_SERVICE_ERR;
	}
	if (canonical_user(s) != 0) {
		su_audit(s->pamh, &s->who, NULL, "error", "invalid-user");
		return PAM_AUTH_ERR;
	}
	rc = load_user(s, &usable);
	if (rc == SU_ERR) {
		su_audit(s->pamh, &s->who, NULL, "error", "store-error");
		say_error(s, "Step-up authentication is unavailable; see the system log.");
		return PAM_AUTH_ERR;
	}
	if (rc == SU_NOTFOUND || usable == 0)
		return not_enrolled(s);
	return prompt_and_verify(s, usable);
}

static void stepup_free(struct stepup *s)
{
	su_totp_clear(&s->totp);
	su_kv_free(&s->record);
	su_store_close(s->store);
	su_settings_free(&s->settings);
}

int su_stepup_authenticate(pam_handle_t *pamh, const su_args *args)
{
	struct stepup s = {0};
	int rc;

	s.pamh = pamh;
	s.log = (su_log){.pamh = pamh, .debug = args->debug != 0};
	s.silent = (args->flags & PAM_SILENT) != 0;
	if (geteuid() != 0) {
		su_logf(&s.log, LOG_ERR, "refusing to run: effective uid is %u, not 0",
			(unsigned)geteuid());
		return PAM_AUTHINFO_UNAVAIL;
	}
	rc = pam_get_user(pamh, &s.user, NULL);
	if (rc != PAM_SUCCESS || s.user == NULL) {
		su_logf(&s.log, LOG_ERR, "cannot determine the user: %s", pam_strerror(pamh, rc));
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	su_audit_who_from_pam(pamh, s.user, &s.who);
	s.service = s.who.service ? s.who.service : "this action";
	if (su_totp_init() != 0) {
		su_logf(&s.log, LOG_ERR, "cannot initialise liboath");
		return PAM_SERVICE_ERR;
	}
	rc = run(&s, args);
	stepup_free(&s);
	su_totp_done();
	return rc;
}
