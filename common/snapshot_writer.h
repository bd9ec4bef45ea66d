/* SPDX-License-Identifier: Apache-2.0 */
/* Building and publishing passwd.db and keys.db (format: snapshot_format.h).
 *
 * Validates everything first (names, uids, fields, keys), so a bad entry
 * fails the whole publish with a message naming the entry and the problem,
 * and the files on disk stay as they were.  Publishing writes each file to a
 * temporary file in the same directory, fsyncs it, renames it into place
 * (keys.db first, so a user never appears before their keys) and fsyncs the
 * directory.  Used by helperd and containarium-mksnapshot. */
#ifndef CONTAINARIUM_SNAPSHOT_WRITER_H
#define CONTAINARIUM_SNAPSHOT_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atomic_file.h" /* ctm_write_file_atomic, which the writer's callers also use */

#define CTM_DEFAULT_GROUP_NAME "containarium-users"
/* "/": sshd changes into it silently (with a home that does not exist it
 * prints "Could not chdir to home directory" before nologin's refusal), and
 * pam_mkhomedir has nothing to create.  Jump users have no files there:
 * sshd reads no key file for them (AuthorizedKeysFile none). */
#define CTM_DEFAULT_HOME "/"
#define CTM_DEFAULT_SHELL "/usr/sbin/nologin"
/* Below Debian's SUB_UID_MIN (100000), where /etc/subuid ranges start, and
 * above systemd's dynamic users (61184-65519) and nobody (65534). */
#define CTM_DEFAULT_GID 70000u
#define CTM_DEFAULT_UID_MIN 70001u
#define CTM_DEFAULT_UID_MAX 99999u

struct ctm_user_spec {
	const char *name;
	const char *gecos; /* NULL: "" */
	const char *home;  /* NULL: CTM_DEFAULT_HOME */
	const char *shell; /* NULL: CTM_DEFAULT_SHELL */
	uint32_t uid;
	uint32_t state; /* enum ctm_state */
	unsigned char ipv4[4];
	const char *const *keys; /* key lines as given; validated and canonicalised */
	size_t key_count;
};

struct ctm_snapshot_spec {
	uint64_t generation;    /* 0: one more than the files on disk (publish only) */
	const char *group_name; /* NULL: CTM_DEFAULT_GROUP_NAME */
	uint32_t gid;
	uint32_t uid_min, uid_max;
	const struct ctm_user_spec *users;
	size_t user_count;
};

struct ctm_image {
	unsigned char *data;
	size_t size;
};

/* Build both images in memory.  0 on success; -1 with err filled on bad
 * input or out of memory (nothing to free then). */
int ctm_snapshot_build(const struct ctm_snapshot_spec *spec, struct ctm_image *passwd, struct ctm_image *keys,
		       char *err, size_t errlen);
void ctm_image_free(struct ctm_image *img);

/* The same for users that are already valid and canonical, as a caller
 * that validated them itself has them (helperd: every name passed
 * ctm_username_check and every key line is ctm_sshkey_format's output of
 * ctm_sshkey_parse, when it read them from Incus).  Re-validating them was
 * about half of a build (bench/README.md, publish-10k).  What the file
 * format and its readers rely on is still checked: a name's length and
 * characters (not the reserved list), each key line's length, that it is
 * one line of printable text beginning with a key type ("ssh-", "ecdsa-",
 * "sk-"; the key is not parsed), uids, states, fields, duplicates.  Key
 * lines are stored exactly as given.  Outside input (mksnapshot's JSON)
 * must go through ctm_snapshot_build. */
int ctm_snapshot_build_canonical(const struct ctm_snapshot_spec *spec, struct ctm_image *passwd, struct ctm_image *keys,
				 char *err, size_t errlen);

/* Build and atomically replace both files.  passwd.db gets mode 0644,
 * keys.db mode 0640 with group keys_gid ((gid_t)-1: the caller's group). */
int ctm_snapshot_publish(const struct ctm_snapshot_spec *spec, const char *passwd_path, const char *keys_path,
			 gid_t keys_gid, char *err, size_t errlen);
/* ctm_snapshot_publish with ctm_snapshot_build_canonical's checks. */
int ctm_snapshot_publish_canonical(const struct ctm_snapshot_spec *spec, const char *passwd_path, const char *keys_path,
				   gid_t keys_gid, char *err, size_t errlen);

#endif
