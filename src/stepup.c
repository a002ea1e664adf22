/* The step-up flow behind pam_sm_authenticate (docs/design.md, "The
 * flow"): run() names every step in order. Each step lets the call go on
 * (STEP_GO) or ends it, allowed or denied; PAM_SUCCESS is returned in
 * exactly one place, at the end of run(), for a call some step allowed:
 * an exempt group, a grace record, a rule that lets a user who is not
 * enrolled through, or an answer accepted and durably recorded. The other
 * files of the flow are listed in flow.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include "cmdrule.h"
#include "conv.h"
#include "flow.h"
#include "grace.h"
#include "lockout.h"
#include "secret.h"
#include "stepup.h"

static enum step deny(struct stepup *s, int pam_code)
{
	s->deny = pam_code;
	return STEP_DENY;
}

/* 1. The configuration, the rule for this service and the module's
 * arguments over it. */
static enum step read_settings(struct stepup *s, const su_args *args)
{
	const char *path = args->config_path ? args->config_path : SU_DEFAULT_CONFIG;
	int rc = SU_ERR;

	/* A relative path would be resolved in the caller's working directory. */
	if (path[0] != '/')
		su_logf(&s->log, LOG_ERR, "module argument 'config=%s': not an absolute path", path);
	else
		rc = su_config_load(&s->log, path, s->service, &s->settings);
	if (rc == SU_NOTFOUND && args->config_path != NULL) {
		su_logf(&s->log, LOG_ERR, "%s: config file does not exist", path);
		rc = SU_ERR;
	} else if (rc == SU_NOTFOUND) {
		su_debug(&s->log, "%s does not exist; using built-in defaults", path);
		rc = su_settings_defaults(&s->settings);
	}
	for (int i = 0; rc == SU_OK && i < args->override_count; i++)
		if (su_settings_apply_arg(&s->log, &s->settings, args->overrides[i]) != 0)
			rc = SU_ERR;
	if (rc != SU_OK) {
		su_audit(s->pamh, &s->who, NULL, "error", "config-error");
		return deny(s, PAM_SERVICE_ERR);
	}
	s->log.debug = s->log.debug || s->settings.debug;
	return STEP_GO;
}

/* A scope is a cmdrule.h scope name: a-z 0-9 _ - only (it becomes part
 * of a grace record's file name). */
static bool valid_scope(const char *scope)
{
	size_t len = strlen(scope);

	return len > 0 && len < SU_CMDRULE_SCOPE_MAX &&
	       scope[strspn(scope, "abcdefghijklmnopqrstuvwxyz0123456789_-")] == '\0';
}

/* 1b. With the argument sudo_plugin (the sudo-stepup stack only), what
 * stepup_sudo.so put in the PAM environment: the command, whom it runs
 * as, and the rule's scope, which keys the grace records. Never read
 * without the argument: in any other stack the PAM environment may hold
 * what a user chose (pam_env user_readenv). The command is shown escaped
 * whatever it holds; a scope that is not a scope name means no grace. */
static enum step sudo_command(struct stepup *s, const su_args *args)
{
	const char *command, *runas, *scope;

	if (!args->sudo_plugin)
		return STEP_GO;
	command = pam_getenv(s->pamh, "STEPUP_COMMAND");
	if (command == NULL)
		return STEP_GO; /* the sudoers route: sudo runs this stack itself */
	runas = pam_getenv(s->pamh, "STEPUP_RUNAS");
	scope = pam_getenv(s->pamh, "STEPUP_SCOPE");
	su_cmdrule_display(command, s->command, SU_FLOW_COMMAND_SHOWN);
	snprintf(s->runas, sizeof(s->runas), "%s",
		 runas != NULL && su_valid_username(runas) ? runas : "?");
	s->who.command = s->command;
	if (scope == NULL || !valid_scope(scope) || s->who.service == NULL ||
	    snprintf(s->grace_service, sizeof(s->grace_service), "%s.%s", s->who.service,
		     scope) >= (int)sizeof(s->grace_service) ||
	    !su_valid_service_name(s->grace_service)) {
		su_logf(&s->log, LOG_NOTICE, "no grace for this command: no usable rule scope");
		s->grace_service[0] = '\0';
		s->settings.grace = 0;
	}
	return STEP_GO;
}

