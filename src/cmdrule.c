/* Command rules and the one command matcher (cmdrule.h has the forms). */
#include <fnmatch.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmdrule.h"
#include "safefile.h"
#include "util.h"

#define RULE_VALUE_MAX 1000
#define GROUP_MAX 24
#define WHY_MAX 256

static const char plain_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				  "0123456789-_./:@=+,%";

void su_cmdrule_clear(struct su_cmdrule *rule)
{
	if (rule == NULL)
		return;
	free(rule->runas);
	free(rule->pattern);
	memset(rule, 0, sizeof(*rule));
}

void su_cmdrules_free(su_cmdrules *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		su_cmdrule_clear(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The scope of a rule without a group: its own value, hashed (FNV-1a), so
 * that editing other lines of the file does not move a rule's grace to
 * another rule. Not a secret and not adversarial: the admin writes it. */
static void own_scope(const char *value, char out[SU_CMDRULE_SCOPE_MAX])
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	snprintf(out, SU_CMDRULE_SCOPE_MAX, "r-%016llx", (unsigned long long)h);
}

static bool valid_group(const char *name, size_t len)
{
	if (len == 0 || len > GROUP_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

/* "group=NAME" or "runas=USER" at the start of *p (a word), or false. */
static bool take_option(const char **p, const char *name, char **out, size_t *len)
{
	size_t n = strlen(name);

	if (strncmp(*p, name, n) != 0 || (*p)[n] != '=')
		return false;
	*p += n + 1;
	*len = strcspn(*p, " \t");
	*out = (char *)*p;
	*p += *len;
	*p += strspn(*p, " \t");
	return true;
}

bool su_cmdrule_parse(enum su_cmdrule_kind kind, const char *value, unsigned line,
		      struct su_cmdrule *rule, char *why, size_t size)
{
	const char *p = value;
	char *group = NULL, *runas = NULL, *text;
	size_t glen = 0, rlen = 0;
	char user[SU_USER_MAX + 1];

	memset(rule, 0, sizeof(*rule));
	rule->kind = kind;
	rule->line = line;
	if (value == NULL || value[0] == '\0')
		return su_why(why, size, "empty rule");
	if (strlen(value) > RULE_VALUE_MAX)
		return su_why(why, size, "longer than %d characters", RULE_VALUE_MAX);
	if (su_has_control(value))
		return su_why(why, size, "value contains a control character");
	if (kind == SU_CMDRULE_PLAIN_EXEMPT) {
		rule->pattern = su_strdup(value);
		return rule->pattern != NULL || su_why(why, size, "out of memory");
	}
	for (;;) {
		if (take_option(&p, "group", &text, &glen)) {
			if (kind != SU_CMDRULE_STEPUP)
				return su_why(why, size, "group= belongs to stepup_command only");
			if (group != NULL)
				return su_why(why, size, "group= given twice");
			group = text;
			if (!valid_group(group, glen))
				return su_why(why, size, "bad group name (1 to %d of a-z 0-9 _ -)",
					      GROUP_MAX);
		} else if (take_option(&p, "runas", &text, &rlen)) {
			if (runas != NULL)
				return su_why(why, size, "runas= given twice");
			runas = text;
			if (rlen == 0 || rlen > SU_USER_MAX)
				return su_why(why, size, "bad runas= user name");
			memcpy(user, runas, rlen);
			user[rlen] = '\0';
			if (!su_valid_username(user))
				return su_why(why, size, "bad runas= user name");
		} else {
			break;
		}
	}
	if (strcmp(p, "ALL") == 0) {
		if (kind != SU_CMDRULE_STEPUP)
			return su_why(why, size, "ALL belongs to stepup_command only");
		rule->all = true;
	} else if (p[0] != '/' && strncmp(p, "'/", 2) != 0 && strncmp(p, "sudoedit ", 9) != 0) {
		/* "'/": a path that needs quoting in the canonical form */
		return su_why(why, size, "pattern must start with '/' (the resolved command path, "
					 "or \"'/\" when it is quoted) or 'sudoedit ', or be ALL; "
					 "options are group= and runas=");
	}
	rule->pattern = su_strdup(p);
	rule->runas = runas != NULL ? strndup(runas, rlen) : NULL;
	if (rule->pattern == NULL || (runas != NULL && rule->runas == NULL)) {
		su_cmdrule_clear(rule);
		return su_why(why, size, "out of memory");
	}
	if (group != NULL)
		snprintf(rule->scope, sizeof(rule->scope), "g-%.*s", (int)glen, group);
	else
		own_scope(value, rule->scope);
	return true;
}

static int add(su_cmdrules *r, struct su_cmdrule *rule)
{
	struct su_cmdrule *grown = realloc(r->v, (r->n + 1) * sizeof(*grown));

	if (grown == NULL) {
		su_cmdrule_clear(rule);
		return SU_ERR;
	}
	r->v = grown;
	r->v[r->n++] = *rule;
	memset(rule, 0, sizeof(*rule));
	return SU_OK;
}

int su_cmdrules_compile(const su_log *log, const char *path, const char *text,
			su_cmdrules *out)
{
	char lineno[16], key[32], value[RULE_VALUE_MAX + 2], why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	for (const char *p = text; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		const char *t1 = memchr(p, '\t', len), *t2;
		struct su_cmdrule rule;
		enum su_cmdrule_kind kind;
		unsigned line = 0;

		t2 = t1 != NULL ? memchr(t1 + 1, '\t', len - (size_t)(t1 + 1 - p)) : NULL;
		if (t1 == NULL || t2 == NULL || (size_t)(t1 - p) >= sizeof(lineno) ||
		    (size_t)(t2 - t1 - 1) >= sizeof(key) ||
		    (size_t)(p + len - t2 - 1) >= sizeof(value)) {
			out->broken = true;
			su_logf(log, LOG_ERR, "%s: [sudo]: a rule too long to keep", path);
		} else {
			memcpy(lineno, p, (size_t)(t1 - p));
			lineno[t1 - p] = '\0';
			memcpy(key, t1 + 1, (size_t)(t2 - t1 - 1));
			key[t2 - t1 - 1] = '\0';
			memcpy(value, t2 + 1, (size_t)(p + len - t2 - 1));
			value[p + len - t2 - 1] = '\0';
			(void)su_parse_uint(lineno, 1, ~0u, &line);
			kind = strcmp(key, "exempt_command") == 0 ? SU_CMDRULE_EXEMPT
								  : SU_CMDRULE_STEPUP;
			if (!su_cmdrule_parse(kind, value, line, &rule, why, sizeof(why))) {
				out->broken = true;
				su_logf(log, LOG_ERR, "%s:%u: key '%s': %s", path, line, key, why);
			} else if (add(out, &rule) != SU_OK) {
				out->broken = true;
				su_logf(log, LOG_ERR, "%s: out of memory", path);
			}
		}
		p += len + (p[len] == '\n');
	}
	return out->broken ? SU_ERR : SU_OK;
}

int su_cmdrules_compile_plain(const char *text, su_cmdrules *out)
{
	char why[WHY_MAX];

	memset(out, 0, sizeof(*out));
	for (const char *p = text; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		char *value = strndup(p, len);
		struct su_cmdrule rule;

		if (value == NULL || !su_cmdrule_parse(SU_CMDRULE_PLAIN_EXEMPT, value, 0, &rule,
						       why, sizeof(why)) ||
		    add(out, &rule) != SU_OK)
			out->broken = true;
		free(value);
		p += len + (p[len] == '\n');
	}
	return out->broken ? SU_ERR : SU_OK;
}

/* fnmatch over the whole form; a [sudo] pattern ending in " *" (and not
 * "\\ *") also matches the command with no further arguments:
 * "/usr/sbin/reboot *" names "/usr/sbin/reboot" too. */
static bool pattern_matches(const char *pattern, const char *command)
{
	size_t len = strlen(pattern);
	char bare[RULE_VALUE_MAX + 1];

	if (fnmatch(pattern, command, 0) == 0)
		return true;
	if (len < 3 || len > RULE_VALUE_MAX || strcmp(pattern + len - 2, " *") != 0 ||
	    pattern[len - 3] == '\\')
		return false;
	memcpy(bare, pattern, len - 2);
	bare[len - 2] = '\0';
	return fnmatch(bare, command, 0) == 0;
}

static bool lookup_user(const char *user, unsigned long *uid)
{
	struct passwd pw, *found = NULL;
	char buf[16384];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &found) != 0 || found == NULL)
		return false;
	*uid = (unsigned long)found->pw_uid;
	return true;
}

static bool rule_matches(const struct su_cmdrule *rule, const struct su_cmdrule_runas *runas,
			 const char *command)
{
	if (rule->runas != NULL) {
		unsigned long uid;
		bool (*lookup)(const char *, unsigned long *) =
			runas != NULL && runas->lookup != NULL ? runas->lookup : lookup_user;

		if (runas == NULL || !runas->known || !lookup(rule->runas, &uid)) {
			/* Unknown: a stepup rule applies, an exempt one never. */
			if (rule->kind != SU_CMDRULE_STEPUP)
				return false;
		} else if (uid != runas->uid) {
			return false;
		}
	}
	if (rule->kind == SU_CMDRULE_PLAIN_EXEMPT)
		return fnmatch(rule->pattern, command, 0) == 0;
	return rule->all || pattern_matches(rule->pattern, command);
}

/* Exempt rules are tried first: an exempt_command wins over every
 * stepup_command, whatever their order in the file. */
enum su_cmdrule_verdict su_cmdrules_match(const su_cmdrules *r,
					  const struct su_cmdrule_runas *runas,
					  const char *command, const char **scope)
{
	*scope = "all";
	if (r->broken || command == NULL)
		return SU_CMD_STEPUP;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].kind != SU_CMDRULE_STEPUP && rule_matches(&r->v[i], runas, command))
			return SU_CMD_EXEMPT;
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].kind == SU_CMDRULE_STEPUP && rule_matches(&r->v[i], runas, command)) {
			*scope = r->v[i].scope;
			return SU_CMD_STEPUP;
		}
	}
	return SU_CMD_UNNAMED;
}

