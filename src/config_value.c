/* One value of one key: whether it is good, and what it means.
 *
 * Each kind of value (config_internal.h's enum kind) has its check here,
 * and conf_parse_value is the one way in: the file, the module arguments
 * and the built-in defaults all come through it, so a value refused in one
 * is refused in all, with the same reason. A reason names what is wrong and
 * what would be right, since it ends up in a log line an administrator
 * reads with the file open. The public helpers over the same lists (method
 * names, grace_from's service list, a service name) are here so that they
 * share the rules with the checks rather than keep a copy. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_internal.h"
#include "mail.h"
#include "util.h"

#define GROUP_NAME_MAX 256

static const struct {
	const char *name;
	unsigned bit;
} method_names[] = {
	{ "totp", SU_METHOD_TOTP },
	{ "email", SU_METHOD_EMAIL },
	{ "recovery", SU_METHOD_RECOVERY },
	{ "sshsk", SU_METHOD_SSHSK },
};
#define METHOD_COUNT (sizeof method_names / sizeof method_names[0])

/* ------------------------------------------------------------------------ */
/* Value checks: each fills why and returns false, or succeeds. */

static unsigned method_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < METHOD_COUNT; i++)
		if (strlen(method_names[i].name) == len &&
		    memcmp(method_names[i].name, name, len) == 0)
			return method_names[i].bit;
	return 0;
}

/* Names echoed back in reasons are cut short: they are for a human. */
static int echo_len(size_t len)
{
	return len > 64 ? 64 : (int)len;
}

static bool parse_methods(const char *list, unsigned *out, char *why,
			  size_t size)
{
	unsigned bits = 0;
	const char *p = list;

	p += strspn(p, " \t");
	if (*p == '\0')
		return su_why(why, size, "empty list (use totp, email, recovery, sshsk)");
	for (;;) {
		size_t len;
		unsigned bit;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len > 0 && is_blank(p[len - 1]))
			len--;
		if (len == 0)
			return su_why(why, size, "empty method name in list");
		bit = method_bit(p, len);
		if (bit == 0)
			return su_why(why, size,
					"unknown method '%.*s' (use totp, email, recovery, sshsk)",
					echo_len(len), p);
		if (bits & bit)
			return su_why(why, size, "method '%.*s' listed twice",
					echo_len(len), p);
		bits |= bit;
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
		p++;
	}
	*out = bits;
	return true;
}

static bool check_word(const struct key *k, const char *text, unsigned *out,
		       char *why, size_t size)
{
	size_t used;

	for (unsigned i = 0; k->words[i] != NULL; i++) {
		if (strcmp(k->words[i], text) == 0) {
			*out = i;
			return true;
		}
	}
	/* "expected a, b or c" from the table, so the message cannot drift */
	used = (size_t)snprintf(why, size, "expected");
	for (size_t i = 0; k->words[i] != NULL && used < size; i++) {
		const char *sep = i == 0 ? " " : k->words[i + 1] ? ", " : " or ";
		used += (size_t)snprintf(why + used, size - used, "%s%s", sep,
					 k->words[i]);
	}
	return false;
}

/* "wheel, adm" -> "wheel,adm"; empty -> NULL (no exempt groups). */
static bool parse_groups(const char *text, char **out, char *why, size_t size)
{
	char *norm, *q;
	const char *p = text;

	*out = NULL;
	p += strspn(p, " \t");
	if (*p == '\0')
		return true;
	norm = malloc(strlen(text) + 1);
	if (norm == NULL)
		return su_why(why, size, "out of memory");
	q = norm;
	for (;;) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, ",");
		while (len > 0 && is_blank(p[len - 1]))
			len--;
		if (len == 0 || len > GROUP_NAME_MAX ||
		    strcspn(p, " \t:") < len) {
			free(norm);
			if (len == 0)
				return su_why(why, size, "empty group name in list");
			return su_why(why, size, "bad group name '%.*s'",
					echo_len(len), p);
		}
		if (q != norm)
			*q++ = ',';
		memcpy(q, p, len);
		q += len;
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
		p++;
	}
	*q = '\0';
	*out = norm;
	return true;
}

/* Is the name of len bytes at name already in list ("a,b", lower case)? */
static bool listed_n(const char *list, const char *name, size_t len)
{
	while (*list != '\0') {
		size_t n = strcspn(list, ",");
		size_t i = 0;

		while (i < len && i < n && ascii_lower(name[i]) == list[i])
			i++;
		if (i == len && n == len)
			return true;
		list += n + (list[n] == ',');
	}
	return false;
}

bool su_service_listed(const char *list, const char *service)
{
	if (list == NULL || service == NULL)
		return false;
	return strcmp(list, "*") == 0 || listed_n(list, service, strlen(service));
}

/* One name of a grace_from list (len bytes at p) appended to norm, lower
 * case (libpam lowercases PAM_SERVICE, and grace records are named by it). */