/* 2. Who steps up, as the user database spells them. */
static enum step identify(struct stepup *s)
{
	int rc = su_flow_who_steps_up(s);

	if (rc == 0)
		rc = su_flow_canonical_user(s);
	if (rc == USERDB_ERROR) {
		su_audit(s->pamh, &s->who, NULL, "error", "userdb-unavailable");
		su_flow_say_error(s, "Step-up authentication is unavailable; see the system log.");
		return deny(s, PAM_AUTHINFO_UNAVAIL);
	}
	if (rc != 0) {
		su_audit(s->pamh, &s->who, NULL, "error", "invalid-user");
		return deny(s, PAM_AUTH_ERR);
	}
	return STEP_GO;
}

/* 3. Members of an exempt group are never asked. */
static enum step exempt_group(struct stepup *s)
{
	if (!su_flow_exempt(s))
		return STEP_GO;
	su_audit(s->pamh, &s->who, NULL, "allow", "exempt-group");
	return STEP_ALLOW;
}

/* With a rule scope in force (sudo_plugin), only that scope's own records
 * count: grace_from (even "*") would let another scope's or service's
 * step-up cover this rule. */
static su_grace_want grace_want(struct stepup *s, const su_grace_here *here)
{
	bool scoped = s->grace_service[0] != '\0';

	return (su_grace_want){s->user, s->uid, here, s->who.rhost ? s->who.rhost : "",
			       time(NULL), s->settings.grace, s->settings.methods,
			       scoped ? s->grace_service : s->who.service,
			       scoped ? NULL : s->settings.grace_from};
}

/* 4. The grace record of this user and session, earned in this service or
 * one its rule's grace_from names: checked before the user's record is
 * even read, so the grace path costs the config, the host key and (with
 * grace_from unset) one small file. Any trouble means no grace. */
static enum step grace_record(struct stepup *s, su_grace_here *here)
{
	su_grace_want want = grace_want(s, here);
	unsigned method = 0;
	char name[32];

	if (s->settings.grace == 0 || !s->have_uid || su_grace_here_now(&s->log, here) != 0)
		return STEP_GO;
	if (su_flow_need_hostkey(s) != 0 ||
	    su_grace_check(&s->log, s->settings.grace_dir, s->hostkey, &want, &method) != SU_OK)
		return STEP_GO;
	su_audit(s->pamh, &s->who, su_methods_str(method, name, sizeof(name)), "success",
		 "grace");
	return STEP_ALLOW;
}

/* The user's record and what each usable method needs from it. */
static int load_user(struct stepup *s)
{
	int rc = su_store_open(&s->log, &s->settings, &s->store);

	s->usable = 0;
	if (rc == SU_OK)
		rc = su_store_load_user(s->store, s->user, &s->record);
	if (rc != SU_OK)
		return rc;
	s->usable = su_flow_enrolled(&s->record) & s->settings.methods;
	for (size_t i = 0; rc == SU_OK && i < su_flow_method_count; i++)
		if ((s->usable & su_flow_methods[i].id) && su_flow_methods[i].load != NULL)
			rc = su_flow_methods[i].load(s);
	return rc;
}

static enum step not_enrolled(struct stepup *s)
{
	if (s->settings.missing == SU_MISSING_ALLOW) {
		su_audit(s->pamh, &s->who, NULL, "allow", "not-enrolled");
		return STEP_ALLOW;
	}
	su_audit(s->pamh, &s->who, NULL, "deny", "not-enrolled");
	if (!s->silent)
		su_conv_error(s->pamh,
			      "Step-up authentication is required for %s, but %s is not "
			      "enrolled. Ask an administrator to run: stepupctl enroll %s totp",
			      s->service, s->user, s->user);
	return deny(s, PAM_AUTH_ERR);
}

