/* /etc/security/stepup.conf and the module arguments.
 *
 * Every key is one row of keys[] below: its type, its range or words, where
 * it may appear and which field it fills. The file parser, the module
 * arguments and the built-in defaults all go through that one table, so a
 * key cannot be checked one way in the file and another way as an argument.
 *
 * The file is parsed in one pass into layers (one for [global], one for the
 * [service NAME] being asked about, a scratch one for every other section);
 * only when the whole file is clean are the layers applied over the
 * defaults, global first. Sections may therefore come in any order, and a
 * broken section for another service still fails the load: a config that is
 * wrong anywhere is wrong, and the caller fails closed.
 *
 * Service names match without regard to ASCII case (libpam lowercases
 * PAM_SERVICE). */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "mail.h"
#include "safefile.h"
#include "util.h"

/* Longest line, newline excluded. A longer one is refused, not truncated:
 * a truncated line would silently mean something else. */
#define CONF_LINE_MAX 1024
#define SERVICE_NAME_MAX SU_SERVICE_MAX
#define GROUP_NAME_MAX 256
#define WHY_MAX 256

enum kind {
	K_UINT,    /* unsigned field, [min, max] */
	K_WORD,    /* one of words[], stored by set_word as its index */
	K_METHODS, /* unsigned field, enum su_method bits */
	K_GROUPS,  /* char * field, "a,b" normalised; empty -> NULL */
	K_SERVICES, /* char * field, "a,b" lower case or "*"; empty -> NULL */
	K_URL,     /* char * field, smtps:// or smtp:// */
	K_EMAIL,   /* char * field, one bare address */
	K_PATH,    /* char * field, absolute, no ".." */
};

enum {
	KEY_GLOBAL = 1u << 0,  /* [global] only: host-wide, not per service */
	KEY_ARG = 1u << 1,     /* also accepted as a module argument */
};

struct key {
	const char *name;
	enum kind kind;
	unsigned flags;
	size_t off;               /* the field (K_WORD: unused) */
	unsigned min, max;        /* K_UINT */
	const char *const *words; /* K_WORD: accepted words, index = value */
	void (*set_word)(su_settings *s, unsigned v);
	const char *def;          /* built-in default, parsed like a value;
				     NULL: field stays zero/NULL */
};

static const char *const missing_words[] = { "deny", "allow", NULL };
static const char *const tls_words[] = { "required", "none", NULL };
static const char *const bool_words[] = { "no", "yes", NULL };
static const char *const identity_words[] = { "user", "ruser", NULL };

/* words[] order is the enum order: index 0 is the zero value. */
static void set_missing(su_settings *s, unsigned v)
{
	s->missing = v == 1 ? SU_MISSING_ALLOW : SU_MISSING_DENY;
}

static void set_smtp_tls(su_settings *s, unsigned v)
{
	s->smtp_tls = v == 1 ? SU_SMTP_TLS_NONE : SU_SMTP_TLS_REQUIRED;
}

static void set_identity(su_settings *s, unsigned v)
{
	s->identity = v == 1 ? SU_IDENTITY_RUSER : SU_IDENTITY_USER;
}

static void set_debug(su_settings *s, unsigned v)
{
	s->debug = v == 1;
}

