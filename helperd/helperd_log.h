/* SPDX-License-Identifier: Apache-2.0 */
/* helperd's log: leveled lines to stderr (journald adds the time) or
 * syslog.  Messages are sentences a person can act on. */
#ifndef CONTAINARIUM_HELPERD_LOG_H
#define CONTAINARIUM_HELPERD_LOG_H

#include <syslog.h>

void log_setup(int level, int use_syslog);
__attribute__((format(printf, 2, 3))) void log_msg(int level, const char *fmt, ...);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
