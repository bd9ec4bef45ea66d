/* SPDX-License-Identifier: Apache-2.0 */
/* passwd database: getpwnam_r, getpwuid_r and enumeration. */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <string.h>

#include "nss_exports.h"
#include "nss_snapshot.h"
#include "snapshot_format.h"

/* Copy u into pw, with every string in buffer.  The size is computed first so
 * that a short buffer is reported (ERANGE) before a byte is written. */
static enum nss_status fill_passwd(const struct ctm_user *u, struct passwd *pw, char *buffer, size_t buflen,
				   int *errnop)
{
	size_t need = u->name_len + 1 + 2 + u->gecos_len + 1 + u->home_len + 1 + u->shell_len + 1;
	if (buflen < need) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	char *p = buffer;
	pw->pw_name = p;
	p = mempcpy(p, u->name, u->name_len + 1);
	/* "*", not "x": there is no shadow entry, and pam_unix's account
	 * check fails for "x" without one. */
	pw->pw_passwd = p;
	p = mempcpy(p, "*", 2);
	pw->pw_gecos = p;
	p = mempcpy(p, u->gecos, u->gecos_len + 1);
	pw->pw_dir = p;
	p = mempcpy(p, u->home, u->home_len + 1);
	pw->pw_shell = p;
	memcpy(p, u->shell, u->shell_len + 1);
	pw->pw_uid = u->uid;
	pw->pw_gid = u->gid;
	return NSS_STATUS_SUCCESS;
}

typedef int (*lookup_fn)(const struct ctm_db *db, const void *key, struct ctm_user *u);

static int by_name(const struct ctm_db *db, const void *key, struct ctm_user *u)
{
	return ctm_passwd_by_name(db, key, u);
}

static int by_uid(const struct ctm_db *db, const void *key, struct ctm_user *u)
{
	return ctm_passwd_by_uid(db, *(const uid_t *)key, u);
}

static enum nss_status lookup(lookup_fn fn, const void *key, struct passwd *pw, char *buffer, size_t buflen,
			      int *errnop)
{
	int saved = errno;
	const struct ctm_db *db;
	int r = nss_db_acquire(&db);
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	struct ctm_user u;
	r = fn(db, key, &u);
	enum nss_status s = r == CTM_OK ? fill_passwd(&u, pw, buffer, buflen, errnop) : nss_status_from(r, errnop);
	nss_db_release();
	if (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND)
		errno = saved;
	return s;
}

enum nss_status _nss_containarium_getpwnam_r(const char *name, struct passwd *pw, char *buffer, size_t buflen,
					     int *errnop)
{
	return lookup(by_name, name, pw, buffer, buflen, errnop);
}

enum nss_status _nss_containarium_getpwuid_r(uid_t uid, struct passwd *pw, char *buffer, size_t buflen, int *errnop)
{
	return lookup(by_uid, &uid, pw, buffer, buflen, errnop);
}

/* Enumeration state is per thread, so two threads enumerating do not steal
 * each other's entries.  If the snapshot is replaced mid-enumeration, we go
 * on after the last name returned, in the new snapshot: no name twice. */
static __thread struct {
	unsigned long mapping; /* nss_db_mapping() checked; 0: none yet in this pass */
	uint32_t next;
	char last[CTM_NAME_MAX + 1];
} pwent;

enum nss_status _nss_containarium_setpwent(int stayopen)
{
	(void)stayopen;
	memset(&pwent, 0, sizeof pwent);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_containarium_endpwent(void)
{
	memset(&pwent, 0, sizeof pwent);
	return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_containarium_getpwent_r(struct passwd *pw, char *buffer, size_t buflen, int *errnop)
{
	int saved = errno;
	const struct ctm_db *db;
	int r = nss_db_acquire(&db);
	if (r != CTM_OK)
		return nss_status_from(r, errnop);
	if (pwent.mapping != nss_db_mapping()) {
		/* First entry of a pass, or a new snapshot: check every byte once. */
		r = ctm_db_check_data(db);
		if (r == CTM_OK && pwent.last[0])
			r = ctm_passwd_seek_after(db, pwent.last, &pwent.next);
		if (r != CTM_OK) {
			nss_db_release();
			return nss_status_from(r, errnop);
		}
		pwent.mapping = nss_db_mapping();
	}
	struct ctm_user u;
	r = ctm_passwd_at(db, pwent.next, &u);
	enum nss_status s = r == CTM_OK ? fill_passwd(&u, pw, buffer, buflen, errnop) : nss_status_from(r, errnop);
	if (s == NSS_STATUS_SUCCESS) {
		pwent.next++;
		memcpy(pwent.last, u.name, u.name_len + 1);
	}
	nss_db_release();
	if (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_NOTFOUND)
		errno = saved;
	return s;
}
