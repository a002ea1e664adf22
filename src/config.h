/* /etc/security/stepup.conf: INI style, '#' comments. [global] sets defaults,
 * [service NAME] overrides them for one PAM service, module arguments
 * override both. Every error names file, line and key; callers fail closed. */
#ifndef SU_CONFIG_H
#define SU_CONFIG_H

#include <stdbool.h>
#include "log.h"

/* Step-up methods, as a bit set. The table of what each one does lives in
 * stepup.c; here they are only names a rule may list. */
enum su_method {
	SU_METHOD_TOTP = 1u << 0,
	SU_METHOD_EMAIL = 1u << 1,
	SU_METHOD_RECOVERY = 1u << 2,
	SU_METHOD_SSHSK = 1u << 3, /* a security key through the user's ssh-agent */
};
#define SU_METHODS_ALL (SU_METHOD_TOTP | SU_METHOD_EMAIL | SU_METHOD_RECOVERY | SU_METHOD_SSHSK)

enum su_missing { SU_MISSING_DENY, SU_MISSING_ALLOW };
enum su_smtp_tls { SU_SMTP_TLS_REQUIRED, SU_SMTP_TLS_NONE };
/* Who must step up: PAM_USER (sudo), or the invoking user (su -). */
enum su_identity { SU_IDENTITY_USER, SU_IDENTITY_RUSER };
/* Where users' records and state live: files on this host, or a directory. */
enum su_store_kind { SU_STORE_FILES, SU_STORE_LDAP };

#define SU_CONFIG_MAX_SIZE (64 * 1024)

typedef struct su_settings {
	/* policy: may differ per service */
	unsigned methods;           /* enum su_method bits */
	unsigned grace;             /* seconds; 0 = no grace records */
	enum su_missing missing;    /* user not enrolled */
	unsigned tries;             /* prompts per pam_authenticate call */
	unsigned fail_delay;        /* seconds libpam waits after a failure */
	unsigned lockout_attempts;  /* 0 = no lockout */
	unsigned lockout_time;      /* seconds */
	unsigned totp_window;       /* accepted steps either side of now */
	unsigned email_code_length; /* digits */
	unsigned email_code_ttl;    /* seconds */
	unsigned email_min_interval;
	unsigned email_max_per_hour;
	unsigned sshsk_timeout;     /* seconds for the agent and the touch */
	bool sshsk_require_pin;     /* a security key's signature must be verified (UV) */
	char *exempt_groups;        /* comma-separated group names, or NULL */
	char *grace_from;           /* services whose grace counts here too:
				       "su,login" (lower case) or "*" (any);
				       NULL: only this service's own */
	enum su_identity identity;
	/* global only */
	char *smtp_url;
	char *smtp_from;
	char *smtp_credentials;
	char *smtp_ca_file;
	enum su_smtp_tls smtp_tls;
	unsigned smtp_timeout;
	char *user_dir;
	char *state_dir;
	char *grace_dir;
	char *hostkey;
	char *fleet_key;            /* shared by the hosts of a directory store */
	enum su_store_kind store;   /* where records and state live */
	char *ldap_uri;             /* "URI URI..." (store = ldap) */
	char *ldap_base;            /* the DN the users' entries are under */
	char *ldap_ca_file;
	char *ldap_cert, *ldap_key; /* SASL EXTERNAL with the host's certificate */
	char *ldap_bind_dn;         /* or a simple bind, with */
	char *ldap_password_file;   /* the password in this file (root, 0600) */
	unsigned ldap_timeout;      /* seconds: all directory work of one call */
	unsigned ldap_retries;      /* conflicting writes tried again at most */
	bool debug;
	/* [gate]: exempt_command patterns (fnmatch, whole command), one per
	 * line, NULL when none */
	char *gate_exempt;
	/* [sudo]: the approval plugin's rules, one line each,
	 * "LINE<TAB>KEY<TAB>VALUE", NULL when none. Only unknown keys are
	 * errors of the file: a malformed value is cmdrule.c's to find, so
	 * that the module (which has no use for them) still answers while
	 * the plugin asks for every command. */
	char *sudo_rules;
} su_settings;

/* Fill out with the built-in defaults (paths as stepup.conf(5) gives them). */
int su_settings_defaults(su_settings *out);
void su_settings_free(su_settings *s);

/* Load path: defaults, then [global], then [service SERVICE] (service may be
 * NULL: only check every section). The whole file is validated whatever the
 * service. On error every problem is logged and out is left freed. */
int su_config_load(const su_log *log, const char *path, const char *service,
		   su_settings *out);

/* The same from text in memory (len bytes, need not be NUL-terminated);
 * name stands for the file in messages. For tests and fuzzing. */
int su_config_parse(const su_log *log, const char *name, const char *text, size_t len,
		    const char *service, su_settings *out);

/* Apply one module argument "key=value" (or a bare flag such as "debug").
 * Only the keys pam_stepup(8) allows as arguments are accepted; errors
 * name the argument. "config=" is handled by the caller, not here. */
int su_settings_apply_arg(const su_log *log, su_settings *s, const char *arg);

#define SU_SERVICE_MAX 64

/* A name a [service NAME] section or grace_from may give: 1 to 64 of
 * A-Z a-z 0-9 _ . - (so it is also safe in a file name). */
bool su_valid_service_name(const char *name);
/* Does list (a grace_from value: "su,login" or "*") name service? Service
 * names compare without regard to ASCII case, as sections do. */
bool su_service_listed(const char *list, const char *service);

/* "totp, email" -> bits; false on an unknown or empty name. */
bool su_parse_methods(const char *list, unsigned *out);
/* bits -> "totp,email" into buf. */
const char *su_methods_str(unsigned methods, char *buf, size_t size);

#endif
