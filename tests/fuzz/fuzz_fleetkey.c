/* The fleet key: su_fleetkey_load on a key file, su_fleetkey_open on a
 * sealed secret.
 *
 * The input is written as a fleet key file (root, 0600) and loaded; a file
 * that loads must hold 1 to 16 keys with valid ids, and a secret sealed
 * with it for alice must open for alice, to the same bytes, and not for
 * bob. The same input, as a C string, is then opened as alice's blob under
 * a fixed file "k1 <bytes 0..31>" and "old <bytes 32..63>": only a blob
 * sealed under one of those for alice may open (the seeds hold some).
 *
 * Needs root: the safe-file rules refuse a file not owned by root. The
 * files are made under $FUZZ_TMP (run.sh's private scratch directory,
 * removed by run.sh even after a crash) or else under /tmp. */
/* run.sh: max_len 4200 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "fleetkey.h"
#include "fuzz.h"
#include "safefile.h"

static char dir[4096], input_path[4200], fixed_path[4200];
static su_fleetkey *fixed;

static void remove_files(void)
{
	su_fleetkey_free(fixed);
	unlink(input_path);
	unlink(fixed_path);
	rmdir(dir);
}

static void write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) != 0) {
		perror("fuzz_fleetkey: write");
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("FUZZ_TMP");
	char text[200];
	int n;

	(void)argc;
	(void)argv;
	if (geteuid() != 0)
		fprintf(stderr, "fuzz_fleetkey: not root: every file will be refused\n");
	snprintf(dir, sizeof(dir), "%s/fleetkey.XXXXXX",
		 base != NULL && base[0] == '/' ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_fleetkey: mkdtemp");
		abort();
	}
	snprintf(input_path, sizeof(input_path), "%s/input", dir);
	snprintf(fixed_path, sizeof(fixed_path), "%s/fixed", dir);
	atexit(remove_files);
	n = snprintf(text, sizeof(text), "k1 ");
	for (int i = 0; i < 32; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", i);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\nold ");
	for (int i = 32; i < 64; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", i);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\n");
	write_file(fixed_path, text, (size_t)n);
	if (su_fleetkey_load(&fuzz_log, fixed_path, &fixed) != SU_OK && geteuid() == 0)
		abort();
	return 0;
}

/* A file that loads holds what fleetkey.h promises, and seals and opens. */
static void check_loaded(const su_fleetkey *fk)
{
	static const unsigned char secret[20] = "12345678901234567890";
	unsigned char out[SU_FLEETKEY_SECRET_MAX];
	size_t count = su_fleetkey_count(fk), len = 0;
	char *blob = NULL;

	FUZZ_CHECK(count >= 1 && count <= SU_FLEETKEY_MAX);
	for (size_t i = 0; i < count; i++)
		FUZZ_CHECK(su_fleetkey_valid_kid(su_fleetkey_kid(fk, i)) &&
			   su_fleetkey_key(fk, i) != NULL);
	FUZZ_CHECK(su_fleetkey_kid(fk, count) == NULL);
	FUZZ_CHECK(strcmp(su_fleetkey_current(fk), su_fleetkey_kid(fk, 0)) == 0);
	FUZZ_CHECK(su_fleetkey_seal(fk, "alice", secret, sizeof(secret), &blob) == SU_OK);
	FUZZ_CHECK(su_fleetkey_open(&fuzz_log, "fuzz", fk, "alice", blob, out, sizeof(out),
				    &len) == SU_OK);
	FUZZ_CHECK(len == sizeof(secret) && memcmp(out, secret, len) == 0);
	FUZZ_CHECK(su_fleetkey_open(&fuzz_log, "fuzz", fk, "bob", blob, out, sizeof(out),
				    &len) == SU_ERR && len == 0);
	free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[SU_FLEETKEY_SECRET_MAX];
	su_fleetkey *fk = NULL;
	size_t len = 99;
	char *blob;
	int rc;

	write_file(input_path, data, size);
	rc = su_fleetkey_load(&fuzz_log, input_path, &fk);
	FUZZ_CHECK((rc == SU_OK) == (fk != NULL));
	if (fk != NULL)
		check_loaded(fk);
	su_fleetkey_free(fk);
	if (fixed == NULL)
		return 0;
	blob = fuzz_cstr(data, size);
	rc = su_fleetkey_open(&fuzz_log, "fuzz", fixed, "alice", blob, out, sizeof(out), &len);
	FUZZ_CHECK(rc == SU_OK ? len >= 1 && len <= SU_FLEETKEY_SECRET_MAX : len == 0);
	if (rc == SU_OK)
		FUZZ_CHECK(strncmp(blob, "v1:k1:", 6) == 0 || strncmp(blob, "v1:old:", 7) == 0);
	free(blob);
	return 0;
}
