/* SPDX-License-Identifier: Apache-2.0 */
/* Follows a growing text file by path, as `tail -F` does, and hands each
 * complete line to a callback.  Survives rotation: when the path names
 * another file (logrotate's rename, or a new file after a delete), the
 * rest of the old file is read first, then the new one from its start; a
 * file cut shorter (logrotate's copytruncate) is read again from its start
 * (as with tail -F, a file cut and refilled beyond the point read between
 * two looks cannot be told from one that grew).
 * Memory is fixed: a line longer than LOG_FOLLOW_LINE_MAX is skipped
 * whole.  The same splitter serves a pipe (log_follow_fd). */
#ifndef CONTAINARIUM_HELPERD_LOG_FOLLOW_H
#define CONTAINARIUM_HELPERD_LOG_FOLLOW_H

#include <stddef.h>
#include <sys/types.h>

#define LOG_FOLLOW_LINE_MAX 4096

typedef void (*log_line_fn)(const char *line, size_t len, void *ctx);

struct log_follow {
	char path[256];
	int fd; /* -1 while the path does not exist */
	dev_t dev;
	ino_t ino;
	off_t off;    /* bytes of fd consumed */
	int skipping; /* inside an over-long line */
	size_t used;
	char buf[LOG_FOLLOW_LINE_MAX];
};

/* Start following path; from its current end when at_end (older lines are
 * not news), else from its start.  A missing file is waited for. */
void log_follow_open(struct log_follow *f, const char *path, int at_end);
/* Read what was appended since the last call.  Lines read, or -1 when the
 * file cannot be read (errno set; the next call tries again). */
int log_follow_poll(struct log_follow *f, log_line_fn fn, void *ctx);
void log_follow_close(struct log_follow *f);

/* Split n more bytes of a stream into lines (for a pipe). */
void log_follow_feed(struct log_follow *f, const char *data, size_t n, log_line_fn fn, void *ctx);

#endif
