/* stepupctl enroll USER sshkey FILE|-, remove USER sshkey [FINGERPRINT]
 * and what status shows of them: the user's OpenSSH security-key public
 * keys (sshsk_record.h), one per line of FILE as ssh-keygen wrote them. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_admin.h"
#include "ctl.h"
#include "safefile.h"
#include "sshsk_record.h"
#include "userdb.h"
#include "util.h"

#define KEYFILE_MAX (64 * 1024)
#define PATH_MAX_SHOWN 512 /* a file name as printed, truncated */

/* FILE as it may be printed: every byte that is not printable ASCII (a
 * control character, or one of 0x7f and above, which a terminal may take
 * for one) shown as '?'. Into buf, truncated to its size. */
static const char *shown(const char *path, char *buf, size_t size)
{
	return su_escape(path, &su_escape_printable, size - 1, buf);
}

/* "-": the key lines on stdin, at most KEYFILE_MAX bytes. */
static int read_stdin(su_buf *out)
{
	char *buf = malloc(KEYFILE_MAX + 2);
	size_t n;

	if (buf == NULL)
		return out_of_memory();
	n = fread(buf, 1, KEYFILE_MAX + 1, stdin);
	if (ferror(stdin)) {
		free(buf);
		return refuse("enroll: cannot read -");
	}
	if (n > KEYFILE_MAX) {
		free(buf);
		return refuse("enroll: - is longer than %d bytes; it should hold public key "
			      "lines (FILE.pub)", KEYFILE_MAX);
	}
	buf[n] = '\0';
	*out = (su_buf){ .data = buf, .len = n };
	return CTL_OK;
}

/* Whose keys these are is the file's owner's say: root's copy, or the
 * user's own file. A file of a third user is refused, as import refuses
 * one: alice could otherwise hand root a /tmp/bob.pub of her own, holding
 * her key, and step up as bob. A key from elsewhere goes on stdin, where
 * the administrator has taken it. */
static int key_owner_ok(const char *path, const char *user, const su_file_id *id)
{
	char p[PATH_MAX_SHOWN];
	su_pwent e = { 0 };
	const struct passwd *pw = NULL;
	bool users_own = id->uid != 0 && su_userdb_name(&e, user, &pw) == 0 && pw != NULL &&
			 pw->pw_uid == id->uid;

	su_pwent_free(&e);
	if (id->uid == 0 || users_own)
		return CTL_OK;
	return refuse("refusing %s: owned by uid %u, not by %s or root; give %s's own key "
		      "file, or the key on standard input (- <FILE) if you trust where it came from",
		      shown(path, p, sizeof(p)), (unsigned)id->uid, user, user);
}

/* FILE, read as root on a user's behalf the way stepupctl reads a user's
 * file (safefile.h, SU_FILE_FOREIGN): not through a symbolic link (the
 * user's ~/id_sk.pub pointing at /etc/shadow), never opened for reading
 * unless it is a regular file (a FIFO or a device cannot make us wait),
 * at most KEYFILE_MAX bytes, not writable by group or others, and a
 * root-owned one only through root's directories. The helper's refusals
 * print the name, never a byte of the file. */
static int read_named_file(const char *path, const char *user, su_buf *out)
{
	char p[PATH_MAX_SHOWN];
	su_file_id id;
	int rc = su_read_file_id(&ctl_log, path, SU_FILE_FOREIGN, KEYFILE_MAX, out, &id);

	if (rc == SU_NOTFOUND)
		return refuse("enroll: cannot open %s: %s", shown(path, p, sizeof(p)),
			      strerror(ENOENT));
	if (rc != SU_OK)
		return CTL_REFUSED; /* safefile said why */
	rc = key_owner_ok(path, user, &id);
	if (rc != CTL_OK)
		su_buf_free(out);
	return rc;
}

/* FILE (or stdin for "-") whole, NUL-terminated, with no NUL byte of its
 * own: key lines are text. */
