/* SPDX-License-Identifier: Apache-2.0 */
/* The NSS module's one piece of shared state: the mapped passwd.db.
 *
 * Lookups hold a read lock while they copy out of the mapping; a lookup that
 * finds the file replaced (one stat(2) per call) takes the write lock, maps
 * the new file and unmaps the old one.  No lookup allocates or talks to any
 * process.  Fork: the lock is taken around fork() so a child never inherits
 * it held. */
#ifndef CONTAINARIUM_NSS_SNAPSHOT_H
#define CONTAINARIUM_NSS_SNAPSHOT_H

#include <nss.h>

#include "snapshot_reader.h"

/* On CTM_OK, *db is valid until nss_db_release(); otherwise no lock is held
 * and the return value is the reason (missing, corrupt, unsafe, io). */
int nss_db_acquire(const struct ctm_db **db);
void nss_db_release(void);

/* Changes whenever a new file is mapped (call while acquired).  Enumeration
 * compares it, not the generation: a replacement may reuse a generation
 * number (a restored backup, a hand-made snapshot). */
unsigned long nss_db_mapping(void);

/* The NSS status for a failed acquire or lookup, with *errnop set to match. */
enum nss_status nss_status_from(int ctm_status, int *errnop);

#endif
