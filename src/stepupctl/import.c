/* stepupctl import google-authenticator USER FILE: the TOTP secret, the
 * scratch codes as recovery codes and DISALLOW_REUSE as the replay
 * barrier; a report of what was carried over and what was not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "gafile.h"
#include "hostkey.h"
#include "recovery.h"
#include "safefile.h"
#include "secret.h"
#include "totp.h"
#include "util.h"

#define GA_FORMAT "google-authenticator"

/* What an import did with DISALLOW_REUSE, for the report. */
enum seed { SEED_NONE, SEED_SET, SEED_KEPT, SEED_FUTURE };

typedef struct ga_import {
	const char *path;   /* FILE, as given */
	const char *user;
	bool known;         /* the user database knows user */
	uid_t uid;          /* its uid, if known */
	bool readable;      /* FILE is readable by group or others */
	su_ga_file ga;
	enum seed seed;
	uint64_t seed_time; /* start of the highest step DISALLOW_REUSE lists */
} ga_import;

/* The file is the user's own (as pam_google_authenticator wants it) or
 * root's (a copy an administrator made; safefile read it only through
 * root's directories, rule 7). Another user's file would put their secret
 * into this user's record: whoever controls the user's home can point a
 * path there through a directory symlink. */
static int ga_owner_ok(const ga_import *im, const su_file_id *id)
{
	if (id->uid == 0 || (im->known && im->uid == id->uid))
		return CTL_OK;
	return refuse("refusing %s: owned by uid %u, not by %s or root; import only "
		      "the user's own file", im->path, (unsigned)id->uid, im->user);
}

/* Read and parse FILE; nothing of it is printed, errors name the file and
 * the line. */
static int ga_read(ga_import *im)
{
	su_file_id id;
	su_buf buf = { 0 };
	int rc = su_read_file_id(&ctl_log, im->path, SU_FILE_FOREIGN, SU_GA_FILE_MAX, &buf, &id);

	if (rc == SU_NOTFOUND)
		return refuse("%s does not exist; give the path of the user's "
			      ".google_authenticator", im->path);
	if (rc != SU_OK)
		return CTL_REFUSED; /* safefile said why */
	rc = ga_owner_ok(im, &id);
	if (rc == CTL_OK && su_ga_parse(&ctl_log, im->path, buf.data, buf.len, &im->ga) != 0)
		rc = CTL_REFUSED;
	im->readable = (id.mode & 044) != 0;
	su_buf_free(&buf);
	return rc;
}

/* What pam_stepup can take: TOTP codes in steps it supports. */
static int ga_usable(const ga_import *im)
{
	switch (su_ga_mode(&im->ga)) {
	case SU_GA_HOTP:
		return refuse("%s: HOTP (counter-based) files cannot be imported; pam_stepup "
			      "supports TOTP only: enrol the user afresh with '" PROG " enroll "
			      "%s totp'", im->path, im->user);
	case SU_GA_NO_MODE:
		return refuse("%s: neither TOTP_AUTH nor HOTP_COUNTER: not a time-based "
			      "google-authenticator file; enrol the user afresh with '" PROG
			      " enroll %s totp'", im->path, im->user);
	case SU_GA_TOTP:
		break;
	}
	if (im->ga.step_size < SU_TOTP_PERIOD_MIN)
		return refuse("%s:%u: STEP_SIZE %u is shorter than pam_stepup's %d s: the "
			      "app could not be kept; enrol the user afresh with '" PROG
			      " enroll %s totp'", im->path, im->ga.line[SU_GA_STEP_SIZE],
			      im->ga.step_size, SU_TOTP_PERIOD_MIN, im->user);
	return CTL_OK;
}

/* Nothing of the user's enrolment is replaced: their app or codes would
 * stop working without a word. */
static int ga_fits_record(const ga_import *im, const su_kv *record)
{
	if (su_totp_enrolled(record))
		return refuse_totp_enrolled(im->user, false);
	if (im->ga.code_count > 0 && su_recovery_enrolled(record))
		return refuse("%s already has recovery codes; run '" PROG " remove %s "
			      "recovery' first", im->user, im->user);
	return CTL_OK;
}

/* The TOTP keys exactly as 'enroll USER totp --secret' writes them, and
 * the scratch codes as an imported recovery set. */
