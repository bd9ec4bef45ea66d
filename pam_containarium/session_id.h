/* SPDX-License-Identifier: Apache-2.0 */
/* The id that ties a session's open and close events together: 128 random
 * bits in hex, kept in the PAM handle between pam_open_session and
 * pam_close_session (pam_set_data; freed by pam_end). */
#ifndef CONTAINARIUM_PAM_SESSION_ID_H
#define CONTAINARIUM_PAM_SESSION_ID_H

#include <stdbool.h>

#include "pam_module.h"

#define PAM_CTM_SESSION_ID_LEN 32

/* A fresh id into out (PAM_CTM_SESSION_ID_LEN + 1 bytes).  False only when
 * the kernel gives no randomness at all. */
bool pam_ctm_new_session_id(char *out);

/* Keep id in the handle for the close event.  False when libpam could not. */
bool pam_ctm_store_session_id(pam_handle_t *pamh, const char *id);

/* The id stored by this handle's open, or NULL. */
const char *pam_ctm_stored_session_id(pam_handle_t *pamh);

#endif