static bool plain_word(const char *s)
{
	return s[0] != '\0' && s[strspn(s, plain_chars)] == '\0';
}

/* One word of the canonical form, quoted when it must be, at *n in buf
 * (NULL: only counted). */
static size_t put_word(char *buf, size_t n, const char *word)
{
	if (plain_word(word)) {
		size_t len = strlen(word);
		if (buf != NULL)
			memcpy(buf + n, word, len);
		return n + len;
	}
	if (buf != NULL)
		buf[n] = '\'';
	n++;
	for (const char *c = word; *c != '\0'; c++) {
		if (*c == '\'') {
			if (buf != NULL)
				memcpy(buf + n, "'\\''", 4);
			n += 4;
		} else {
			if (buf != NULL)
				buf[n] = *c;
			n++;
		}
	}
	if (buf != NULL)
		buf[n] = '\'';
	return n + 1;
}

char *su_cmdrule_join(const char *path, const char *const argv[], size_t argc)
{
	size_t n = 0;
	char *buf;

	if (path == NULL)
		return NULL;
	/* Counted first, each word bounded, so no sum can wrap. */
	for (size_t pass = 0; pass < 2; pass++) {
		buf = pass == 0 ? NULL : malloc(n + 1);
		if (pass == 1 && buf == NULL)
			return NULL;
		n = put_word(buf, 0, path);
		for (size_t i = 0; i < argc && argv[i] != NULL; i++) {
			if (strlen(argv[i]) > SU_CMDRULE_COMMAND_MAX || n > SU_CMDRULE_COMMAND_MAX) {
				free(buf);
				return NULL;
			}
			if (buf != NULL)
				buf[n] = ' ';
			n = put_word(buf, n + 1, argv[i]);
		}
		if (n > SU_CMDRULE_COMMAND_MAX) {
			free(buf);
			return NULL;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* A terminal's or a mail's view of a command: blanks pass (the words stay
 * readable); a backslash is doubled, so that "\xHH" is always an escape. */
static const su_escape_style display_style = {
	.backslash_doubled = true,
	.cut_marker = "...",
	.marker_after_max = true,
};

const char *su_cmdrule_display(const char *command, char *buf, size_t max)
{
	return su_escape(command, &display_style, max, buf);
}
