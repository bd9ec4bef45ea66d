/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: backup.yaml as read from a backup tarball before it is
 * imported (backup_index_parse), bytes a person hands to restore.
 * Properties: no read outside the input; an accepted file names a
 * Containarium user and uid; every field read is NUL-terminated within
 * its array, and the profile count stays within BACKUP_PROFILES_MAX. */
#include <string.h>

#include "backup_index.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact copy, no NUL after it: the parser must respect len. */
	unsigned char *text = fuzz_dup(data, size);
	struct backup_index bi;
	char msg[256];
	int r = backup_index_parse((const char *)text, size, &bi, msg, sizeof msg);
	FUZZ_ASSERT(bi.n_profiles <= BACKUP_PROFILES_MAX);
	FUZZ_ASSERT(memchr(bi.instance, 0, sizeof bi.instance) && memchr(bi.user, 0, sizeof bi.user) &&
		    memchr(bi.uid, 0, sizeof bi.uid) && memchr(bi.ipv4, 0, sizeof bi.ipv4));
	for (size_t i = 0; i < bi.n_profiles; i++)
		FUZZ_ASSERT(memchr(bi.profiles[i], 0, sizeof bi.profiles[i]));
	if (r == 0)
		FUZZ_ASSERT(strcmp(bi.managed, "true") == 0 && bi.user[0] && bi.uid[0]);
	else
		FUZZ_ASSERT(msg[0]);
	free(text);
	return 0;
}
