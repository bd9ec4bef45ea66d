/* SPDX-License-Identifier: Apache-2.0 */
#include "log_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void log_follow_feed(struct log_follow *f, const char *data, size_t n, log_line_fn fn, void *ctx)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		if (!f->skipping) {
			if (f->used + take > sizeof f->buf) {
				f->skipping = 1;
				f->used = 0;
			} else {
				memcpy(f->buf + f->used, data, take);
				f->used += take;
			}
		}
		if (!nl)
			return;
		if (!f->skipping)
			fn(f->buf, f->used, ctx);
		f->skipping = 0;
		f->used = 0;
		data = nl + 1;
		n -= take + 1;
	}
}

static void drop(struct log_follow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->off = 0;
	f->used = 0;
	f->skipping = 0;
}

static int attach(struct log_follow *f, int at_end)
{
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	drop(f);
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->off = at_end ? st.st_size : 0;
	return 0;
}

void log_follow_open(struct log_follow *f, const char *path, int at_end)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	snprintf(f->path, sizeof f->path, "%s", path);
	attach(f, at_end);
}

void log_follow_close(struct log_follow *f)
{
	drop(f);
}

/* Read fd from f->off to its end. */
static int drain(struct log_follow *f, log_line_fn fn, void *ctx, int *lines)
{
	char chunk[8192];
	for (;;) {
		ssize_t n = pread(f->fd, chunk, sizeof chunk, f->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		f->off += n;
		for (ssize_t i = 0; i < n; i++)
			*lines += chunk[i] == '\n';
		log_follow_feed(f, chunk, (size_t)n, fn, ctx);
	}
}

int log_follow_poll(struct log_follow *f, log_line_fn fn, void *ctx)
{
	int lines = 0;
	if (f->fd < 0) {
		/* Appeared since: everything in it is new. */
		if (attach(f, 0) != 0)
			return 0;
	}
	struct stat cur, now;
	if (fstat(f->fd, &cur) == 0 && cur.st_size < f->off) {
		/* Truncated in place: start over. */
		f->off = 0;
		f->used = 0;
		f->skipping = 0;
	}
	if (drain(f, fn, ctx, &lines) != 0)
		return -1;
	if (stat(f->path, &now) == 0 && (now.st_dev != f->dev || now.st_ino != f->ino)) {
		/* Rotated: the old file is done (drained above; sshd may
		 * have written to it until now), a partial last line with it. */
		if (attach(f, 0) == 0 && drain(f, fn, ctx, &lines) != 0)
			return -1;
	} else if (stat(f->path, &now) != 0 && errno == ENOENT) {
		drop(f); /* removed: wait for the new one */
	}
	return lines;
}
