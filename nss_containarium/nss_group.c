/* SPDX-License-Identifier: Apache-2.0 */
/* group database: the one shared primary group of all jump users, and
 * initgroups_dyn so that sshd's `Match Group` sees it.
 *
 * The group lists no members: like any primary group in /etc/group, its
 * members are the users whose gid it is.  Listing 100,000 names in gr_mem
 * would make every getgrnam() copy them. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nss_exports.h"
#include "nss_snapshot.h"
#include "snapshot_format.h"

static enum nss_status fill_group(const struct ctm_db *db, struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	size_t pad = (alignof(char *) - (uintptr_t)buffer % alignof(char *)) % alignof(char *);
	size_t name_len = strlen(db->group_name);
	size_t need = pad + sizeof(char *) + name_len + 1 + 2;
	if (buflen < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	char **mem = (char **)(void *)(buffer + pad);
	mem[0] = NULL;
	char *p = buffer + pad + sizeof(char *);
	gr->gr_mem = mem;
	gr->gr_name = p;
	p = mempcpy(p, db->group_name, name_len + 1);
	gr->gr_passwd = p;
	memcpy(p, "*", 2);
	gr->gr_gid = db->gid;
	return NSS_STATUS_SUCCESS;
}

/* Look up the group by name (name != NULL) or gid. */
static enum nss_status lookup(const char *name, gid_t gid, struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	int saved = errno;
	const struct ctm_db *db;
	int r = nss_db_acquire(&db);
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	bool match = name ? strcmp(name, db->group_name) == 0 : gid == db->gid;
	enum nss_status s = match ? fill_group(db, gr, buffer, buflen, errnop) : NSS_STATUS_NOTFOUND;
	nss_db_release();
	if (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND)
		errno = saved;
	return s;
}

enum nss_status _nss_containarium_getgrnam_r(const char *name, struct group *gr, char *buffer, size_t buflen,
					     int *errnop)
{
	return lookup(name, 0, gr, buffer, buflen, errnop);
}

enum nss_status _nss_containarium_getgrgid_r(gid_t gid, struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	return lookup(NULL, gid, gr, buffer, buflen, errnop);
}

/* Per thread: whether this thread's enumeration has returned the group. */
static __thread bool grent_done;

enum nss_status _nss_containarium_setgrent(int stayopen)
{
	(void)stayopen;
	grent_done = false;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_containarium_endgrent(void)
{
	grent_done = false;
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_containarium_getgrent_r(struct group *gr, char *buffer, size_t buflen, int *errnop)
{
	if (grent_done)
		return NSS_STATUS_NOTFOUND;
	int saved = errno;
	const struct ctm_db *db;
	int r = nss_db_acquire(&db);
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	enum nss_status s = fill_group(db, gr, buffer, buflen, errnop);
	nss_db_release();
	if (s == NSS_STATUS_SUCCESS) {
		grent_done = true;
		errno = saved;
	}
	return s;
}

/* Add our group to user's supplementary groups when user is ours.  glibc
 * passes the primary gid as `group` and has already counted it. */
enum nss_status _nss_containarium_initgroups_dyn(const char *user, gid_t group, long int *start, long int *size,
						 gid_t **groupsp, long int limit, int *errnop)
{
	int saved = errno;
	const struct ctm_db *db;
	int r = nss_db_acquire(&db);
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	struct ctm_user u;
	r = ctm_passwd_by_name(db, user, &u);
	gid_t gid = db->gid;
	nss_db_release();
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	if (gid == group)
		goto done;
	for (long i = 0; i < *start; i++)
		if ((*groupsp)[i] == gid)
			goto done;
	if (*start == *size) {
		if (limit > 0 && *size >= limit)
			goto done; /* full: glibc's contract is to stop quietly */
		long newsize = limit > 0 && 2 * *size > limit ? limit : 2 * *size;
		if (newsize <= *size)
			newsize = *size + 1;
		gid_t *g = realloc(*groupsp, (size_t)newsize * sizeof *g);
		if (!g) {
			*errnop = ENOMEM;
			return NSS_STATUS_TRYAGAIN;
		}
		*groupsp = g;
		*size = newsize;
	}
	(*groupsp)[(*start)++] = gid;
done:
	errno = saved;
	return NSS_STATUS_SUCCESS;
}
