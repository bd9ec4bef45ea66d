/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
static int audit_fd = -1;
static dev_t audit_dev;
static ino_t audit_ino;

static int open_log(const char *path, char *err, size_t errlen)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750); /* the usual parent exists; this covers a fresh state */
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot open the audit log %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = fd;
	audit_dev = st.st_dev;
	audit_ino = st.st_ino;
	return 0;
}

int audit_write(const char *path, json_object *event, char *err, size_t errlen)
{
	char when[40];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_object_add(event, "time", json_object_new_string(when));
	const char *text =
		json_object_to_json_string_ext(event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(line, text, len);
	line[len] = '\n';
	int ret = 0;
	pthread_mutex_lock(&audit_lock);
	struct stat st;
	if (audit_fd < 0 || stat(path, &st) != 0 || st.st_dev != audit_dev || st.st_ino != audit_ino)
		ret = open_log(path, err, errlen);
	if (ret == 0) {
		ssize_t w = write(audit_fd, line, len + 1);
		if (w != (ssize_t)(len + 1) || fdatasync(audit_fd) != 0) {
			snprintf(err, errlen, "cannot write the audit log %s: %s", path,
				 w < 0 ? strerror(errno) : "short write");
			ret = -1;
		}
	}
	pthread_mutex_unlock(&audit_lock);
	free(line);
	return ret;
}
