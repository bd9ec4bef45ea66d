/* SPDX-License-Identifier: Apache-2.0 */
#include "user_lookup.h"

#include <errno.h>
#include <pwd.h>

#include "snapshot_format.h"
#include "snapshot_reader.h"

/* The uid the system resolves name to, when it resolves it.  Returns 1 with
 * *uid set, 0 when no source knows the name or the lookup failed, -1 when
 * the entry is larger than any of ours can be (so it is someone else's). */
static int system_uid(const char *name, uid_t *uid)
{
	/* Our entries are under 1 KiB (fields are capped at 255 bytes). */
	char buf[4096];
	struct passwd pw, *res = NULL;
	int r = getpwnam_r(name, &pw, buf, sizeof buf, &res);
	if (r == ERANGE)
		return -1;
	if (r != 0 || !res)
		return 0;
	*uid = res->pw_uid;
	return 1;
}

enum pam_ctm_owner pam_ctm_lookup_user(pam_handle_t *pamh, const struct pam_ctm_args *a, const char *user,
				       struct pam_ctm_user *out)
{
	struct ctm_db db;
	int r = ctm_db_open(&db, a->passwd_db, CTM_DB_PASSWD);
	if (r == CTM_OK) {
		struct ctm_user u;
		r = ctm_passwd_by_name(&db, user, &u);
		if (r == CTM_OK) {
			out->uid = u.uid;
			out->state = u.state;
		}
		ctm_db_close(&db);
	}
	if (r == CTM_NOTFOUND)
		return PAM_CTM_NOT_OURS;
	if (r != CTM_OK) {
		/* NSS cannot resolve our users from this file either, so whoever
		 * logs in is not one of ours as far as this host can tell. */
		pam_syslog(pamh, LOG_WARNING, "cannot tell whether %s is a Containarium user: %s: %s; ignoring", user,
			   a->passwd_db, ctm_status_str(r));
		return PAM_CTM_UNKNOWN;
	}

	/* A source listed before ours in nsswitch.conf (files, LDAP, OS Login)
	 * may own the same name: then sshd logged in that user, not ours, and
	 * we must not judge it. */
	uid_t sys_uid = 0;
	int s = system_uid(user, &sys_uid);
	if (s < 0 || (s > 0 && sys_uid != out->uid)) {
		if (s < 0)
			pam_syslog(pamh, LOG_WARNING,
				   "%s is in the Containarium snapshot as uid %u, but the "
				   "system resolves the name to a larger entry from another source; ignoring",
				   user, out->uid);
		else
			pam_syslog(pamh, LOG_WARNING,
				   "%s is in the Containarium snapshot as uid %u, but the "
				   "system resolves the name to uid %u from another source; ignoring",
				   user, out->uid, (unsigned)sys_uid);
		return PAM_CTM_NOT_OURS;
	}
	return PAM_CTM_OURS;
}
