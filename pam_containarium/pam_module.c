/* SPDX-License-Identifier: Apache-2.0 */
#include "pam_module.h"

#include <stddef.h>

static void complain(void *ctx, const char *arg, const char *why)
{
	pam_syslog((pam_handle_t *)ctx, LOG_ERR, "ignoring argument \"%s\": it %s", arg, why);
}

void pam_ctm_args_load(pam_handle_t *pamh, int argc, const char **argv, struct pam_ctm_args *a)
{
	pam_ctm_parse_args(argc, argv, a, complain, pamh);
}

const char *pam_ctm_user(pam_handle_t *pamh)
{
	const void *v = NULL;
	if (pam_get_item(pamh, PAM_USER, &v) != PAM_SUCCESS || !v || !*(const char *)v)
		return NULL;
	return v;
}

const char *pam_ctm_item(pam_handle_t *pamh, int item)
{
	const void *v = NULL;
	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v)
		return "";
	return v;
}
