/* SPDX-License-Identifier: Apache-2.0 */
#include "helperd_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int max_level = LOG_INFO;
static int to_syslog;

void log_setup(int level, int use_syslog)
{
	max_level = level;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog("containarium-helperd", LOG_PID, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (to_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		/* "<N>" prefixes are read by journald as the priority. */
		char line[2048];
		vsnprintf(line, sizeof line, fmt, ap);
		fprintf(stderr, "<%d>%s\n", level, line);
	}
	va_end(ap);
}
