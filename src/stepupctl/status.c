/* stepupctl status [USER]: one line per enrolled user, or one user in
 * detail: what each method shows of itself (its summary and details in
 * methods[]) and the lockout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "email.h"
#include "lockout.h"
#include "recovery.h"
#include "totp.h"
#include "util.h"

/* ---- each method, in methods[] --------------------------------------- */

int email_summary(const user_view *v, char *buf, size_t size)
{
	snprintf(buf, size, "email %s", su_email_address(&v->record));
	return CTL_OK;
}

int email_details(const user_view *v)
{
	time_t now = time(NULL), expires = 0;
	unsigned sent = 0;
	char when[64];

	if (su_email_sends_last_hour(&ctl_log, v->state_path, &v->state, now, &sent) != 0)
		return CTL_REFUSED;
	printf("email address: %s\n", su_email_address(&v->record));
	if (su_email_pending(&v->state, now, &expires)) {
		local_time(expires, when, sizeof(when));
		printf("email code: pending, expires %s\n", when);
	} else {
		printf("email code: none pending\n");
	}
	printf("email codes sent in the last hour: %u\n", sent);
	return CTL_OK;
}

/* The replay barrier (the start, in Unix seconds, of the last accepted
 * time step) as "2024-05-01 12:00:00 CEST", or "never". */
static int last_code_time(const user_view *v, char *buf, size_t size)
{
	uint64_t secs = 0;
	int rc = su_totp_barrier(&ctl_log, v->state_path, &v->state, &secs);

	if (rc < 0)
		return CTL_REFUSED;
	if (rc == SU_KV_ABSENT)
		snprintf(buf, size, "never");
	else if (secs > (uint64_t)INT64_MAX) /* no time_t: as local_time says it */
		snprintf(buf, size, "@%llu", (unsigned long long)secs);
	else
		local_time((time_t)secs, buf, size);
	return CTL_OK;
}

static int totp_params(const user_view *v, unsigned *digits, unsigned *period)
{
	su_totp t;

	if (su_totp_load(&ctl_log, v->record_path, &v->record, &t) != 0)
		return CTL_REFUSED;
	*digits = t.digits;
	*period = t.period;
	su_totp_clear(&t);
	return CTL_OK;
}

/* What status shows of a TOTP enrolment; no secret in it. */
static int totp_view(const user_view *v, unsigned *digits, unsigned *period,
		     char *last, size_t last_size)
{
	int rc = totp_params(v, digits, period);

	if (rc == CTL_OK)
		rc = last_code_time(v, last, last_size);
	return rc;
}

int totp_summary(const user_view *v, char *buf, size_t size)
{
	unsigned digits, period;
	char last[64];
	int rc = totp_view(v, &digits, &period, last, sizeof(last));

	if (rc != CTL_OK)
		return rc;
	snprintf(buf, size, "totp (%u digits, %u s)%s%s", digits, period,
		 strcmp(last, "never") != 0 ? ", last code " : "",
		 strcmp(last, "never") != 0 ? last : "");
	return CTL_OK;
}

int totp_details(const user_view *v)
{
	unsigned digits, period;
	char last[64];
	int rc = totp_view(v, &digits, &period, last, sizeof(last));

	if (rc != CTL_OK)
		return rc;
	printf("totp digits: %u\ntotp period: %u s\ntotp last code: %s\n", digits,
	       period, last);
	return CTL_OK;
}

static int recovery_view(const user_view *v, unsigned *left, unsigned *total)
{
	return su_recovery_left(&ctl_log, v->record_path, &v->record, &v->state, left,
				total) == 0 ? CTL_OK : CTL_REFUSED;
}

int recovery_summary(const user_view *v, char *buf, size_t size)
{
	unsigned left, total;
	int rc = recovery_view(v, &left, &total);

	if (rc == CTL_OK)
		snprintf(buf, size, "recovery (%u of %u left%s)", left, total,
			 su_recovery_imported(&v->record) ? ", imported 8-digit" : "");
	return rc;
}

int recovery_details(const user_view *v)
{
	unsigned left, total;
	int rc = recovery_view(v, &left, &total);

	if (rc == CTL_OK)
		printf("recovery codes: %u of %u left%s%s\n", left, total,
		       su_recovery_imported(&v->record) ?
		       " (8-digit scratch codes imported from google-authenticator)" : "",
		       left == 0 ? " (make new ones: " PROG " recovery USER)" : "");
	return rc;
}

/* ---- users ------------------------------------------------------------- */

static void user_view_free(user_view *v)
{
	su_kv_free(&v->record);
	su_kv_free(&v->state);
	free(v->record_path);
	free(v->state_path);
	*v = (user_view){ 0 };
}

