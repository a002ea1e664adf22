/* The step-up flow behind pam_sm_authenticate (docs/design.md, "The flow"). */
#ifndef SU_STEPUP_H
#define SU_STEPUP_H

#include <security/pam_modules.h>

/* Module arguments after the entry point has split them: the config path,
 * the debug flag, and the rest as "key=value" overrides in order. */
typedef struct su_args {
	int flags; /* pam_sm_authenticate's flags (PAM_SILENT) */
	const char *config_path;
	int debug;
	int sudo_plugin; /* "sudo_plugin": read the command and the rule's
			    scope that stepup_sudo.so put in the PAM
			    environment (only then: docs/decisions.md) */
	const char **overrides;
	int override_count;
} su_args;

int su_stepup_authenticate(pam_handle_t *pamh, const su_args *args);

#endif
