/* SPDX-License-Identifier: Apache-2.0 */
/* libnss_ctmstub.so.2: a stand-in NSS module for the installer test
 * (tests/host_setup/test_host_setup.sh), in the place libnss_systemd takes
 * on a host with "group: files [SUCCESS=merge] systemd": it answers one
 * group, ctmstaff (gid 4321), with one member of its own, "fromstub", so
 * that glibc's merge with the files entry (member "fromfiles") shows
 * whether the installer kept the merge chain whole.  Every other name or
 * gid is NOTFOUND, as libnss_systemd answers for groups it does not know. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <string.h>

#define STUB_NAME "ctmstaff"
#define STUB_GID 4321
#define STUB_MEMBER "fromstub"

enum nss_status _nss_ctmstub_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop);
enum nss_status _nss_ctmstub_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop);

static enum nss_status fill(struct group *gr, char *buf, size_t len, int *errnop)
{
	/* Layout: the member pointer array first (aligned), then the strings. */
	size_t need = 2 * sizeof(char *) + sizeof STUB_NAME + sizeof "x" + sizeof STUB_MEMBER;
	if (len < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	char **mem = (char **)(void *)buf;
	char *p = buf + 2 * sizeof(char *);
	gr->gr_name = memcpy(p, STUB_NAME, sizeof STUB_NAME);
	p += sizeof STUB_NAME;
	gr->gr_passwd = memcpy(p, "x", sizeof "x");
	p += sizeof "x";
	mem[0] = memcpy(p, STUB_MEMBER, sizeof STUB_MEMBER);
	mem[1] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = STUB_GID;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_ctmstub_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop)
{
	if (strcmp(name, STUB_NAME) != 0)
		return NSS_STATUS_NOTFOUND;
	return fill(gr, buf, len, errnop);
}

enum nss_status _nss_ctmstub_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	if (gid != STUB_GID)
		return NSS_STATUS_NOTFOUND;
	return fill(gr, buf, len, errnop);
}
