/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: helperd.conf, through the daemon's own loader.
 * Property: whatever is accepted satisfies the rules helperd.conf(5) states. */
#include <stdio.h>

#include "config.h"
#include "fuzz.h"
#include "image_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *text = fuzz_dup(data, size);
	FILE *f = fmemopen(text, size ? size : 1, "r");
	if (!f)
		abort();
	if (!size)
		fgetc(f); /* an empty file: fmemopen cannot open 0 bytes */
	struct helperd_config c;
	char err[512];
	helperd_config_defaults(&c);
	if (helperd_config_load_stream(&c, f, "fuzz.conf", err, sizeof err) == 0) {
		unsigned long long b;
		FUZZ_ASSERT(c.uid_min <= c.uid_max);
		FUZZ_ASSERT(c.gid < c.uid_min || c.gid > c.uid_max);
		FUZZ_ASSERT(!(c.socket_mode & 0007));
		FUZZ_ASSERT(c.listen_socket[0] == '/');
		FUZZ_ASSERT(ctm_size_parse(c.default_disk, &b) == 0 && ctm_size_parse(c.default_memory, &b) == 0);
		FUZZ_ASSERT(c.poll_seconds >= 1 && c.poll_seconds <= 3600);
		/* Remotes: named, unique, an http(s) URL, a known protocol; the
		 * image setting names one of them (or the local store). */
		FUZZ_ASSERT(c.remote_count >= 1 && c.remote_count <= HELPERD_REMOTES_MAX);
		for (size_t i = 0; i < c.remote_count; i++) {
			const struct image_remote *r = &c.remotes[i];
			FUZZ_ASSERT(r->name[0] && !strchr(r->name, ':') && strcmp(r->name, "local") != 0);
			FUZZ_ASSERT(strncmp(r->url, "https://", 8) == 0 || strncmp(r->url, "http://", 7) == 0);
			FUZZ_ASSERT(!strpbrk(r->url, " \t\"'\\"));
			FUZZ_ASSERT(strcmp(r->protocol, "simplestreams") == 0 || strcmp(r->protocol, "incus") == 0);
			FUZZ_ASSERT(!r->certificate[0] || r->certificate[0] == '/');
			for (size_t j = 0; j < i; j++)
				FUZZ_ASSERT(strcmp(c.remotes[j].name, r->name) != 0);
		}
		struct image_ref ref;
		char e2[512];
		FUZZ_ASSERT(image_ref_parse(&c, c.image, &ref, e2, sizeof e2) == 0);
	} else {
		FUZZ_ASSERT(err[0] && strnlen(err, sizeof err) < sizeof err);
	}
	fclose(f);
	free(text);
	return 0;
}
