/* SPDX-License-Identifier: Apache-2.0 */
#include "sshd_auth_line.h"

#include <string.h>

/* A slice of the line: the parser never writes to it nor reads past n. */
struct span {
	const char *p;
	size_t n;
};

static int starts(struct span s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n >= l && memcmp(s.p, lit, l) == 0;
}

static int ends(struct span s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n >= l && memcmp(s.p + s.n - l, lit, l) == 0;
}

static struct span skip(struct span s, size_t k)
{
	return (struct span){ s.p + k, s.n - k };
}

/* Advance *s past lit when it starts with it. */
static int eat(struct span *s, const char *lit)
{
	if (!starts(*s, lit))
		return 0;
	*s = skip(*s, strlen(lit));
	return 1;
}

/* The last occurrence of lit in s, or -1. */
static long rfind(struct span s, const char *lit)
{
	size_t l = strlen(lit);
	for (size_t i = s.n; i >= l; i--)
		if (memcmp(s.p + i - l, lit, l) == 0)
			return (long)(i - l);
	return -1;
}

static long find(struct span s, const char *lit, size_t from)
{
	size_t l = strlen(lit);
	for (size_t i = from; i + l <= s.n; i++)
		if (memcmp(s.p + i, lit, l) == 0)
			return (long)i;
	return -1;
}

/* An address as sshd prints it (IPv4, IPv6, or a name with UseDNS). */
static int host_ok(struct span h)
{
	if (h.n == 0 || h.n > SSHD_AUTH_HOST_MAX)
		return 0;
	for (size_t i = 0; i < h.n; i++) {
		char c = h.p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
		      c == ':' || c == '-' || c == '%' || c == '_'))
			return 0;
	}
	return 1;
}

