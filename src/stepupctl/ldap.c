/* stepupctl ldap import USER|--all --from FILESCONFIG [--force]: users
 * enrolled in this host's files moved into the directory that hosts share.
 *
 * Two stores are open: the directory's, of -c (store = ldap), written;
 * the files', of --from (store = files, the host's old config), only read.
 * For each user: the TOTP secret (the directory store seals it under the
 * fleet key as it writes it), digits and period, and the email address are
 * carried over, and so are the security keys (method sshsk); the replay
 * barrier (the start of the last step a code was accepted in) becomes the
 * later of the host's and the directory's, and each key's signature
 * counter the higher of the two, so a code used on this host is refused
 * everywhere and so is a clone of a key used here; the failure tally
 * starts at 0. Recovery codes stay behind: their verifiers are HMACs under
 * this host's key, which other hosts lack, and the codes themselves are
 * not known, so they cannot be made again under the fleet key. The report
 * says so and names the command that makes new ones.
 *
 * A user new to the directory is one Add of the whole entry, record and
 * state together (su_store_add_user). A user who has an entry already is
 * refused unless --force; then the state (the barrier, the keys' counters,
 * the cleared tally) and the record are written in a state transaction, each write
 * conditional, the whole tried again while another host writes first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "email.h"
#include "lockout.h"
#include "recovery.h"
#include "sshsk_record.h"
#include "totp.h"
#include "util.h"

/* The files store of --from. */
typedef struct source {
	const char *path; /* FILESCONFIG, as given */
	su_settings settings;
	su_store *store;
} source;

/* Where the barrier the directory keeps now came from, for the report. */
enum barrier_from { BARRIER_NONE, BARRIER_HOST, BARRIER_DIRECTORY };

/* What one user's import carried and did. */
typedef struct moved {
	bool totp, email;
	unsigned digits, period;
	size_t sshsk;              /* security keys carried */
	bool recovery;             /* the host's record had recovery codes: left behind */
	uint64_t barrier;          /* the directory's barrier afterwards */
	enum barrier_from from;
	bool replaced;             /* --force replaced an entry */
	uint64_t cleared;          /* failures in that entry's tally, cleared */
} moved;

/* ---- the two stores ------------------------------------------------------ */

/* --from: a config of this host's files. Its errors are printed by the
 * loader, naming the file and line. */
static int open_source(source *src)
{
	int rc = su_config_load(&ctl_log, src->path, NULL, &src->settings);

	if (rc == SU_NOTFOUND)
		return refuse("%s does not exist; check the path given to --from", src->path);
	if (rc != SU_OK)
		return CTL_REFUSED;
	if (src->settings.store != SU_STORE_FILES) {
		su_settings_free(&src->settings);
		return refuse("ldap import: %s (--from) does not say store = files: give "
			      "--from the config of this host's files, and -c the directory's",
			      src->path);
	}
	if (su_store_open(&ctl_log, &src->settings, &src->store) != SU_OK) {
		su_settings_free(&src->settings);
		return CTL_REFUSED;
	}
	return CTL_OK;
}

static void close_source(source *src)
{
	su_store_close(src->store);
	src->store = NULL;
	su_settings_free(&src->settings);
}

/* ---- what is read from the host's files ---------------------------------- */

/* out_of_memory's message, as a store result. */
static int no_memory(void)
{
	out_of_memory();
	return SU_ERR;
}

/* The TOTP keys exactly as enroll writes them (su_totp_store), checked
 * on the way: the secret is decoded and encoded again, then wiped. */
static int carry_totp(const su_kv *local, const char *path, su_kv *record, moved *mv)
{
	su_totp t;
	int rc;

	if (su_totp_load(&ctl_log, path, local, &t) != 0)
		return CTL_REFUSED;
	rc = su_totp_store(record, t.key, t.key_len, t.digits, t.period) == 0 ? CTL_OK :
										  out_of_memory();
	mv->totp = rc == CTL_OK;
	mv->digits = t.digits;
	mv->period = t.period;
	su_totp_clear(&t);
	return rc;
}