/* 5. The user's enrolment; one who is not enrolled gets the rule's
 * answer. liboath only from here: the grace path has no use for it. */
static enum step enrolment(struct stepup *s)
{
	int rc;

	if (su_totp_init() != 0) {
		su_logf(&s->log, LOG_ERR, "cannot initialise liboath");
		su_audit(s->pamh, &s->who, NULL, "error", "liboath");
		return deny(s, PAM_SERVICE_ERR);
	}
	s->oath_ready = true;
	rc = load_user(s);
	if (rc == SU_ERR) {
		su_audit(s->pamh, &s->who, NULL, "error", "store-error");
		su_flow_say_error(s, "Step-up authentication is unavailable; see the system log.");
		return deny(s, PAM_AUTH_ERR);
	}
	return rc == SU_NOTFOUND || s->usable == 0 ? not_enrolled(s) : STEP_GO;
}

/* 6. A locked-out user is told until when and refused without a prompt.
 * Read without the lock: every answer is judged under it again. */
static enum step lockout(struct stepup *s)
{
	su_kv state = {0};
	char *name;
	int rc = su_state_peek(s->store, s->user, &state);

	if (rc == SU_NOTFOUND)
		return STEP_GO;
	name = su_store_name(s->store, s->user, SU_STORE_STATE);
	rc = rc != SU_OK || name == NULL ? -1 :
	     su_lockout_locked(&s->log, name, &state, time(NULL), &s->locked_until);
	free(name);
	su_kv_free(&state);
	if (rc == 0)
		return STEP_GO;
	if (rc < 0) {
		su_flow_unavailable(s, NULL);
		return deny(s, PAM_AUTH_ERR);
	}
	su_flow_locked_out(s, "locked-out");
	if (s->settings.fail_delay > 0)
		pam_fail_delay(s->pamh, s->settings.fail_delay * 1000000u);
	return deny(s, PAM_AUTH_ERR);
}

/* 8. A success is remembered for the session (not when no binding exists). */
static void remember(struct stepup *s, const su_grace_here *here)
{
	su_grace_want want = grace_want(s, here);

	if (s->settings.grace == 0 || !s->have_uid || here->binding[0] == '\0' ||
	    s->accepted == 0 || su_flow_need_hostkey(s) != 0)
		return;
	su_grace_write(&s->log, s->settings.grace_dir, s->hostkey, &want, s->accepted);
}

static int run(struct stepup *s, const su_args *args)
{
	su_grace_here here = {{0}, {0}};
	enum step r = read_settings(s, args);   /* 1. config and rule */

	if (r == STEP_GO)
		r = sudo_command(s, args);      /* 1b. a sudo command's scope */
	if (r == STEP_GO)
		r = identify(s);                /* 2. who steps up */
	if (r == STEP_GO)
		r = exempt_group(s);            /* 3. exempt: allowed */
	if (r == STEP_GO)
		r = grace_record(s, &here);     /* 4. in grace: allowed */
	if (r == STEP_GO)
		r = enrolment(s);               /* 5. not enrolled: the rule */
	if (r == STEP_GO)
		r = lockout(s);                 /* 6. locked out: denied */
	if (r == STEP_GO)
		r = su_flow_prompts(s);         /* 7. prompts, one write per answer */
	if (r == STEP_ALLOW)
		remember(s, &here);             /* 8. grace for what comes next */
	return r == STEP_ALLOW ? PAM_SUCCESS : s->deny;
}

static void stepup_free(struct stepup *s)
{
	su_erase(s->hostkey, sizeof(s->hostkey));
	su_totp_clear(&s->totp);
	if (s->oath_ready)
		su_totp_done();
	su_kv_free(&s->record);
	su_sshsk_set_free(&s->sshsk);
	su_pwent_free(&s->pw);
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
	s.deny = PAM_AUTH_ERR;
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
	rc = run(&s, args);
	stepup_free(&s);
	return rc;
}
