/* stepupctl enroll USER totp|email: a new TOTP secret (random, given, or
 * read from stdin) with its otpauth URI and QR code, or an email address. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "audit.h"
#include "audit_admin.h"
#include "ctl.h"
#include "email.h"
#include "mail.h"
#include "qr.h"
#include "secret.h"
#include "totp.h"
#include "util.h"

#define SECRET_LINE_MAX 512

/* Arguments left on the command line are wiped before a usage error: a
 * secret typed in the wrong place would otherwise stay in argv. */
static void erase_args(char **args, int from, int to)
{
	for (int i = from; i < to; i++)
		su_erase(args[i], strlen(args[i]));
}

int cmd_enroll(ctl *c, char **args, int nargs)
{
	const ctl_method *m = find_method(args[1]);
	char user[SU_USER_MAX + 1];
	bool known = false;
	int rc;

	if (m != NULL && m->enroll == NULL) {
		erase_args(args, 2, nargs);
		return usage_error("enroll: %s are made with '" PROG " recovery USER'", m->label);
	}
	if (m == NULL) {
		erase_args(args, 2, nargs);
		return unknown_method("enroll");
	}
	if (nargs - 2 != m->enroll_args) {
		erase_args(args, 2, nargs);
		return usage_error("enroll: %s takes %s", m->name, m->enroll_args == 0 ?
				   "nothing after the method name" :
				   "one argument after the method name");
	}
	rc = user_arg(args[0], user, sizeof(user), &known, NULL);
	if (rc != CTL_OK)
		return rc;
	rc = m->enroll(c, user, args + 2);
	if (rc == CTL_OK) {
		su_audit_admin("enroll", user, "success", "method", m->name);
		rc = end_grace(c, user);
	}
	/* After the fact, so that a refusal stays one line. */
	if (rc == CTL_OK && !known)
		su_logf(&ctl_log, LOG_WARNING,
			"warning: no user '%s' in the user database (yet); "
			"enrolled anyway", user);
	return rc;
}

static int issuer_name(const ctl_opts *o, char *buf, size_t size)
{
	if (o->issuer != NULL) {
		snprintf(buf, size, "%s", o->issuer);
		return CTL_OK;
	}
	memset(buf, 0, size);
	if (gethostname(buf, size - 1) != 0)
		return refuse("cannot read the host name (%s); pass --issuer NAME",
			      strerror(errno));
	if (!valid_issuer(buf))
		return refuse("the host name '%s' cannot be an issuer; pass --issuer NAME",
			      buf);
	return CTL_OK;
}

/* One line of base32 from stdin, not echoed on a terminal. */
static int read_secret_line(char *buf, size_t size)
{
	struct termios saved, quiet;
	bool echo_off = false;
	size_t len;
	int rc = CTL_USAGE;

	/* Unbuffered: no copy of the secret is left in a stdio buffer. */
	setvbuf(stdin, NULL, _IONBF, 0);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		fputs("TOTP secret (base32): ", stderr);
	}
	if (fgets(buf, (int)size, stdin) == NULL) {
		usage_error("enroll: --secret -: no secret on standard input");
		goto out;
	}
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == size - 1) {
		usage_error("enroll: --secret -: the line is longer than %zu characters",
			    size - 2);
		goto out;
	}
	buf[len] = '\0';
	rc = CTL_OK;
out:
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	return rc;
}

static int decode_secret(const char *text, unsigned char **key, size_t *len)
{
	if (su_base32_decode(text, key, len) != 0)
		return usage_error("enroll: the secret is not base32 (letters A-Z, digits 2-7)");
	if (*len >= SU_TOTP_MIN_SECRET_BYTES && *len <= SU_TOTP_MAX_SECRET_BYTES)
		return CTL_OK;
	su_free_secret(*key, *len);
	*key = NULL;
	return usage_error("enroll: the secret is %zu bytes; it must be %d to %d "
			   "(16 to 103 base32 characters)", *len,
			   SU_TOTP_MIN_SECRET_BYTES, SU_TOTP_MAX_SECRET_BYTES);
}

/* The secret bytes: random, from --secret BASE32, or from stdin. */
static int secret_bytes(char *opt, unsigned char **key, size_t *len)
{
	char line[SECRET_LINE_MAX];
	int rc;

	*key = NULL;
	*len = 0;
	if (opt == NULL) {
		*key = malloc(SU_TOTP_SECRET_BYTES);
		if (*key == NULL)
			return out_of_memory();
		*len = SU_TOTP_SECRET_BYTES;
		if (su_random(*key, *len) == 0)
			return CTL_OK;
		su_free_secret(*key, *len);
		*key = NULL;
		return refuse("cannot get random bytes for the secret; try again");
	}
	if (strcmp(opt, "-") != 0) {
		rc = decode_secret(opt, key, len);
		su_erase(opt, strlen(opt)); /* out of argv, i.e. /proc/PID/cmdline */
		return rc;
	}
	rc = read_secret_line(line, sizeof(line));
	if (rc == CTL_OK)
		rc = decode_secret(line, key, len);
	su_erase(line, sizeof(line));
	return rc;
}

