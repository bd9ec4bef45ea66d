/* SPDX-License-Identifier: Apache-2.0 */
#include "nss_snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "snapshot_format.h"

static pthread_rwlock_t db_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct ctm_db db;
static bool db_open;
static unsigned long db_mapping; /* bumped on every successful map */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Around fork() the forking thread holds the write lock, so no other thread
 * is half-way through a remap.  The child must not unlock it: it runs under
 * a new thread id, and glibc would take the unlock for a reader's and leave
 * the lock held for ever (every lookup in the child would hang; sshd's
 * AuthorizedKeysCommand child did).  It starts a fresh lock instead; the
 * inherited mapping stays valid. */
static void before_fork(void)
{
	pthread_rwlock_wrlock(&db_lock);
}
static void after_fork_parent(void)
{
	pthread_rwlock_unlock(&db_lock);
}
static void after_fork_child(void)
{
	pthread_rwlock_init(&db_lock, NULL);
}
static void register_atfork(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* The path can be moved for tests and benchmarks, but never for a setuid or
 * setgid program (secure_getenv returns NULL there). */
static const char *db_path(void)
{
	const char *p = secure_getenv("CONTAINARIUM_PASSWD_DB");
	return p && *p == '/' ? p : CTM_DEFAULT_PASSWD_DB;
}

int nss_db_acquire(const struct ctm_db **out)
{
	pthread_once(&atfork_once, register_atfork);
	const char *path = db_path();
	for (int attempt = 0; attempt < 3; attempt++) {
		pthread_rwlock_rdlock(&db_lock);
		/* After a remap (attempt > 0) answer from the mapping we made even
		 * if the file was replaced again meanwhile: it is a whole file. */
		if (db_open && (attempt > 0 || !ctm_db_is_stale(&db, path))) {
			*out = &db;
			return CTM_OK;
		}
		pthread_rwlock_unlock(&db_lock);

		pthread_rwlock_wrlock(&db_lock);
		if (!db_open || ctm_db_is_stale(&db, path)) {
			struct ctm_db fresh;
			int r = ctm_db_open(&fresh, path, CTM_DB_PASSWD);
			if (db_open)
				ctm_db_close(&db);
			db_open = r == CTM_OK;
			if (!db_open) {
				pthread_rwlock_unlock(&db_lock);
				return r;
			}
			db = fresh;
			db_mapping++;
		}
		pthread_rwlock_unlock(&db_lock);
	}
	return CTM_ERR_IO; /* another thread kept failing to map the file */
}

unsigned long nss_db_mapping(void)
{
	return db_mapping;
}

void nss_db_release(void)
{
	pthread_rwlock_unlock(&db_lock);
}

enum nss_status nss_status_from(int status, int *errnop)
{
	switch (status) {
	case CTM_OK: return NSS_STATUS_SUCCESS;
	case CTM_NOTFOUND: return NSS_STATUS_NOTFOUND;
	case CTM_ERR_MISSING: *errnop = ENOENT; return NSS_STATUS_UNAVAIL;
	case CTM_ERR_UNSAFE: *errnop = EPERM; return NSS_STATUS_UNAVAIL;
	default: /* corrupt or unreadable: never "no such user" */ *errnop = EIO; return NSS_STATUS_UNAVAIL;
	}
}
