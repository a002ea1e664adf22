/* su_config_load: reading /etc/security/stepup.conf from disk, and the
 * cache of the last one this process parsed.
 *
 * The parser (config_parse.c) is a function of its text alone, which is
 * what the unit tests and the fuzzer drive; what the process remembers
 * between calls (the cache, with the lock and the destructor it needs in a
 * module that libpam may unload and load again) is kept here, apart, so
 * that it is seen in one place. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_internal.h"
#include "safefile.h"
#include "util.h"

/* The last file this process parsed, for one service: a process that
 * authenticates again and again (sshd's monitor, a screen locker, the
 * bench) pays one lstat instead of the checks, a read and a parse while
 * the file is the version it parsed (su_file_unchanged). It holds no
 * secret: paths and policy. */
static struct {
	pthread_mutex_t lock;
	bool valid;
	char *path, *service;
	su_file_id id;
	su_settings settings;
} parsed = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void parsed_forget(void)
{
	free(parsed.path);
	free(parsed.service);
	su_settings_free(&parsed.settings);
	parsed.path = parsed.service = NULL;
	parsed.valid = false;
}

/* The module may be unloaded (pam_end dlcloses it) and loaded again. */
__attribute__((destructor)) static void parsed_at_unload(void)
{
	pthread_mutex_lock(&parsed.lock);
	parsed_forget();
	pthread_mutex_unlock(&parsed.lock);
}

static bool parsed_lookup(const char *path, const char *service, su_settings *out)
{
	bool hit;

	pthread_mutex_lock(&parsed.lock);
	hit = parsed.valid && strcmp(parsed.path, path) == 0 &&
	      same_string(parsed.service, service) && su_file_unchanged(path, &parsed.id) &&
	      su_settings_copy(&parsed.settings, out) == SU_OK;
	pthread_mutex_unlock(&parsed.lock);
	return hit;
}

/* Best effort: on no memory the next call parses again. */
static void parsed_keep(const char *path, const char *service, const su_file_id *id,
			const su_settings *settings)
{
	pthread_mutex_lock(&parsed.lock);
	parsed_forget();
	parsed.path = strdup(path);
	parsed.service = service ? strdup(service) : NULL;
	if (parsed.path != NULL && (service == NULL || parsed.service != NULL) &&
	    su_settings_copy(settings, &parsed.settings) == SU_OK) {
		parsed.id = *id;
		parsed.valid = true;
	} else {
		parsed_forget();
	}
	pthread_mutex_unlock(&parsed.lock);
}

int su_config_load(const su_log *log, const char *path, const char *service,
		   su_settings *out)
{
	su_buf buf = { NULL, 0 };
	su_file_id id;
	int rc;

	memset(out, 0, sizeof(*out));
	if (parsed_lookup(path, service, out))
		return SU_OK;
	rc = su_read_file_id(log, path, SU_FILE_PUBLIC, SU_CONFIG_MAX_SIZE, &buf, &id);
	if (rc != SU_OK)
		goto out; /* SU_NOTFOUND unlogged: the caller decides */
	rc = conf_parse_text(log, path, buf.data, buf.len, service, out);
	if (rc == SU_OK && id.settled)
		parsed_keep(path, service, &id, out);
out:
	su_buf_free(&buf);
	return rc;
}
