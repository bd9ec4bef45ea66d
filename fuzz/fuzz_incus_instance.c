/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: what Incus answers for an instance (or a list of them,
 * as GET /1.0/instances?recursion=1 does), read into accounts.  Instances
 * are outside input: anyone with Incus access can set user.* keys.
 * Property: an accepted account has a valid name, uid and canonical keys,
 * and survives account_to_json; whatever its eth0 holds, bringing it to
 * the isolation policy (nic_device_apply, as reconcile does) leaves
 * exactly the policy's options and every other key as it was. */
#include <json-c/json.h>

#include "account.h"
#include "fuzz.h"
#include "nic_policy.h"
#include "sshkey.h"
#include "username.h"

static void one(json_object *inst)
{
	struct account a;
	char why[512], msg[256];
	int r = account_from_instance(inst, &a, why, sizeof why);
	if (r < 0)
		FUZZ_ASSERT(why[0] != '\0');
	if (r <= 0)
		return;
	FUZZ_ASSERT(ctm_username_check(a.name, strlen(a.name), msg, sizeof msg) == CTM_NAME_OK);
	FUZZ_ASSERT(a.uid != 0 && a.state >= CTM_STATE_MIN && a.state <= CTM_STATE_MAX);
	FUZZ_ASSERT(a.key_count <= CTM_KEYS_PER_USER_MAX);
	for (size_t i = 0; i < a.key_count; i++) {
		struct ctm_sshkey k;
		char canon[CTM_KEY_LINE_MAX + 1];
		FUZZ_ASSERT(ctm_sshkey_parse(a.keys[i], strlen(a.keys[i]), &k, msg, sizeof msg) == CTM_KEY_OK);
		ctm_sshkey_format(&k, canon, sizeof canon);
		FUZZ_ASSERT(strcmp(canon, a.keys[i]) == 0);
	}
	json_object *j = account_to_json(&a);
	FUZZ_ASSERT(j && json_object_to_json_string(j));
	json_object_put(j);
	FUZZ_ASSERT((a.nic_options & ~0xfu) == 0);
	json_object *devs, *nic;
	if (json_object_object_get_ex(inst, "devices", &devs) && json_object_object_get_ex(devs, "eth0", &nic) &&
	    json_object_is_type(nic, json_type_object)) {
		json_object *copy = NULL;
		FUZZ_ASSERT(json_object_deep_copy(nic, &copy, NULL) == 0);
		for (unsigned wanted = 0x7; wanted <= 0xf; wanted += 8) {
			struct nic_policy p = { .wanted = wanted, .supported = 0xf, .server = "incus" };
			unsigned have = nic_options_of(copy), want = nic_policy_target(&p, have);
			FUZZ_ASSERT(nic_device_apply(copy, &p) == (have ^ want));
			FUZZ_ASSERT(nic_options_of(copy) == want);
			json_object_object_foreach(nic, key, val)
			{
				json_object *v2;
				if (strncmp(key, "security.", 9) == 0)
					continue;
				FUZZ_ASSERT(json_object_object_get_ex(copy, key, &v2) && json_object_equal(val, v2));
			}
		}
		json_object_put(copy);
	}
	account_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = (char *)fuzz_dup(data, size);
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)size);
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o) && i < 64; i++)
			one(json_object_array_get_idx(o, i));
	} else if (o) {
		one(o);
	}
	json_object_put(o);
	free(text);
	return 0;
}