/* The security keys, each parsed and checked (su_sshsk_set_load) and
 * written again as enroll writes it. */
static int carry_sshsk(const su_kv *local, const char *path, su_kv *record, moved *mv)
{
	su_sshsk_set set;
	char name[SU_SSHSK_KEYNAME_SIZE];
	int rc = CTL_OK;

	if (su_sshsk_set_load(&ctl_log, path, local, &set) != SU_OK)
		return CTL_REFUSED; /* named the file, the line and why */
	for (size_t i = 0; i < set.count && rc == CTL_OK; i++) {
		char *line = su_sshsk_enrolled_line(&set.keys[i]);

		su_sshsk_key_name(SU_SSHSK_RECORD_PREFIX, set.keys[i].id, name);
		if (line == NULL || su_kv_set(record, name, line) != 0)
			rc = out_of_memory();
		free(line);
	}
	mv->sshsk = rc == CTL_OK ? set.count : 0;
	su_sshsk_set_free(&set);
	return rc;
}

/* The host's record of user; CTL_OK or CTL_REFUSED (said why). */
static int load_local(source *src, const char *user, su_kv *local)
{
	int rc = su_store_load_user(src->store, user, local);

	if (rc == SU_NOTFOUND)
		return refuse("%s is not enrolled in the files of %s", user, src->path);
	return rc == SU_OK ? CTL_OK : CTL_REFUSED; /* the store named the file and why */
}

/* The record the directory gets: TOTP, email and security keys, nothing
 * else. */
static int carry_record(source *src, const char *user, su_kv *record, moved *mv)
{
	char *path = su_store_name(src->store, user, SU_STORE_RECORD);
	su_kv local = { 0 };
	int rc = path == NULL ? CTL_REFUSED : load_local(src, user, &local);

	if (rc == CTL_OK && su_totp_enrolled(&local))
		rc = carry_totp(&local, path, record, mv);
	if (rc == CTL_OK && su_email_enrolled(&local)) {
		if (su_email_set_address(record, su_email_address(&local)) != 0)
			rc = refuse("%s: the email address cannot be carried over (not one "
				    "address, or out of memory); fix it in those files first: '"
				    PROG " -c %s enroll %s email ADDRESS --force'", path,
				    src->path, user);
		mv->email = rc == CTL_OK;
	}
	if (rc == CTL_OK && su_sshsk_enrolled_in(&local))
		rc = carry_sshsk(&local, path, record, mv);
	mv->recovery = su_recovery_enrolled(&local);
	su_kv_free(&local);
	free(path);
	return rc;
}

/* Into carried, every security key counter the host's state keeps,
 * checked: those of keys removed from the record too, which the state
 * keeps so that the key enrolled again (now in the directory) cannot go
 * back to an older counter. */
static int carry_counters(const char *path, const su_kv *state, su_kv *carried)
{
	for (size_t i = 0; i < state->count; i++) {
		const char *key = state->items[i].key;
		uint64_t counter;

		if (!su_sshsk_is_counter_key(key))
			continue;
		if (su_kv_get_u64(&ctl_log, path, state, key, 0, UINT32_MAX, &counter) < 0)
			return SU_ERR; /* named the file, the line and the key */
		if (su_kv_set_u64(carried, key, counter) != 0)
			return no_memory();
	}
	return SU_OK;
}

/* What of the host's state travels, into carried: the replay barrier (0,
 * and none in carried: no code accepted yet) and the security keys'
 * counters. */
static int host_state(source *src, const char *user, su_kv *carried, uint64_t *barrier)
{
	char *path = su_store_name(src->store, user, SU_STORE_STATE);
	su_kv state = { 0 };
	int rc = path == NULL ? no_memory() : su_state_peek(src->store, user, &state);

	*barrier = 0;
	if (rc == SU_OK && su_totp_barrier(&ctl_log, path, &state, barrier) < 0)
		rc = SU_ERR;
	if (rc == SU_OK && *barrier > 0 && su_totp_set_barrier(carried, *barrier) < 0)
		rc = no_memory();
	if (rc == SU_OK)
		rc = carry_counters(path, &state, carried);
	su_kv_free(&state);
	free(path);
	return rc == SU_OK || rc == SU_NOTFOUND ? CTL_OK : CTL_REFUSED;
}

