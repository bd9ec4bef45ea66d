/* SPDX-License-Identifier: Apache-2.0 */
/* The error sentence: every parser and writer that can refuse something
 * reports it the same way, as a sentence a person can act on, written into
 * the caller's err[errlen] (truncated to fit, always terminated when errlen
 * is not 0).  One helper instead of a private copy in each file.  libc only. */
#ifndef CONTAINARIUM_ERRMSG_H
#define CONTAINARIUM_ERRMSG_H

#include <stddef.h>

/* Format the sentence into err and return -1, so that a refusal is one
 * line: `return ctm_fail(err, errlen, "uid %u is out of range", uid);` */
__attribute__((format(printf, 3, 4))) int ctm_fail(char *err, size_t errlen, const char *fmt, ...);

#endif
