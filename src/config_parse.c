/* The file stepup.conf: its lines and sections, and how they make one
 * su_settings.
 *
 * The file is parsed in one pass into layers (one for [global], one for the
 * [service NAME] being asked about, a scratch one for every other section);
 * only when the whole file is clean are the layers applied over the
 * defaults, global first. Sections may therefore come in any order, and a
 * broken section for another service still fails the load: a config that is
 * wrong anywhere is wrong, and the caller fails closed. Every error names
 * the file, the line and the key, and all of them are logged, not the first.
 *
 * Service names match without regard to ASCII case (libpam lowercases
 * PAM_SERVICE). What a key or a section is called is config.c's; what a
 * value may be, config_value.c's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "config_internal.h"
#include "safefile.h"
#include "util.h"

/* Longest line, newline excluded. A longer one is refused, not truncated:
 * a truncated line would silently mean something else. */
#define CONF_LINE_MAX 1024

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

/* ------------------------------------------------------------------------ */
/* The file */

/* The keys one section set, with their lines (0 = not set): detects a key
 * given twice, and holds the values until the whole file has passed. */
struct layer {
	unsigned line[CONF_KEY_COUNT];
	union val val[CONF_KEY_COUNT];
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
	bool in_sudo;         /* in [sudo]: its own keys, no others */
	unsigned sudo_line;   /* line of the [sudo] header */
	char *sudo_rules;     /* [sudo] values so far: LINE TAB KEY TAB VALUE NL */
	size_t sudo_len;
	unsigned global_line; /* line of the explicit [global] header */
	unsigned gate_line;   /* line of the [gate] header */
	char *gate_exempt;    /* exempt_command values so far, '\n' after each */
	size_t gate_len;
	struct seen_service *services;
	size_t nservices;
};

static void layer_free(struct layer *l)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (is_string_kind(conf_keys[i].kind))
			free(l->val[i].s);
	memset(l, 0, sizeof(*l));
}

static void layer_apply(struct layer *l, su_settings *s)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (l->line[i] != 0)
			conf_store(s, &conf_keys[i], &l->val[i]);
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
	p->in_sudo = false;
}

/* [gate] (settings of stepup-gate alone) and [sudo] (the approval
 * plugin's rules): sections the module ignores, each given at most once. */
static void enter_once_section(struct parser *p, const char *name, unsigned *first_line,
			       bool *in_it)
{
	if (*first_line != 0) {
		line_error(p, NULL, "section [%s] given twice (first at line %u)", name,
			   *first_line);
		enter_scratch(p, false);
		return;
	}
	*first_line = p->lineno;
	p->in_gate = false;
	p->in_sudo = false;
	*in_it = true;
}

/* Only the key is judged here; the value is kept with its line for
 * cmdrule.c, so that a malformed rule makes the plugin ask for every
 * command (and check-config name it) while the module, which answers the
 * step-up, still loads this file. A value too long for a line was
 * refused with the line. */
static void sudo_assignment(struct parser *p, const char *key, const char *value)
{
	char head[48];
	size_t hlen, len = strlen(value);
	char *grown;

	if (!conf_sudo_key(key)) {
		line_error(p, key, "unknown key in [sudo] (the keys there are stepup_command "
				   "and exempt_command)");
		return;
	}
	hlen = (size_t)snprintf(head, sizeof(head), "%u\t%s\t", p->lineno, key);
	grown = realloc(p->sudo_rules, p->sudo_len + hlen + len + 2);
	if (grown == NULL) {
		p->out_of_memory = true;
		return;
	}
	p->sudo_rules = grown;
	memcpy(grown + p->sudo_len, head, hlen);
	p->sudo_len += hlen;
	/* A control character (a tab) stays for cmdrule.c to refuse; a
	 * newline cannot be in a line. */
	memcpy(grown + p->sudo_len, value, len);
	p->sudo_len += len;
	grown[p->sudo_len++] = '\n';
	grown[p->sudo_len] = '\0';
}

static void gate_assignment(struct parser *p, const char *key, const char *value)
{
	size_t len = strlen(value);
	char *grown;

	if (!conf_gate_key(key)) {
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
	p->in_sudo = false;
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
		p->in_sudo = false;
	} else {
		enter_scratch(p, false);
	}
}