static int read_keyfile(const char *path, const char *user, su_buf *out)
{
	char p[PATH_MAX_SHOWN];
	int rc = strcmp(path, "-") == 0 ? read_stdin(out) : read_named_file(path, user, out);

	if (rc == CTL_OK && memchr(out->data, '\0', out->len) != NULL) {
		su_buf_free(out);
		rc = refuse("enroll: %s holds a NUL byte: not a public key file",
			    shown(path, p, sizeof(p)));
	}
	return rc;
}

/* Every key line of text (blank lines and # comments skipped), parsed;
 * the first that is not a security key refuses the whole file, naming
 * its line. */
static int parse_keys(const char *path, char *text, su_sshsk_set *set)
{
	char why[256], why_shown[256], name[PATH_MAX_SHOWN];
	unsigned lineno = 0;
	char *line = text, *next;

	memset(set, 0, sizeof(*set));
	path = shown(path, name, sizeof(name));
	/* The likeliest mistake, the key file for its .pub: said so, and no
	 * line of it is echoed. */
	if (strstr(text, "PRIVATE KEY-----") != NULL)
		return refuse("enroll: %s is a private key; give its public key (%s.pub)", path,
			      path);
	for (; line != NULL && *line != '\0'; line = next) {
		const char *p;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		p = line + strspn(line, " \t\r");
		if (*p == '\0' || *p == '#')
			continue;
		if (set->count == SU_SSHSK_KEYS_MAX) {
			su_sshsk_set_free(set);
			return refuse("enroll: %s: more than %d keys", path, SU_SSHSK_KEYS_MAX);
		}
		if (su_sshsk_enrolled_parse(line, &set->keys[set->count], why, sizeof(why)) != 0) {
			su_sshsk_set_free(set);
			/* why names no byte of the line (sshsk.c, sshsk_record.c);
			 * made printable all the same. */
			return refuse("enroll: %s line %u: %s; nothing enrolled", path, lineno,
				      shown(why, why_shown, sizeof(why_shown)));
		}
		set->count++;
	}
	if (set->count == 0)
		return refuse("enroll: %s holds no key line", path);
	return CTL_OK;
}

