/* google-authenticator files (stepupctl import): su_ga_parse, then what the
 * import does with a parsed file: the secret re-encoded as enroll stores
 * it, and the scratch codes made an imported recovery set.
 *
 * The input is the file's bytes as read (a NUL inside is an error, not an
 * end). Invariants:
 *  - a refused file leaves nothing in the result (all bytes zero: the
 *    secret and every code wiped);
 *  - a parsed file obeys gafile.h: a secret of SU_TOTP_MIN_SECRET_BYTES to
 *    SU_TOTP_MAX_SECRET_BYTES bytes, STEP_SIZE 1..60, WINDOW_SIZE 1..100,
 *    at most SU_GA_CODES_MAX codes, each 8 digits not starting with 0, no
 *    two alike; an unknown option's name is shown only in FILEFORMAT's
 *    shape; the mode follows the option lines;
 *  - its secret, base32-encoded and decoded again, is the same bytes;
 *  - its codes make an imported set (su_recovery_import) in which the
 *    first and the last code are read by su_recovery_canonical and match
 *    their own index;
 *  - su_ga_clear leaves all bytes zero. */
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "gafile.h"
#include "hostkey.h"
#include "kv.h"
#include "recovery.h"
#include "secret.h"
#include "totp.h"

#define PATH "fuzz.google_authenticator"

static unsigned char hostkey[SU_HOSTKEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_hostkey(hostkey);
	if (su_totp_init() != 0)
		abort();
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static void check_shape(const su_ga_file *f)
{
	FUZZ_CHECK(f->key != NULL && f->key_len >= SU_TOTP_MIN_SECRET_BYTES &&
		   f->key_len <= SU_TOTP_MAX_SECRET_BYTES);
	FUZZ_CHECK(f->step_size >= 1 && f->step_size <= 60);
	FUZZ_CHECK(f->window_size >= 1 && f->window_size <= 100);
	FUZZ_CHECK(f->line[SU_GA_STEP_SIZE] != 0 || f->step_size == SU_GA_STEP_DEFAULT);
	FUZZ_CHECK(f->used_steps > 0 || f->last_used_step == 0);
	FUZZ_CHECK(f->code_count <= SU_GA_CODES_MAX);
	for (unsigned i = 0; i < f->code_count; i++) {
		FUZZ_CHECK(strlen(f->codes[i]) == SU_GA_CODE_DIGITS);
		FUZZ_CHECK(strspn(f->codes[i], "0123456789") == SU_GA_CODE_DIGITS);
		FUZZ_CHECK(f->codes[i][0] != '0');
		for (unsigned k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(f->codes[i], f->codes[k]) != 0);
	}
	for (unsigned i = 0; i < f->unknown_count && i < SU_GA_UNKNOWN_MAX; i++) {
		const char *name = f->unknown[i].name;

		FUZZ_CHECK(f->unknown[i].line >= 2);
		FUZZ_CHECK(name[0] == '\0' ||
			   (strchr(name, '_') != NULL &&
			    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(name)));
	}
	switch (su_ga_mode(f)) {
	case SU_GA_HOTP:
		FUZZ_CHECK(f->line[SU_GA_HOTP_COUNTER] != 0);
		break;
	case SU_GA_TOTP:
		FUZZ_CHECK(f->line[SU_GA_TOTP_AUTH] != 0 && f->line[SU_GA_HOTP_COUNTER] == 0);
		break;
	case SU_GA_NO_MODE:
		FUZZ_CHECK(f->line[SU_GA_TOTP_AUTH] == 0 && f->line[SU_GA_HOTP_COUNTER] == 0);
		break;
	}
}

/* What enroll stores: canonical base32, which decodes to the same bytes. */
static void check_secret(const su_ga_file *f)
{
	char *text = su_base32_encode(f->key, f->key_len);
	unsigned char *again = NULL;
	size_t len = 0;

	if (text == NULL)
		abort();
	FUZZ_CHECK(su_base32_decode(text, &again, &len) == 0);
	FUZZ_CHECK(len == f->key_len && memcmp(again, f->key, len) == 0);
	su_free_secret(again, len);
	su_free_string(text);
}

static void check_code(const su_kv *record, const char *code, unsigned want)
{
	char canon[SU_RECOVERY_CHARS + 1];
	unsigned index = 0;

	FUZZ_CHECK(su_recovery_canonical(record, code, canon));
	FUZZ_CHECK(su_recovery_match(&fuzz_log, PATH, hostkey, "alice", record, canon,
				     &index) == 0);
	FUZZ_CHECK(index == want);
}

static void check_codes(const su_ga_file *f)
{
	su_kv record = {0};

	if (f->code_count == 0)
		return;
	FUZZ_CHECK(su_recovery_import(hostkey, "alice", f->code_count, f->codes, &record) == 0);
	FUZZ_CHECK(su_recovery_imported(&record));
	check_code(&record, f->codes[0], 1);
	check_code(&record, f->codes[f->code_count - 1], f->code_count);
	su_kv_free(&record);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	su_ga_file f;

	if (size > SU_GA_FILE_MAX)
		return 0;
	if (su_ga_parse(&fuzz_log, PATH, (const char *)data, size, &f) != 0) {
		FUZZ_CHECK(all_zero(&f, sizeof(f)));
		return 0;
	}
	check_shape(&f);
	check_secret(&f);
	check_codes(&f);
	su_ga_clear(&f);
	FUZZ_CHECK(all_zero(&f, sizeof(f)));
	return 0;
}
