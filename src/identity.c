/* Who steps up: the account PAM names (or, with identity = ruser, the
 * person at the keyboard), as the user database spells it, and whether an
 * exempt group lets them through. A user database that cannot answer is
 * an error, never "no such user": an alias of an enrolled user must not
 * pass as not enrolled (docs/decisions.md, "Who steps up"). */
#include <string.h>
#include <unistd.h>
#include <security/pam_ext.h>
#include <security/pam_modutil.h>
#include "flow.h"

/* The caller's entry by uid, without pam_modutil_getpw*: those keep every
 * result in the PAM handle under a fresh name, so a handle used for many
 * calls (a screen locker, a daemon) grows and slows each lookup. One entry
 * per call is all the flow needs; it lives in s. 0 with *pw (NULL: no such
 * user), or USERDB_ERROR, logged with the uid and the error. */
static int lookup_uid(struct stepup *s, uid_t uid, const struct passwd **pw)
{
	int err = su_userdb_uid(&s->pw, uid, pw);

	if (err == 0)
		return 0;
	su_logf(&s->log, LOG_ERR, "cannot look up uid %u in the user database: %s",
		(unsigned)uid, strerror(err));
	return USERDB_ERROR;
}

/* Records are keyed by the account's name as NSS spells it, by the one
 * rule in userdb.c (su_userdb_canonical), which stepupctl follows too. A
 * name NSS cannot answer for is USERDB_ERROR, since it may be an enrolled
 * user's alias. */
int su_flow_canonical_user(struct stepup *s)
{
	const char *canon = s->user;
	uid_t uid = 0;
	int err = 0;

	switch (su_userdb_canonical(&s->pw, s->user, &canon, &uid, &err)) {
	case SU_USERDB_KNOWN:
		s->have_uid = true;
		s->uid = uid;
		break;
	case SU_USERDB_UNKNOWN:
		return 0;
	case SU_USERDB_ERROR:
		su_logf(&s->log, LOG_ERR, "cannot look up user '%s' in the user database: %s",
			s->user, strerror(err));
		return USERDB_ERROR;
	default:
		return -1;
	}
	if (strcmp(canon, s->user) != 0)
		su_debug(&s->log, "user '%s' is '%s' in the user database", s->user, canon);
	s->user = canon;
	s->who.user = canon;
	return 0;
}

/* identity = ruser: the person at the keyboard, not the account they ask
 * for (su - : PAM_USER is root). PAM_RUSER as the application set it, or
 * the real uid's user (a setuid program's caller) when it is empty. */
int su_flow_who_steps_up(struct stepup *s)
{
	const void *ruser = NULL;
	const struct passwd *pw;

	if (s->settings.identity != SU_IDENTITY_RUSER)
		return 0;
	if (pam_get_item(s->pamh, PAM_RUSER, &ruser) == PAM_SUCCESS && ruser != NULL &&
	    ((const char *)ruser)[0] != '\0') {
		s->user = ruser;
	} else {
		if (lookup_uid(s, getuid(), &pw) != 0)
			return USERDB_ERROR;
		if (pw == NULL)
			return su_fail(&s->log, "identity=ruser: no PAM_RUSER and no user "
				       "for uid %u", (unsigned)getuid());
		if (strlen(pw->pw_name) >= sizeof(s->caller_name))
			return su_fail(&s->log, "identity=ruser: the name of uid %u is too long",
				       (unsigned)getuid());
		strcpy(s->caller_name, pw->pw_name);
		s->user = s->caller_name;
	}
	s->who.user = s->user;
	return 0;
}

/* Members of an exempt group are never asked (stepup.conf(5),
 * exempt_groups). */
bool su_flow_exempt(struct stepup *s)
{
	const char *g = s->settings.exempt_groups;
	char group[257];

	while (g != NULL && *g != '\0') {
		size_t len = strcspn(g, ",");
		if (len < sizeof(group)) {
			memcpy(group, g, len);
			group[len] = '\0';
			if (pam_modutil_user_in_group_nam_nam(s->pamh, s->user, group))
				return true;
		}
		g += len + (g[len] == ',');
	}
	return false;
}

/* The real uid is root or the user's own. */
bool su_flow_caller_is_user(const struct stepup *s)
{
	uid_t caller = getuid();

	return caller == 0 || (s->have_uid && s->uid == caller);
}
