/* What stepupctl's commands share: the context a command runs in, the
 * method table, and the helpers every command uses (messages, the user
 * argument, the record). src/stepupctl.c holds main, the command line and
 * the command table; each command, or group of commands, is a file in
 * src/stepupctl/. The rules every command obeys are at the top of
 * src/stepupctl.c. */
#ifndef SU_CTL_H
#define SU_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "kv.h"
#include "log.h"
#include "store.h"

#define PROG "stepupctl"
#define ISSUER_MAX 64
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What a command returns, main's exit status: done, refused, a usage error
 * (rule 1 in src/stepupctl.c); CTL_STOP: finished early and well (--help). */
enum { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2, CTL_STOP = -1 };

/* Messages go to stderr as "stepupctl: ...". */
extern const su_log ctl_log;

/* Everything a command line may carry besides positional arguments. */
typedef struct ctl_opts {
	char *secret;       /* --secret: BASE32 or "-"; points into argv */
	unsigned digits;
	unsigned period;
	const char *issuer; /* NULL: the host name */
	const char *totp_option; /* the first TOTP-only option given, or NULL */
	bool force;
	unsigned count;     /* recovery --count */
	const char *from;   /* ldap import --from: the files' config; points into argv */
	bool all;           /* ldap import --all */
} ctl_opts;

typedef struct ctl {
	const char *config_path; /* -c, or NULL for SU_DEFAULT_CONFIG */
	bool config_found;       /* false: built-in defaults */
	su_settings settings;
	su_store *store;         /* open while a command that needs it runs */
	ctl_opts opts;
} ctl;

/* ---- running a command (common.c) -------------------------------------- */

/* Before a command: the root check, the settings (-c, or the default file,
 * or the built-in defaults when there is none), the store if the command
 * needs it. CTL_OK, then ctl_close; or CTL_REFUSED (said why), nothing
 * left open. */
int ctl_open(ctl *c, bool needs_store);
void ctl_close(ctl *c);

/* ---- messages (common.c) ------------------------------------------------ */

/* One line on stderr; CTL_REFUSED. */
int refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line ending "(see stepupctl --help)"; CTL_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int out_of_memory(void);
/* enroll and import refuse to replace a TOTP enrolment alike. */
int refuse_totp_enrolled(const char *user, bool can_force);

/* "2024-05-01 12:00:00 CEST" */
void local_time(time_t when, char *buf, size_t size);
/* 1 to ISSUER_MAX characters, no ':' or control characters. */
bool valid_issuer(const char *s);

/* ---- users and records (common.c) --------------------------------------- */

/* The user a command names (size: SU_USER_MAX + 1), spelled as the module
 * will look it up; *known: the user database knows it; *uid (if not NULL):
 * its uid when known. CTL_OK or CTL_REFUSED (said why). */
int user_arg(const char *given, char *out, size_t size, bool *known, uid_t *uid);
/* Load user's record; a missing one is an error only if must_exist. */
int load_record(ctl *c, const char *user, su_kv *record, bool must_exist);

/* A change of user's enrolment ends their grace records (grace.c). */
int end_grace(ctl *c, const char *user);

/* ---- methods (methods[] in src/stepupctl.c) ------------------------------ */

/* What status shows of one user (status.c loads it). */
typedef struct user_view {
	const char *user;
	su_kv record;
	su_kv state;
	char *record_path; /* names files in messages */
	char *state_path;
} user_view;

typedef struct ctl_method {
	const char *name;   /* as typed: "totp" */
	const char *label;  /* in messages: "TOTP" */
	bool (*enrolled)(const su_kv *record);
	void (*remove)(su_kv *record); /* its record keys */
	int enroll_args;    /* positional arguments after the method name */
	int (*enroll)(ctl *c, const char *user, char **args); /* NULL: not by enroll */
	int (*summary)(const user_view *v, char *buf, size_t size);
	int (*details)(const user_view *v);
} ctl_method;

/* The method named name, or NULL; the i-th method, or NULL past the last. */
const ctl_method *find_method(const char *name);
const ctl_method *method_at(size_t i);
/* The usage error for a method name that is none (not echoed). */
int unknown_method(const char *command);

/* What methods[] points to: enroll.c */
int enroll_totp(ctl *c, const char *user, char **args);
int enroll_email(ctl *c, const char *user, char **args);
/* sshkey.c */
int enroll_sshkey(ctl *c, const char *user, char **args);
int remove_sshkey(ctl *c, const char *user, const char *fingerprint);
int sshkey_summary(const user_view *v, char *buf, size_t size);
int sshkey_details(const user_view *v);
/* status.c */
int totp_summary(const user_view *v, char *buf, size_t size);
int totp_details(const user_view *v);
int email_summary(const user_view *v, char *buf, size_t size);
int email_details(const user_view *v);
int recovery_summary(const user_view *v, char *buf, size_t size);
int recovery_details(const user_view *v);

/* ---- commands: run with the positional arguments ------------------------ */

int cmd_init(ctl *c, char **args, int nargs);         /* init.c */
int cmd_check_config(ctl *c, char **args, int nargs); /* init.c */
int cmd_enroll(ctl *c, char **args, int nargs);       /* enroll.c */
int cmd_import(ctl *c, char **args, int nargs);       /* import.c */
int cmd_status(ctl *c, char **args, int nargs);       /* status.c */
int cmd_recovery(ctl *c, char **args, int nargs);     /* recovery.c */
int cmd_remove(ctl *c, char **args, int nargs);       /* remove.c */
int cmd_unlock(ctl *c, char **args, int nargs);       /* remove.c */
int cmd_grace(ctl *c, char **args, int nargs);        /* grace.c */
int cmd_test_email(ctl *c, char **args, int nargs);   /* test-email.c */
int cmd_fleet_key(ctl *c, char **args, int nargs);    /* fleetkey.c */
int cmd_ldap(ctl *c, char **args, int nargs);         /* ldap.c */

#endif