/* ---- writing the directory ------------------------------------------------ */

/* A user new to the directory: one Add of record and the carried state.
 * SU_EXISTS when the entry is there (made meanwhile). */
static int add_entry(ctl *c, const char *user, const su_kv *record, const su_kv *carried,
		     uint64_t barrier, moved *mv)
{
	int rc = su_store_add_user(c->store, user, record, carried);

	if (rc == SU_OK) {
		mv->barrier = barrier;
		mv->from = barrier > 0 ? BARRIER_HOST : BARRIER_NONE;
	}
	return rc;
}

/* Each carried security key counter over the directory's when higher: a
 * clone of the key used on either side stays refused. */
static int merge_counters(const char *name, su_kv *state, const su_kv *carried)
{
	for (size_t i = 0; i < carried->count; i++) {
		const su_kv_entry *e = &carried->items[i];
		uint64_t here, there = 0;

		if (!su_sshsk_is_counter_key(e->key))
			continue;
		if (su_kv_get_u64(&ctl_log, name, carried, e->key, 0, UINT32_MAX, &here) < 0 ||
		    su_kv_get_u64(&ctl_log, name, state, e->key, 0, UINT32_MAX, &there) < 0)
			return SU_ERR; /* named the entry and the key */
		if (here > there && su_kv_set_u64(state, e->key, here) != 0)
			return no_memory();
	}
	return SU_OK;
}

/* The later of the two barriers, the higher of each key's two counters,
 * and no failures: the state as the directory keeps it after an import. */
static int merge_state(const char *name, su_kv *state, const su_kv *carried,
		       uint64_t barrier, moved *mv)
{
	uint64_t there = 0;

	if (su_totp_barrier(&ctl_log, name, state, &there) < 0)
		return SU_ERR; /* named the entry and the attribute */
	if (merge_counters(name, state, carried) != SU_OK)
		return SU_ERR;
	mv->cleared = su_lockout_failures(state);
	su_lockout_clear(state);
	if (barrier > there && su_totp_set_barrier(state, barrier) < 0)
		return no_memory();
	mv->barrier = barrier > there ? barrier : there;
	mv->from = mv->barrier == 0 ? BARRIER_NONE :
		   barrier > there ? BARRIER_HOST : BARRIER_DIRECTORY;
	return SU_OK;
}

/* --force: the entry's state (barrier, counters, tally) first, then its record,
 * each a conditional write. SU_CONFLICT when another host wrote the entry
 * between the read and a write: the caller begins again. */
static int replace_entry(ctl *c, const char *user, const su_kv *record, const su_kv *carried,
			 uint64_t barrier, moved *mv)
{
	su_state_txn *txn = NULL;
	su_kv *state;
	int rc = su_state_begin(c->store, user, &txn, &state);

	if (rc == SU_OK)
		rc = merge_state(su_state_name(txn), state, carried, barrier, mv);
	if (rc == SU_OK)
		rc = su_state_commit(txn);
	if (rc == SU_OK)
		rc = su_state_save_record(txn, record);
	su_state_end(txn);
	mv->replaced = rc == SU_OK;
	return rc;
}

/* Whether user has an entry in the directory: SU_OK (yes), SU_NOTFOUND,
 * SU_ERR (logged). */
static int has_entry(ctl *c, const char *user)
{
	su_kv record = { 0 };
	int rc = su_store_load_user(c->store, user, &record);

	su_kv_free(&record);
	return rc;
}

static int refuse_existing(ctl *c, const char *user)
{
	char *name = su_store_name(c->store, user, SU_STORE_RECORD);
	int rc = refuse("%s already has an entry in the directory (%s); nothing was "
			"changed. Add --force to replace its record with this host's (the "
			"later replay barrier of the two is kept, and each security key's "
			"higher counter)", user, name ? name : "?");

	free(name);
	return rc;
}

