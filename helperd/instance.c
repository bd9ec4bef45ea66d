/* SPDX-License-Identifier: Apache-2.0 */
#include "instance.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "deadline.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

enum incus_status instance_set_state(struct incus_client *c, const char *name, const char *action, int force,
				     int timeout_s, char *err, size_t errlen)
{
	char path[256];
	snprintf(path, sizeof path, "/1.0/instances/%s/state", name);
	json_object *body = json_object_new_object();
	json_object_object_add(body, "action", json_object_new_string(action));
	json_object_object_add(body, "timeout", json_object_new_int(timeout_s));
	json_object_object_add(body, "force", json_object_new_boolean(force));
	enum incus_status s = incus_call(c, "PUT", path, body, NULL, timeout_s + 30, NULL, err, errlen);
	json_object_put(body);
	return s;
}

enum incus_status instance_state(struct incus_client *c, const char *name, json_object **state, char *err,
				 size_t errlen)
{
	char path[256];
	snprintf(path, sizeof path, "/1.0/instances/%s/state", name);
	return incus_get(c, path, state, NULL, err, errlen);
}

/* Whether state's network.eth0 has the IPv4 address want (1), only other
 * IPv4 addresses (-1, the first one in *other), or none yet (0). */
static int has_ipv4(json_object *state, uint32_t want, uint32_t *other)
{
	json_object *net, *eth, *addrs;
	if (!json_object_object_get_ex(state, "network", &net) || !json_object_is_type(net, json_type_object) ||
	    !json_object_object_get_ex(net, "eth0", &eth) || !json_object_object_get_ex(eth, "addresses", &addrs) ||
	    !json_object_is_type(addrs, json_type_array))
		return 0;
	int found = 0;
	for (size_t i = 0; i < json_object_array_length(addrs); i++) {
		json_object *a = json_object_array_get_idx(addrs, i), *fam, *addr;
		struct in_addr in;
		if (json_object_object_get_ex(a, "family", &fam) && strcmp(json_object_get_string(fam), "inet") == 0 &&
		    json_object_object_get_ex(a, "address", &addr) &&
		    inet_pton(AF_INET, json_object_get_string(addr), &in) == 1) {
			if (ntohl(in.s_addr) == want)
				return 1;
			if ((ntohl(in.s_addr) >> 16) == 0xa9fe)
				continue; /* 169.254/16 link-local: not from DHCP */
			if (!found)
				*other = ntohl(in.s_addr);
			found = -1;
		}
	}
	return found;
}

/* One TCP connect to ipv4:port within ms milliseconds: 1 when it was
 * accepted, -1 when it was refused (a host with that address answered with
 * a reset: the address is up, nothing listens yet), 0 otherwise (no answer:
 * the address is not there yet, or not reachable from here). */
static int tcp_probe(uint32_t ipv4, int port, int ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr = { htonl(ipv4) } };
	int r = 0, e = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		r = 1;
	} else if (errno == ECONNREFUSED) {
		r = -1;
	} else if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		socklen_t len = sizeof e;
		if (poll(&p, 1, ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0)
			r = e == 0 ? 1 : e == ECONNREFUSED ? -1 : 0;
	}
	close(fd);
	return r;
}

static int tcp_accepts(uint32_t ipv4, int port, int ms)
{
	return tcp_probe(ipv4, port, ms) == 1;
}

bool instance_port_open(uint32_t ipv4, int port, int ms)
{
	return tcp_accepts(ipv4, port, ms);
}

enum incus_status instance_wait_ready(struct incus_client *c, const char *name, uint32_t ipv4, int timeout_s, char *err,
				      size_t errlen)
{
	/* GET .../state is what says the container died or got another
	 * address, but it is costly for the backend (it reads every device's
	 * usage, the processes and the network of the instance), and asking it
	 * often while the container boots slows the boot it waits for.  So it
	 * is asked once a second; in between, a TCP probe of port 22 at the
	 * pinned address, which costs the backend nothing, sees the address
	 * come up within 50 ms: an accept or a reset means a host holds it, and
	 * only this container may (nic_policy.h: ipv4_filtering). */
	double deadline = ctm_now_s() + timeout_s;
	int state_errors = 0;
	for (;;) {
		json_object *st = NULL, *status = NULL;
		enum incus_status s = instance_state(c, name, &st, err, errlen);
		/* A container that dies while Incus 6.0 renders its state makes
		 * that read fail ("Invalid PID": the status said Running, the
		 * init PID was gone by the next line).  The read after says
		 * Stopped, which is the answer worth giving. */
		if (s == INCUS_ERR_SERVER && ++state_errors <= 3 && ctm_now_s() <= deadline) {
			sleep_ms(200);
			continue;
		}
		if (s != INCUS_OK)
			return s;
		char stat[32];
		snprintf(stat, sizeof stat, "%s",
			 json_object_object_get_ex(st, "status", &status) ? json_object_get_string(status) : "");
		uint32_t other = 0;
		int got = strcmp(stat, "Running") == 0 ? has_ipv4(st, ipv4, &other) : 0;
		int dead = strcmp(stat, "Stopped") == 0 || strcmp(stat, "Error") == 0;
		json_object_put(st);
		if (got == 1)
			return INCUS_OK;
		if (got == -1) {
			char want_s[INET_ADDRSTRLEN], got_s[INET_ADDRSTRLEN];
			struct in_addr w = { htonl(ipv4) }, g = { htonl(other) };
			inet_ntop(AF_INET, &w, want_s, sizeof want_s);
			inet_ntop(AF_INET, &g, got_s, sizeof got_s);
			snprintf(err, errlen,
				 "container %s got %s from DHCP instead of its pinned address %s: the "
				 "DHCP server still holds %s for another machine (a lease that outlived its "
				 "container); it frees it when the lease expires",
				 name, got_s, want_s, want_s);
			return INCUS_ERR_ADDRESS_HELD;
		}
		if (dead) {
			snprintf(err, errlen,
				 "container %s stopped while booting (status %s); its console log "
				 "says why: %s info --show-log %s",
				 name, stat, incus_server_kind(c) == INCUS_SERVER_INCUS ? "incus" : "lxc", name);
			return INCUS_ERR_SERVER;
		}
		if (ctm_now_s() > deadline) {
			struct in_addr in = { htonl(ipv4) };
			snprintf(err, errlen, "container %s did not get its address %s within %d s (status %s)", name,
				 inet_ntoa(in), timeout_s, stat);
			return INCUS_ERR_TIMEOUT;
		}
		for (double next = ctm_now_s() + 1.0; ctm_now_s() < next;) {
			if (tcp_probe(ipv4, 22, 50) != 0)
				return INCUS_OK;
			sleep_ms(50);
		}
	}
}

