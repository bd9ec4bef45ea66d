/* SPDX-License-Identifier: Apache-2.0 */
#include "allocate.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int subnet_parse(const char *cidr, struct subnet *s)
{
	char addr[32];
	const char *slash = strchr(cidr, '/');
	if (!slash || (size_t)(slash - cidr) >= sizeof addr)
		return -1;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	char *end;
	long bits = strtol(slash + 1, &end, 10);
	struct in_addr in;
	if (*end || bits < 8 || bits > 30 || inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	s->dhcp_count = 0;
	s->leased = NULL;
	s->n_leased = 0;
	s->mask = bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
	s->gateway = ntohl(in.s_addr);
	s->network = s->gateway & s->mask;
	return 0;
}

int subnet_parse_dhcp(const char *ranges, struct subnet *s)
{
	s->dhcp_count = 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", ranges);
	char *save = NULL;
	for (char *r = strtok_r(buf, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(r, '-');
		struct in_addr lo, hi;
		while (*r == ' ')
			r++;
		if (!dash)
			return -1;
		*dash = '\0';
		if (inet_pton(AF_INET, r, &lo) != 1 || inet_pton(AF_INET, dash + 1, &hi) != 1)
			return -1;
		if (s->dhcp_count == 8)
			return -1;
		s->dhcp_lo[s->dhcp_count] = ntohl(lo.s_addr);
		s->dhcp_hi[s->dhcp_count++] = ntohl(hi.s_addr);
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void subnet_set_leased(struct subnet *s, uint32_t *ips, size_t n)
{
	free(s->leased);
	s->leased = ips;
	s->n_leased = ips ? n : 0;
	if (s->n_leased)
		qsort(s->leased, s->n_leased, sizeof *s->leased, cmp_u32);
}

void subnet_free(struct subnet *s)
{
	free(s->leased);
	s->leased = NULL;
	s->n_leased = 0;
}

void subnet_ip_text(uint32_t ip, char *buf, size_t len)
{
	struct in_addr in = { htonl(ip) };
	inet_ntop(AF_INET, &in, buf, (socklen_t)len);
}

static int leased(const struct subnet *s, uint32_t ip)
{
	return s->n_leased && bsearch(&ip, s->leased, s->n_leased, sizeof ip, cmp_u32) != NULL;
}

static int in_dhcp(const struct subnet *s, uint32_t ip)
{
	for (int i = 0; i < s->dhcp_count; i++)
		if (ip >= s->dhcp_lo[i] && ip <= s->dhcp_hi[i])
			return 1;
	return 0;
}

/* Values handed to creates of this helperd that are still running: two
 * creates here must not even start out with the same value (LXD refuses to
 * start a container whose address another NIC holds). */
static pthread_mutex_t reserve_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t reserved_uid[256], reserved_ip[256];
static size_t n_reserved;

static int reserved(const uint32_t *set, uint32_t v)
{
	for (size_t i = 0; i < n_reserved; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

/* Addresses a stale DHCP lease holds, until when (allocate_avoid). */
static struct {
	uint32_t ip;
	time_t until;
} avoided[64];

static int is_avoided(uint32_t ip)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < sizeof avoided / sizeof avoided[0]; i++)
		if (avoided[i].ip == ip && avoided[i].until > now)
			return 1;
	return 0;
}

void allocate_avoid(uint32_t ip)
{
	pthread_mutex_lock(&reserve_lock);
	size_t slot = 0;
	for (size_t i = 0; i < sizeof avoided / sizeof avoided[0]; i++)
		if (avoided[i].until < avoided[slot].until)
			slot = i; /* the oldest or an empty one */
	avoided[slot].ip = ip;
	avoided[slot].until = time(NULL) + 3600;
	pthread_mutex_unlock(&reserve_lock);
}

static int in_list(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

int allocate_skip_uid(struct alloc_skip *k, uint32_t uid)
{
	if (k->n_uid == ALLOC_SKIP_MAX)
		return -1;
	k->uid[k->n_uid++] = uid;
	return 0;
}

int allocate_skip_ip(struct alloc_skip *k, uint32_t ip)
{
	if (k->n_ip == ALLOC_SKIP_MAX)
		return -1;
	k->ip[k->n_ip++] = ip;
	return 0;
}

static int uid_used(const struct registry *r, uint32_t uid)
{
	return registry_find_uid(r, uid) != NULL || reserved(reserved_uid, uid);
}

uint32_t allocate_uid(const struct registry *r, uint32_t uid_min, uint32_t uid_max, const struct alloc_skip *skip)
{
	for (uint64_t u = uid_min; u <= uid_max; u++)
		if (!(skip && in_list(skip->uid, skip->n_uid, (uint32_t)u)) && !uid_used(r, (uint32_t)u))
			return (uint32_t)u;
	return 0;
}

uint32_t allocate_ipv4(const struct registry *r, const struct subnet *s, const struct alloc_skip *skip)
{
	uint32_t broadcast = s->network | ~s->mask;
	/* First pass outside the DHCP pool, second pass anywhere. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t ip = s->network + 10; ip < broadcast; ip++) {
			unsigned char b[4] = { (unsigned char)(ip >> 24), (unsigned char)(ip >> 16),
					       (unsigned char)(ip >> 8), (unsigned char)ip };
			if (ip != s->gateway && !(skip && in_list(skip->ip, skip->n_ip, ip)) &&
			    (pass || !in_dhcp(s, ip)) && !leased(s, ip) && !is_avoided(ip) &&
			    !registry_ipv4_used(r, b) && !reserved(reserved_ip, ip))
				return ip;
		}
	return 0;
}

int allocate_pick(const struct registry *r, uint32_t uid_min, uint32_t uid_max, const struct subnet *s,
		  const struct alloc_skip *skip, int need_uid, int need_ip, uint32_t *uid, uint32_t *ip)
{
	pthread_mutex_lock(&reserve_lock);
	uint32_t old_uid = *uid, old_ip = *ip;
	uint32_t nu = need_uid ? allocate_uid(r, uid_min, uid_max, skip) : old_uid;
	uint32_t ni = need_ip ? allocate_ipv4(r, s, skip) : old_ip;
	int ok = nu && ni && n_reserved < 256;
	if (ok) {
		for (size_t i = 0; i < n_reserved; i++)
			if (reserved_uid[i] == old_uid && reserved_ip[i] == old_ip) {
				reserved_uid[i] = nu;
				reserved_ip[i] = ni;
				goto done;
			}
		reserved_uid[n_reserved] = nu;
		reserved_ip[n_reserved++] = ni;
	done:
		*uid = nu;
		*ip = ni;
	}
	pthread_mutex_unlock(&reserve_lock);
	return ok ? 0 : -1;
}

void allocate_release(uint32_t uid, uint32_t ip)
{
	pthread_mutex_lock(&reserve_lock);
	for (size_t i = 0; i < n_reserved; i++)
		if (reserved_uid[i] == uid && reserved_ip[i] == ip) {
			reserved_uid[i] = reserved_uid[--n_reserved];
			reserved_ip[i] = reserved_ip[n_reserved];
			break;
		}
	pthread_mutex_unlock(&reserve_lock);
}

/* Seconds and nanoseconds of "2026-11-23T11:35:22.1234Z" as one comparable
 * string: the part before the fraction, then the fraction padded to 9. */
static void normalise(const char *t, char out[64])
{
	const char *dot = strchr(t, '.');
	size_t head = dot ? (size_t)(dot - t) : strcspn(t, "Z+");
	if (head > 40)
		head = 40;
	char frac[10] = "000000000";
	if (dot)
		for (int i = 0; i < 9 && dot[1 + i] >= '0' && dot[1 + i] <= '9'; i++)
			frac[i] = dot[1 + i];
	snprintf(out, 64, "%.*s.%s", (int)head, t, frac);
}

int rfc3339_cmp(const char *a, const char *b)
{
	char x[64], y[64];
	normalise(a, x);
	normalise(b, y);
	return strcmp(x, y);
}
