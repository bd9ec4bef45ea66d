/* SPDX-License-Identifier: Apache-2.0 */
/* The module the test stacks after pam_containarium, as the next module of
 * a real stack (pam_unix for a local user).  libpam turns a lone PAM_IGNORE
 * into a failure, so a PAM_IGNORE cannot be seen directly: it shows as this
 * module being reached.  Says so through the conversation and succeeds. */
#include <stddef.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv);
EXPORT int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv);
EXPORT int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv);

static int reached(pam_handle_t *pamh, const char *what)
{
	pam_info(pamh, "pam_next reached: %s", what);
	return PAM_SUCCESS;
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags, (void)argc, (void)argv;
	return reached(pamh, "account");
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags, (void)argc, (void)argv;
	return reached(pamh, "open");
}

int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags, (void)argc, (void)argv;
	return reached(pamh, "close");
}