int enroll_sshkey(ctl *c, const char *user, char **args)
{
	su_kv record = { 0 };
	su_sshsk_set given = { 0 }, have = { 0 };
	su_buf text = { 0 };
	char *name = NULL;
	size_t added = 0;
	int rc;

	if (c->opts.totp_option != NULL)
		return usage_error("enroll: %s is for totp only", c->opts.totp_option);
	rc = read_keyfile(args[0], user, &text);
	if (rc == CTL_OK)
		rc = parse_keys(args[0], text.data, &given);
	if (rc == CTL_OK)
		rc = load_record(c, user, &record, false);
	if (rc != CTL_OK)
		goto out;
	name = su_store_name(c->store, user, SU_STORE_RECORD);
	if (name == NULL || su_sshsk_set_load(&ctl_log, name, &record, &have) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	for (size_t i = 0; i < given.count; i++) {
		const su_sshsk_enrolled *k = &given.keys[i];
		char key[SU_SSHSK_KEYNAME_SIZE], *line;

		su_sshsk_key_name(SU_SSHSK_RECORD_PREFIX, k->id, key);
		if (su_kv_get(&record, key) != NULL) {
			printf("%s %s: already enrolled\n", k->fp, k->comment);
			continue;
		}
		if (have.count + added == SU_SSHSK_KEYS_MAX) {
			rc = refuse("enroll: %s would have more than %d security keys; nothing "
				    "enrolled", user, SU_SSHSK_KEYS_MAX);
			goto out;
		}
		line = su_sshsk_enrolled_line(k);
		if (line == NULL || su_kv_set(&record, key, line) != 0) {
			free(line);
			rc = out_of_memory();
			goto out;
		}
		free(line);
		added++;
		printf("%s %s: enrolled\n", k->fp, k->comment);
	}
	/* A record too large to be read back would fail every step-up of the
	 * user, and status and remove with it: refused, the record as it was. */
	if (added > 0 && su_kv_format_to(&record, NULL, 0) > SU_RECORD_MAX_SIZE) {
		rc = refuse("enroll: %s's record would be larger than %d bytes with these "
			    "keys; nothing enrolled", user, SU_RECORD_MAX_SIZE);
		goto out;
	}
	if (added > 0 && su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("%s has %zu security key(s) for the method sshsk (the rule's methods must "
	       "name sshsk).\nTest it: have %s run 'sudo -v' with their SSH agent holding "
	       "the key.\n", user, have.count + added, user);
out:
	su_sshsk_set_free(&given);
	su_sshsk_set_free(&have);
	su_kv_free(&record);
	free(name);
	su_buf_free(&text);
	return rc;
}

/* stepupctl remove USER sshkey FINGERPRINT: one key, by "SHA256:..." as
 * status shows it (or its id). */
int remove_sshkey(ctl *c, const char *user, const char *fp)
{
	su_kv record = { 0 };
	su_sshsk_set have = { 0 };
	char *name = NULL;
	int rc = load_record(c, user, &record, true);
	size_t i;

	if (rc != CTL_OK)
		goto out;
	name = su_store_name(c->store, user, SU_STORE_RECORD);
	if (name == NULL || su_sshsk_set_load(&ctl_log, name, &record, &have) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	for (i = 0; i < have.count; i++)
		if (strcmp(have.keys[i].fp, fp) == 0 || strcmp(have.keys[i].id, fp) == 0)
			break;
	if (i == have.count) {
		rc = refuse("%s has no security key %s; '" PROG " status %s' lists them", user,
			    fp, user);
		goto out;
	}
	{
		char key[SU_SSHSK_KEYNAME_SIZE];

		su_sshsk_key_name(SU_SSHSK_RECORD_PREFIX, have.keys[i].id, key);
		su_kv_del(&record, key);
	}
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("removed security key %s %s from %s\n", have.keys[i].fp, have.keys[i].comment,
	       user);
	su_audit_admin("remove", user, "success", "sshkey", have.keys[i].fp);
	rc = end_grace(c, user);
	if (record.count == 0)
		printf("%s has no method left; '" PROG " remove %s' deletes the "
		       "record and the state\n", user, user);
out:
	su_sshsk_set_free(&have);
	su_kv_free(&record);
	free(name);
	return rc;
}

static int sshkey_view(const user_view *v, su_sshsk_set *set)
{
	return su_sshsk_set_load(&ctl_log, v->record_path, &v->record, set) == SU_OK ?
	       CTL_OK : CTL_REFUSED;
}

int sshkey_summary(const user_view *v, char *buf, size_t size)
{
	su_sshsk_set set;
	int rc = sshkey_view(v, &set);

	if (rc == CTL_OK)
		snprintf(buf, size, "sshkey (%zu security key%s)", set.count,
			 set.count == 1 ? "" : "s");
	su_sshsk_set_free(&set);
	return rc;
}

int sshkey_details(const user_view *v)
{
	su_sshsk_set set;
	int rc = sshkey_view(v, &set);

	for (size_t i = 0; rc == CTL_OK && i < set.count; i++) {
		const su_sshsk_enrolled *k = &set.keys[i];
		char name[SU_SSHSK_KEYNAME_SIZE];
		uint64_t counter = 0;

		su_sshsk_key_name(SU_SSHSK_COUNTER_PREFIX, k->id, name);
		if (su_kv_get_u64(&ctl_log, v->state_path, &v->state, name, 0, UINT32_MAX,
				  &counter) < 0) {
			rc = CTL_REFUSED;
			break;
		}
		printf("security key: %s %s %s (counter %llu)\n", k->fp,
		       k->key.type == SU_SSHSK_ECDSA ? SU_SSHSK_ECDSA_NAME : SU_SSHSK_ED25519_NAME,
		       k->comment[0] ? k->comment : "-", (unsigned long long)counter);
	}
	su_sshsk_set_free(&set);
	return rc;
}
