/* Grace records: see grace.h for the file, its fields and the binding.
 *
 * Every field a record carries is covered by its HMAC, and every field is
 * also compared with what is true now: the HMAC proves the record was made
 * by this host's module, the comparisons prove it was made for this user,
 * this session and this boot. The current rule's grace caps the lifetime
 * (a record written under a longer grace is not stretched by it), and the
 * current rule's methods decide whether the method that earned it counts,
 * its grace_from whether the service that earned it does. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "grace.h"
#include "kv.h"
#include "safefile.h"
#include "secret.h"
#include "util.h"

#define RECORD_MAX 2048
#define PROC_MAX 1024
#define AUDIT_UNSET "4294967295"
#define CLOCK_SLACK 60       /* issued this far ahead: a clock set back */
#define LOCK_TIMEOUT_MS 5000

/* ---- where we are --------------------------------------------------------- */

/* A /proc file: the kernel's, not a file anyone can plant, so the safe-file
 * checks (root owner, mode) do not apply; O_NOFOLLOW still does. */
static int read_proc(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Fields of /proc/PID/stat after the command name, which may itself hold
 * blanks and parentheses: *fields points at field 3 (state). */
static int proc_stat_fields(const char *path, char *buf, size_t size,
			    const char **fields)
{
	char *close_paren;

	if (read_proc(path, buf, size) != 0)
		return -1;
	close_paren = strrchr(buf, ')');
	if (close_paren == NULL || close_paren[1] != ' ')
		return -1;
	*fields = close_paren + 2;
	return 0;
}

/* The n-th blank-separated field (3-based, as proc(5) numbers them). */
static bool stat_field(const char *fields, int n, unsigned long long *out)
{
	const char *p = fields;
	char *end;

	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return false;
		p++;
	}
	errno = 0;
	*out = strtoull(p, &end, 10);
	return errno == 0 && end != p && (*end == ' ' || *end == '\0');
}

#define BINDING_CHARS "abcdefghijklmnopqrstuvwxyz0123456789=:"

static bool binding_chars_ok(const char *binding)
{
	return binding[0] != '\0' && strspn(binding, BINDING_CHARS) == strlen(binding);
}

/* tty=DEV:sid=PID:start=TICKS, or sid=PID:start=TICKS without a tty, all
 * from the session leader's /proc/PID/stat: its start time defeats pid
 * reuse, and its controlling tty is the session's. (getsid() rather than
 * our own /proc/self/stat: that read cost as much as the rest of the
 * binding.) Says why when there is nothing to bind to, for the log. */
static int session_binding(char *out, size_t size, const char **why)
{
	char buf[PROC_MAX], path[64];
	unsigned long long tty, start;
	const char *f;
	pid_t sid = getsid(0);
	int n;

	/* getsid() is 0 when the leader lives in another PID namespace, as
	 * after docker exec or nsenter: there is no session here to bind to. */
	*why = "the session leader is outside this PID namespace";
	if (sid <= 0)
		return -1;
	*why = "the session leader has exited";
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sid);
	if (proc_stat_fields(path, buf, sizeof(buf), &f) != 0 ||
	    !stat_field(f, 7, &tty) || !stat_field(f, 22, &start))
		return -1;
	*why = "binding too long";
	n = tty != 0 ? snprintf(out, size, "tty=%llu:sid=%d:start=%llu", tty, (int)sid, start) :
		       snprintf(out, size, "sid=%d:start=%llu", (int)sid, start);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

/* A process never outlives its boot, so the boot id is read once (under a
 * lock: a threaded host may call PAM from two threads). */
