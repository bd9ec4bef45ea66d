/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: ctm_username_check, the gate every jump account name
 * passes (CLI, helperd, snapshot writer).
 *
 * Asserted besides "no crash, no out-of-bounds read":
 *   - an accepted name follows the documented rule (username.h): 1 to
 *     CTM_NAME_MAX bytes, first a-z, then only a-z, 0-9 and '-', no two
 *     hyphens in a row, no hyphen at the end;
 *   - the converse: a name that follows that rule is refused only as
 *     reserved (so the checker is not stricter than it says);
 *   - the result does not depend on the message buffer, and the message is
 *     always NUL-terminated in a small buffer: empty on success, non-empty
 *     on failure. */
#include <stdbool.h>

#include "fuzz.h"
#include "snapshot_format.h"
#include "username.h"

#define MSG_CAP 16

static bool follows_rule(const char *s, size_t len)
{
	if (len < 1 || len > CTM_NAME_MAX || !(s[0] >= 'a' && s[0] <= 'z') || s[len - 1] == '-')
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && s[i - 1] == '-')
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name = (const char *)fuzz_dup(data, size);
	char *msg = malloc(MSG_CAP);
	FUZZ_ASSERT(msg);
	memset(msg, 'X', MSG_CAP);
	enum ctm_name_error r = ctm_username_check(name, size, msg, MSG_CAP);
	FUZZ_ASSERT(strnlen(msg, MSG_CAP) < MSG_CAP);
	FUZZ_ASSERT(ctm_username_check(name, size, NULL, 0) == r);
	bool rule = follows_rule(name, size);
	if (r == CTM_NAME_OK) {
		FUZZ_ASSERT(rule);
		FUZZ_ASSERT(msg[0] == '\0');
	} else {
		FUZZ_ASSERT(r > CTM_NAME_OK && r <= CTM_NAME_RESERVED && msg[0] != '\0');
		FUZZ_ASSERT(!rule || r == CTM_NAME_RESERVED);
	}
	free(msg);
	free((void *)name);
	return 0;
}