/* Record and state of user; CTL_REFUSED if not enrolled or refused. */
static int user_view_load(ctl *c, const char *user, user_view *v)
{
	int rc;

	*v = (user_view){ .user = user };
	v->record_path = su_store_name(c->store, user, SU_STORE_RECORD);
	v->state_path = su_store_name(c->store, user, SU_STORE_STATE);
	if (v->record_path == NULL || v->state_path == NULL)
		return out_of_memory();
	rc = load_record(c, user, &v->record, true);
	if (rc != CTL_OK)
		return rc;
	rc = su_state_peek(c->store, user, &v->state);
	return rc == SU_ERR ? CTL_REFUSED : CTL_OK;
}

/* Failures and lock of a user, appended to a status line. */
static int lockout_summary(const user_view *v, char *line, size_t size)
{
	char part[96], when[64];
	uint64_t failures = su_lockout_failures(&v->state);
	time_t until = 0;
	int locked = su_lockout_locked(&ctl_log, v->state_path, &v->state, time(NULL), &until);

	if (locked < 0)
		return CTL_REFUSED;
	part[0] = '\0';
	if (locked == 1) {
		local_time(until, when, sizeof(when));
		snprintf(part, sizeof(part), "; LOCKED OUT until %s", when);
	} else if (failures > 0) {
		snprintf(part, sizeof(part), "; %llu failure(s)", (unsigned long long)failures);
	}
	strncat(line, part, size - strlen(line) - 1);
	return CTL_OK;
}

static int lockout_details(const user_view *v)
{
	char when[64];
	time_t until = 0;
	int locked = su_lockout_locked(&ctl_log, v->state_path, &v->state, time(NULL), &until);

	if (locked < 0)
		return CTL_REFUSED;
	printf("failures since the last success: %llu\n",
	       (unsigned long long)su_lockout_failures(&v->state));
	if (locked == 1) {
		local_time(until, when, sizeof(when));
		printf("locked out until: %s (" PROG " unlock %s ends it now)\n", when, v->user);
	} else {
		printf("locked out: no\n");
	}
	return CTL_OK;
}

/* "alice  totp (6 digits, 30 s), ..." */
static int status_line(ctl *c, const char *user)
{
	const ctl_method *m;
	user_view v;
	char line[512] = "", part[256];
	int rc = user_view_load(c, user, &v);

	for (size_t i = 0; rc == CTL_OK && (m = method_at(i)) != NULL; i++) {
		if (!m->enrolled(&v.record))
			continue;
		rc = m->summary(&v, part, sizeof(part));
		if (line[0] != '\0')
			strncat(line, "; ", sizeof(line) - strlen(line) - 1);
		strncat(line, part, sizeof(line) - strlen(line) - 1);
	}
	if (rc == CTL_OK)
		rc = lockout_summary(&v, line, sizeof(line));
	if (rc == CTL_OK)
		printf("%s  %s\n", user, line[0] != '\0' ? line : "no methods");
	user_view_free(&v);
	return rc;
}

static int status_all(ctl *c)
{
	char **names = NULL;
	size_t count = 0;
	int rc = CTL_OK;

	if (su_store_list_users(c->store, &names, &count) != SU_OK)
		return CTL_REFUSED;
	if (count == 0)
		su_logf(&ctl_log, LOG_NOTICE, "no users are enrolled; enrol one with '"
			PROG " enroll USER totp'");
	/* A refused record does not hide the others; it still fails the run. */
	for (size_t i = 0; i < count; i++)
		if (status_line(c, names[i]) != CTL_OK)
			rc = CTL_REFUSED;
	su_store_free_list(names, count);
	return rc;
}

static int status_user(ctl *c, const char *user)
{
	const ctl_method *m;
	user_view v;
	char list[128] = "";
	int rc = user_view_load(c, user, &v);

	for (size_t i = 0; rc == CTL_OK && (m = method_at(i)) != NULL; i++) {
		if (!m->enrolled(&v.record))
			continue;
		if (list[0] != '\0')
			strncat(list, ", ", sizeof(list) - strlen(list) - 1);
		strncat(list, m->name, sizeof(list) - strlen(list) - 1);
	}
	if (rc == CTL_OK)
		printf("user: %s\nmethods: %s\n", user, list[0] ? list : "none");
	for (size_t i = 0; rc == CTL_OK && (m = method_at(i)) != NULL; i++)
		if (m->enrolled(&v.record))
			rc = m->details(&v);
	if (rc == CTL_OK)
		rc = lockout_details(&v);
	user_view_free(&v);
	return rc;
}

int cmd_status(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (nargs == 0)
		return status_all(c);
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	return rc != CTL_OK ? rc : status_user(c, user);
}