/* Add the entry, or with --force replace it; again while another host
 * (or another import) writes first and the retries allow. */
static int write_directory(ctl *c, const char *user, const su_kv *record,
			   const su_kv *carried, uint64_t barrier, moved *mv)
{
	int rc;

	do {
		mv->replaced = false; /* what a try that lost the race did is not reported */
		mv->cleared = 0;
		rc = has_entry(c, user);
		if (rc == SU_NOTFOUND)
			rc = add_entry(c, user, record, carried, barrier, mv);
		else if (rc == SU_OK && !c->opts.force)
			return refuse_existing(c, user);
		else if (rc == SU_OK)
			rc = replace_entry(c, user, record, carried, barrier, mv);
	} while ((rc == SU_CONFLICT || rc == SU_EXISTS) && su_store_may_retry(c->store));
	if (rc == SU_CONFLICT || rc == SU_EXISTS)
		return refuse("%s: other hosts kept writing the entry; try again", user);
	return rc == SU_OK ? CTL_OK : CTL_REFUSED;
}

/* ---- one user -------------------------------------------------------------- */

static void report_barrier(const moved *mv)
{
	char when[64];

	local_time((time_t)mv->barrier, when, sizeof(when));
	if (mv->from == BARRIER_NONE)
		printf("  replay barrier: none yet (no code accepted on this host)\n");
	else
		printf("  replay barrier: codes up to the step starting %s are refused "
		       "on every host (%s)\n", when, mv->from == BARRIER_HOST ?
		       "this host's" : "the directory's, the later one");
}

static void report_user(const char *user, const char *from, const moved *mv)
{
	printf("imported %s into the directory from the files of %s:\n", user, from);
	if (mv->totp)
		printf("  TOTP: carried over (%u digits, %u s steps), the secret sealed under "
		       "the fleet key: %s's app keeps working\n", mv->digits, mv->period, user);
	if (mv->email)
		printf("  email: carried over\n");
	if (mv->sshsk > 0)
		printf("  security keys: %zu carried over, each with the higher of this host's "
		       "and the directory's signature counter: a clone of a key used on "
		       "either is refused on every host\n", mv->sshsk);
	report_barrier(mv);
	if (mv->cleared > 0)
		printf("  failure tally: not carried over; the directory's %llu failure(s) "
		       "cleared\n", (unsigned long long)mv->cleared);
	else
		printf("  failure tally: not carried over; starts at 0\n");
	if (mv->replaced)
		printf("  the directory's earlier record was replaced (--force): its recovery "
		       "codes and any security key not in these files are gone (the keys' "
		       "counters stay)\n");
	if (mv->recovery || mv->replaced)
		printf("  recovery codes: NOT carried over: they are checked with this host's "
		       "key, which the other hosts lack, and the codes themselves are not "
		       "known. Run '" PROG " recovery %s' and give %s the new ones\n",
		       user, user);
	else
		printf("  recovery codes: none on this host\n");
}

/* "totp,email,sshsk" or the part of it that was carried, into buf. */
static const char *methods_text(const moved *mv, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", mv->totp ? "totp" : "",
		 mv->totp && (mv->email || mv->sshsk) ? "," : "", mv->email ? "email" : "",
		 mv->email && mv->sshsk ? "," : "", mv->sshsk ? "sshsk" : "");
	return buf;
}

/* A record with no TOTP, email or security key (a method removed, or
 * recovery codes only): refused when named, a note with --all (*skipped). */
static int nothing_to_move(const char *user, const moved *mv, size_t *skipped)
{
	const char *why = mv->recovery ? "; its recovery codes cannot be moved (make new "
					 "ones with '" PROG " recovery USER' once enrolled)" : "";

	if (skipped == NULL)
		return refuse("nothing to move: %s has no TOTP, email or security key "
			      "enrolled in these files%s", user, why);
	printf("skipped %s: no TOTP, email or security key enrolled%s\n", user, why);
	(*skipped)++;
	return CTL_OK;
}