static bool add_service(char *norm, const char *p, size_t len, char *why, size_t size)
{
	char name[SERVICE_NAME_MAX + 1];
	size_t used = strlen(norm);

	if (len == 1 && p[0] == '*' && used == 0) {
		strcpy(norm, "*");
		return true;
	}
	if (strcmp(norm, "*") == 0 || (len == 1 && p[0] == '*'))
		return su_why(why, size, "'*' (any service) cannot be listed with names");
	if (len > SERVICE_NAME_MAX)
		return su_why(why, size, "service name '%.*s...' longer than %d",
			      echo_len(len), p, SERVICE_NAME_MAX);
	memcpy(name, p, len);
	name[len] = '\0';
	if (!su_valid_service_name(name))
		return su_why(why, size, "bad service name '%s' (1 to %d of A-Z a-z 0-9 _ . -, or *)",
			      name, SERVICE_NAME_MAX);
	if (listed_n(norm, name, len))
		return su_why(why, size, "service '%s' listed twice", name);
	if (used > 0)
		norm[used++] = ',';
	for (size_t i = 0; i <= len; i++)
		norm[used + i] = ascii_lower(name[i]);
	return true;
}

/* grace_from: names separated by commas, blanks or both ("su, login" or
 * "su login"); "*" alone: any service; empty -> NULL (only the service's
 * own grace). An empty name between two commas is refused, as in the other
 * lists. */
static bool parse_services(const char *text, char **out, char *why, size_t size)
{
	const char *p = text + strspn(text, " \t");
	char *norm;

	*out = NULL;
	if (*p == '\0')
		return true;
	norm = calloc(1, strlen(text) + 1);
	if (norm == NULL)
		return su_why(why, size, "out of memory");
	for (;;) {
		size_t part = strcspn(p, ","), names = 0;

		for (size_t i = 0; i < part;) {
			size_t len;

			i += strspn(p + i, " \t");
			len = strcspn(p + i, " \t,");
			if (len == 0)
				break;
			if (!add_service(norm, p + i, len, why, size)) {
				free(norm);
				return false;
			}
			names++;
			i += len;
		}
		if (names == 0) {
			free(norm);
			return su_why(why, size, "empty service name in list");
		}
		p += part;
		if (*p == '\0')
			break;
		p++;
	}
	*out = norm;
	return true;
}

static bool check_url(const char *text, char *why, size_t size)
{
	size_t skip = 0;

	if (strncmp(text, "smtps://", 8) == 0)
		skip = 8;
	else if (strncmp(text, "smtp://", 7) == 0)
		skip = 7;
	if (skip == 0 || text[skip] == '\0' || text[skip] == '/')
		return su_why(why, size, "expected smtps://HOST or smtp://HOST");
	if (strpbrk(text, " \t") != NULL)
		return su_why(why, size, "URL contains a space");
	/* stepup.conf is world-readable: a password here would be everyone's. */
	if (memchr(text + skip, '@', strcspn(text + skip, "/?#")) != NULL)
		return su_why(why, size, "URL contains a login; put it in the file "
				"named by smtp_credentials (root, 0600) instead");
	return true;
}

/* One URI of ldap_uri: the scheme says how it is protected (ldaps://: TLS
 * from the start; ldap://: StartTLS, which store_ldap.c requires;
 * ldapi://: a local socket, no TLS). No login, no DN or filter after the
 * host: those are other keys. */
static bool check_ldap_uri(const char *uri, size_t len, char *why, size_t size)
{
	static const char *const schemes[] = {"ldaps://", "ldap://", "ldapi://"};
	size_t skip = 0, host;

	for (size_t i = 0; i < 3 && skip == 0; i++)
		if (len > strlen(schemes[i]) && strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
			skip = strlen(schemes[i]);
	if (skip == 0)
		return su_why(why, size, "'%.*s': expected ldaps://HOST, ldap://HOST or "
			      "ldapi://SOCKET", (int)(len > 80 ? 80 : len), uri);
	host = strcspn(uri + skip, "/");
	if (skip + host < len && !(skip + host + 1 == len))
		return su_why(why, size, "'%.*s': nothing may follow the host (the base is "
			      "ldap_base)", (int)(len > 80 ? 80 : len), uri);
	if (memchr(uri + skip, '@', host) != NULL)
		return su_why(why, size, "'%.*s': a login does not belong in the URI (see "
			      "ldap_bind_dn, ldap_password_file)", (int)(len > 80 ? 80 : len), uri);
	return true;
}

/* One to four URIs, blank-separated, kept with one blank between them. */
static bool parse_ldap_uris(const char *text, char **out, char *why, size_t size)
{
	char *list = calloc(1, strlen(text) + 1);
	size_t n = 0, count = 0;

	if (list == NULL)
		return su_why(why, size, "out of memory");
	for (const char *p = text; *p != '\0';) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len == 0)
			break;
		if (++count > 4 || !check_ldap_uri(p, len, why, size)) {
			if (count > 4)
				su_why(why, size, "at most 4 URIs");
			free(list);
			return false;
		}
		if (n > 0)
			list[n++] = ' ';
		memcpy(list + n, p, len);
		n += len;
		p += len;
	}
	if (count == 0) {
		free(list);
		return su_why(why, size, "expected at least one URI");
	}
	*out = list;
	return true;
}