static int ga_record(ctl *c, const ga_import *im, su_kv *record)
{
	unsigned char key[SU_HOSTKEY_BYTES];
	const unsigned char *keys[1];
	size_t nkeys = 0;
	int rc = CTL_OK;

	if (su_totp_store(record, im->ga.key, im->ga.key_len, SU_TOTP_DEFAULT_DIGITS,
			  im->ga.step_size) != 0)
		return out_of_memory();
	if (im->ga.code_count == 0)
		return CTL_OK;
	if (su_hostkey_load(&ctl_log, c->settings.hostkey, key) != SU_OK ||
	    su_store_verifier_keys(c->store, key, keys, 1, &nkeys) != SU_OK)
		rc = CTL_REFUSED;
	else if (su_recovery_import(keys[0], im->user, im->ga.code_count, im->ga.codes, record) != 0)
		rc = refuse("cannot store the scratch codes (out of memory or no randomness)");
	su_erase(key, sizeof(key));
	return rc;
}

/* DISALLOW_REUSE lists the steps of the codes google-authenticator
 * accepted lately. The module refuses every code whose step starts at or
 * before the replay barrier (su_totp_barrier), so the start of the highest listed step, when
 * later than what the state holds, bars those codes here too. A code the
 * module accepts is at most window steps ahead of now; a listed step
 * further ahead than window + 1 (one for a step that began while the file
 * was copied) was accepted by no clock near this one, and would bar every
 * code of the user's until then, with no command to undo it: not carried
 * over. *changed: state to commit. */
static int ga_seed(ga_import *im, unsigned window, const char *name, su_kv *state,
		   bool *changed)
{
	uint64_t last = 0, now_step = (uint64_t)time(NULL) / im->ga.step_size;
	uint64_t start = im->ga.last_used_step * im->ga.step_size; /* < 2^31 * 60 */

	*changed = false;
	if (im->ga.used_steps == 0)
		return CTL_OK;
	im->seed_time = start;
	if (im->ga.last_used_step > now_step + window + 1) {
		im->seed = SEED_FUTURE;
		return CTL_OK;
	}
	if (su_totp_barrier(&ctl_log, name, state, &last) < 0)
		return CTL_REFUSED;
	switch (su_totp_set_barrier(state, start)) {
	case 0:
		im->seed = SEED_KEPT;
		return CTL_OK;
	case 1:
		im->seed = SEED_SET;
		*changed = true;
		return CTL_OK;
	default:
		return out_of_memory();
	}
}

/* A user the store holds nothing of: record and state added as one
 * (su_store_add_user), since a directory begins no state transaction for
 * a user without an entry. *exists: the store knew the user after all
 * (enrolled meanwhile, or a state left from an earlier enrolment): change
 * it instead. */
static int ga_add(ctl *c, ga_import *im, bool *exists)
{
	char *name = su_store_name(c->store, im->user, SU_STORE_STATE);
	su_kv record = { 0 }, state = { 0 };
	bool changed = false;
	int rc = name == NULL ? CTL_REFUSED : ga_record(c, im, &record);

	*exists = false;
	if (rc == CTL_OK)
		rc = ga_seed(im, c->settings.totp_window, name, &state, &changed);
	if (rc == CTL_OK) {
		int added = su_store_add_user(c->store, im->user, &record, &state);

		*exists = added == SU_EXISTS;
		rc = added == SU_OK ? CTL_OK : CTL_REFUSED;
	}
	su_kv_free(&record);
	su_kv_free(&state);
	free(name);
	return rc;
}

/* Record and state under the user's lock, so no enrolment or login can
 * come between the check and the writes. The state first: a replay
 * barrier alone is harmless, a record without it would let a code used
 * under google-authenticator work once more. *conflict: a directory's
 * conditional write lost to another host's; begin again. */