enum incus_status instance_destroy(struct incus_client *c, const char *name, char *err, size_t errlen)
{
	char path[256];
	snprintf(path, sizeof path, "/1.0/instances/%s", name);
	json_object *st = NULL, *status = NULL;
	enum incus_status s = instance_state(c, name, &st, err, errlen);
	if (s == INCUS_ERR_NOT_FOUND)
		return INCUS_OK;
	if (s != INCUS_OK)
		return s;
	int running = json_object_object_get_ex(st, "status", &status) &&
		      strcmp(json_object_get_string(status), "Stopped") != 0;
	json_object_put(st);
	if (running && (s = instance_set_state(c, name, "stop", 1, 30, err, errlen)) != INCUS_OK &&
	    s != INCUS_ERR_NOT_FOUND)
		return s;
	s = incus_call(c, "DELETE", path, NULL, NULL, 120, NULL, err, errlen);
	if (s == INCUS_ERR_REQUEST) {
		/* Started meanwhile (boot.autostart after an Incus restart): stop
		 * it for real and try once more. */
		instance_set_state(c, name, "stop", 1, 30, err, errlen);
		s = incus_call(c, "DELETE", path, NULL, NULL, 120, NULL, err, errlen);
	}
	return s == INCUS_ERR_NOT_FOUND ? INCUS_OK : s;
}

enum incus_status instance_run(struct incus_client *c, const char *name, const char *const *argv, char **out, char *err,
			       size_t errlen)
{
	int code;
	char *errout = NULL;
	enum incus_status s = incus_exec(c, name, argv, 120, &code, out, &errout, err, errlen);
	free(errout);
	return s;
}

enum incus_status instance_wait_port(const char *name, uint32_t ipv4, int port, int timeout_s, char *err, size_t errlen)
{
	double deadline = ctm_now_s() + timeout_s;
	while (!tcp_accepts(ipv4, port, 500)) {
		if (ctm_now_s() > deadline) {
			char ip[INET_ADDRSTRLEN];
			struct in_addr in = { htonl(ipv4) };
			inet_ntop(AF_INET, &in, ip, sizeof ip);
			snprintf(err, errlen,
				 "container %s runs with %s but nothing accepts connections on port %d "
				 "within %d s: is its sshd running?",
				 name, ip, port, timeout_s);
			return INCUS_ERR_TIMEOUT;
		}
		/* A refused connection costs nothing: ask again soon. */
		sleep_ms(20);
	}
	return INCUS_OK;
}

char *instance_authorized_keys_text(char *const *keys, size_t n)
{
	char *text = account_keys_join(keys, n);
	size_t len = text ? strlen(text) : 0;
	char *file = text ? realloc(text, len + 2) : NULL;
	if (!file) {
		free(text);
		return NULL;
	}
	if (len) {
		file[len] = '\n';
		file[len + 1] = '\0';
	}
	return file;
}

enum incus_status instance_push_authorized_keys(struct incus_client *c, const char *name, const char *user,
						char *const *keys, size_t n, unsigned uid, unsigned gid, char *err,
						size_t errlen)
{
	char path[128];
	snprintf(path, sizeof path, "/home/%s/.ssh/authorized_keys", user);
	char *file = instance_authorized_keys_text(keys, n);
	if (!file) {
		snprintf(err, errlen, "out of memory");
		return INCUS_ERR_SERVER;
	}
	enum incus_status st =
		incus_file_push(c, name, path, file, strlen(file), (uid_t)uid, (gid_t)gid, 0600, err, errlen);
	free(file);
	return st;
}
