/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON description of a snapshot (containarium-mksnapshot(8), INPUT)
 * mapped to a struct ctm_snapshot_spec for the writer.  Kept apart from
 * main.c so that the fuzzer (fuzz/fuzz_mksnapshot_json.c) runs this very
 * code. */
#ifndef CONTAINARIUM_SNAPSHOT_JSON_H
#define CONTAINARIUM_SNAPSHOT_JSON_H

#include <json-c/json.h>
#include <stddef.h>

#include "snapshot_writer.h"

struct snapshot_json {
	struct ctm_snapshot_spec spec; /* strings point into root */
	json_object *root;
	struct ctm_user_spec *users;
	const char **keys;
};

/* Parse text[0..len) and map it.  0 on success (free with
 * snapshot_json_free); -1 with err saying what is wrong and where. */
int snapshot_json_parse(const char *text, size_t len, struct snapshot_json *out, char *err, size_t errlen);
void snapshot_json_free(struct snapshot_json *sj);

/* State names used in the JSON. */
const char *snapshot_json_state_name(uint32_t state);

#endif
