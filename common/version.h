/* SPDX-License-Identifier: Apache-2.0 */
/* The version, in one place: debian/changelog's first line is its source,
 * the Makefile turns it into build/gen/containarium_version.h, and
 * version.c is the one file that includes that header, so a version bump
 * rebuilds one object and every program's --version prints it the same
 * way.  libc only. */
#ifndef CONTAINARIUM_VERSION_API_H
#define CONTAINARIUM_VERSION_API_H

/* "0.1.0": the version without epoch or Debian revision. */
const char *ctm_version(void);

/* --version: "PROGRAM VERSION\n" on stdout.  Returns 0, the exit code. */
int ctm_print_version(const char *program);

#endif
