/* libFuzzer target: helperd's HTTP/1.1 answer reader (helperd/incus_http.c),
 * which reads whatever the Incus socket sends: status line, headers,
 * Content-Length, chunked or to-close bodies, the head of a websocket
 * upgrade.  The first input byte picks how the bytes arrive (1 to 64 at a
 * time) and whether only the head is read.
 * Properties: no crash or overread; an accepted answer has a status from
 * 100 to 599; the body handed to the sink never exceeds the input; the
 * ETag is NUL-terminated inside its buffer. */
#include <string.h>

#include "fuzz.h"
#include "incus_http.h"

static int count(void *arg, const char *p, size_t len)
{
	(void)p;
	*(size_t *)arg += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 63) + 1;
	bool head_only = data[0] & 64;
	char *text = (char *)fuzz_dup(data + 1, size - 1);
	size_t body = 0;
	struct http_response resp;
	enum http_result r = http_read_answer(text, size - 1, piece, head_only, count, &body, &resp);
	if (r == HTTP_OK)
		FUZZ_ASSERT(resp.status >= 100 && resp.status <= 599);
	FUZZ_ASSERT(body <= size - 1);
	FUZZ_ASSERT(memchr(resp.etag, '\0', sizeof resp.etag) != NULL);
	free(text);
	return 0;
}
