/* SPDX-License-Identifier: Apache-2.0 */
/* Is a PAM user one of ours?  Answered from passwd.db alone (no IPC), with
 * one cross-check against the system's own view of the name. */
#ifndef CONTAINARIUM_PAM_USER_LOOKUP_H
#define CONTAINARIUM_PAM_USER_LOOKUP_H

#include <stdint.h>

#include "pam_module.h"

enum pam_ctm_owner {
	PAM_CTM_NOT_OURS = 0, /* not in the snapshot, or the name means someone else here */
	PAM_CTM_OURS,         /* *out is filled */
	PAM_CTM_UNKNOWN,      /* the snapshot is missing, unsafe or corrupt (logged) */
};

struct pam_ctm_user {
	uint32_t uid;
	uint32_t state; /* enum ctm_state */
};

enum pam_ctm_owner pam_ctm_lookup_user(pam_handle_t *pamh, const struct pam_ctm_args *a, const char *user,
				       struct pam_ctm_user *out);

#endif
