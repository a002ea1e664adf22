/* stepup.conf (su_config_parse) and module arguments (su_settings_apply_arg).
 *
 * The input is a config file. It is parsed for no service (validate only)
 * and for "sudo"; since the whole file is validated whatever the service,
 * both must agree on success, and a loaded config must hold values in the
 * ranges config.c allows. Then every line is applied as a module argument
 * to the defaults (argv strings: a line stops at a NUL). */
#include <stdbool.h>
#include <string.h>
#include "config.h"
#include "fuzz.h"
#include "safefile.h"

static void check_settings(const su_settings *s)
{
	char buf[64];

	FUZZ_CHECK(s->methods != 0 && (s->methods & ~(unsigned)SU_METHODS_ALL) == 0);
	FUZZ_CHECK(s->grace <= 86400);
	FUZZ_CHECK(s->tries >= 1 && s->tries <= 10);
	FUZZ_CHECK(s->totp_window <= 10);
	FUZZ_CHECK(s->email_code_length >= 6 && s->email_code_length <= 10);
	FUZZ_CHECK(s->email_max_per_hour >= 1);
	FUZZ_CHECK(s->user_dir && s->user_dir[0] == '/');
	FUZZ_CHECK(s->state_dir && s->state_dir[0] == '/');
	FUZZ_CHECK(s->grace_dir && s->grace_dir[0] == '/');
	FUZZ_CHECK(s->hostkey && s->hostkey[0] == '/');
	FUZZ_CHECK(s->exempt_groups == NULL || s->exempt_groups[0] != '\0');
	su_methods_str(s->methods, buf, sizeof(buf));
	FUZZ_CHECK(buf[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	su_settings all, sudo, args;
	int rc_all, rc_sudo;
	char *text, *line, *next;

	if (size > SU_CONFIG_MAX_SIZE)
		return 0; /* su_config_load refuses a bigger file unread */

	rc_all = su_config_parse(&fuzz_log, "fuzz.conf", (const char *)data, size, NULL, &all);
	rc_sudo = su_config_parse(&fuzz_log, "fuzz.conf", (const char *)data, size, "sudo", &sudo);
	FUZZ_CHECK((rc_all == SU_OK) == (rc_sudo == SU_OK));
	if (rc_all == SU_OK)
		check_settings(&all);
	if (rc_sudo == SU_OK)
		check_settings(&sudo);
	su_settings_free(&all);
	su_settings_free(&sudo);

	/* Each line as a module argument, applied in order to the defaults. */
	if (su_settings_defaults(&args) != SU_OK)
		abort();
	text = fuzz_cstr(data, size);
	for (line = text; line != NULL; line = next) {
		unsigned bits;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		(void)su_settings_apply_arg(&fuzz_log, &args, line);
		/* The grace records' method names go through this one. */
		if (su_parse_methods(line, &bits))
			FUZZ_CHECK(bits != 0 && (bits & ~(unsigned)SU_METHODS_ALL) == 0);
	}
	check_settings(&args);
	su_settings_free(&args);
	free(text);
	return 0;
}
