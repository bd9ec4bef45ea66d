/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the body of POST /v1/containers, through the handler's
 * own validation (create_spec_parse), as the API server hands it over: a
 * JSON object.  Properties: an accepted request names a valid user; has 1
 * to CTM_KEYS_PER_USER_MAX keys, each already canonical (parsing and
 * formatting it again gives the same line) and none twice; a cpu count of
 * 1..1024 written as plain digits; memory of at least 64MiB and a disk of
 * at least 512MiB, both written in a unit Incus takes.  A refused one says
 * why: a code of lowercase words and a sentence. */
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lifecycle.h"
#include "sshkey.h"
#include "username.h"

/* A size as Incus writes it ("4GB", "512MiB", "5kB", "100B") in bytes; -1
 * when it is not one. */
static int incus_size(const char *v, unsigned long long *bytes)
{
	static const struct {
		const char *unit;
		unsigned long long mult;
	} units[] = {
		{ "B", 1 },
		{ "kB", 1000ULL },
		{ "MB", 1000000ULL },
		{ "GB", 1000000000ULL },
		{ "TB", 1000000000000ULL },
		{ "KiB", 1ULL << 10 },
		{ "MiB", 1ULL << 20 },
		{ "GiB", 1ULL << 30 },
		{ "TiB", 1ULL << 40 },
	};
	size_t digits = strspn(v, "0123456789");
	if (digits == 0 || digits > 20 || v[0] == '0')
		return -1;
	unsigned long long n = strtoull(v, NULL, 10);
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(v + digits, units[i].unit) == 0) {
			if (n > ~0ULL / units[i].mult)
				return -1;
			*bytes = n * units[i].mult;
			return 0;
		}
	return -1;
}

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
				char again[CTM_KEY_LINE_MAX + 1];
				FUZZ_ASSERT(ctm_sshkey_parse(s.keys[i], strlen(s.keys[i]), &k, m, sizeof m) ==
					    CTM_KEY_OK);
				ctm_sshkey_format(&k, again, sizeof again);
				FUZZ_ASSERT(strcmp(again, s.keys[i]) == 0);
				for (size_t j = 0; j < i; j++)
					FUZZ_ASSERT(strcmp(s.keys[j], s.keys[i]) != 0);
			}
			FUZZ_ASSERT(incus_size(s.memory, &b) == 0 && b >= (64ULL << 20));
			/* "" only where the pool cannot enforce a quota: not here
			 * (create_spec_parse always sets one). */
			FUZZ_ASSERT(incus_size(s.disk, &b) == 0 && b >= (512ULL << 20));
			FUZZ_ASSERT(s.cpu[0] != '0' && strspn(s.cpu, "0123456789") == strlen(s.cpu) &&
				    atoi(s.cpu) >= 1 && atoi(s.cpu) <= 1024);
			create_spec_free(&s);
		} else {
			FUZZ_ASSERT(code && *code && strspn(code, "abcdefghijklmnopqrstuvwxyz_") == strlen(code));
			FUZZ_ASSERT(strlen(msg) > 10);
		}
	}
	json_object_put(o);
	free(text);
	return 0;
}
