/* libFuzzer target: the body of POST /v1/containers, through the handler's
 * own validation (create_spec_parse), as the API server hands it over: a
 * JSON object.  Property: an accepted request names a valid user, has at
 * least one canonical key and limits Incus will take; a refused one says
 * why with a stable code. */
#include <json-c/json.h>
#include <pthread.h>

#include "fuzz.h"
#include "lifecycle.h"
#include "sshkey.h"
#include "username.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct helperd d;
	static int ready;
	if (!ready) {
		helperd_config_defaults(&d.cfg);
		pthread_mutex_init(&d.lock, NULL);
		ready = 1;
	}
	char *text = (char *)fuzz_dup(data, size);
	json_tokener *tok = json_tokener_new();
	json_object *o = json_tokener_parse_ex(tok, text, (int)size);
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_object)) {
		struct create_spec s;
		const char *code = NULL;
		char msg[1024] = "";
		if (create_spec_parse(&d, o, &s, &code, msg, sizeof msg) == 0) {
			char m[256];
			unsigned long long b;
			FUZZ_ASSERT(ctm_username_check(s.name, strlen(s.name), m, sizeof m) == CTM_NAME_OK);
			FUZZ_ASSERT(s.key_count >= 1 && s.key_count <= CTM_KEYS_PER_USER_MAX);
			for (size_t i = 0; i < s.key_count; i++) {
				struct ctm_sshkey k;
				FUZZ_ASSERT(ctm_sshkey_parse(s.keys[i], strlen(s.keys[i]), &k, m, sizeof m) == CTM_KEY_OK);
			}
			FUZZ_ASSERT(helperd_parse_size(s.memory, &b) == 0 || strstr(s.memory, "iB") || strstr(s.memory, "kB") ||
				    s.memory[strlen(s.memory) - 1] == 'B');
			FUZZ_ASSERT(atoi(s.cpu) >= 1 && atoi(s.cpu) <= 1024);
			create_spec_free(&s);
		} else {
			FUZZ_ASSERT(code && *code && msg[0]);
		}
	}
	json_object_put(o);
	free(text);
	return 0;
}
