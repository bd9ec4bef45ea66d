/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the one HTTP/1.1 answer parser (common/http_response.c),
 * which reads whatever arrives on a local unix socket: Incus's answers to
 * helperd (helperd/incus_http.c) and helperd's answers to the PAM module
 * inside sshd (pam_containarium/http_answer.c).  The first input byte picks
 * how the rest arrives (1 to 64 bytes at a time) and whether only the head
 * is read; the rest is read twice, once with helperd's limits for Incus and
 * once as the PAM module reads it (with and without the peer closing).
 * Properties: no crash or overread; an accepted Incus answer has a status
 * from 100 to 599, the body handed to the sink never exceeds the input, the
 * ETag is NUL-terminated inside its buffer; the PAM module's state is one of
 * its three, never "incomplete" once the peer closed, a complete answer has
 * a status from 100 to 999 and a body no longer than the input, and the
 * message fields it copies out are printable ASCII and terminated. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "http_answer.h"
#include "http_response.h"

#define HEAD_MAX (64u << 10)

static int count(void *arg, const char *p, size_t len)
{
	(void)p;
	*(size_t *)arg += len;
	return 0;
}

static void as_incus_reads_it(const char *text, size_t len, size_t piece, bool head_only)
{
	static const struct ctm_http_limits incus = { .status_max = 599, .content_length_max = UINT64_MAX };
	static char head[HEAD_MAX + 1];
	struct ctm_http_reader r;
	size_t body = 0;
	ctm_http_reader_init(&r, head, sizeof head, &incus, count, &body);
	int res = ctm_http_read_memory(&r, text, len, piece, head_only);
	if (res == 0)
		FUZZ_ASSERT(r.status >= 100 && r.status <= 599);
	FUZZ_ASSERT(res == 0 || res == -1 || res == -3);
	FUZZ_ASSERT(body <= len);
	FUZZ_ASSERT(memchr(r.etag, '\0', sizeof r.etag) != NULL);
}

static void as_pam_reads_it(const char *buf, size_t size)
{
	static struct pam_ctm_answer a;
	for (int eof = 0; eof < 2; eof++) {
		enum pam_ctm_answer_state st = pam_ctm_parse_answer(buf, size, eof, &a);
		FUZZ_ASSERT(st == PAM_CTM_ANSWER_INCOMPLETE || st == PAM_CTM_ANSWER_COMPLETE ||
			    st == PAM_CTM_ANSWER_MALFORMED);
		if (eof)
			FUZZ_ASSERT(st != PAM_CTM_ANSWER_INCOMPLETE);
		if (st != PAM_CTM_ANSWER_COMPLETE)
			continue;
		FUZZ_ASSERT(a.status >= 100 && a.status <= 999);
		FUZZ_ASSERT(a.body == a.kept && a.body_len <= size && a.body_len <= sizeof a.kept);
		char msg[200];
		if (pam_ctm_json_string(a.body, a.body_len, "message", msg, sizeof msg)) {
			size_t n = strnlen(msg, sizeof msg);
			FUZZ_ASSERT(n < sizeof msg);
			for (size_t i = 0; i < n; i++)
				FUZZ_ASSERT(msg[i] >= 0x20 && msg[i] < 0x7f);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t piece = (size_t)(data[0] & 63) + 1;
	bool head_only = data[0] & 64;
	char *text = (char *)fuzz_dup(data + 1, size - 1);
	as_incus_reads_it(text, size - 1, piece, head_only);
	as_pam_reads_it(text, size - 1);
	free(text);
	return 0;
}