/* user's record, barrier and counters from the files into the directory. skipped:
 * NULL for a user named on the command line; with --all, the count of
 * users with nothing to move. */
static int import_user(ctl *c, source *src, const char *user, size_t *skipped)
{
	su_kv record = { 0 }, carried = { 0 };
	moved mv = { 0 };
	uint64_t barrier = 0;
	char methods[sizeof("totp,email,sshsk")];
	int rc = carry_record(src, user, &record, &mv);

	if (rc == CTL_OK && !mv.totp && !mv.email && mv.sshsk == 0) {
		su_kv_free(&record);
		return nothing_to_move(user, &mv, skipped);
	}
	if (rc == CTL_OK)
		rc = host_state(src, user, &carried, &barrier);
	if (rc == CTL_OK)
		rc = write_directory(c, user, &record, &carried, barrier, &mv);
	su_kv_free(&record);
	su_kv_free(&carried);
	if (rc != CTL_OK)
		return rc;
	su_audit_admin("ldap-import", user, "success", "methods",
		       methods_text(&mv, methods, sizeof(methods)));
	report_user(user, src->path, &mv);
	/* A replaced enrolment ends the grace records, as enroll does; a new
	 * entry holds the secret the user already has: nothing to end. */
	rc = mv.replaced ? end_grace(c, user) : CTL_OK;
	fflush(stdout);
	return rc;
}

/* A connection of its own for the next user: ldap_timeout bounds one
 * command's directory time, and --all is one import per user, however
 * many users a host has. */
static int reopen_directory(ctl *c)
{
	su_store_close(c->store);
	c->store = NULL;
	return su_store_open(&ctl_log, &c->settings, &c->store) == SU_OK ? CTL_OK : CTL_REFUSED;
}

/* --all: every user of the files; a refusal does not stop the others. */
static int import_all(ctl *c, source *src)
{
	char **names = NULL;
	size_t count = 0, refused = 0, skipped = 0, i;

	if (su_store_list_users(src->store, &names, &count) != SU_OK)
		return CTL_REFUSED;
	for (i = 0; i < count; i++) {
		if (i > 0 && reopen_directory(c) != CTL_OK)
			break;
		if (import_user(c, src, names[i], &skipped) != CTL_OK)
			refused++;
	}
	refused += count - i; /* not tried: the store could not be opened again */
	su_store_free_list(names, count);
	printf("ldap import --all: %zu of %zu user(s) imported", count - refused - skipped,
	       count);
	if (skipped > 0)
		printf(", %zu with nothing to move", skipped);
	if (refused > 0)
		printf(", %zu refused (see above)", refused);
	printf("\n");
	return refused == 0 ? CTL_OK : CTL_REFUSED;
}

/* ---- the command ------------------------------------------------------------- */

/* ldap import USER|--all --from FILESCONFIG [--force] */
int cmd_ldap(ctl *c, char **args, int nargs)
{
	source src = { .path = c->opts.from };
	char user[SU_USER_MAX + 1];
	bool known;
	int rc;

	if (strcmp(args[0], "import") != 0)
		return usage_error("ldap: expected 'import'");
	if (c->opts.all == (nargs == 2))
		return usage_error("ldap import: give USER or --all%s",
				   c->opts.all ? ", not both" : "");
	if (src.path == NULL)
		return usage_error("ldap import: --from FILESCONFIG is required: the config "
				   "of this host's files (store = files)");
	if (c->settings.store != SU_STORE_LDAP)
		return refuse("ldap import: the config of -c says store = files: give -c the "
			      "directory's config (store = ldap), and --from this host's old one");
	rc = c->opts.all ? CTL_OK : user_arg(args[1], user, sizeof(user), &known, NULL);
	if (rc == CTL_OK)
		rc = open_source(&src);
	if (rc != CTL_OK)
		return rc;
	rc = c->opts.all ? import_all(c, &src) : import_user(c, &src, user, NULL);
	close_source(&src);
	return rc;
}
