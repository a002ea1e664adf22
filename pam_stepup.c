/* PAM entry points only: split the module arguments, then one call into
 * the flow in src/stepup.c. */
#include <string.h>
#include <syslog.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include "stepup.h"

#define MAX_ARGS 32

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	const char *overrides[MAX_ARGS];
	su_args args = {.flags = flags, .overrides = overrides};

	if (argc > MAX_ARGS) {
		pam_syslog(pamh, LOG_ERR, "more than %d module arguments", MAX_ARGS);
		return PAM_SERVICE_ERR;
	}
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0) {
			args.config_path = argv[i] + 7;
			continue;
		}
		if (strcmp(argv[i], "sudo_plugin") == 0) {
			args.sudo_plugin = 1;
			continue;
		}
		/* "debug" is both an early flag (for logging while the config
		 * loads) and a setting like the others. */
		if (strcmp(argv[i], "debug") == 0)
			args.debug = 1;
		overrides[args.override_count++] = argv[i];
	}
	return su_stepup_authenticate(pamh, &args);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