static int port_ok(struct span d, unsigned *port)
{
	if (d.n == 0 || d.n > 5)
		return 0;
	unsigned v = 0;
	for (size_t i = 0; i < d.n; i++) {
		if (d.p[i] < '0' || d.p[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(d.p[i] - '0');
	}
	if (v == 0 || v > 65535)
		return 0;
	*port = v;
	return 1;
}

static void put(char *dst, size_t cap, struct span s)
{
	size_t n = s.n < cap - 1 ? s.n : cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

/* s is exactly "ADDR port P": fill rhost and port. */
static int addr_port(struct span s, struct sshd_auth_line *out)
{
	long at = rfind(s, " port ");
	if (at <= 0)
		return 0;
	struct span host = { s.p, (size_t)at }, digits = skip(s, (size_t)at + 6);
	if (!host_ok(host) || !port_ok(digits, &out->port))
		return 0;
	put(out->rhost, sizeof out->rhost, host);
	return 1;
}

/* s ends with " ADDR port P" after a name: the name (possibly empty) is
 * the rest.  Taken from the right, where only sshd writes. */
static int name_addr_port(struct span s, struct sshd_auth_line *out)
{
	long pt = rfind(s, " port ");
	if (pt <= 0)
		return 0;
	struct span before = { s.p, (size_t)pt };
	long sp = rfind(before, " ");
	struct span host = sp < 0 ? before : skip(before, (size_t)sp + 1);
	struct span name = { s.p, sp < 0 ? 0 : (size_t)sp };
	if (!addr_port(skip(s, sp < 0 ? 0 : (size_t)sp + 1), out) || !host.n)
		return 0;
	if (name.n > SSHD_AUTH_USER_MAX)
		return 0;
	put(out->user, sizeof out->user, name);
	return 1;
}

/* A remote id as sshd_packet's connection id: "authenticating user X ADDR
 * port P", "invalid user X ADDR port P", or "ADDR port P". */
static int remote_id(struct span s, struct sshd_auth_line *out, int *named)
{
	*named = 1;
	if (eat(&s, "authenticating user "))
		return name_addr_port(s, out) && out->user[0];
	if (eat(&s, "invalid user ")) {
		out->invalid_user = 1;
		return name_addr_port(s, out) && out->user[0];
	}
	/* "user X ADDR port P" is an authenticated connection ending. */
	if (starts(s, "user "))
		return 0;
	*named = 0;
	return addr_port(s, out);
}

/* "[invalid user ]X from ADDR port P[ ssh2][: EXTRA]".  A real account's
 * name has no space, so it ends at the first one; an invalid user's name
 * is the client's text, so the first " from " followed by a well-formed
 * tail ends it (EXTRA may hold a certificate's ID, also the client's). */
static int for_from(struct span s, struct sshd_auth_line *out)
{
	if (eat(&s, "invalid user "))
		out->invalid_user = 1;
	for (long at = find(s, " from ", 0); at >= 0; at = find(s, " from ", (size_t)at + 1)) {
		if (!out->invalid_user && memchr(s.p, ' ', (size_t)at))
			return 0;
		struct span tail = skip(s, (size_t)at + 6);
		/* The tail's end: after "ssh2", or the first ':' or space after the port. */
		long pt = find(tail, " port ", 0);
		if (pt <= 0)
			continue;
		size_t e = (size_t)pt + 6;
		while (e < tail.n && tail.p[e] >= '0' && tail.p[e] <= '9')
			e++;
		struct span ap = { tail.p, e };
		struct span rest = skip(tail, e);
		eat(&rest, " ssh2");
		if (rest.n && !starts(rest, ": ") && !starts(rest, " [preauth]"))
			continue;
		if (at == 0 || (size_t)at > SSHD_AUTH_USER_MAX || !addr_port(ap, out))
			continue;
		put(out->user, sizeof out->user, (struct span){ s.p, (size_t)at });
		return 1;
	}
	return 0;
}

/* The message of a syslog line ("... sshd[PID]: MESSAGE"); the line
 * itself when it already starts with one of sshd's messages. */
static int message(struct span line, struct span *msg)
{
	static const char *const firsts[] = { "Failed ",
					      "Accepted ",
					      "Invalid user ",
					      "Connection closed by ",
					      "Connection reset by ",
					      "Disconnected from ",
					      "Disconnecting ",
					      "error: ",
					      "fatal: ",
					      "maximum authentication",
					      "Timeout before" };
	for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++)
		if (starts(line, firsts[i])) {
			*msg = line;
			return 1;
		}
	static const char *const tags[] = { "sshd[", "sshd-session[" };
	for (size_t t = 0; t < 2; t++) {
		long at = find(line, tags[t], 0);
		if (at < 0)
			continue;
		size_t i = (size_t)at + strlen(tags[t]), d = i;
		while (i < line.n && line.p[i] >= '0' && line.p[i] <= '9')
			i++;
		if (i > d && i + 2 <= line.n && line.p[i] == ']' && line.p[i + 1] == ':') {
			*msg = skip(line, i + 2);
			if (starts(*msg, " "))
				*msg = skip(*msg, 1);
			return 1;
		}
	}
	return 0;
}

enum sshd_auth_kind sshd_auth_line_parse(const char *text, size_t len, struct sshd_auth_line *out)
{
	memset(out, 0, sizeof *out);
	struct span line = { text, len }, m;
	while (line.n && (line.p[line.n - 1] == '\n' || line.p[line.n - 1] == '\r'))
		line.n--;
	/* sshd escapes control characters in what it logs (strnvis): a line
	 * with one is not sshd's, and none reaches a name or the audit log. */
	for (size_t i = 0; i < line.n; i++)
		if ((unsigned char)line.p[i] < 0x20 || line.p[i] == 0x7f)
			return SSHD_AUTH_NONE;
	if (!message(line, &m))
		return SSHD_AUTH_NONE;
	if (!eat(&m, "error: "))
		eat(&m, "fatal: ");
	/* Messages of the unprivileged pre-authentication child. */
	if (ends(m, " [preauth]"))
		m.n -= 10;

	enum sshd_auth_kind kind = SSHD_AUTH_NONE;
	int named = 1, failed = starts(m, "Failed ");
	static const char too_many[] = ": Too many authentication failures";
	if (eat(&m, "Failed ") || eat(&m, "Accepted ")) {
		long sp = find(m, " for ", 0);
		if (sp <= 0 || (size_t)sp >= sizeof out->method || memchr(m.p, ' ', (size_t)sp))
			return SSHD_AUTH_NONE;
		put(out->method, sizeof out->method, (struct span){ m.p, (size_t)sp });
		if (for_from(skip(m, (size_t)sp + 5), out))
			kind = failed ? SSHD_AUTH_FAILED : SSHD_AUTH_ACCEPTED;
	} else if (eat(&m, "maximum authentication attempts exceeded for ")) {
		out->too_many = 1;
		if (for_from(m, out))
			kind = SSHD_AUTH_FAILED;
	} else if (eat(&m, "Invalid user ")) {
		/* "Invalid user X from ADDR port P": nothing after the port. */
		long at = rfind(m, " from ");
		out->invalid_user = 1;
		if (at > 0 && (size_t)at <= SSHD_AUTH_USER_MAX && addr_port(skip(m, (size_t)at + 6), out)) {
			put(out->user, sizeof out->user, (struct span){ m.p, (size_t)at });
			kind = SSHD_AUTH_INVALID;
		}
	} else if (eat(&m, "Connection closed by ") || eat(&m, "Connection reset by ") ||
		   eat(&m, "Disconnected from ")) {
		if (remote_id(m, out, &named))
			kind = SSHD_AUTH_END;
	} else if (eat(&m, "Disconnecting ") && ends(m, too_many)) {
		out->too_many = 1;
		m.n -= sizeof too_many - 1;
		if (remote_id(m, out, &named))
			kind = SSHD_AUTH_END;
	} else if (eat(&m, "Timeout before authentication for ")) {
		named = 0;
		if (addr_port(m, out))
			kind = SSHD_AUTH_END;
	}
	if (kind == SSHD_AUTH_NONE || (!named && kind != SSHD_AUTH_END))
		memset(out, 0, sizeof *out);
	else
		out->kind = kind;
	return out->kind;
}
