#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""fake_incus: a FAKE, read-only Incus/LXD REST server holding N containers.

    fake_incus.py --socket PATH --count N [--fixtures DIR] [--subnet CIDR]

This is not LXD.  It exists because a real LXD cannot hold 10,000 containers
on the test machine (about 23 MiB of RAM and a 130 MB root file system
each), and the helperd-rss-10k benchmark needs helperd to read a registry of
that size through its normal Incus client.  It answers what helperd reads:

  GET /1.0                          the captured answer of the test LXD 5.0.2
  GET /1.0/instances?recursion=1    N instance objects
  GET /1.0/instances                their URLs
  GET /1.0/instances/NAME           one of them
  GET /1.0/networks/NAME            the captured bridge, with a subnet big
                                    enough for N pinned addresses
  GET /1.0/events (websocket)       LXD's event stream: silent, as LXD's is
                                    while nothing changes; on SIGUSR1 every
                                    subscriber gets one "instance-updated"
                                    lifecycle event (the benchmark's way of
                                    saying "something changed")

Every instance object is the captured object of a container helperd created
on the test LXD (bench/fake_incus_instance.json, refreshed by
`bench/helperd_bench.sh BUILD --capture`), with only the per-container
values changed: name, user, uid, pinned IPv4 (config, expanded_config,
devices, expanded_devices), the one ed25519 key, and the volatile
identifiers LXD makes per container (uuid, MAC, veth name, times).  So
helperd parses the same bytes per container as from a real LXD.  The users
and keys are the ones bench/helperd_publish.c builds: devNNNNN, uid
70001 + i, 10.64.0.10 + i.

Anything else, and every method but GET, gets LXD's error shape with 404 or
403.  Prints "ready COUNT BYTES" on stdout once it is listening, and one line
per request on stderr.  Python 3 standard library only (Debian's python3).
"""
import argparse
import base64
import copy
import hashlib
import signal
import threading
import http.server
import ipaddress
import json
import os
import socketserver
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
UID_MIN = 70001  # helperd's default uid_min
SUFFIX = "-container"  # helperd's default instance_suffix


def compact(obj):
    """JSON as LXD (Go's encoder) sends it: no spaces, newline at the end."""
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def error_body(code, message):
    return compact({"type": "error", "status": "", "status_code": 0, "operation": "",
                    "error_code": code, "error": message, "metadata": None})


def sync_body(metadata):
    return compact({"type": "sync", "status": "Success", "status_code": 200, "operation": "",
                    "error_code": 0, "error": "", "metadata": metadata})


def key_line(i, name):
    """The same distinct, well-formed ed25519 key as helperd_publish.c."""
    blob = bytearray(b"\0\0\0\x0bssh-ed25519\0\0\0\x20")
    x = (i * 2654435761 + 12345) & 0xFFFFFFFF
    for _ in range(32):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        blob.append(x & 0xFF)
    return "ssh-ed25519 %s %s@bench" % (base64.b64encode(bytes(blob)).decode(), name)


def instance(template, i, first_ip, t0):
    user = "dev%05d" % i
    name = user + SUFFIX
    ip = str(first_ip + i)
    inst = copy.deepcopy(template)
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 - 86400 + i))
    per_container = {
        "user.containarium.user": user,
        "user.containarium.uid": str(UID_MIN + i),
        "user.containarium.ipv4": ip,
        "user.containarium.keys": key_line(i, user),
        "user.containarium.created": created + "Z",
        "volatile.uuid": str(uuid.UUID(int=(0x5EED << 96) | i, version=4)),
        "volatile.cloud-init.instance-id": str(uuid.UUID(int=(0xC10D << 96) | i, version=4)),
        "volatile.eth0.hwaddr": "00:16:3e:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
        "volatile.eth0.host_name": "veth%08x" % (0x10000000 + i),
    }
    for section in ("config", "expanded_config"):
        for k, v in per_container.items():
            if k in inst[section]:
                inst[section][k] = v
    for section in ("devices", "expanded_devices"):
        inst[section]["eth0"]["ipv4.address"] = ip
    inst["name"] = name
    inst["created_at"] = created + ".%09dZ" % (i * 7919 % 10**9)
    inst["last_used_at"] = created + ".%09dZ" % (i * 104729 % 10**9)
    return name, inst


