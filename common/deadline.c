/* SPDX-License-Identifier: Apache-2.0 */
/* Deadlines and bounded waits (deadline.h). */
#include "deadline.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

int64_t ctm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double ctm_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ctm_wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - ctm_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

void ctm_pause_ms(int64_t deadline, int ms)
{
	int64_t left = deadline - ctm_now_ms();
	if (left > 0)
		poll(NULL, 0, (int)(left < ms ? left : ms));
}
