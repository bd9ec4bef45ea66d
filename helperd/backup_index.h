/* SPDX-License-Identifier: Apache-2.0 */
/* What a backup tarball says about the user in it, read before it is
 * imported: Incus refuses to import an instance whose profiles do not
 * exist, and here those are the account's uid and address reservations
 * (reservation.h), released when the user was deleted.  So the account's
 * name, uid, address and reservations must be known first.
 *
 * The tarball is what `incus export` (and helperd's delete --backup)
 * writes: gzip (or plain) tar whose backup/container/backup.yaml holds the
 * instance ("container:" with its "config:" and "profiles:").  Only the
 * few scalar keys below are read, from the YAML Incus and LXD write. */
#ifndef CONTAINARIUM_HELPERD_BACKUP_INDEX_H
#define CONTAINARIUM_HELPERD_BACKUP_INDEX_H

#include <stddef.h>

#define BACKUP_PROFILES_MAX 8

struct backup_index {
	char instance[64];
	char user[64], uid[16], ipv4[16], state[16], managed[8];
	char profiles[BACKUP_PROFILES_MAX][64];
	size_t n_profiles;
};

/* Read path's backup.yaml.  0, or -1 with a sentence in msg (not a
 * tarball, no backup.yaml, not a Containarium container). */
int backup_index_read(const char *path, struct backup_index *bi, char *msg, size_t msglen);

/* The same from backup.yaml's text (len bytes): for the fuzz target. */
int backup_index_parse(const char *yaml, size_t len, struct backup_index *bi, char *msg, size_t msglen);

#endif
