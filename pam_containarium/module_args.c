/* SPDX-License-Identifier: Apache-2.0 */
#include "module_args.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "snapshot_format.h"

/* "name=value": value when arg starts with name and '=', else NULL. */
static const char *value_of(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static bool parse_ms(const char *v, int *out)
{
	char *end;
	errno = 0;
	long ms = strtol(v, &end, 10);
	if (errno || end == v || *end || ms < PAM_CTM_TIMEOUT_MIN_MS || ms > PAM_CTM_TIMEOUT_MAX_MS)
		return false;
	*out = (int)ms;
	return true;
}

static bool parse_choice(const char *v, const char *yes, const char *no, bool *out)
{
	if (strcmp(v, yes) == 0)
		*out = true;
	else if (strcmp(v, no) == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool set_path(const char *v, size_t max, const char **out)
{
	if (v[0] != '/' || strlen(v) >= max)
		return false;
	*out = v;
	return true;
}

int pam_ctm_parse_args(int argc, const char **argv, struct pam_ctm_args *a, pam_ctm_complain_fn complain, void *ctx)
{
	*a = (struct pam_ctm_args){
		.passwd_db = CTM_DEFAULT_PASSWD_DB,
		.socket_path = PAM_CTM_DEFAULT_SOCKET,
		.timeout_ms = PAM_CTM_DEFAULT_TIMEOUT_MS,
		.wake_timeout_ms = PAM_CTM_DEFAULT_WAKE_TIMEOUT_MS,
		.fail_closed = false,
		.wake = true,
		.debug = false,
	};
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *v, *why = NULL;
		if (!arg)
			continue;
		if (strcmp(arg, "debug") == 0)
			a->debug = true;
		else if ((v = value_of(arg, "passwd_db")))
			why = set_path(v, PATH_MAX, &a->passwd_db) ? NULL : "needs an absolute path";
		else if ((v = value_of(arg, "socket")))
			why = set_path(v, sizeof((struct sockaddr_un *)0)->sun_path, &a->socket_path)
				      ? NULL
				      : "needs an absolute path shorter than 108 bytes";
		else if ((v = value_of(arg, "timeout_ms")))
			why = parse_ms(v, &a->timeout_ms) ? NULL : "needs a number of milliseconds from 1 to 600000";
		else if ((v = value_of(arg, "wake_timeout_ms")))
			why = parse_ms(v, &a->wake_timeout_ms) ? NULL
							       : "needs a number of milliseconds from 1 to 600000";
		else if ((v = value_of(arg, "fail")))
			why = parse_choice(v, "closed", "open", &a->fail_closed) ? NULL : "needs open or closed";
		else if ((v = value_of(arg, "wake")))
			why = parse_choice(v, "yes", "no", &a->wake) ? NULL : "needs yes or no";
		else
			why = "is not an argument of this module";
		if (why) {
			bad++;
			if (complain)
				complain(ctx, arg, why);
		}
	}
	return bad;
}