/* RFC 3986: everything but the unreserved characters as %XX. */
static char *percent_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return out;
}

/* otpauth://totp/ISSUER:USER?secret=...; free with su_free_string. */
static char *otpauth_uri(const char *issuer, const char *user, const char *secret,
			 unsigned digits, unsigned period)
{
	static const char fmt[] = "otpauth://totp/%s:%s?secret=%s&issuer=%s"
				  "&algorithm=SHA1&digits=%u&period=%u";
	char *iss = percent_encode(issuer), *usr = percent_encode(user), *uri = NULL;
	int len;

	if (iss == NULL || usr == NULL)
		goto out;
	len = snprintf(NULL, 0, fmt, iss, usr, secret, iss, digits, period);
	if (len < 0 || (uri = malloc((size_t)len + 1)) == NULL)
		goto out;
	snprintf(uri, (size_t)len + 1, fmt, iss, usr, secret, iss, digits, period);
out:
	free(iss);
	free(usr);
	return uri;
}

static void print_enrolment(const char *uri, const char *user)
{
	printf("%s\n", uri);
	if (isatty(STDOUT_FILENO)) {
		fflush(stdout);
		if (su_qr_print(stdout, uri) != 0)
			su_logf(&ctl_log, LOG_WARNING,
				"warning: cannot draw the QR code; give %s the URI above",
				user);
	}
	printf("Give this URI%s to %s only, to add to an authenticator app.\n"
	       "Test it: have %s run 'sudo -v' and enter a code from the app.\n",
	       isatty(STDOUT_FILENO) ? " or QR code" : "", user, user);
	fflush(stdout);
}

int enroll_totp(ctl *c, const char *user, char **args)
{
	su_kv record = { 0 };
	char issuer[HOST_NAME_MAX + 1];
	char *secret = NULL, *uri = NULL;
	unsigned char *key = NULL;
	size_t len = 0;
	int rc;

	(void)args;
	rc = issuer_name(&c->opts, issuer, sizeof(issuer));
	if (rc == CTL_OK)
		rc = load_record(c, user, &record, false);
	if (rc != CTL_OK)
		goto out;
	if (su_totp_enrolled(&record) && !c->opts.force) {
		rc = refuse_totp_enrolled(user, true);
		goto out;
	}
	rc = secret_bytes(c->opts.secret, &key, &len);
	if (rc != CTL_OK)
		goto out;
	if (su_totp_store(&record, key, len, c->opts.digits, c->opts.period) != 0 ||
	    (secret = su_base32_encode(key, len)) == NULL ||
	    (uri = otpauth_uri(issuer, user, secret, c->opts.digits, c->opts.period)) == NULL) {
		rc = out_of_memory();
		goto out;
	}
	/* The state is not touched: the replay barrier is a time, not a step
	 * (su_totp_barrier), so it bars every code of the old enrolment from
	 * the new one whatever the new period, and the same secret enrolled
	 * again cannot bring an accepted code back. */
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	print_enrolment(uri, user);
out:
	su_kv_free(&record);
	su_free_secret(key, len);
	su_free_string(secret);
	su_free_string(uri);
	return rc;
}

int enroll_email(ctl *c, const char *user, char **args)
{
	const char *address = args[0];
	su_kv record = { 0 };
	char why[128];
	int rc;

	if (c->opts.totp_option != NULL)
		return usage_error("enroll: %s is for totp only", c->opts.totp_option);
	if (!su_mail_address_ok(address, why, sizeof(why)))
		return usage_error("enroll: not a usable email address: %s", why);
	rc = load_record(c, user, &record, false);
	if (rc != CTL_OK)
		goto out;
	if (su_email_enrolled(&record) && !c->opts.force) {
		rc = refuse("%s already has email enrolled; run '" PROG " remove %s email' "
			    "first, or add --force", user, user);
		goto out;
	}
	if (su_email_set_address(&record, address) != 0) {
		rc = out_of_memory();
		goto out;
	}
	if (su_store_save_user(c->store, user, &record) != SU_OK) {
		rc = CTL_REFUSED;
		goto out;
	}
	printf("enrolled %s for email codes to %s\n"
	       "Test it: " PROG " test-email %s\n", user, address, user);
	if (c->settings.smtp_url == NULL || c->settings.smtp_from == NULL)
		su_logf(&ctl_log, LOG_WARNING, "warning: smtp_url and smtp_from are not "
			"both set in [global] of the config: no code can be sent "
			"until they are");
out:
	su_kv_free(&record);
	return rc;
}
