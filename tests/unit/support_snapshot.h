/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers for the snapshot and NSS unit tests: a scratch directory
 * removed even when a test fails, file helpers, user fixtures with their
 * expected values, and checks that compare what the reader returns with
 * what the writer was given. */
#ifndef CONTAINARIUM_TEST_SUPPORT_SNAPSHOT_H
#define CONTAINARIUM_TEST_SUPPORT_SNAPSHOT_H

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "snapshot_writer.h"

/* ck_assert_msg without Check's bookkeeping for passing assertions (in fork
 * mode each one writes a record to Check's pipe): for loops that assert
 * hundreds of thousands of times. */
#define CTM_T_CHECK(cond, ...)                                                                                         \
	do {                                                                                                           \
		if (!(cond))                                                                                           \
			ck_abort_msg(__VA_ARGS__);                                                                     \
	} while (0)

/* Scratch directory: create it in an unchecked fixture (it runs in Check's
 * parent process, so the teardown removes it even when a forked test dies
 * on a failed assertion).  base: a directory to create it in, or NULL for
 * $TMPDIR or /tmp. */
void ctm_t_scratch_setup_in(const char *base);
void ctm_t_scratch_setup(void);
void ctm_t_scratch_teardown(void);
/* A new empty directory inside the scratch directory (mode 0755). */
void ctm_t_newdir(char out[PATH_MAX], const char *tag);
void ctm_t_join(char out[PATH_MAX], const char *dir, const char *name);

/* Whole-file helpers; each fails the test on error. */
unsigned char *ctm_t_read_file(const char *path, size_t *len);
void ctm_t_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* Write to a temporary name in the same directory, then rename over path. */
void ctm_t_replace_file(const char *path, const void *data, size_t len, unsigned mode);
/* Number of entries in dir other than . and ..; *tmp counts names
 * containing ".tmp." (the writer's temporary files). */
size_t ctm_t_count_entries(const char *dir, size_t *tmp);

/* One user of a fixture, with the values the reader must return. */
struct ctm_t_user {
	char name[CTM_NAME_MAX + 1];
	char gecos[CTM_FIELD_MAX + 1];
	char home[CTM_FIELD_MAX + 1];
	char shell[CTM_FIELD_MAX + 1];
	const char *keys_in[CTM_KEYS_PER_USER_MAX];    /* as given to the writer */
	const char *keys_canon[CTM_KEYS_PER_USER_MAX]; /* as keys.db must hold them */
};

struct ctm_t_fixture {
	struct ctm_snapshot_spec spec;
	struct ctm_user_spec *users; /* spec.users points here */
	struct ctm_t_user *expect;   /* expect[i] belongs to users[i] */
	size_t n;
};

/* n users with empty expectations, defaults for group and range, and
 * generation 1.  Fill users[i] and expect[i], then ctm_t_fixture_sync(). */
void ctm_t_fixture_init(struct ctm_t_fixture *f, size_t n);
/* Set user i; users[i] points at expect[i]'s copies of the strings.  A NULL
 * gecos, home or shell is passed to the writer as NULL and expected back as
 * the writer's default ("", CTM_DEFAULT_HOME, CTM_DEFAULT_SHELL). */
void ctm_t_user_set(struct ctm_t_fixture *f, size_t i, const char *name, uint32_t uid, uint32_t state,
		    const char *gecos, const char *home, const char *shell);
/* Add a key: in is what the writer gets, canon what keys.db must hold. */
void ctm_t_user_add_key(struct ctm_t_fixture *f, size_t i, const char *in, const char *canon);
void ctm_t_fixture_free(struct ctm_t_fixture *f);

/* A fixture of n users whose every field varies with i: names of 1 to 32
 * characters with digits and hyphens, uids spread over [uid_min, uid_max]
 * (both ends used when n is large enough), gecos empty, long, UTF-8 or with
 * punctuation, default or custom home and shell, every state, 0 to 64 keys
 * of every type given with untidy spacing. */
void ctm_t_fixture_varied(struct ctm_t_fixture *f, size_t n);

/* A small fixture used by the corruption and NSS tests:
 *   alice   70010 active       long gecos, /home/alice, /bin/bash, 1 key
 *   bob     70020 suspended    defaults, no key
 *   carol-2 70030 provisioning gecos "Carol", 2 keys
 * group "containarium-users", gid 70000, range 70001-99999. */
void ctm_t_fixture_small(struct ctm_t_fixture *f);

/* Build both images; fails the test on error. */
void ctm_t_build(const struct ctm_t_fixture *f, struct ctm_image *pw, struct ctm_image *keys);

/* Compare a looked-up user with the expectation (every field); returns
 * false and writes why into why[256] when they differ. */
bool ctm_t_user_matches(const struct ctm_t_fixture *f, size_t i, const struct ctm_user *u, char *why);
bool ctm_t_keys_match(const struct ctm_t_fixture *f, size_t i, const struct ctm_keys *k, char *why);

/* Check every user of f through every lookup of both databases, the order
 * of ctm_passwd_at/ctm_keys_at, absent names and uids, the header values,
 * and ctm_db_verify. */
void ctm_t_check_passwd_db(const struct ctm_t_fixture *f, const struct ctm_db *db, uint64_t gen);
void ctm_t_check_keys_db(const struct ctm_t_fixture *f, const struct ctm_db *db, uint64_t gen);

/* Little-endian field access into an image (for forging corrupt files). */
uint16_t ctm_t_rd16(const unsigned char *img, size_t off);
uint32_t ctm_t_rd32(const unsigned char *img, size_t off);
uint64_t ctm_t_rd64(const unsigned char *img, size_t off);
void ctm_t_wr16(unsigned char *img, size_t off, uint16_t v);
void ctm_t_wr32(unsigned char *img, size_t off, uint32_t v);
void ctm_t_wr64(unsigned char *img, size_t off, uint64_t v);

#endif