/* A DN as a value: printable ASCII (the base and bind DNs are ours to
 * choose), at least one attribute=value, at most 1024 bytes. */
static bool check_dn(const char *text, char *why, size_t size)
{
	if (strlen(text) > 1024)
		return su_why(why, size, "longer than 1024 bytes");
	for (const char *c = text; *c != '\0'; c++)
		if (*c < ' ' || *c > '~')
			return su_why(why, size, "not printable ASCII");
	if (strchr(text, '=') == NULL)
		return su_why(why, size, "expected a DN (attribute=value,...)");
	return true;
}

/* One bare address: it goes into a mail header and the SMTP envelope, so
 * anything that could start a second address or a comment is refused
 * (the one rule, mail.c, that stepupctl enroll ... email uses too). */
static bool check_email(const char *text, char *why, size_t size)
{
	return su_mail_address_ok(text, why, size);
}

static bool has_dotdot(const char *path)
{
	for (const char *c = path; (c = strstr(c, "..")) != NULL; c += 2)
		if ((c == path || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
			return true;
	return false;
}

static bool check_path(const char *text, char *why, size_t size)
{
	if (text[0] != '/')
		return su_why(why, size, "expected an absolute path");
	if (strlen(text) >= PATH_MAX)
		return su_why(why, size, "path too long");
	if (has_dotdot(text))
		return su_why(why, size, "path contains a '..' component");
	return true;
}

/* Check text as a value of k; on success *v holds it (strings on the heap,
 * owned by the caller). The one parser for files, arguments and defaults. */
bool conf_parse_value(const struct key *k, const char *text, union val *v,
		      char *why, size_t size)
{
	memset(v, 0, sizeof(*v));
	if (su_has_control(text))
		return su_why(why, size, "value contains a control character");
	switch (k->kind) {
	case K_UINT:
		if (!su_parse_uint(text, k->min, k->max, &v->u))
			return su_why(why, size,
					"expected a whole number from %u to %u",
					k->min, k->max);
		return true;
	case K_WORD:
		return check_word(k, text, &v->u, why, size);
	case K_METHODS:
		return parse_methods(text, &v->u, why, size);
	case K_GROUPS:
		return parse_groups(text, &v->s, why, size);
	case K_SERVICES:
		return parse_services(text, &v->s, why, size);
	case K_URL:
		if (!check_url(text, why, size))
			return false;
		break;
	case K_EMAIL:
		if (!check_email(text, why, size))
			return false;
		break;
	case K_PATH:
		if (!check_path(text, why, size))
			return false;
		break;
	case K_LDAP_URIS:
		return parse_ldap_uris(text, &v->s, why, size);
	case K_DN:
		if (!check_dn(text, why, size))
			return false;
		break;
	}
	v->s = su_strdup(text);
	if (v->s == NULL)
		return su_why(why, size, "out of memory");
	return true;
}

/* Move v into its field; a string replaces (and frees) the old one. */
void conf_store(su_settings *s, const struct key *k, union val *v)
{
	char *field = (char *)s + k->off;

	switch (k->kind) {
	case K_UINT:
	case K_METHODS:
		*(unsigned *)(void *)field = v->u;
		break;
	case K_WORD:
		k->set_word(s, v->u);
		break;
	case K_GROUPS:
	case K_SERVICES:
	case K_URL:
	case K_EMAIL:
	case K_PATH:
	case K_LDAP_URIS:
	case K_DN:
		free(*(char **)(void *)field);
		*(char **)(void *)field = v->s;
		v->s = NULL;
		break;
	}
}

bool su_parse_methods(const char *list, unsigned *out)
{
	unsigned bits;

	if (list == NULL || su_has_control(list) ||
	    !parse_methods(list, &bits, NULL, 0))
		return false;
	*out = bits;
	return true;
}

const char *su_methods_str(unsigned methods, char *buf, size_t size)
{
	size_t used = 0;

	if (buf == NULL || size == 0)
		return "";
	buf[0] = '\0';
	if ((methods & SU_METHODS_ALL) == 0) {
		snprintf(buf, size, "none");
		return buf;
	}
	for (size_t i = 0; i < METHOD_COUNT; i++) {
		int n;

		if (!(methods & method_names[i].bit))
			continue;
		n = snprintf(buf + used, size - used, "%s%s",
			     used > 0 ? "," : "", method_names[i].name);
		if (n < 0 || (size_t)n >= size - used) {
			buf[0] = '\0'; /* never a cut name that reads as another */
			return buf;
		}
		used += (size_t)n;
	}
	return buf;
}

bool su_valid_service_name(const char *name)
{
	size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return len > 0 && len <= SERVICE_NAME_MAX && name[len] == '\0';
}
