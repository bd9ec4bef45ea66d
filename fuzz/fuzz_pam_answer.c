/* libFuzzer target: pam_containarium reading helperd's answer (bytes from a
 * socket, inside sshd).  Property: every prefix of the input gives a
 * consistent state, a complete answer's body lies inside the input, and
 * the message fields it copies out are printable ASCII and terminated. */
#include <stdbool.h>

#include "fuzz.h"
#include "http_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = (char *)fuzz_dup(data, size);
	for (int eof = 0; eof < 2; eof++) {
		struct pam_ctm_answer a = { 0 };
		enum pam_ctm_answer_state st = pam_ctm_parse_answer(buf, size, eof, &a);
		FUZZ_ASSERT(st == PAM_CTM_ANSWER_INCOMPLETE || st == PAM_CTM_ANSWER_COMPLETE ||
			    st == PAM_CTM_ANSWER_MALFORMED);
		if (eof)
			FUZZ_ASSERT(st != PAM_CTM_ANSWER_INCOMPLETE);
		if (st != PAM_CTM_ANSWER_COMPLETE)
			continue;
		FUZZ_ASSERT(a.status >= 100 && a.status <= 999);
		FUZZ_ASSERT(a.body >= buf && a.body + a.body_len <= buf + size);
		char msg[200];
		if (pam_ctm_json_string(a.body, a.body_len, "message", msg, sizeof msg)) {
			size_t n = strnlen(msg, sizeof msg);
			FUZZ_ASSERT(n < sizeof msg);
			for (size_t i = 0; i < n; i++)
				FUZZ_ASSERT(msg[i] >= 0x20 && msg[i] < 0x7f);
		}
	}
	free(buf);
	return 0;
}
