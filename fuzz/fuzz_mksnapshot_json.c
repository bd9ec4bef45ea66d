/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the JSON containarium-mksnapshot builds snapshots from,
 * through the command's own mapping (mksnapshot/snapshot_json.c) and
 * ctm_snapshot_build.
 *
 * Property (writer/reader agreement): whatever the writer accepts, the
 * reader accepts and reads back unchanged.  When the build succeeds, both
 * images open with ctm_db_from_memory, pass ctm_db_verify, carry the
 * generation, group, gid and uid range asked for, hold exactly the users
 * given, and each user reads back by name and by uid with the fields given
 * (defaults filled in), and with key lines equal, in order, to the canonical
 * form (ctm_sshkey_format) of the keys given.  A failed build must leave
 * both images empty and explain itself in err. */
#include <stdbool.h>

#include "fuzz.h"
#include "snapshot_json.h"
#include "snapshot_format.h"
#include "snapshot_reader.h"
#include "snapshot_writer.h"
#include "sshkey.h"

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static void check_user(const struct ctm_db *pw, const struct ctm_db *kd, const struct ctm_user_spec *s)
{
	struct ctm_user u, w;
	FUZZ_ASSERT(ctm_passwd_by_name(pw, s->name, &u) == CTM_OK);
	FUZZ_ASSERT(streq(u.name, s->name) && u.uid == s->uid && u.state == s->state && u.gid == pw->gid);
	FUZZ_ASSERT(streq(u.gecos, s->gecos ? s->gecos : ""));
	FUZZ_ASSERT(streq(u.home, s->home ? s->home : CTM_DEFAULT_HOME));
	FUZZ_ASSERT(streq(u.shell, s->shell ? s->shell : CTM_DEFAULT_SHELL));
	FUZZ_ASSERT(ctm_passwd_by_uid(pw, s->uid, &w) == CTM_OK && w.name == u.name);

	struct ctm_keys k;
	FUZZ_ASSERT(ctm_keys_by_name(kd, s->name, &k) == CTM_OK);
	FUZZ_ASSERT(streq(k.name, s->name) && k.uid == s->uid && k.state == s->state);
	FUZZ_ASSERT(memcmp(k.ipv4, s->ipv4, 4) == 0 && k.key_count == s->key_count);
	const char *line = ctm_keys_next(&k, NULL);
	for (size_t i = 0; i < s->key_count; i++, line = ctm_keys_next(&k, line)) {
		struct ctm_sshkey key;
		FUZZ_ASSERT(line != NULL);
		FUZZ_ASSERT(ctm_sshkey_parse(s->keys[i], strlen(s->keys[i]), &key, NULL, 0) == CTM_KEY_OK);
		size_t need = ctm_sshkey_format(&key, NULL, 0);
		char *canon = malloc(need + 1);
		FUZZ_ASSERT(canon && ctm_sshkey_format(&key, canon, need + 1) == need);
		FUZZ_ASSERT(streq(line, canon));
		free(canon);
	}
	FUZZ_ASSERT(line == NULL);
}

static void check_images(const struct ctm_snapshot_spec *spec, const struct ctm_image *pwi, const struct ctm_image *kdi)
{
	/* Exact-size copies, so a reader overrun shows up as one. */
	unsigned char *pwb = fuzz_dup(pwi->data, pwi->size), *kdb = fuzz_dup(kdi->data, kdi->size);
	struct ctm_db pw, kd;
	FUZZ_ASSERT(ctm_db_from_memory(&pw, pwb, pwi->size, CTM_DB_PASSWD) == CTM_OK);
	FUZZ_ASSERT(ctm_db_from_memory(&kd, kdb, kdi->size, CTM_DB_KEYS) == CTM_OK);
	FUZZ_ASSERT(ctm_db_verify(&pw) == CTM_OK);
	FUZZ_ASSERT(ctm_db_verify(&kd) == CTM_OK);
	FUZZ_ASSERT(pw.generation == spec->generation && kd.generation == spec->generation);
	FUZZ_ASSERT(pw.count == spec->user_count && kd.count == spec->user_count);
	FUZZ_ASSERT(streq(pw.group_name, spec->group_name ? spec->group_name : CTM_DEFAULT_GROUP_NAME));
	FUZZ_ASSERT(pw.gid == spec->gid && pw.uid_min == spec->uid_min && pw.uid_max == spec->uid_max);
	for (size_t i = 0; i < spec->user_count; i++)
		check_user(&pw, &kd, &spec->users[i]);
	ctm_db_close(&pw);
	ctm_db_close(&kd);
	free(pwb);
	free(kdb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)fuzz_dup(data, size);
	struct snapshot_json js;
	char perr[512];
	if (snapshot_json_parse(text, size, &js, perr, sizeof perr) == 0) {
		struct ctm_image pwi, kdi;
		char err[256];
		err[0] = '\0';
		if (ctm_snapshot_build(&js.spec, &pwi, &kdi, err, sizeof err) == 0) {
			check_images(&js.spec, &pwi, &kdi);
			ctm_image_free(&pwi);
			ctm_image_free(&kdi);
		} else {
			FUZZ_ASSERT(err[0] != '\0' && strnlen(err, sizeof err) < sizeof err);
			FUZZ_ASSERT(pwi.data == NULL && kdi.data == NULL && pwi.size == 0 && kdi.size == 0);
		}
		snapshot_json_free(&js);
	}
	free((void *)text);
	return 0;
}