#define F(field) offsetof(su_settings, field)
#define UINT(name, lo, hi, flags, def) \
	{ #name, K_UINT, flags, F(name), lo, hi, NULL, NULL, #def }
#define WORD(name, words, setter, flags, def) \
	{ #name, K_WORD, flags, 0, 0, 0, words, setter, def }
#define STR(name, kind, flags, def) \
	{ #name, kind, flags, F(name), 0, 0, NULL, NULL, def }

/* Defaults from DESIGN.md. "debug" is an argument only as the bare flag,
 * handled in su_settings_apply_arg, so it carries no KEY_ARG here. */
/* lockout_* are [global] only: the tally is one per user, whatever the
 * service, and a service with its own rule would reset or shorten it for
 * all the others. */
static const struct key keys[] = {
	STR(methods, K_METHODS, KEY_ARG, "totp,email,recovery"),
	UINT(grace, 0, 86400, KEY_ARG, 300),
	WORD(missing, missing_words, set_missing, KEY_ARG, "deny"),
	UINT(tries, 1, 10, KEY_ARG, 3),
	UINT(fail_delay, 0, 10, KEY_ARG, 2),
	/* At most 300: lockout_attempts - 1 failure times must fit in one
	 * state value (lockout.c); from the 373rd the state could not be
	 * written, so a higher setting never locked. */
	UINT(lockout_attempts, 0, 300, KEY_GLOBAL, 5),
	UINT(lockout_time, 1, 604800, KEY_GLOBAL, 900),
	UINT(totp_window, 0, 10, 0, 1),
	UINT(email_code_length, 6, 10, 0, 8),
	UINT(email_code_ttl, 30, 3600, 0, 300),
	UINT(email_min_interval, 0, 3600, 0, 30),
	UINT(email_max_per_hour, 1, 300, 0, 10),
	STR(exempt_groups, K_GROUPS, 0, NULL),
	/* Grace is per service: a step-up for su is not one for sudo unless
	 * sudo's rule says so (docs/decisions.md). */
	STR(grace_from, K_SERVICES, 0, NULL),
	WORD(identity, identity_words, set_identity, KEY_ARG, "user"),
	WORD(debug, bool_words, set_debug, 0, "no"),
	STR(smtp_url, K_URL, KEY_GLOBAL, NULL),
	STR(smtp_from, K_EMAIL, KEY_GLOBAL, NULL),
	STR(smtp_credentials, K_PATH, KEY_GLOBAL, "/etc/stepup/smtp-credentials"),
	STR(smtp_ca_file, K_PATH, KEY_GLOBAL, NULL),
	WORD(smtp_tls, tls_words, set_smtp_tls, KEY_GLOBAL, "required"),
	UINT(smtp_timeout, 1, 120, KEY_GLOBAL, 10),
	STR(user_dir, K_PATH, KEY_GLOBAL, "/etc/stepup/users"),
	STR(state_dir, K_PATH, KEY_GLOBAL, "/var/lib/stepup/state"),
	STR(grace_dir, K_PATH, KEY_GLOBAL, "/run/stepup/grace"),
	STR(hostkey, K_PATH, KEY_GLOBAL, "/etc/stepup/hostkey"),
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

#undef F
#undef UINT
#undef WORD
#undef STR

union val {
	unsigned u;
	char *s; /* heap; NULL for an empty exempt_groups */
};

static const struct {
	const char *name;
	unsigned bit;
} method_names[] = {
	{ "totp", SU_METHOD_TOTP },
	{ "email", SU_METHOD_EMAIL },
	{ "recovery", SU_METHOD_RECOVERY },
};
#define METHOD_COUNT (sizeof method_names / sizeof method_names[0])

/* ------------------------------------------------------------------------ */
/* Small helpers */

static bool is_string_kind(enum kind kind)
{
	return kind == K_GROUPS || kind == K_SERVICES || kind == K_URL ||
	       kind == K_EMAIL || kind == K_PATH;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Trim blanks from both ends, in place. */
static char *trim(char *s)
{
	size_t len;

	while (is_blank(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_blank(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* "value   # comment": a '#' after a blank (or first) starts a comment.
 * A '#' inside a word (an URL fragment) is kept. */
static void strip_comment(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || is_blank(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (strlen(keys[i].name) == len &&
		    memcmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

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
		return su_why(why, size, "empty list (use totp, email, recovery)");
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
					"unknown method '%.*s' (use totp, email, recovery)",
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
static bool parse_value(const struct key *k, const char *text, union val *v,
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
	}
	v->s = su_strdup(text);
	if (v->s == NULL)
		return su_why(why, size, "out of memory");
	return true;
}

/* Move v into its field; a string replaces (and frees) the old one. */
static void store(su_settings *s, const struct key *k, union val *v)
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
		free(*(char **)(void *)field);
		*(char **)(void *)field = v->s;
		v->s = NULL;
		break;
	}
}

/* ------------------------------------------------------------------------ */
/* Settings */

void su_settings_free(su_settings *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (is_string_kind(keys[i].kind))
			free(*(char **)(void *)((char *)s + keys[i].off));
	free(s->gate_exempt);
	memset(s, 0, sizeof(*s));
}

int su_settings_copy(const su_settings *from, su_settings *to)
{
	*to = *from;
	to->gate_exempt = NULL;
	if (from->gate_exempt != NULL && (to->gate_exempt = strdup(from->gate_exempt)) == NULL) {
		memset(to, 0, sizeof(*to));
		return SU_ERR;
	}
	for (size_t i = 0; i < KEY_COUNT; i++) {
		char **field = (char **)(void *)((char *)to + keys[i].off);

		if (!is_string_kind(keys[i].kind) || *field == NULL)
			continue;
		*field = strdup(*field);
		if (*field == NULL) {
			/* the fields not copied yet still point into from */
			for (size_t j = i + 1; j < KEY_COUNT; j++)
				if (is_string_kind(keys[j].kind))
					*(char **)(void *)((char *)to + keys[j].off) = NULL;
			su_settings_free(to);
			return SU_ERR;
		}
	}
	return SU_OK;
}

int su_settings_defaults(su_settings *out)
{
	char why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < KEY_COUNT; i++) {
		union val v;

		if (keys[i].def == NULL)
			continue;
		/* Only fails on allocation: the defaults are tested. */
		if (!parse_value(&keys[i], keys[i].def, &v, why, sizeof(why))) {
			su_settings_free(out);
			return SU_ERR;
		}
		store(out, &keys[i], &v);
	}
	return SU_OK;
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

int su_settings_apply_arg(const su_log *log, su_settings *s, const char *arg)
{
	char why[WHY_MAX];
	const struct key *k;
	const char *eq;
	union val v;

	if (arg == NULL || arg[0] == '\0')
		return su_fail(log, "empty module argument");
	/* PAM arguments end up in syslog lines: do not echo control bytes */
	if (su_has_control(arg))
		return su_fail(log, "module argument contains a control character");
	if (strcmp(arg, "debug") == 0) {
		s->debug = true;
		return SU_OK;
	}
	eq = strchr(arg, '=');
	if (eq != NULL && (size_t)(eq - arg) == 6 && strncmp(arg, "config", 6) == 0)
		return su_fail(log, "module argument '%s': config= is read before the file, not here",
			       arg);
	k = eq == NULL ? NULL : find_key(arg, (size_t)(eq - arg));
	if (k == NULL || !(k->flags & KEY_ARG))
		return su_fail(log, "unknown module argument '%s'", arg);
	if (!parse_value(k, eq + 1, &v, why, sizeof(why)))
		return su_fail(log, "module argument '%s': %s", arg, why);
	store(s, k, &v);
	return SU_OK;
}

/* ------------------------------------------------------------------------ */
/* The file */

/* The keys one section set, with their lines (0 = not set): detects a key
 * given twice, and holds the values until the whole file has passed. */
struct layer {
	unsigned line[KEY_COUNT];
	union val val[KEY_COUNT];
};

struct seen_service {
	const char *name; /* points into the text being parsed */
	unsigned line;
};

struct parser {
	const su_log *log;
	const char *path;
	const char *service; /* NULL: validate only */
	unsigned lineno;
	unsigned errors;
	bool out_of_memory;
	struct layer global, target, scratch;
	struct layer *cur;
	bool cur_global;      /* global-only keys allowed in this section */
	bool in_gate;         /* in [gate]: its own keys, no others */
	unsigned global_line; /* line of the explicit [global] header */
	unsigned gate_line;   /* line of the [gate] header */
	char *gate_exempt;    /* exempt_command values so far, '\n' after each */
	size_t gate_len;
	struct seen_service *services;
	size_t nservices;
};

static void layer_free(struct layer *l)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (is_string_kind(keys[i].kind))
			free(l->val[i].s);
	memset(l, 0, sizeof(*l));
}

static void layer_apply(struct layer *l, su_settings *s)
{
	for (size_t i = 0; i < KEY_COUNT; i++)
		if (l->line[i] != 0)
			store(s, &keys[i], &l->val[i]);
}

static void line_error(struct parser *p, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void line_error(struct parser *p, const char *key, const char *fmt, ...)
{
	char msg[WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key != NULL)
		su_logf(p->log, LOG_ERR, "%s:%u: key '%s': %s", p->path,
			p->lineno, key, msg);
	else
		su_logf(p->log, LOG_ERR, "%s:%u: %s", p->path, p->lineno, msg);
	p->errors++;
}

/* Keys after a broken header are still checked, but go nowhere. */
static void enter_scratch(struct parser *p, bool global)
{
	layer_free(&p->scratch);
	p->cur = &p->scratch;
	p->cur_global = global;
	p->in_gate = false;
}

/* [gate]: settings of stepup-gate alone (the module ignores them). */
static void enter_gate(struct parser *p)
{
	if (p->gate_line != 0) {
		line_error(p, NULL, "section [gate] given twice (first at line %u)", p->gate_line);
		enter_scratch(p, false);
		return;
	}
	p->gate_line = p->lineno;
	p->in_gate = true;
}

static void gate_assignment(struct parser *p, const char *key, const char *value)
{
	size_t len = strlen(value);
	char *grown;

	if (strcmp(key, "exempt_command") != 0) {
		line_error(p, key, "unknown key in [gate] (the one key there is exempt_command)");
		return;
	}
	if (len == 0) {
		line_error(p, key, "empty pattern");
		return;
	}
	if (su_has_control(value)) {
		line_error(p, key, "value contains a control character");
		return;
	}
	grown = realloc(p->gate_exempt, p->gate_len + len + 2);
	if (grown == NULL) {
		p->out_of_memory = true;
		return;
	}
	p->gate_exempt = grown;
	memcpy(grown + p->gate_len, value, len);
	p->gate_len += len;
	grown[p->gate_len++] = '\n';
	grown[p->gate_len] = '\0';
}

bool su_valid_service_name(const char *name)
{
	size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return len > 0 && len <= SERVICE_NAME_MAX && name[len] == '\0';
}

static void enter_global(struct parser *p)
{
	if (p->global_line != 0) {
		line_error(p, NULL, "section [global] given twice (first at line %u)",
			   p->global_line);
		enter_scratch(p, true);
		return;
	}
	/* Keys before the first header are [global] too: same layer, so a key
	 * set both there and under [global] is caught as set twice. */
	p->global_line = p->lineno;
	p->cur = &p->global;
	p->cur_global = true;
	p->in_gate = false;
}

/* Service names compare without regard to ASCII case: libpam lowercases
 * PAM_SERVICE, so [service SSHD] must apply to "sshd" (and must not be a
 * second section beside [service sshd]). ASCII only, not strcasecmp: the
 * host program's locale must not change what matches. */
static bool same_service(const char *a, const char *b)
{
	while (*a != '\0' && ascii_lower(*a) == ascii_lower(*b)) {
		a++;
		b++;
	}
	return ascii_lower(*a) == ascii_lower(*b);
}

static void enter_service(struct parser *p, const char *name)
{
	struct seen_service *grown;

	if (!su_valid_service_name(name)) {
		line_error(p, NULL, "bad service name '%s' (1 to %d of A-Z a-z 0-9 _ . -)",
			   name, SERVICE_NAME_MAX);
		enter_scratch(p, false);
		return;
	}
	for (size_t i = 0; i < p->nservices; i++) {
		if (same_service(p->services[i].name, name)) {
			line_error(p, NULL, "section [service %s] given twice (first at line %u)",
				   name, p->services[i].line);
			enter_scratch(p, false);
			return;
		}
	}
	grown = realloc(p->services, (p->nservices + 1) * sizeof(*grown));
	if (grown == NULL) {
		p->out_of_memory = true;
		return;
	}
	p->services = grown;
	p->services[p->nservices].name = name;
	p->services[p->nservices].line = p->lineno;
	p->nservices++;
	if (p->service != NULL && same_service(p->service, name)) {
		p->cur = &p->target;
		p->cur_global = false;
		p->in_gate = false;
	} else {
		enter_scratch(p, false);
	}
}

/* line starts with '['. */
static void parse_header(struct parser *p, char *line)
{
	char *inner;
	size_t len;

	strip_comment(line);
	line = trim(line);
	if (su_has_control(line)) {
		line_error(p, NULL, "control character in section header");
		enter_scratch(p, true);
		return;
	}
	len = strlen(line);
	if (len < 2 || line[len - 1] != ']') {
		line_error(p, NULL, "section header not closed with ']'");
		enter_scratch(p, true);
		return;
	}
	line[len - 1] = '\0';
	inner = trim(line + 1);
	if (strcmp(inner, "global") == 0) {
		enter_global(p);
	} else if (strcmp(inner, "gate") == 0) {
		enter_gate(p);
	} else if (strncmp(inner, "service", 7) == 0 &&
		   (inner[7] == '\0' || is_blank(inner[7]))) {
		enter_service(p, trim(inner + 7));
	} else {
		line_error(p, NULL, "unknown section '[%s]' (use [global], [service NAME] or [gate])",
			   inner);
		enter_scratch(p, true);
	}
}

static void parse_assignment(struct parser *p, char *line)
{
	char why[WHY_MAX];
	char *eq = strchr(line, '=');
	const struct key *k;
	char *key, *value;
	size_t i;

	if (eq == NULL) {
		line_error(p, NULL, "expected 'key = value' or '[section]'");
		return;
	}
	*eq = '\0';
	key = trim(line);
	value = eq + 1;
	strip_comment(value);
	value = trim(value);
	if (key[0] == '\0') {
		line_error(p, NULL, "expected 'key = value', found no key");
		return;
	}
	if (su_has_control(key)) {
		line_error(p, NULL, "control character in key");
		return;
	}
	if (p->in_gate) {
		gate_assignment(p, key, value);
		return;
	}
	k = find_key(key, strlen(key));
	if (k == NULL) {
		line_error(p, key, "unknown key");
		return;
	}
	if ((k->flags & KEY_GLOBAL) && !p->cur_global) {
		line_error(p, key, "allowed only in [global]");
		return;
	}
	i = (size_t)(k - keys);
	if (p->cur->line[i] != 0) {
		line_error(p, key, "set twice in this section (first at line %u)",
			   p->cur->line[i]);
		return;
	}
	/* Claimed even when the value is bad: a second line is still a twin. */
	p->cur->line[i] = p->lineno;
	if (!parse_value(k, value, &p->cur->val[i], why, sizeof(why)))
		line_error(p, key, "%s", why);
}

static void parse_line(struct parser *p, char *line, size_t len)
{
	if (len > CONF_LINE_MAX) {
		line_error(p, NULL, "line longer than %d characters", CONF_LINE_MAX);
		return;
	}
	line = trim(line);
	if (line[0] == '\0' || line[0] == '#')
		return;
	if (line[0] == '[')
		parse_header(p, line);
	else
		parse_assignment(p, line);
}

/* Parse text (len bytes, NUL-terminated, changed in place) from path into
 * out: defaults <- [global] <- [service SERVICE]. Every error is logged. */
static int parse_text(const su_log *log, const char *path, char *text,
		      size_t len, const char *service, su_settings *out)
{
	struct parser p;
	su_settings s;
	char *pos = text, *end = text + len;
	int rc = SU_ERR;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	memset(&s, 0, sizeof(s));
	p.log = log;
	p.path = path;
	p.service = service;
	p.cur = &p.global;
	p.cur_global = true;
	if (memchr(text, '\0', len) != NULL) {
		su_logf(log, LOG_ERR, "%s: contains a NUL byte", path);
		goto out;
	}
	while (pos < end && !p.out_of_memory) {
		char *nl = memchr(pos, '\n', (size_t)(end - pos));
		size_t line_len = nl != NULL ? (size_t)(nl - pos) : (size_t)(end - pos);

		if (nl != NULL)
			*nl = '\0';
		p.lineno++;
		parse_line(&p, pos, line_len);
		pos += line_len + 1;
	}
	if (p.out_of_memory) {
		su_logf(log, LOG_ERR, "%s: out of memory", path);
		goto out;
	}
	if (p.errors > 0)
		goto out;
	if (su_settings_defaults(&s) != SU_OK) {
		su_logf(log, LOG_ERR, "%s: out of memory", path);
		goto out;
	}
	layer_apply(&p.global, &s);
	layer_apply(&p.target, &s);
	s.gate_exempt = p.gate_exempt;
	p.gate_exempt = NULL;
	*out = s;
	memset(&s, 0, sizeof(s));
	rc = SU_OK;
out:
	su_settings_free(&s);
	layer_free(&p.global);
	layer_free(&p.target);
	layer_free(&p.scratch);
	free(p.gate_exempt);
	free(p.services);
	return rc;
}

int su_config_parse(const su_log *log, const char *name, const char *text, size_t len,
		    const char *service, su_settings *out)
{
	char *copy = malloc(len + 1);
	int rc;

	memset(out, 0, sizeof(*out));
	if (copy == NULL)
		return su_fail(log, "%s: out of memory", name);
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = parse_text(log, name, copy, len, service, out);
	free(copy);
	return rc;
}

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
	rc = parse_text(log, path, buf.data, buf.len, service, out);
	if (rc == SU_OK && id.settled)
		parsed_keep(path, service, &id, out);
out:
	su_buf_free(&buf);
	return rc;
}
