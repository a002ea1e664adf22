/* Grace records: su_grace_check and su_grace_list on a record file.
 *
 * The input is written as the record of a fixed user, session binding and
 * service (grace_dir/alice:BINDING:service=sudo, root, 0600) in a private grace_dir (root, 0700)
 * made once at startup and removed at exit, then checked and listed with a
 * fixed host key. A record's HMAC stops a mutated input at record_forged,
 * so the input is then tried a second time signed: if it parses and has
 * every field, its hmac is set to the right one (grace.h gives the parts)
 * and the record checked again, which takes mutated field values through
 * the comparisons that follow the HMAC.
 *
 * Needs root: the safe-file rules refuse a file not owned by root. The
 * grace_dir is made under $FUZZ_TMP (run.sh's private scratch directory,
 * removed by run.sh even after a crash) or else under /tmp. */
/* run.sh: max_len 4096 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "fuzz.h"
#include "grace.h"
#include "hostkey.h"
#include "kv.h"
#include "safefile.h"
#include "secret.h"

#define USER "alice"
#define UID 1000
#define BINDING "tty=34816:sid=4242:start=123456"
#define SERVICE "sudo"
#define BOOT_ID "0b7e4c1a-5d2f-4e6b-9a3c-7f1d2e3c4b5a"

static char grace_dir[4096];
static char record[4096 + 128];
static unsigned char hostkey[SU_HOSTKEY_BYTES];
static su_grace_here here;

static void remove_grace_dir(void)
{
	DIR *d = opendir(grace_dir);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	rmdir(grace_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("FUZZ_TMP");

	(void)argc;
	(void)argv;
	if (geteuid() != 0)
		fprintf(stderr, "fuzz_grace: not root: every record will be refused\n");
	snprintf(grace_dir, sizeof(grace_dir), "%s/grace.XXXXXX",
		 base != NULL && base[0] == '/' ? base : "/tmp");
	if (mkdtemp(grace_dir) == NULL) {
		perror("fuzz_grace: mkdtemp");
		abort();
	}
	atexit(remove_grace_dir);
	snprintf(record, sizeof(record), "%s/%s:%s:service=%s", grace_dir, USER, BINDING, SERVICE);
	fuzz_hostkey(hostkey);
	snprintf(here.binding, sizeof(here.binding), "%s", BINDING);
	snprintf(here.boot_id, sizeof(here.boot_id), "%s", BOOT_ID);
	return 0;
}

static void write_record(const void *data, size_t size)
{
	int fd = open(record, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0) {
		perror("fuzz_grace: write the record");
		abort();
	}
}

static void check_and_list(void)
{
	static const struct {
		const char *rhost;
		time_t now;
		unsigned grace, methods;
		const char *service, *from;
	} wants[] = {
		{"", FUZZ_NOW, 300, SU_METHODS_ALL, SERVICE, NULL},
		{"10.1.2.3", FUZZ_NOW + 100, 86400, SU_METHOD_TOTP | SU_METHOD_EMAIL, "su", "*"},
		{"", FUZZ_NOW, 300, SU_METHODS_ALL, "login", "su," SERVICE},
	};
	su_grace_entry *entries;
	size_t count;

	for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		su_grace_want want = {.user = USER, .uid = UID, .here = &here,
				      .rhost = wants[i].rhost, .now = wants[i].now,
				      .grace = wants[i].grace, .methods = wants[i].methods,
				      .service = wants[i].service, .from = wants[i].from};
		unsigned method = 12345;
		int rc = su_grace_check(&fuzz_log, grace_dir, hostkey, &want, &method);

		FUZZ_CHECK(rc == SU_OK || rc == SU_NOTFOUND || rc == SU_ERR);
		if (rc == SU_OK)
			FUZZ_CHECK(method != 0 && (method & (method - 1)) == 0 &&
				   (method & wants[i].methods) != 0);
		else
			FUZZ_CHECK(method == 0);
	}
	if (su_grace_list(&fuzz_log, grace_dir, hostkey, NULL, FUZZ_NOW, &entries, &count) ==
	    SU_OK) {
		FUZZ_CHECK(count <= 1);
		for (size_t i = 0; i < count; i++)
			FUZZ_CHECK(strcmp(entries[i].user, USER) == 0 &&
				   (entries[i].status == SU_GRACE_INVALID) ==
					   (entries[i].why != NULL));
		su_grace_list_free(entries, count);
	}
}

/* The input with the right hmac, or NULL if it is no complete record. */
static char *signed_copy(const uint8_t *data, size_t size, size_t *len)
{
	static const char *const fields[] = {"user",   "uid",    "binding", "rhost",  "boot_id",
					     "method", "issued", "expires", "service"};
	const char *parts[1 + sizeof(fields) / sizeof(fields[0])] = {"grace"};
	char mac[SU_HMAC_HEX];
	char *text = NULL;
	su_kv kv;

	if (su_kv_parse(&fuzz_log, "signed", (const char *)data, size, &kv) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if ((parts[i + 1] = su_kv_get(&kv, fields[i])) == NULL)
			goto out;
	if (su_hmac_hex(hostkey, parts, sizeof(parts) / sizeof(parts[0]), mac) != 0)
		abort();
	if (su_kv_set(&kv, "hmac", mac) == 0)
		text = su_kv_format(&kv, len);
out:
	su_kv_free(&kv);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *text;

	write_record(data, size);
	check_and_list();
	text = signed_copy(data, size, &len);
	if (text != NULL) {
		write_record(text, len);
		check_and_list();
		su_free_string(text);
	}
	unlink(record);
	return 0;
}
