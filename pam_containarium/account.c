/* SPDX-License-Identifier: Apache-2.0 */
/* account: let our active users in, stop our suspended and not-yet-ready
 * ones with a message they can read, and stay out of everyone else's way
 * (PAM_IGNORE: local, LDAP and OS Login users are judged by their own
 * modules). */
#include <errno.h>

#include "pam_module.h"
#include "snapshot_format.h"
#include "user_lookup.h"

static int deny(pam_handle_t *pamh, int flags, const char *user, const struct pam_ctm_user *u, const char *why,
		const char *tell)
{
	pam_syslog(pamh, LOG_NOTICE, "denying %s (uid %u): %s", user, u->uid, why);
	if (!(flags & PAM_SILENT))
		pam_error(pamh, "%s", tell);
	return PAM_PERM_DENIED;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	int saved_errno = errno;
	struct pam_ctm_args a;
	pam_ctm_args_load(pamh, argc, argv, &a);

	int rc = PAM_IGNORE;
	struct pam_ctm_user u;
	const char *user = pam_ctm_user(pamh);
	if (user && pam_ctm_lookup_user(pamh, &a, user, &u) == PAM_CTM_OURS) {
		switch (u.state) {
		case CTM_STATE_ACTIVE: rc = PAM_SUCCESS; break;
		case CTM_STATE_SUSPENDED:
			rc = deny(pamh, flags, user, &u, "the account is suspended",
				  "Your Containarium account is suspended. Contact your administrator.");
			break;
		case CTM_STATE_PROVISIONING:
			rc = deny(pamh, flags, user, &u, "the container is still being provisioned",
				  "Your Containarium container is still being set up. Try again in a minute.");
			break;
		default:
			/* The reader accepts only known states; if that ever
			 * changes, an unknown state is not a licence to log in. */
			rc = deny(pamh, flags, user, &u, "the account is in an unknown state",
				  "Your Containarium account is not ready. Contact your administrator.");
		}
	}
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "account %s: %s", user ? user : "(no user)", pam_strerror(pamh, rc));
	errno = saved_errno;
	return rc;
}
