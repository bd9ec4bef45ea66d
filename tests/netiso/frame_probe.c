/* SPDX-License-Identifier: Apache-2.0 */
/* frame_probe: hand-made Ethernet frames for the tenant isolation test
 * (tests/netiso/test_tenant_isolation.sh).  It runs inside a tenant's
 * container (as root there, as a hostile tenant would) to send frames
 * that claim another tenant's addresses, and on the host to see which
 * of them reached the bridge.
 *
 *   frame_probe garp IFACE SENDER_IP [SENDER_MAC]
 *       one gratuitous ARP (broadcast) saying SENDER_IP is at SENDER_MAC
 *       (default: IFACE's own MAC; a forged one is also the frame's source)
 *   frame_probe udp IFACE SRC_IP DST_IP PORT MARKER [SRC_MAC]
 *       one broadcast IPv4/UDP frame from SRC_IP (and SRC_MAC) whose
 *       payload is MARKER
 *   frame_probe listen IFACE SECONDS
 *       prints "arp SENDER_IP SENDER_MAC" for every ARP frame and
 *       "udp SRC_IP PAYLOAD" for every UDP frame with a printable payload
 *       seen on IFACE, for SECONDS; "ready" once it listens
 *   frame_probe dns SERVER NAME
 *       one DNS query (A, NAME) to SERVER:53; prints "rcode N" when an
 *       answer comes within 3 s, exits 1 otherwise
 *
 * Raw sockets (AF_PACKET) so that nothing in the container's own stack
 * (rp_filter, ARP state, the address list) decides what is sent: only the
 * host's enforcement is being tested.  Exit codes: 0 done, 1 no answer,
 * 2 bad usage or a system call failed. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "frame_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: frame_probe garp IFACE SENDER_IP [SENDER_MAC]\n"
			"       frame_probe udp IFACE SRC_IP DST_IP PORT MARKER [SRC_MAC]\n"
			"       frame_probe listen IFACE SECONDS\n"
			"       frame_probe dns SERVER NAME\n");
	exit(2);
}

static void parse_ip(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "frame_probe: \"%s\" is not an IPv4 address\n", s);
		exit(2);
	}
}

static void parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) {
		fprintf(stderr, "frame_probe: \"%s\" is not a MAC address\n", s);
		exit(2);
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
}

/* A raw socket bound to iface; its index and MAC. */
static int open_raw(const char *iface, int *ifindex, unsigned char mac[6])
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0)
		die("socket(AF_PACKET)");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	if (strlen(iface) >= sizeof ifr.ifr_name) {
		fprintf(stderr, "frame_probe: interface name too long\n");
		exit(2);
	}
	strcpy(ifr.ifr_name, iface);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		die(iface);
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = *ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind");
	return fd;
}

static void send_frame(int fd, int ifindex, const void *frame, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len)
		die("sendto");
}

static void do_garp(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		usage();
	int ifindex;
	unsigned char mac[6], frame[sizeof(struct ether_header) + sizeof(struct ether_arp)] = { 0 };
	int fd = open_raw(argv[2], &ifindex, mac);
	struct in_addr ip;
	parse_ip(argv[3], &ip);
	if (argc == 5)
		parse_mac(argv[4], mac);
	/* Headers are built apart and copied in: the frame buffer has no
	 * alignment to lean on. */
	struct ether_header eh = { .ether_type = htons(ETHERTYPE_ARP) };
	struct ether_arp arp = { 0 };
	memset(eh.ether_dhost, 0xff, 6);
	memcpy(eh.ether_shost, mac, 6);
	arp.arp_hrd = htons(ARPHRD_ETHER);
	arp.arp_pro = htons(ETHERTYPE_IP);
	arp.arp_hln = 6;
	arp.arp_pln = 4;
	arp.arp_op = htons(ARPOP_REQUEST);
	memcpy(arp.arp_sha, mac, 6);
	memcpy(arp.arp_spa, &ip, 4);
	memcpy(arp.arp_tpa, &ip, 4); /* gratuitous: asks for itself */
	memcpy(frame, &eh, sizeof eh);
	memcpy(frame + sizeof eh, &arp, sizeof arp);
	send_frame(fd, ifindex, frame, sizeof frame);
	close(fd);
}

