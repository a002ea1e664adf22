/* What the config files share and nothing else may use: the shape of a key
 * (one row of config.c's keys[]), a parsed value, and the few functions that
 * cross from one file to another. config.h is the interface the rest of the
 * project sees; this one is the seam between config.c (the keys and the
 * settings, and reading the file), config_value.c (checking one value) and
 * config_parse.c (the file's sections and lines), so that none of them has
 * to be read to follow another. */
#ifndef SU_CONFIG_INTERNAL_H
#define SU_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "log.h"

#define SERVICE_NAME_MAX SU_SERVICE_MAX
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
	K_LDAP_URIS, /* char * field, ldaps://, ldap:// or ldapi:// URIs
		      * separated by one blank (store_ldap.c) */
	K_DN,      /* char * field, an LDAP DN: printable ASCII with an '=' */
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

union val {
	unsigned u;
	char *s; /* heap; NULL for an empty exempt_groups */
};

/* ---- config.c: the keys and the section names ----------------------------- */

/* The rows of keys[]; a layer (config_parse.c) holds one value per row, so
 * the count must be known where keys[] is not: config.c asserts it. */
#define CONF_KEY_COUNT 39
extern const struct key *const conf_keys;

/* The row named by len bytes at name, or NULL. */
const struct key *conf_find_key(const char *name, size_t len);

enum conf_section { CONF_GLOBAL, CONF_SERVICE, CONF_GATE, CONF_SUDO, CONF_UNKNOWN };
/* Which section inner (what stands between '[' and ']', trimmed) names;
 * for CONF_SERVICE, *name is what follows "service" (blanks not trimmed). */
enum conf_section conf_section(char *inner, char **name);
/* Is key one that [gate] holds? */
bool conf_gate_key(const char *key);
/* Is key one that [sudo] holds? */
bool conf_sudo_key(const char *key);

/* ---- config_value.c: one value of one key ---------------------------------- */

/* Check text as a value of k; on success *v holds it (strings on the heap,
 * owned by the caller). The one parser for files, arguments and defaults. */
bool conf_parse_value(const struct key *k, const char *text, union val *v,
		      char *why, size_t size);
/* Move v into its field; a string replaces (and frees) the old one. */
void conf_store(su_settings *s, const struct key *k, union val *v);

/* ---- config_parse.c: the file ---------------------------------------------- */

/* Parse text (len bytes, NUL-terminated, changed in place) from path into
 * out: defaults <- [global] <- [service SERVICE]. Every error is logged. */
int conf_parse_text(const su_log *log, const char *path, char *text,
		    size_t len, const char *service, su_settings *out);

/* ---- small helpers, here so that no file keeps a copy ---------------------- */

static inline bool is_string_kind(enum kind kind)
{
	return kind == K_GROUPS || kind == K_SERVICES || kind == K_URL ||
	       kind == K_EMAIL || kind == K_PATH || kind == K_LDAP_URIS || kind == K_DN;
}

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

#endif
