/* The answer a user types at the prompt: su_normalise_code, then the shape
 * checks and the TOTP verification that stepup.c runs on it.
 *
 * The input is the answer as the PAM conversation returns it (a C string:
 * it stops at the first NUL). It is normalised into buffers of every size
 * from 1 to 80 bytes (stepup.c uses 8 and 65) and must be written within
 * them, then judged against a fixed TOTP enrolment of 6 and of 8 digits and
 * against every email code length. */
/* run.sh: max_len 256 */
#include <stdbool.h>
#include <string.h>
#include "conv.h"
#include "email.h"
#include "fuzz.h"
#include "kv.h"
#include "totp.h"

/* "12345678901234567890" in base32: RFC 6238's test secret. */
#define SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static su_totp totp[2];

static void load(su_totp *t, const char *digits)
{
	static const char fmt[] = "version=1\ntotp_secret=%s\ntotp_digits=%s\ntotp_period=30\n";
	char text[256];
	su_kv kv;
	int n = snprintf(text, sizeof(text), fmt, SECRET, digits);

	if (n < 0 || (size_t)n >= sizeof(text) ||
	    su_kv_parse(&fuzz_log, "fixed", text, (size_t)n, &kv) != 0 ||
	    su_totp_load(&fuzz_log, "fixed", &kv, t) != 0)
		abort();
	su_kv_free(&kv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (su_totp_init() != 0)
		abort();
	load(&totp[0], "6");
	load(&totp[1], "8");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *answer = fuzz_cstr(data, size);
	char code[66];
	int n = -1;

	/* Every out_size: exactly out_size bytes each, so ASan sees any write
	 * past the end; the result must be what the largest buffer got. */
	for (size_t out_size = 1; out_size <= 80; out_size++) {
		char *out = malloc(out_size);
		int m;

		if (out == NULL)
			abort();
		m = su_normalise_code(answer, out, out_size);
		FUZZ_CHECK(m >= -1 && (m < 0 || (size_t)m < out_size));
		if (m >= 0) {
			FUZZ_CHECK(strlen(out) == (size_t)m);
			FUZZ_CHECK(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == (size_t)m);
		}
		free(out);
	}

	n = su_normalise_code(answer, code, sizeof(code));
	if (n > 0) {
		for (size_t i = 0; i < 2; i++) {
			uint64_t step = 0;
			int rc;

			(void)su_totp_code_shaped(&totp[i], code);
			rc = su_totp_verify(&totp[i], code, FUZZ_NOW, 1, &step);
			FUZZ_CHECK(rc == 0 || rc == 1);
			if (rc == 1)
				FUZZ_CHECK(su_totp_code_shaped(&totp[i], code) &&
					   step + 1 >= (uint64_t)FUZZ_NOW / 30 &&
					   step <= (uint64_t)FUZZ_NOW / 30 + 1);
		}
		for (unsigned d = SU_EMAIL_CODE_MIN; d <= SU_EMAIL_CODE_MAX; d++)
			if (su_email_code_shaped(code, d))
				FUZZ_CHECK(strlen(code) == d);
	}
	free(answer);
	return 0;
}