/* line starts with '['. */
static void parse_header(struct parser *p, char *line)
{
	char *inner, *name = NULL;
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
	switch (conf_section(inner, &name)) {
	case CONF_GLOBAL:
		enter_global(p);
		break;
	case CONF_GATE:
		enter_once_section(p, "gate", &p->gate_line, &p->in_gate);
		break;
	case CONF_SUDO:
		enter_once_section(p, "sudo", &p->sudo_line, &p->in_sudo);
		break;
	case CONF_SERVICE:
		enter_service(p, trim(name));
		break;
	case CONF_UNKNOWN:
		line_error(p, NULL, "unknown section '[%s]' (use [global], [service NAME], [gate] or [sudo])",
			   inner);
		enter_scratch(p, true);
		break;
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
	if (p->in_sudo) {
		sudo_assignment(p, key, value);
		return;
	}
	k = conf_find_key(key, strlen(key));
	if (k == NULL) {
		line_error(p, key, "unknown key");
		return;
	}
	if ((k->flags & KEY_GLOBAL) && !p->cur_global) {
		line_error(p, key, "allowed only in [global]");
		return;
	}
	i = (size_t)(k - conf_keys);
	if (p->cur->line[i] != 0) {
		line_error(p, key, "set twice in this section (first at line %u)",
			   p->cur->line[i]);
		return;
	}
	/* Claimed even when the value is bad: a second line is still a twin. */
	p->cur->line[i] = p->lineno;
	if (!conf_parse_value(k, value, &p->cur->val[i], why, sizeof(why)))
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

/* Whether any URI of the list (one blank between them) is not ldapi://. */
static bool any_tls_uri(const char *list)
{
	for (const char *u = list; u != NULL && *u != '\0'; u = strchr(u, ' ') ? strchr(u, ' ') + 1 : NULL)
		if (strncmp(u, "ldapi://", 8) != 0)
			return true;
	return false;
}

/* The directory store's keys make sense only together: where (ldap_uri,
 * ldap_base) and as whom (a certificate with its key, or a bind DN with
 * its password file; neither over ldapi://, where the socket's peer
 * credentials are the identity). Checked whatever the store, so that a
 * half-written fleet section is found before it is switched on. */
static bool store_keys_agree(const su_log *log, const char *path, const su_settings *s)
{
	const char *why = NULL;

	if (s->store == SU_STORE_LDAP && (s->ldap_uri == NULL || s->ldap_base == NULL))
		why = "store = ldap needs ldap_uri and ldap_base";
	else if ((s->ldap_cert == NULL) != (s->ldap_key == NULL))
		why = "ldap_cert and ldap_key go together";
	else if ((s->ldap_bind_dn == NULL) != (s->ldap_password_file == NULL))
		why = "ldap_bind_dn and ldap_password_file go together";
	else if (s->ldap_cert != NULL && s->ldap_bind_dn != NULL)
		why = "give either ldap_cert (SASL EXTERNAL) or ldap_bind_dn (simple bind), not both";
	else if (s->ldap_uri != NULL && s->ldap_cert == NULL && s->ldap_bind_dn == NULL &&
		 any_tls_uri(s->ldap_uri))
		why = "ldap_uri needs ldap_cert and ldap_key, or ldap_bind_dn and "
		      "ldap_password_file (only ldapi:// needs neither)";
	else if (s->ldap_uri != NULL && any_tls_uri(s->ldap_uri) && s->ldap_ca_file == NULL)
		why = "ldap_uri over the network needs ldap_ca_file (the CA that signed the "
		      "directory's certificate)";
	if (why != NULL)
		su_logf(log, LOG_ERR, "%s: [global]: %s", path, why);
	return why == NULL;
}

/* Parse text (len bytes, NUL-terminated, changed in place) from path into
 * out: defaults <- [global] <- [service SERVICE]. Every error is logged. */
int conf_parse_text(const su_log *log, const char *path, char *text,
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
	if (!store_keys_agree(log, path, &s))
		goto out;
	s.gate_exempt = p.gate_exempt;
	p.gate_exempt = NULL;
	s.sudo_rules = p.sudo_rules;
	p.sudo_rules = NULL;
	*out = s;
	memset(&s, 0, sizeof(s));
	rc = SU_OK;
out:
	su_settings_free(&s);
	layer_free(&p.global);
	layer_free(&p.target);
	layer_free(&p.scratch);
	free(p.gate_exempt);
	free(p.sudo_rules);
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
	rc = conf_parse_text(log, name, copy, len, service, out);
	free(copy);
	return rc;
}
