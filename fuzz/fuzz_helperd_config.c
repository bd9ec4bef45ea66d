/* libFuzzer target: helperd.conf, through the daemon's own loader.
 * Property: whatever is accepted satisfies the rules helperd.conf(5) states. */
#include <stdio.h>

#include "config.h"
#include "fuzz.h"

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
		FUZZ_ASSERT(helperd_parse_size(c.default_disk, &b) == 0 && helperd_parse_size(c.default_memory, &b) == 0);
		FUZZ_ASSERT(c.poll_seconds >= 1 && c.poll_seconds <= 3600);
	} else {
		FUZZ_ASSERT(err[0] && strnlen(err, sizeof err) < sizeof err);
	}
	fclose(f);
	free(text);
	return 0;
}
