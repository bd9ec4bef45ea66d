/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: lines of sshd's log as helperd reads them for failed
 * logins (sshd_auth_line_parse, then sshd_auth_track), text any client
 * shapes through the user name it sends.  Properties: no read outside the
 * input; a recognised line has a port from 1 to 65535, a non-empty address
 * of address characters, NUL-terminated fields, and a user unless it is a
 * bare ending; the tracker never holds more than SSHD_AUTH_TRACK_MAX
 * connections and reports only named ones. */
#include <string.h>

#include "fuzz.h"
#include "sshd_auth_line.h"
#include "sshd_auth_track.h"

static void check_failure(const struct sshd_auth_failure *f, void *ctx)
{
	(void)ctx;
	FUZZ_ASSERT(f->user[0] && memchr(f->user, 0, sizeof f->user));
	FUZZ_ASSERT(f->rhost[0] && memchr(f->rhost, 0, sizeof f->rhost));
	FUZZ_ASSERT(f->reason[0] && memchr(f->reason, 0, sizeof f->reason));
	FUZZ_ASSERT(f->port >= 1 && f->port <= 65535);
}

static struct sshd_auth_track track;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sshd_auth_track_init(&track);
	time_t now = 1;
	/* Each line an exact copy without its newline, so a read past its end
	 * is caught. */
	size_t start = 0;
	while (start <= size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
		unsigned char *line = fuzz_dup(data + start, len);
		struct sshd_auth_line l;
		enum sshd_auth_kind k = sshd_auth_line_parse((const char *)line, len, &l);
		free(line);
		FUZZ_ASSERT(k == l.kind);
		FUZZ_ASSERT(memchr(l.user, 0, sizeof l.user) && memchr(l.rhost, 0, sizeof l.rhost) &&
			    memchr(l.method, 0, sizeof l.method));
		if (k != SSHD_AUTH_NONE) {
			FUZZ_ASSERT(l.port >= 1 && l.port <= 65535 && l.rhost[0]);
			FUZZ_ASSERT(strspn(l.rhost,
					   "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:-%_") ==
				    strlen(l.rhost));
			if (k != SSHD_AUTH_END)
				FUZZ_ASSERT(l.user[0]);
			if (k == SSHD_AUTH_FAILED || k == SSHD_AUTH_ACCEPTED)
				FUZZ_ASSERT(l.method[0] || l.too_many);
		} else {
			FUZZ_ASSERT(!l.user[0] && !l.rhost[0] && !l.port);
		}
		sshd_auth_track_line(&track, &l, now++, check_failure, NULL);
		FUZZ_ASSERT(track.count <= SSHD_AUTH_TRACK_MAX);
		if (!nl)
			break;
		start += len + 1;
	}
	sshd_auth_track_expire(&track, now, 0, check_failure, NULL);
	FUZZ_ASSERT(track.count == 0);
	return 0;
}