static uint16_t ip_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void do_udp(int argc, char **argv)
{
	if (argc != 7 && argc != 8)
		usage();
	int ifindex;
	unsigned char mac[6], frame[1514] = { 0 };
	int fd = open_raw(argv[2], &ifindex, mac);
	struct in_addr src, dst;
	parse_ip(argv[3], &src);
	parse_ip(argv[4], &dst);
	long port = strtol(argv[5], NULL, 10);
	size_t plen = strlen(argv[6]);
	if (port <= 0 || port > 65535 || plen > 1000)
		usage();
	if (argc == 8)
		parse_mac(argv[7], mac);
	struct ether_header eh = { .ether_type = htons(ETHERTYPE_IP) };
	struct iphdr iph = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };
	struct udphdr uh = { 0 };
	memset(eh.ether_dhost, 0xff, 6);
	memcpy(eh.ether_shost, mac, 6);
	iph.tot_len = htons((uint16_t)(sizeof iph + sizeof uh + plen));
	iph.saddr = src.s_addr;
	iph.daddr = dst.s_addr;
	iph.check = ip_checksum(&iph, sizeof iph);
	uh.source = htons(40000);
	uh.dest = htons((uint16_t)port);
	uh.len = htons((uint16_t)(sizeof uh + plen));
	uh.check = 0; /* optional over IPv4 */
	size_t n = 0;
	memcpy(frame + n, &eh, sizeof eh), n += sizeof eh;
	memcpy(frame + n, &iph, sizeof iph), n += sizeof iph;
	memcpy(frame + n, &uh, sizeof uh), n += sizeof uh;
	memcpy(frame + n, argv[6], plen), n += plen;
	send_frame(fd, ifindex, frame, n);
	close(fd);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_frame(const unsigned char *f, size_t n)
{
	char a[INET_ADDRSTRLEN];
	if (n < sizeof(struct ether_header))
		return;
	struct ether_header eh;
	memcpy(&eh, f, sizeof eh);
	if (ntohs(eh.ether_type) == ETHERTYPE_ARP && n >= sizeof eh + sizeof(struct ether_arp)) {
		struct ether_arp arp;
		memcpy(&arp, f + sizeof eh, sizeof arp);
		inet_ntop(AF_INET, arp.arp_spa, a, sizeof a);
		printf("arp %s %02x:%02x:%02x:%02x:%02x:%02x\n", a, arp.arp_sha[0], arp.arp_sha[1], arp.arp_sha[2],
		       arp.arp_sha[3], arp.arp_sha[4], arp.arp_sha[5]);
	} else if (ntohs(eh.ether_type) == ETHERTYPE_IP && n >= sizeof eh + sizeof(struct iphdr)) {
		struct iphdr iph;
		memcpy(&iph, f + sizeof eh, sizeof iph);
		size_t hl = (size_t)iph.ihl * 4, off = sizeof eh + hl + sizeof(struct udphdr);
		if (iph.protocol != IPPROTO_UDP || hl < sizeof iph || off >= n)
			return;
		for (size_t i = off; i < n; i++)
			if (f[i] < 0x21 || f[i] > 0x7e)
				return;
		inet_ntop(AF_INET, &iph.saddr, a, sizeof a);
		printf("udp %s %.*s\n", a, (int)(n - off), (const char *)f + off);
	}
}

static void do_listen(int argc, char **argv)
{
	if (argc != 4)
		usage();
	int ifindex;
	unsigned char mac[6], f[2048];
	int fd = open_raw(argv[2], &ifindex, mac);
	double end = now_s() + strtod(argv[3], NULL);
	printf("ready\n");
	fflush(stdout);
	for (double left; (left = end - now_s()) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		ssize_t n = recv(fd, f, sizeof f, 0);
		if (n > 0) {
			print_frame(f, (size_t)n);
			fflush(stdout);
		}
	}
	close(fd);
}

static void do_dns(int argc, char **argv)
{
	if (argc != 4)
		usage();
	unsigned char q[512] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 }, r[512];
	size_t n = 12;
	for (const char *label = argv[3]; *label;) {
		size_t l = strcspn(label, ".");
		if (l == 0 || l > 63 || n + l + 6 > sizeof q)
			usage();
		q[n++] = (unsigned char)l;
		memcpy(q + n, label, l);
		n += l;
		label += l + (label[l] == '.');
	}
	q[n++] = 0;
	q[n++] = 0, q[n++] = 1; /* A */
	q[n++] = 0, q[n++] = 1; /* IN */
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(53) };
	parse_ip(argv[2], &to.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket");
	if (sendto(fd, q, n, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)n)
		die("sendto");
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 3000) == 1) {
		ssize_t got = recv(fd, r, sizeof r, 0);
		if (got >= 12 && r[0] == 0x12 && r[1] == 0x34) {
			printf("rcode %d\n", r[3] & 0x0f);
			exit(0);
		}
	}
	fprintf(stderr, "frame_probe: no DNS answer from %s in 3 s\n", argv[2]);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "garp") == 0)
		do_garp(argc, argv);
	else if (strcmp(argv[1], "udp") == 0)
		do_udp(argc, argv);
	else if (strcmp(argv[1], "listen") == 0)
		do_listen(argc, argv);
	else if (strcmp(argv[1], "dns") == 0)
		do_dns(argc, argv);
	else
		usage();
	return 0;
}
