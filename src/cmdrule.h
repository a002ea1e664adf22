/* Command rules: which commands need a step-up, and which are exempt. The
 * one matcher of the tree: the sudo approval plugin (stepup_sudo.so) uses
 * the [sudo] rules, stepup-gate its [gate] exempt_command patterns.
 *
 * A command is matched as one string, its canonical form: the resolved
 * path, then each argument, one blank between them; an argument that is
 * empty or holds anything outside A-Z a-z 0-9 - _ . / : @ = + , % is put
 * in single quotes, a quote inside it written '\'' (as a shell would read
 * it back). The form is unambiguous: an argument "restart nginx" is
 * "'restart nginx'", never two words, so `/usr/bin/systemctl restart nginx`
 * cannot be matched by one argument that holds a blank. A pattern is an
 * fnmatch(3) pattern (no flags) over the whole form: `*` crosses blanks and
 * quotes, which is what a stepup_command means (more commands ask) and what
 * an exempt_command's author must mean. stepup-gate matches the SSH
 * command string as it is: it only considers strings made of plain words
 * and single quotes, which are this same form.
 *
 * [sudo] values (stepup.conf(5)):
 *   stepup_command = [group=NAME] [runas=USER] PATTERN | ALL
 *   exempt_command = [runas=USER] PATTERN
 * PATTERN starts with '/' (the resolved path), or with "sudoedit " for
 * sudoedit, which is matched as "sudoedit FILE..." (the files, not the
 * editor the user picks). An exempt_command that
 * matches wins over every stepup_command. The grace scope of a rule is its
 * group ("g-NAME"), or for a rule without one its own ("r-" and a hash of
 * its value): a step-up for one scope covers only that scope. */
#ifndef SU_CMDRULE_H
#define SU_CMDRULE_H

#include <stdbool.h>
#include <stddef.h>
#include "log.h"

/* A scope name: short enough that "SERVICE.SCOPE" stays a service name
 * (config.h SU_SERVICE_MAX) for the usual services. */
#define SU_CMDRULE_SCOPE_MAX 36
/* The longest canonical form a command is matched in; a longer command is
 * matched as "too long" (it needs a step-up: fail closed). */
#define SU_CMDRULE_COMMAND_MAX 65536

enum su_cmdrule_kind {
	SU_CMDRULE_STEPUP, /* [sudo] stepup_command */
	SU_CMDRULE_EXEMPT, /* [sudo] exempt_command */
	SU_CMDRULE_PLAIN_EXEMPT, /* [gate] exempt_command: a bare pattern */
};

struct su_cmdrule {
	enum su_cmdrule_kind kind;
	unsigned line;
	bool all;          /* ALL: every command */
	char *runas;       /* NULL: any target user */
	char *pattern;
	char scope[SU_CMDRULE_SCOPE_MAX];
};

typedef struct su_cmdrules {
	struct su_cmdrule *v;
	size_t n;
	bool broken; /* a rule was malformed: every command needs a step-up */
} su_cmdrules;

/* The [sudo] values as config_parse.c gathers them: one line each,
 * "LINE<TAB>KEY<TAB>VALUE". Every malformed value is logged as
 * "PATH:LINE: key 'KEY': why" and makes out->broken true; SU_ERR then (the
 * rules that were fine are kept, but a broken set asks for every
 * command). SU_OK when all are fine (none at all included). */
int su_cmdrules_compile(const su_log *log, const char *path, const char *text,
			su_cmdrules *out);
/* [gate]: one bare pattern per line (su_settings.gate_exempt). */
int su_cmdrules_compile_plain(const char *text, su_cmdrules *out);
void su_cmdrules_free(su_cmdrules *r);

/* Check one value of key ("stepup_command", "exempt_command") in [sudo];
 * on success *rule holds it (free with su_cmdrule_clear). */
bool su_cmdrule_parse(enum su_cmdrule_kind kind, const char *value, unsigned line,
		      struct su_cmdrule *rule, char *why, size_t size);
void su_cmdrule_clear(struct su_cmdrule *rule);

/* Whom a command runs as, for runas= rules: compared by uid, so that a
 * second account with the same uid (toor, uid 0) is root to runas=root.
 * A rule's user is looked up when a command is matched (lookup, or
 * getpwnam_r when NULL), not when the file is read. When the command's uid
 * is not known (known false, or runas NULL), or the rule's user cannot be
 * looked up, a runas= stepup_command matches (fail closed) and a runas=
 * exempt_command never does. */
struct su_cmdrule_runas {
	bool known;
	unsigned long uid;
	bool (*lookup)(const char *user, unsigned long *uid);
};

/* What the rules say of a command. Each caller decides what an unnamed
 * command means to it (the [sudo] plugin approves it; the gate asks for a
 * step-up, since its rules are exempt patterns only): an unnamed command
 * is never "exempt". */
enum su_cmdrule_verdict {
	/* first, so that a verdict left zeroed asks (fail closed) */
	SU_CMD_STEPUP,  /* a stepup_command names it, or the set is broken, or
			   the command could not be formed (NULL) */
	SU_CMD_EXEMPT,  /* an exempt_command names it (exempt rules win) */
	SU_CMD_UNNAMED, /* no rule names it */
};

/* Exempt rules first (they win), then the first stepup rule in file order.
 * *scope: the stepup rule's scope for SU_CMD_STEPUP, else "all" (a broken
 * set or a NULL command needs a step-up under "all"). */
enum su_cmdrule_verdict su_cmdrules_match(const su_cmdrules *r,
					  const struct su_cmdrule_runas *runas,
					  const char *command, const char **scope);

/* The canonical form of path and argv[0..argc-1] (see the top), on the
 * heap; NULL when out of memory or longer than SU_CMDRULE_COMMAND_MAX. */
char *su_cmdrule_join(const char *path, const char *const argv[], size_t argc);

/* A command as it may be shown on a terminal or in a mail: printable ASCII
 * passes, except '\\' which becomes "\\\\"; every other byte (control
 * characters, escape sequences, non-ASCII) becomes "\xHH". At most max
 * characters, then "..." (no escape cut in half). buf needs max + 4. */
const char *su_cmdrule_display(const char *command, char *buf, size_t max);

#endif
