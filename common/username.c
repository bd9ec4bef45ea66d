/* SPDX-License-Identifier: Apache-2.0 */
#include "username.h"

#include <stdio.h>
#include <string.h>

#include "snapshot_format.h"

/* Names a jump account must never take: system accounts Debian and Ubuntu
 * create, service accounts of the software on a jump host, and names that
 * would confuse an admin reading logs. */
static const char *const reserved[] = {
	"root",
	"daemon",
	"bin",
	"sys",
	"sync",
	"games",
	"man",
	"lp",
	"mail",
	"news",
	"uucp",
	"proxy",
	"www-data",
	"backup",
	"list",
	"irc",
	"gnats",
	"nobody",
	"nogroup",
	"sshd",
	"messagebus",
	"syslog",
	"admin",
	"administrator",
	"operator",
	"adm",
	"wheel",
	"sudo",
	"staff",
	"users",
	"systemd-network",
	"systemd-resolve",
	"systemd-timesync",
	"systemd-journal",
	"systemd-coredump",
	"polkitd",
	"dnsmasq",
	"lxd",
	"incus",
	"incus-admin",
	"lxc",
	"containarium",
	"containarium-users",
	"containarium-keys",
	"ubuntu",
	"debian",
	"google-sudoers",
	"ntp",
	"chrony",
	"_apt",
	"tcpdump",
	"uuidd",
	"avahi",
	"postfix",
	"fail2ban",
	"guest",
	"test",
	"localhost",
};

enum ctm_name_error ctm_username_check(const char *name, size_t len, char *msg, size_t msglen)
{
#define FAIL(code, ...)                                                                                                \
	do {                                                                                                           \
		if (msglen)                                                                                            \
			snprintf(msg, msglen, __VA_ARGS__);                                                            \
		return code;                                                                                           \
	} while (0)
	if (len == 0)
		FAIL(CTM_NAME_EMPTY, "username is empty: give a name such as \"alice\"");
	if (len > CTM_NAME_MAX)
		FAIL(CTM_NAME_TOO_LONG, "username is %zu characters long: use at most %d", len, CTM_NAME_MAX);
	if (memchr(name, '\0', len))
		FAIL(CTM_NAME_NUL, "username contains a NUL byte: use lowercase letters, digits and '-' only");
	/* Quote the name back only when all of it is printable ASCII: error
	 * messages reach terminals, logs and JSON, and a name is checked
	 * left to right, so bytes after the first bad one are unchecked. */
	int quote = 1;
	for (size_t i = 0; i < len; i++)
		quote &= name[i] >= 0x20 && name[i] < 0x7f;
	int qlen = quote ? (int)len : 0;
	const char *q1 = quote ? " \"" : "", *q2 = quote ? "\"" : "";
	unsigned char c0 = (unsigned char)name[0];
	if (c0 >= 'A' && c0 <= 'Z')
		FAIL(CTM_NAME_UPPERCASE,
		     "username%s%.*s%s has an uppercase letter '%c' at position 1: "
		     "use lowercase letters only",
		     q1, qlen, name, q2, c0);
	if (!(c0 >= 'a' && c0 <= 'z')) {
		if (c0 < 0x20 || c0 >= 0x7f)
			FAIL(CTM_NAME_BAD_FIRST,
			     "username starts with the byte 0x%02x: it must start with a "
			     "lowercase letter a-z",
			     c0);
		FAIL(CTM_NAME_BAD_FIRST,
		     "username%s%.*s%s starts with '%c': it must start with a "
		     "lowercase letter a-z",
		     q1, qlen, name, q2, c0);
	}
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-') {
			if (name[i - 1] == '-')
				FAIL(CTM_NAME_DOUBLE_HYPHEN,
				     "username%s%.*s%s has two hyphens in a row at "
				     "position %zu: use single hyphens",
				     q1, qlen, name, q2, i);
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			FAIL(CTM_NAME_UPPERCASE,
			     "username%s%.*s%s has an uppercase letter '%c' at "
			     "position %zu: use lowercase letters only",
			     q1, qlen, name, q2, c, i + 1);
		if (c < 0x20 || c >= 0x7f)
			FAIL(CTM_NAME_BAD_CHAR,
			     "username has the byte 0x%02x at position %zu: use "
			     "lowercase letters, digits and '-' only",
			     c, i + 1);
		FAIL(CTM_NAME_BAD_CHAR,
		     "username%s%.*s%s has '%c' at position %zu: use lowercase "
		     "letters, digits and '-' only (the name is also a container hostname)",
		     q1, qlen, name, q2, c, i + 1);
	}
	if (name[len - 1] == '-')
		FAIL(CTM_NAME_TRAILING_HYPHEN,
		     "username%s%.*s%s ends with '-': end it with a letter "
		     "or digit",
		     q1, qlen, name, q2);
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == len && memcmp(reserved[i], name, len) == 0)
			FAIL(CTM_NAME_RESERVED,
			     "username%s%.*s%s is reserved for the system: choose "
			     "another name",
			     q1, qlen, name, q2);
	if (msglen)
		msg[0] = '\0';
	return CTM_NAME_OK;
#undef FAIL
}
