/* SPDX-License-Identifier: Apache-2.0 */
/* Username validation: what helperd, the CLI and the snapshot writer accept
 * as a jump account name.  The rule is stricter than POSIX's portable set
 * because the name also becomes an Incus instance name ("<user>-container"),
 * which must be a valid DNS label: lowercase letters, digits and '-', starting
 * with a letter.  libc only. */
#ifndef CONTAINARIUM_USERNAME_H
#define CONTAINARIUM_USERNAME_H

#include <stddef.h>

enum ctm_name_error {
	CTM_NAME_OK = 0,
	CTM_NAME_EMPTY,
	CTM_NAME_TOO_LONG,
	CTM_NAME_NUL,
	CTM_NAME_UPPERCASE,
	CTM_NAME_BAD_FIRST,
	CTM_NAME_BAD_CHAR,
	CTM_NAME_TRAILING_HYPHEN,
	CTM_NAME_DOUBLE_HYPHEN,
	CTM_NAME_RESERVED,
};

/* Check name[0..len).  On failure, writes a sentence saying what is wrong and
 * what to do into msg (always NUL-terminated when msglen > 0). */
enum ctm_name_error ctm_username_check(const char *name, size_t len, char *msg, size_t msglen);

#endif
