/* SPDX-License-Identifier: Apache-2.0 */
#include "session_id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define DATA_KEY "pam_containarium_session_id"

/* getrandom without GRND_NONBLOCK could block sshd early at boot, before
 * the pool is seeded; /dev/urandom never blocks. */
static bool random_bytes(unsigned char *p, size_t n)
{
	ssize_t r;
	do
		r = getrandom(p, n, GRND_NONBLOCK);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)n)
		return true;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false;
	size_t got = 0;
	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got == n;
}

bool pam_ctm_new_session_id(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[PAM_CTM_SESSION_ID_LEN / 2];
	if (!random_bytes(b, sizeof b))
		return false;
	for (size_t i = 0; i < sizeof b; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[PAM_CTM_SESSION_ID_LEN] = '\0';
	return true;
}

static void free_id(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

bool pam_ctm_store_session_id(pam_handle_t *pamh, const char *id)
{
	char *copy = strdup(id);
	if (!copy)
		return false;
	if (pam_set_data(pamh, DATA_KEY, copy, free_id) != PAM_SUCCESS) {
		free(copy);
		return false;
	}
	return true;
}

const char *pam_ctm_stored_session_id(pam_handle_t *pamh)
{
	const void *v = NULL;
	if (pam_get_data(pamh, DATA_KEY, &v) != PAM_SUCCESS || !v)
		return NULL;
	return v;
}