class Store:
    def __init__(self, fixtures, count, subnet):
        def load(name):
            with open(os.path.join(fixtures, "fake_incus_%s.json" % name)) as f:
                return json.load(f)

        server = load("server")
        server["metadata"]["environment"]["server_pid"] = os.getpid()
        self.server = compact(server)

        net = ipaddress.ip_interface(subnet)
        first = net.network.network_address + 10  # where helperd starts pinning
        if first + count >= net.network.broadcast_address:
            sys.exit("fake_incus: %s is too small for %d containers" % (subnet, count))
        network = load("network")
        self.network_name = network["metadata"]["name"]
        network["metadata"]["config"]["ipv4.address"] = subnet
        network["metadata"]["config"]["ipv4.dhcp.ranges"] = "%s-%s" % (net.ip + 1, net.ip + 8)
        self.network = compact(network)

        template = load("instance")
        t0 = time.time()
        parts, urls, self.offsets = [], [], {}
        head = b'{"type":"sync","status":"Success","status_code":200,"operation":"",' \
               b'"error_code":0,"error":"","metadata":['
        pos = len(head)
        for i in range(count):
            name, inst = instance(template, i, first, t0)
            part = json.dumps(inst, separators=(",", ":")).encode()
            if i:
                pos += 1  # the comma
            self.offsets[name] = (pos, pos + len(part))
            pos += len(part)
            parts.append(part)
            urls.append("/1.0/instances/" + name)
        self.instances = head + b",".join(parts) + b"]}\n"
        self.urls = sync_body(urls)

    def answer(self, path):
        base, _, query = path.partition("?")
        if base == "/1.0":
            return 200, self.server
        if base == "/1.0/instances":
            return 200, self.instances if "recursion=1" in query.split("&") else self.urls
        if base.startswith("/1.0/instances/"):
            span = self.offsets.get(base[len("/1.0/instances/"):])
            if span:
                return 200, sync_body(json.loads(self.instances[span[0]:span[1]]))
        if base == "/1.0/networks/" + self.network_name:
            return 200, self.network
        return 404, error_body(404, "not found")


class Events:
    """The websockets of GET /1.0/events subscribers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.socks = []
        self.sent = 0

    def add(self, sock):
        with self.lock:
            self.socks.append(sock)

    def remove(self, sock):
        with self.lock:
            if sock in self.socks:
                self.socks.remove(sock)

    def emit(self, name):
        """One lifecycle event, as LXD 5.0 sends it, to every subscriber."""
        body = json.dumps({"type": "lifecycle", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "metadata": {"action": "instance-updated", "source": "/1.0/instances/" + name,
                                        "context": {}},
                           "location": "none", "project": "default"}, separators=(",", ":")).encode()
        n = len(body)
        head = bytes([0x81, n]) if n < 126 else bytes([0x81, 126, n >> 8, n & 255])
        with self.lock:
            for sock in list(self.socks):
                try:
                    sock.sendall(head + body)
                except OSError:
                    self.socks.remove(sock)
            self.sent += 1
        sys.stderr.write("%.3f EVENT instance-updated %s\n" % (time.time(), name))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a client may expect

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        sys.stderr.write("%.3f %s %s %d %d\n" % (time.time(), self.command, self.path, status, len(body)))

    def do_GET(self):
        if self.path.partition("?")[0] == "/1.0/events" and \
                self.headers.get("Upgrade", "").lower() == "websocket":
            return self.events()
        self.reply(*self.server.store.answer(self.path))

    def events(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        sys.stderr.write("%.3f %s %s 101 0\n" % (time.time(), self.command, self.path))
        sock = self.connection
        self.server.events.add(sock)
        try:
            while sock.recv(4096):  # the client's frames (pongs, close): not read further
                pass
        except OSError:
            pass
        self.server.events.remove(sock)
        self.close_connection = True

    def refuse(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.reply(403, error_body(403, "fake_incus is read-only (a benchmark stand-in, not LXD)"))

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse

    def address_string(self):
        return "unix"  # AF_UNIX peers have no address tuple

    def log_message(self, fmt, *args):
        pass  # reply() logs


class Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--fixtures", default=HERE)
    ap.add_argument("--subnet", default="10.64.0.1/18")
    a = ap.parse_args()
    store = Store(a.fixtures, a.count, a.subnet)
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    srv = Server(a.socket, Handler)
    os.chmod(a.socket, 0o600)
    srv.store = store
    srv.events = Events()
    # SIGUSR1: "something changed": an event for the next instance in turn.
    turn = iter(range(10 ** 9))
    signal.signal(signal.SIGUSR1, lambda *_: srv.events.emit(
        "dev%05d%s" % (next(turn) % max(a.count, 1), SUFFIX)))
    print("ready %d %d" % (a.count, len(store.instances)), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
