/* A mail address as the config, the records and the envelope may hold it
 * (mail.h): apart from mail.c so that the config parser needs no more than
 * this (the sudo plugin links the parser alone, without libcrypto). */
#include <stdbool.h>
#include <string.h>
#include "mail.h"
#include "util.h"

#define SPECIALS "<>()[],;:\"\\"

/* A domain: labels separated by '.', none empty ("a..b", ".a", "a."). */
static bool domain_labels_ok(const char *domain)
{
	size_t label = 0;

	for (const char *p = domain;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return false;
			if (*p == '\0')
				return true;
			label = 0;
		} else {
			label++;
		}
	}
}

bool su_mail_address_ok(const char *address, char *why, size_t why_size)
{
	const char *at;

	if (address == NULL || address[0] == '\0')
		return su_why(why, why_size, "empty address");
	if (strlen(address) > SU_MAIL_ADDRESS_MAX)
		return su_why(why, why_size, "address longer than %d characters",
				SU_MAIL_ADDRESS_MAX);
	for (const char *p = address; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f)
			return su_why(why, why_size,
					"address contains a blank or a control character");
		/* The message is us-ascii and the envelope plain SMTP. */
		if (c > 0x7f)
			return su_why(why, why_size, "address contains a non-ASCII character");
		if (strchr(SPECIALS, c) != NULL)
			return su_why(why, why_size,
					"address contains one of %s", SPECIALS);
	}
	at = strchr(address, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL)
		return su_why(why, why_size, "expected exactly one '@'");
	if (at == address)
		return su_why(why, why_size, "nothing before the '@'");
	if (at[1] == '\0')
		return su_why(why, why_size, "nothing after the '@'");
	if (!domain_labels_ok(at + 1))
		return su_why(why, why_size,
				"domain has an empty label (\"..\" or a dot at an end)");
	return true;
}
