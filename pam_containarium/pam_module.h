/* SPDX-License-Identifier: Apache-2.0 */
/* What every file of the module includes: libpam's module API with the
 * pam_sm_* entry points given default visibility (everything else in the
 * module is hidden: -fvisibility=hidden and exports.map), and the module's
 * syslog helpers. */
#ifndef CONTAINARIUM_PAM_MODULE_H
#define CONTAINARIUM_PAM_MODULE_H

#pragma GCC visibility push(default)
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#pragma GCC visibility pop

#include <syslog.h>

#include "module_args.h"

/* Parse argc/argv into a, logging every bad argument with pam_syslog. */
void pam_ctm_args_load(pam_handle_t *pamh, int argc, const char **argv, struct pam_ctm_args *a);

/* PAM_USER, or NULL when unset or empty.  Never prompts: the modules run
 * after authentication, when the application has set the user. */
const char *pam_ctm_user(pam_handle_t *pamh);

/* A PAM string item, or "" when unset. */
const char *pam_ctm_item(pam_handle_t *pamh, int item);

#endif