static int ga_change(ctl *c, ga_import *im, bool *conflict)
{
	su_state_txn *txn = NULL;
	su_kv record = { 0 }, *state;
	bool changed = false;
	int rc = CTL_REFUSED, written = SU_OK;

	*conflict = false;
	if (su_state_begin(c->store, im->user, &txn, &state) != SU_OK)
		goto out;
	rc = load_record(c, im->user, &record, false);
	if (rc == CTL_OK)
		rc = ga_fits_record(im, &record);
	if (rc == CTL_OK)
		rc = ga_record(c, im, &record);
	if (rc == CTL_OK)
		rc = ga_seed(im, c->settings.totp_window, su_state_name(txn), state, &changed);
	if (rc == CTL_OK && changed)
		written = su_state_commit(txn);
	if (rc == CTL_OK && written == SU_OK)
		written = su_state_save_record(txn, &record);
	if (rc == CTL_OK && written != SU_OK)
		rc = CTL_REFUSED;
	*conflict = written == SU_CONFLICT;
out:
	su_state_end(txn);
	su_kv_free(&record);
	return rc;
}

/* A user new to the store is added; one it knows is changed, again while
 * another host writes first (a directory; never the files). */
static int ga_write(ctl *c, ga_import *im)
{
	su_kv record = { 0 };
	bool exists = true, conflict = false;
	int rc = su_store_load_user(c->store, im->user, &record);

	su_kv_free(&record);
	if (rc == SU_ERR)
		return CTL_REFUSED; /* the store named the file and the reason */
	if (rc == SU_NOTFOUND) {
		rc = ga_add(c, im, &exists);
		if (!exists)
			return rc;
	}
	do
		rc = ga_change(c, im, &conflict);
	while (conflict && su_store_may_retry(c->store));
	if (conflict)
		return refuse("%s: other hosts kept writing the entry, so the import was not "
			      "finished; run it again", im->user);
	return rc;
}

/* "-c CONFIG" or the default, for "pam_stepup uses ... from WHERE". */
static const char *settings_source(const ctl *c)
{
	if (!c->config_found)
		return "the built-in defaults";
	return c->config_path != NULL ? c->config_path : SU_DEFAULT_CONFIG;
}

static void report_codes(const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	if (g->code_count == 0)
		printf("  scratch codes: none in the file\n");
	else
		printf("  scratch codes: %u carried over as single-use recovery codes "
		       "(stored hashed; typed at any step-up prompt)\n", g->code_count);
	if (g->code_repeats > 0)
		printf("  scratch codes: %u repeated line(s) not carried over (each code "
		       "works once)\n", g->code_repeats);
}

static void report_reuse(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;
	char when[64];

	local_time((time_t)im->seed_time, when, sizeof(when));
	if (g->line[SU_GA_DISALLOW_REUSE] == 0)
		printf("  DISALLOW_REUSE absent: google-authenticator let a code be used "
		       "twice; pam_stepup never does\n");
	else if (im->seed == SEED_NONE)
		printf("  DISALLOW_REUSE: no used steps listed; pam_stepup never accepts "
		       "a code twice\n");
	else if (im->seed == SEED_SET)
		printf("  DISALLOW_REUSE: carried over: codes up to the step starting %s "
		       "are refused; pam_stepup never accepts a code twice\n", when);
	else if (im->seed == SEED_KEPT)
		printf("  DISALLOW_REUSE: already covered: %s's state refuses codes up to "
		       "a later step; pam_stepup never accepts a code twice\n", im->user);
	else
		printf("  DISALLOW_REUSE: not carried over: its last step (%s) is ahead of "
		       "this clock by more than totp_window + 1 = %u step(s); pam_stepup "
		       "never accepts a code twice\n", when, c->settings.totp_window + 1);
}

/* The settings pam_stepup keeps in stepup.conf instead. */
static void report_settings(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;
	const su_settings *s = &c->settings;
	const char *src = settings_source(c);

	if (g->line[SU_GA_WINDOW_SIZE] != 0)
		printf("  WINDOW_SIZE %u: not carried over: pam_stepup accepts codes "
		       "totp_window = %u step(s) either side of now, from %s (the same as "
		       "WINDOW_SIZE %u)\n", g->window_size, s->totp_window, src,
		       2 * s->totp_window + 1);
	if (g->line[SU_GA_RATE_LIMIT] != 0)
		printf("  RATE_LIMIT %u %u: not carried over: pam_stepup locks a user out "
		       "after lockout_attempts = %u failures for lockout_time = %u s, from "
		       "%s\n", g->rate_attempts, g->rate_seconds, s->lockout_attempts,
		       s->lockout_time, src);
	if (g->line[SU_GA_TIME_SKEW] != 0)
		printf("  TIME_SKEW %ld: not carried over: pam_stepup learns no clock "
		       "skew; %s's device clock must be right to within totp_window = %u "
		       "step(s)\n", g->time_skew, im->user, s->totp_window);
	if (g->line[SU_GA_RESETTING_TIME_SKEW] != 0)
		printf("  RESETTING_TIME_SKEW: not carried over: google-authenticator's "
		       "own bookkeeping\n");
}

