/* SPDX-License-Identifier: Apache-2.0 */
/* libnss_ctmfloor.so.2: an NSS module that does nothing but answer.
 *
 * getpwnam_r returns a fixed entry under the asked name, without opening
 * anything.  The benchmarks run it beside ours to show the cost every NSS
 * module loaded with dlopen pays (search, map, relocate) and `files`, which
 * glibc >= 2.34 builds into libc.so.6, does not: no real module can beat it. */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT enum nss_status _nss_ctmfloor_getpwnam_r(const char *name, struct passwd *pw, char *buffer, size_t buflen,
						int *errnop);

enum nss_status _nss_ctmfloor_getpwnam_r(const char *name, struct passwd *pw, char *buffer, size_t buflen, int *errnop)
{
	size_t len = strlen(name);
	if (buflen < len + 1) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	memcpy(buffer, name, len + 1);
	pw->pw_name = buffer;
	pw->pw_passwd = (char *)"*";
	pw->pw_uid = 200000;
	pw->pw_gid = 70000;
	pw->pw_gecos = (char *)"";
	pw->pw_dir = (char *)"/nonexistent";
	pw->pw_shell = (char *)"/usr/sbin/nologin";
	return NSS_STATUS_SUCCESS;
}
