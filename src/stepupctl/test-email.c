/* stepupctl test-email USER: a test message to USER's enrolled address. */
#include <stdio.h>

#include "ctl.h"
#include "email.h"
#include "smtp.h"
#include "util.h"

int cmd_test_email(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	su_smtp_result res = { 0 };
	su_kv record = { 0 };
	const char *address;
	bool known;
	int rc;

	(void)nargs;
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc == CTL_OK)
		rc = load_record(c, user, &record, true);
	if (rc != CTL_OK)
		goto out;
	address = su_email_address(&record);
	if (address == NULL) {
		rc = refuse("%s has no email enrolled; run '" PROG " enroll %s email "
			    "ADDRESS' first", user, user);
		goto out;
	}
	/* On failure su_smtp_send has printed what failed, with libcurl's
	 * error and the server's last reply, in one line. */
	if (su_email_send_test(&ctl_log, &c->settings, user, address, &res) != 0) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("sent a test message to %s via %s\nthe mail server answered: %s\n",
	       address, c->settings.smtp_url, res.reply[0] ? res.reply : "(nothing)");
out:
	su_kv_free(&record);
	return rc;
}