static int boot_id(char *out, size_t size)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char cached[SU_GRACE_BOOT_ID_MAX];
	char fresh[SU_GRACE_BOOT_ID_MAX];
	int rc = -1;

	pthread_mutex_lock(&lock);
	if (cached[0] == '\0' &&
	    read_proc("/proc/sys/kernel/random/boot_id", fresh, sizeof(fresh)) == 0)
		memcpy(cached, fresh, sizeof(cached));
	if (cached[0] != '\0' && strlen(cached) < size) {
		memcpy(out, cached, strlen(cached) + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int su_grace_here_now(const su_log *log, su_grace_here *here)
{
	const char *why;
	char id[32];

	memset(here, 0, sizeof(*here));
	if (boot_id(here->boot_id, sizeof(here->boot_id)) != 0) {
		su_debug(log, "grace: no boot id");
		return -1;
	}
	/* The audit session id is set once, at login (pam_loginuid), and a
	 * user cannot change it: the best binding when there is one. */
	if (read_proc("/proc/self/sessionid", id, sizeof(id)) == 0 && id[0] != '\0' &&
	    strcmp(id, AUDIT_UNSET) != 0 && strspn(id, "0123456789") == strlen(id)) {
		snprintf(here->binding, sizeof(here->binding), "audit=%s", id);
		return 0;
	}
	if (session_binding(here->binding, sizeof(here->binding), &why) != 0) {
		/* Not an error, but an administrator wondering why grace never
		 * holds (typically inside a container) needs to see this. */
		su_logf(log, LOG_INFO,
			"grace records unavailable: no audit session id and %s", why);
		return -1;
	}
	return 0;
}

/* ---- names and MACs ------------------------------------------------------- */

#define SERVICE_TAG ":service="

/* grace_dir/USER:BINDING:service=SERVICE, or with service "" the start
 * every record name of this user and binding shares. The binding is made of
 * [a-z0-9=:] only (see session_binding), a user name has no ':' or '/' and
 * a service name no ':' (su_valid_service_name): the name is one path
 * component, the first ':' splits off the user and the last SERVICE_TAG
 * the service. Nothing in it is secret (grace_dir is root's alone), so it
 * needs no MAC: the record inside does, service included. */
static char *record_path(const char *grace_dir, const char *user, const char *binding,
			 const char *service)
{
	char name[SU_USER_MAX + SU_GRACE_BINDING_MAX + sizeof(SERVICE_TAG) + SU_SERVICE_MAX + 2];

	if (!su_valid_username(user) || !binding_chars_ok(binding) ||
	    (service[0] != '\0' && !su_valid_service_name(service)))
		return NULL;
	snprintf(name, sizeof(name), "%s:%s" SERVICE_TAG "%s", user, binding, service);
	return su_path_join(grace_dir, name);
}

/* The service in a record name, or NULL in an old one (USER:BINDING). */
static const char *name_service(const char *name)
{
	const char *found = NULL;

	for (const char *p = name; (p = strstr(p, SERVICE_TAG)) != NULL; p++)
		found = p + strlen(SERVICE_TAG);
	return found;
}

/* The service a record names and is named by: PAM_SERVICE in lower case
 * (libpam lowercases it already; a host program that set it otherwise
 * must not get two records). false: none a file name can carry (no grace
 * for such a service: said by the caller). */
static bool service_key(const char *service, char out[SU_SERVICE_MAX + 1])
{
	size_t i;

	if (service == NULL || !su_valid_service_name(service))
		return false;
	for (i = 0; service[i] != '\0'; i++)
		out[i] = service[i] >= 'A' && service[i] <= 'Z' ? (char)(service[i] - 'A' + 'a') :
								  service[i];
	out[i] = '\0';
	return true;
}

/* want with its service as records name it, into *w (service in buf). */
static bool want_normalised(const su_grace_want *want, su_grace_want *w,
			    char buf[SU_SERVICE_MAX + 1])
{
	if (!service_key(want->service, buf))
		return false;
	*w = *want;
	w->service = buf;
	return true;
}

struct record {
	const char *user, *uid, *binding, *service, *rhost, *boot_id, *method, *issued,
		*expires, *hmac;
};

static int record_mac(const unsigned char *key, const struct record *r,
		      char out[SU_HMAC_HEX])
{
	const char *parts[] = {"grace", r->user, r->uid, r->binding, r->rhost, r->boot_id,
			       r->method, r->issued, r->expires, r->service};

	return su_hmac_hex(key, parts, sizeof(parts) / sizeof(parts[0]), out);
}

static void record_from(const su_kv *kv, struct record *r)
{
	r->user = su_kv_get(kv, "user");
	r->uid = su_kv_get(kv, "uid");
	r->binding = su_kv_get(kv, "binding");
	r->service = su_kv_get(kv, "service");
	r->rhost = su_kv_get(kv, "rhost");
	r->boot_id = su_kv_get(kv, "boot_id");
	r->method = su_kv_get(kv, "method");
	r->issued = su_kv_get(kv, "issued");
	r->expires = su_kv_get(kv, "expires");
	r->hmac = su_kv_get(kv, "hmac");
}

static bool record_complete(const struct record *r)
{
	return r->user && r->uid && r->binding && r->service && r->rhost && r->boot_id &&
	       r->method && r->issued && r->expires && r->hmac;
}

/* NULL if the record was made by this host's module, else what is wrong. */
static const char *record_forged(const unsigned char *key, const struct record *r)
{
	char mac[SU_HMAC_HEX];
	bool same;

	if (!record_complete(r))
		return "a field is missing";
	if (strlen(r->hmac) != SU_HMAC_HEX - 1 || record_mac(key, r, mac) != 0)
		return "bad hmac";
	same = su_equal(mac, r->hmac, SU_HMAC_HEX - 1);
	su_erase(mac, sizeof(mac));
	return same ? NULL : "bad hmac";
}

static unsigned method_bit(const char *name)
{
	unsigned bit = 0;

	return su_parse_methods(name, &bit) && (bit & (bit - 1)) == 0 ? bit : 0;
}

/* ---- check ------------------------------------------------------------------ */

/* Earned in this service, or in one the rule's grace_from names. */
static bool service_counts(const struct record *r, const su_grace_want *want)
{
	return strcmp(r->service, want->service) == 0 || su_service_listed(want->from, r->service);
}

/* NULL if r holds for want now; else why not. *expired: remove it. */
static const char *record_refused(const struct record *r, const su_grace_want *want,
				  unsigned *method, bool *expired)
{
	uint64_t uid, issued, expires, own_expires;

	*expired = false;
	if (!su_parse_u64(r->uid, 0, UINT32_MAX, &uid) ||
	    !su_parse_u64(r->issued, 0, INT64_MAX, &issued) ||
	    !su_parse_u64(r->expires, 0, INT64_MAX, &expires))
		return "a number is malformed";
	if (strcmp(r->user, want->user) != 0 || uid != (uint64_t)want->uid)
		return "another user's record";
	if (strcmp(r->binding, want->here->binding) != 0)
		return "another session's record";
	/* One root daemon serving many remote clients is one session: the
	 * client's host keeps alice's grace from a connection not hers. */
	if (strcmp(r->rhost, want->rhost) != 0)
		return "earned from another remote host";
	if (strcmp(r->boot_id, want->here->boot_id) != 0)
		return "a record from another boot";
	if (!service_counts(r, want))
		return "earned in another service (not in this rule's grace_from)";
	*method = method_bit(r->method);
	if (*method == 0 || !(*method & want->methods))
		return "earned by a method this rule does not accept";
	if (want->now < 0 || issued > (uint64_t)want->now + CLOCK_SLACK)
		return "issued in the future";
	/* The current rule caps the lifetime: a record written under a
	 * longer grace, or a grace since shortened, stretches nothing. */
	own_expires = expires;
	if (expires > issued + want->grace)
		expires = issued + want->grace;
	if ((uint64_t)want->now >= expires) {
		/* Removed only when over for its own service too: a shorter
		 * grace here must not end the longer one of the service that
		 * earned it. */
		*expired = (uint64_t)want->now >= own_expires ||
			   strcmp(r->service, want->service) == 0;
		return "expired";
	}
	return NULL;
}

/* The last record this process found genuine. A process that authenticates
 * again and again verifies each version of a record once: while the record
 * file and the host key file are the versions it was verified with
 * (su_file_unchanged), their contents are too, so neither is read and no
 * HMAC is made. Every field is still matched against the call
 * (record_refused). It holds the record's text, no secret. */
static struct {
	pthread_mutex_t lock;
	char *path; /* NULL: nothing seen */
	char *text;
	su_file_id record_id, key_id;
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void seen_forget(void)
{
	free(seen.path);
	free(seen.text);
	seen.path = seen.text = NULL;
}

__attribute__((destructor)) static void seen_at_unload(void)
{
	pthread_mutex_lock(&seen.lock);
	seen_forget();
	pthread_mutex_unlock(&seen.lock);
}

/* Best effort: on no memory the next call verifies again. */
static void seen_keep(const char *path, const su_buf *buf, const su_file_id *record_id,
		      const su_file_id *key_id)
{
	pthread_mutex_lock(&seen.lock);
	seen_forget();
	seen.path = strdup(path);
	seen.text = strdup(buf->data);
	if (seen.path == NULL || seen.text == NULL)
		seen_forget();
	seen.record_id = *record_id;
	seen.key_id = *key_id;
	pthread_mutex_unlock(&seen.lock);
}

/* The text of the record seen if its path starts with prefix (it is one of
 * this user and session: record_refused says whether its service counts)
 * and it is the version seen, with a host key that is too; NULL otherwise.
 * The caller frees it. */
static char *seen_text(const char *prefix, const char *hostkey_path)
{
	char *text = NULL;
	const char *path;

	pthread_mutex_lock(&seen.lock);
	path = seen.path;
	if (path != NULL && strncmp(path, prefix, strlen(prefix)) == 0 &&
	    su_file_unchanged(path, &seen.record_id) &&
	    su_file_unchanged(hostkey_path, &seen.key_id))
		text = strdup(seen.text);
	pthread_mutex_unlock(&seen.lock);
	return text;
}

int su_grace_check_seen(const su_log *log, const char *grace_dir, const char *hostkey_path,
			const su_grace_want *want, unsigned *method)
{
	char service[SU_SERVICE_MAX + 1];
	su_grace_want w;
	bool ok = want_normalised(want, &w, service);
	char *path = ok ? record_path(grace_dir, w.user, w.here->binding, "") : NULL;
	char *text = path ? seen_text(path, hostkey_path) : NULL;
	su_kv kv = {0};
	struct record r;
	bool expired;
	int rc = SU_NOTFOUND;

	*method = 0;
	if (text != NULL && su_kv_parse(log, path, text, strlen(text), &kv) == 0) {
		record_from(&kv, &r);
		/* complete: it was when it was verified */
		if (record_complete(&r) && record_refused(&r, &w, method, &expired) == NULL) {
			su_debug(log, "grace: a record of %s (%s) verified before and unchanged",
				 r.service, path);
			rc = SU_OK;
		} else
			*method = 0; /* su_grace_check says why, and removes it if expired */
	}
	su_kv_free(&kv);
	free(text);
	free(path);
	return rc;
}

/* One record file: SU_OK if it is genuine and holds for want. */
static int check_file(const su_log *log, const char *path,
		      const unsigned char key[SU_HOSTKEY_BYTES], const su_file_id *key_id,
		      const su_grace_want *want, unsigned *method)
{
	const char *why = NULL;
	su_file_id record_id;
	su_kv kv = {0};
	su_buf buf = {0};
	struct record r;
	bool expired = false;
	int rc;

	*method = 0;
	rc = su_read_file_id(log, path, SU_FILE_SECRET, RECORD_MAX, &buf, &record_id);
	if (rc == SU_OK && su_kv_parse(log, path, buf.data, buf.len, &kv) != 0)
		rc = SU_ERR;
	if (rc == SU_OK) {
		record_from(&kv, &r);
		why = record_forged(key, &r);
		if (why == NULL)
			why = record_refused(&r, want, method, &expired);
		if (why != NULL) {
			su_debug(log, "grace: %s: not honoured: %s", path, why);
			if (expired)
				su_remove_file(log, path);
			*method = 0;
			rc = SU_NOTFOUND;
		} else {
			su_debug(log, "grace: %s: honoured", path);
			if (key_id != NULL && key_id->settled && record_id.settled)
				seen_keep(path, &buf, &record_id, key_id);
		}
	}
	su_kv_free(&kv);
	su_buf_free(&buf);
	return rc;
}

/* The record service earned for want's user and session. */
static int check_service(const su_log *log, const char *grace_dir,
			 const unsigned char key[SU_HOSTKEY_BYTES], const su_file_id *key_id,
			 const su_grace_want *want, const char *service, unsigned *method)
{
	char *path = record_path(grace_dir, want->user, want->here->binding, service);
	int rc = path != NULL ? check_file(log, path, key, key_id, want, method) : SU_ERR;

	free(path);
	return rc;
}

/* SU_OK if either is; else SU_ERR if either is (a refused file is logged);
 * else SU_NOTFOUND. */
static int either(int a, int b)
{
	return a == SU_OK || b == SU_OK ? SU_OK : a == SU_ERR || b == SU_ERR ? SU_ERR : SU_NOTFOUND;
}

/* The records of the services grace_from names ("a,b", valid lower-case
 * names: config.c made it so), this service's own left out (tried first). */
static int check_listed(const su_log *log, const char *grace_dir,
			const unsigned char key[SU_HOSTKEY_BYTES], const su_file_id *key_id,
			const su_grace_want *want, unsigned *method)
{
	char name[SU_SERVICE_MAX + 1];
	const char *p = want->from;
	int rc = SU_NOTFOUND;

	while (*p != '\0' && rc != SU_OK) {
		size_t len = strcspn(p, ",");

		if (len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			if (strcmp(name, want->service) != 0)
				rc = either(rc, check_service(log, grace_dir, key, key_id, want,
							      name, method));
		}
		p += len + (p[len] == ',');
	}
	return rc;
}

typedef int (*record_fn)(const char *file, char *owner, void *ctx);
static int each_record(const su_log *log, const char *grace_dir, const char *user,
		       record_fn fn, void *ctx);

struct any_service {
	const su_log *log;
	const char *grace_dir;
	const unsigned char *key;
	const su_file_id *key_id;
	const su_grace_want *want;
	const char *prefix; /* USER:BINDING:service= */
	unsigned *method;
	int rc;
};

static int check_one_of_any(const char *file, char *owner, void *ctx)
{
	struct any_service *a = ctx;
	size_t len = strlen(a->prefix);
	char *path;

	free(owner);
	if (strncmp(file, a->prefix, len) != 0 || strcmp(file + len, a->want->service) == 0)
		return 0; /* another session's, an old one, or our own: tried first */
	path = su_path_join(a->grace_dir, file);
	a->rc = either(a->rc, path != NULL ? check_file(a->log, path, a->key, a->key_id, a->want,
							 a->method) : SU_ERR);
	free(path);
	return a->rc == SU_OK ? 1 : 0;
}

/* grace_from = *: every record of this user and session, whatever its
 * service. The one case that reads grace_dir itself. */
static int check_any(const su_log *log, const char *grace_dir,
		     const unsigned char key[SU_HOSTKEY_BYTES], const su_file_id *key_id,
		     const su_grace_want *want, unsigned *method)
{
	char prefix[SU_USER_MAX + SU_GRACE_BINDING_MAX + sizeof(SERVICE_TAG) + 2];
	struct any_service a = {log, grace_dir, key, key_id, want, prefix, method, SU_NOTFOUND};
	int n = snprintf(prefix, sizeof(prefix), "%s:%s" SERVICE_TAG, want->user,
			 want->here->binding);

	if (n < 0 || (size_t)n >= sizeof(prefix))
		return SU_ERR;
	/* each_record's SU_OK says the scan went through, not that one held */
	if (each_record(log, grace_dir, want->user, check_one_of_any, &a) == SU_ERR &&
	    a.rc != SU_OK)
		return SU_ERR;
	return a.rc;
}

int su_grace_check(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES], const su_file_id *key_id,
		   const su_grace_want *want, unsigned *method)
{
	char service[SU_SERVICE_MAX + 1];
	su_grace_want w;
	int rc;

	*method = 0;
	if (!want_normalised(want, &w, service)) {
		su_debug(log, "grace: this service's name cannot name a record: no grace");
		return SU_NOTFOUND;
	}
	/* By default exactly one file is opened: this service's record. */
	rc = check_service(log, grace_dir, key, key_id, &w, w.service, method);
	if (rc == SU_OK || w.from == NULL)
		return rc;
	if (strcmp(w.from, "*") == 0)
		return either(rc, check_any(log, grace_dir, key, key_id, &w, method));
	return either(rc, check_listed(log, grace_dir, key, key_id, &w, method));
}

/* ---- write -------------------------------------------------------------------- */

static int record_text(const su_grace_want *want, unsigned method,
		       const unsigned char *key, su_kv *kv)
{
	char uid[24], issued[24], expires[24], mac[SU_HMAC_HEX], names[64];
	struct record r = {want->user, uid, want->here->binding, want->service, want->rhost,
			   want->here->boot_id, su_methods_str(method, names, sizeof(names)),
			   issued, expires, mac};

	snprintf(uid, sizeof(uid), "%llu", (unsigned long long)want->uid);
	snprintf(issued, sizeof(issued), "%lld", (long long)want->now);
	snprintf(expires, sizeof(expires), "%lld", (long long)want->now + want->grace);
	if (record_mac(key, &r, mac) != 0)
		return -1;
	return su_kv_set(kv, "user", r.user) || su_kv_set(kv, "uid", uid) ||
	       su_kv_set(kv, "binding", r.binding) || su_kv_set(kv, "service", r.service) ||
	       su_kv_set(kv, "rhost", r.rhost) ||
	       su_kv_set(kv, "boot_id", r.boot_id) ||
	       su_kv_set(kv, "method", r.method) || su_kv_set(kv, "issued", issued) ||
	       su_kv_set(kv, "expires", expires) || su_kv_set(kv, "hmac", mac) ? -1 : 0;
}

/* Record names say who holds grace in which session (and so when to
 * strike at it): none is written where anyone but root can list them. The
 * read path does not check (it costs a syscall on every grace call, and
 * nothing is written into such a directory to be read). */
static int private_dir(const su_log *log, const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return -1; /* su_write_file says why */
	if (S_ISDIR(st.st_mode) && (st.st_mode & 077) != 0) {
		su_logf(log, LOG_ERR, "refusing %s: mode %04o; grace records are written only "
			"into a directory no one but root can read (chmod 0700 %s)", dir,
			(unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

/* Writers of one user's records are serialised (su_write_file's fixed
 * temporary name needs it) by a lock file per user in grace_dir. */
static char *lock_path(const char *grace_dir, const char *user)
{
	char name[SU_USER_MAX + 8];

	snprintf(name, sizeof(name), ".%s.lock", user);
	return su_path_join(grace_dir, name);
}

int su_grace_write(const su_log *log, const char *grace_dir,
		   const unsigned char key[SU_HOSTKEY_BYTES],
		   const su_grace_want *want_in, unsigned method)
{
	char service[SU_SERVICE_MAX + 1];
	su_grace_want w, *want = &w;
	char *path, *lock;
	su_kv kv = {0};
	char *text = NULL;
	size_t len = 0;
	int fd = -1, rc = -1;

	if (!want_normalised(want_in, &w, service)) {
		su_logf(log, LOG_INFO, "grace: this service's name cannot name a record (1 to %d "
			"of A-Z a-z 0-9 _ . -): no grace is kept for it", SU_SERVICE_MAX);
		return -1;
	}
	path = record_path(grace_dir, want->user, want->here->binding, want->service);
	lock = lock_path(grace_dir, want->user);
	if (path == NULL || lock == NULL || private_dir(log, grace_dir) != 0 ||
	    record_text(want, method, key, &kv) != 0 ||
	    (text = su_kv_format(&kv, &len)) == NULL)
		goto out;
	if (su_lock(log, lock, LOCK_TIMEOUT_MS, &fd) != SU_OK)
		goto out;
	rc = su_write_file(log, path, text, len, 0600) == SU_OK ? 0 : -1;
	su_unlock(fd);
out:
	if (rc != 0)
		su_logf(log, LOG_ERR, "grace: cannot write the record for %s", want->user);
	su_free_string(text);
	su_kv_free(&kv);
	free(lock);
	free(path);
	return rc;
}

/* ---- list and revoke ---------------------------------------------------------- */

/* After "USER:": BINDING:service=SERVICE, or BINDING alone in a record
 * written before grace was per service (listed and revoked, never
 * honoured: it has no service). */
static bool after_user_ok(const char *rest)
{
	const char *service = name_service(rest);
	char binding[SU_GRACE_BINDING_MAX];
	size_t blen;

	if (service == NULL)
		return binding_chars_ok(rest);
	blen = (size_t)(service - strlen(SERVICE_TAG) - rest);
	if (blen >= sizeof(binding))
		return false;
	memcpy(binding, rest, blen);
	binding[blen] = '\0';
	return binding_chars_ok(binding) && su_valid_service_name(service);
}

/* A record's name -> the user part, or NULL if name is not a record's
 * (dot files: the lock files and su_write_file's temporary names). */
static char *record_user(const char *name)
{
	const char *colon = strchr(name, ':');
	size_t ulen;
	char *user;

	if (name[0] == '.' || colon == NULL || !after_user_ok(colon + 1))
		return NULL;
	ulen = (size_t)(colon - name);
	user = malloc(ulen + 1);
	if (user == NULL)
		return NULL;
	memcpy(user, name, ulen);
	user[ulen] = '\0';
	if (!su_valid_username(user)) {
		free(user);
		return NULL;
	}
	return user;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const su_grace_entry *)a)->file, ((const su_grace_entry *)b)->file);
}

static void entry_load(const su_log *log, const char *grace_dir,
		       const unsigned char *key, time_t now, su_grace_entry *e)
{
	char *path = su_path_join(grace_dir, e->file);
	su_buf buf = {0};
	su_kv kv = {0};
	struct record r;
	uint64_t v;

	e->status = SU_GRACE_INVALID;
	e->why = "unreadable";
	if (path == NULL || su_read_file(log, path, SU_FILE_SECRET, RECORD_MAX, &buf) != SU_OK ||
	    su_kv_parse(log, path, buf.data, buf.len, &kv) != 0)
		goto out;
	record_from(&kv, &r);
	e->why = record_forged(key, &r);
	if (r.binding)
		e->binding = su_strdup(r.binding);
	if (r.method)
		e->method = su_strdup(r.method);
	if (r.service)
		e->service = su_strdup(r.service);
	if (r.uid && su_parse_u64(r.uid, 0, UINT32_MAX, &v))
		e->uid = (long long)v;
	if (r.issued && su_parse_u64(r.issued, 0, INT64_MAX, &v))
		e->issued = (long long)v;
	if (r.expires && su_parse_u64(r.expires, 0, INT64_MAX, &v))
		e->expires = (long long)v;
	if (e->why == NULL && r.user && strcmp(r.user, e->user) != 0)
		e->why = "the user in it is not the one in its name";
	/* Harmless for the check (the service inside counts), but not ours. */
	if (e->why == NULL && r.service &&
	    (name_service(e->file) == NULL || strcmp(name_service(e->file), r.service) != 0))
		e->why = "the service in it is not the one in its name";
	if (e->why == NULL)
		e->status = (long long)now < e->expires ? SU_GRACE_VALID : SU_GRACE_EXPIRED;
out:
	su_kv_free(&kv);
	su_buf_free(&buf);
	free(path);
}

/* Call fn for every record file of user (every user's when NULL) in
 * grace_dir; owner (the user part of the name) is fn's to free. Stops at
 * the first fn that returns -1 (SU_ERR) or 1 (done: SU_OK). */
static int each_record(const su_log *log, const char *grace_dir, const char *user,
		       record_fn fn, void *ctx)
{
	DIR *d;
	struct dirent *de;
	int rc = SU_OK;

	if (su_check_dir(log, grace_dir) != SU_OK)
		return SU_ERR;
	d = opendir(grace_dir);
	if (d == NULL)
		return su_fail(log, "cannot read %s: %s", grace_dir, strerror(errno));
	while (rc == SU_OK && (de = readdir(d)) != NULL) {
		char *owner = record_user(de->d_name);

		if (owner == NULL || (user != NULL && strcmp(owner, user) != 0)) {
			free(owner);
			continue;
		}
		switch (fn(de->d_name, owner, ctx)) {
		case 0: break;
		case 1: goto done;
		default: rc = SU_ERR;
		}
	}
done:
	closedir(d);
	return rc;
}

struct listing {
	const su_log *log;
	const char *grace_dir;
	const unsigned char *key;
	time_t now;
	su_grace_entry *list;
	size_t n;
};

static int list_one(const char *file, char *owner, void *ctx)
{
	struct listing *l = ctx;
	su_grace_entry *grown = realloc(l->list, (l->n + 1) * sizeof(*l->list));

	if (grown == NULL) {
		free(owner);
		return -1;
	}
	l->list = grown;
	l->list[l->n] = (su_grace_entry){.file = su_strdup(file), .user = owner};
	if (l->list[l->n].file == NULL) {
		free(owner);
		return -1;
	}
	entry_load(l->log, l->grace_dir, l->key, l->now, &l->list[l->n]);
	l->n++;
	return 0;
}

int su_grace_list(const su_log *log, const char *grace_dir,
		  const unsigned char key[SU_HOSTKEY_BYTES], const char *user,
		  time_t now, su_grace_entry **entries, size_t *count)
{
	struct listing l = {log, grace_dir, key, now, NULL, 0};
	int rc = each_record(log, grace_dir, user, list_one, &l);

	if (rc == SU_ERR && l.n == 0) {
		free(l.list);
		*entries = NULL;
		*count = 0;
		return SU_ERR;
	}
	/* What was read before a failure is still listed. */
	if (l.n > 1)
		qsort(l.list, l.n, sizeof(*l.list), cmp_entry);
	*entries = l.list;
	*count = l.n;
	return SU_OK;
}

void su_grace_list_free(su_grace_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(entries[i].file);
		free(entries[i].user);
		free(entries[i].binding);
		free(entries[i].method);
		free(entries[i].service);
	}
	free(entries);
}

struct revoking {
	const su_log *log;
	const char *grace_dir;
	unsigned removed;
	bool failed;
};

static int revoke_one(const char *file, char *owner, void *ctx)
{
	struct revoking *r = ctx;
	char *path = su_path_join(r->grace_dir, file);

	free(owner);
	if (path != NULL && su_remove_file(r->log, path) == SU_OK)
		r->removed++;
	else
		r->failed = true; /* and go on: remove what can be removed */
	free(path);
	return 0;
}

int su_grace_revoke(const su_log *log, const char *grace_dir, const char *user,
		    unsigned *removed)
{
	struct revoking r = {log, grace_dir, 0, false};
	int rc = each_record(log, grace_dir, user, revoke_one, &r);

	*removed = r.removed;
	return rc == SU_OK && !r.failed ? SU_OK : SU_ERR;
}
