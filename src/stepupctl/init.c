/* stepupctl init (the directories and the host key) and check-config (the
 * config; with store = ldap, the directory too: su_store_check). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmdrule.h"
#include "ctl.h"
#include "hostkey.h"
#include "safefile.h"
#include "util.h"

/* Create dir with mode if absent; say so, or that it was kept. */
static int make_dir(const char *dir, mode_t mode, bool report_kept)
{
	struct stat st;
	bool existed = lstat(dir, &st) == 0;

	if (su_make_dir(&ctl_log, dir, mode) != SU_OK)
		return CTL_REFUSED;
	if (!existed) {
		printf("created %s (mode %04o)\n", (const char *)dir, (unsigned)mode);
		return CTL_OK;
	}
	if (!report_kept)
		return CTL_OK;
	printf("kept %s\n", dir);
	if (stat(dir, &st) == 0 && (st.st_mode & ~mode & 07777) != 0)
		su_logf(&ctl_log, LOG_WARNING,
			"warning: %s has mode %04o; run 'chmod %04o %s' to keep it private",
			dir, (unsigned)(st.st_mode & 07777), (unsigned)mode, dir);
	return CTL_OK;
}

/* The directory that will hold path: private (0700), like /etc/stepup. */
static int make_parent(const char *path)
{
	char *parent = su_strdup(path), *slash;
	int rc = CTL_OK;

	if (parent == NULL)
		return out_of_memory();
	slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		rc = make_dir(parent, 0700, false);
	}
	free(parent);
	return rc;
}

static int init_hostkey(const char *path)
{
	enum su_hostkey_made made;

	if (su_hostkey_create(&ctl_log, path, &made) != SU_OK)
		return CTL_REFUSED;
	if (made == SU_HOSTKEY_CREATED)
		printf("created %s (%d random bytes, mode 0600)\n", path, SU_HOSTKEY_BYTES);
	else
		printf("kept %s%s\n", path, made == SU_HOSTKEY_RACED ?
		       " (made by another run just now)" : "");
	return CTL_OK;
}

int cmd_init(ctl *c, char **args, int nargs)
{
	const su_settings *s = &c->settings;
	const struct { const char *dir; mode_t mode; } dirs[] = {
		{ s->user_dir, 0700 }, { s->state_dir, 0700 }, { s->grace_dir, 0700 },
	};
	int rc;

	(void)args;
	(void)nargs;
	rc = make_parent(s->user_dir);
	if (rc == CTL_OK)
		rc = make_parent(s->hostkey);
	for (size_t i = 0; rc == CTL_OK && i < COUNT(dirs); i++)
		rc = make_dir(dirs[i].dir, dirs[i].mode, true);
	if (rc == CTL_OK)
		rc = init_hostkey(s->hostkey);
	return rc;
}

static const char *proof_text(const su_store_report *r, char *buf, size_t size)
{
	switch (r->proof) {
	case SU_PROOF_WRITTEN:
		snprintf(buf, size, "written (the canary's stepupSerial %llu -> %llu): this "
			 "identity can write state", r->serial, r->serial + 1);
		return buf;
	case SU_PROOF_REFUSED:
		return "refused (no write access: a host identity is expected to write "
		       "state, an admin too)";
	case SU_PROOF_FAILED:
		return "failed (see above)";
	default:
		return "not tried";
	}
}

/* What su_store_check found in the directory, a line each, also after a
 * failure: how far it got. The errors (stderr) say what to fix. */
static void print_report(const su_store_report *r)
{
	printf("server: %s\n", r->server != NULL ? r->server : "not reached (see above)");
	if (r->server != NULL) {
		char proof[160];

		printf("identity: %s\n", r->identity == NULL ? "not told (no answer to who-am-I)" :
		       r->identity[0] == '\0' ? "anonymous" : r->identity);
		printf("canary: %s (%s)\n", r->canary_read ? "readable" : "NOT readable",
		       r->canary);
		printf("write: %s\n", proof_text(r, proof, sizeof(proof)));
	}
	if (r->fleet_key_read)
		printf("fleet key: %s: readable (current key id %s, %zu key(s))\n", r->fleet_key,
		       r->fleet_kid, r->fleet_keys);
	else if (r->fleet_key != NULL)
		printf("fleet key: %s: NOT readable (see above)\n", r->fleet_key);
}

/* The [sudo] rules, as the approval plugin compiles them: the file loads
 * with a malformed rule (the module must still answer), so it is here that
 * each one is named, FILE:LINE: key 'KEY': why. *count: the rules. */
static bool check_sudo_rules(ctl *c, size_t *count)
{
	su_cmdrules rules;
	bool ok = su_cmdrules_compile(&ctl_log, c->config_path ? c->config_path : SU_DEFAULT_CONFIG,
				      c->settings.sudo_rules, &rules) == SU_OK;

	*count = rules.n;
	su_cmdrules_free(&rules);
	fflush(stderr);
	return ok;
}

int cmd_check_config(ctl *c, char **args, int nargs)
{
	su_store_report report;
	size_t sudo_rules = 0;
	bool sudo_ok;
	int rc;

	(void)args;
	(void)nargs;
	/* run() loaded it: had it an error, we would not be here. Its [sudo]
	 * values are judged only now (they do not stop the file loading). */
	sudo_ok = check_sudo_rules(c, &sudo_rules);
	if (c->config_found && sudo_ok)
		printf("%s: OK\n", c->config_path ? c->config_path : SU_DEFAULT_CONFIG);
	else if (c->config_found)
		printf("%s: malformed [sudo] rules (above): the sudo plugin asks for every command\n",
		       c->config_path ? c->config_path : SU_DEFAULT_CONFIG);
	else
		printf("%s: not present; the built-in defaults apply, and the sudo approval "
		       "plugin (if /etc/sudo.conf loads it) asks for a step-up for every command\n",
		       SU_DEFAULT_CONFIG);
	if (sudo_ok && sudo_rules > 0)
		printf("[sudo]: %zu rule(s)\n", sudo_rules);
	fflush(stdout); /* before the store's errors, in a terminal as in a pipe */
	rc = su_store_check(c->store, &report);
	if (report.remote)
		print_report(&report);
	su_store_report_free(&report);
	return rc == SU_OK && sudo_ok ? CTL_OK : CTL_REFUSED;
}