/* Options a later google-authenticator may write: listed, by line. */
static void report_unknown(const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	for (unsigned i = 0; i < g->unknown_count && i < SU_GA_UNKNOWN_MAX; i++) {
		if (g->unknown[i].name[0] != '\0')
			printf("  line %u: option %s: not carried over: unknown to this "
			       "version\n", g->unknown[i].line, g->unknown[i].name);
		else
			printf("  line %u: an option (name not shown: not in "
			       "google-authenticator's form): not carried over\n",
			       g->unknown[i].line);
	}
	if (g->unknown_count > SU_GA_UNKNOWN_MAX)
		printf("  %u more unknown option(s): not carried over\n",
		       g->unknown_count - SU_GA_UNKNOWN_MAX);
}

static void report_import(const ctl *c, const ga_import *im)
{
	const su_ga_file *g = &im->ga;

	printf("imported %s from %s:\n", im->user, im->path);
	printf("  secret: carried over (TOTP, %d digits, %u s steps): %s's "
	       "authenticator app keeps working\n", SU_TOTP_DEFAULT_DIGITS, g->step_size,
	       im->user);
	printf("  TOTP_AUTH: carried over (time-based codes)\n");
	if (g->line[SU_GA_STEP_SIZE] != 0)
		printf("  STEP_SIZE %u: carried over\n", g->step_size);
	report_codes(im);
	report_reuse(c, im);
	report_settings(c, im);
	report_unknown(im);
	printf("Test it: have %s run 'sudo -v' and enter a code from the app.\n"
	       "%s still holds the secret%s: remove it once pam_google_authenticator "
	       "is no longer used for %s (until then a code used with one still "
	       "works with the other).\n", im->user, im->path,
	       g->code_count > 0 ? " and the scratch codes" : "", im->user);
	fflush(stdout);
}

/* After the report, so that a refusal stays one line. */
static void import_warnings(const ctl *c, const ga_import *im)
{
	if (im->readable)
		su_logf(&ctl_log, LOG_WARNING, "warning: %s is readable by group or others: "
			"the secret may be known; consider enrolling %s afresh",
			im->path, im->user);
	if (!(c->settings.methods & SU_METHOD_TOTP))
		su_logf(&ctl_log, LOG_WARNING, "warning: the config's methods do not "
			"include totp: the codes are not accepted yet");
	if (im->ga.code_count > 0 && !(c->settings.methods & SU_METHOD_RECOVERY))
		su_logf(&ctl_log, LOG_WARNING, "warning: the config's methods do not "
			"include recovery: the scratch codes are not accepted yet");
	if (!im->known)
		su_logf(&ctl_log, LOG_WARNING, "warning: no user '%s' in the user database "
			"(yet); imported anyway", im->user);
}

static int import_ga(ctl *c, ga_import *im)
{
	char count[16];
	int rc = ga_read(im);

	if (rc == CTL_OK)
		rc = ga_usable(im);
	if (rc == CTL_OK)
		rc = ga_write(c, im);
	if (rc != CTL_OK)
		return rc;
	snprintf(count, sizeof(count), "%u", im->ga.code_count);
	su_audit_admin("import", im->user, "success", "recovery_codes", count);
	report_import(c, im);
	rc = end_grace(c, im->user);
	import_warnings(c, im);
	return rc;
}

/* import google-authenticator USER FILE */
int cmd_import(ctl *c, char **args, int nargs)
{
	char user[SU_USER_MAX + 1];
	ga_import im = { .path = args[2], .user = user };
	int rc;

	(void)nargs;
	/* Not echoed, like a method name: it may be anything. */
	if (strcmp(args[0], GA_FORMAT) != 0)
		return usage_error("import: unknown file format (not shown); use " GA_FORMAT);
	rc = user_arg(args[1], user, sizeof(user), &im.known, &im.uid);
	if (rc == CTL_OK)
		rc = import_ga(c, &im);
	su_ga_clear(&im.ga);
	return rc;
}
