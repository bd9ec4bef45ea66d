#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Small network probes for tests/terraform/test_fabric.sh, run inside the
test's network namespaces.

  fabric_probe.py serve ADDR PORT NAME      TCP: answer each connection with
                                            "NAME PEER_ADDRESS\n"
  fabric_probe.py ask ADDR PORT             TCP: print the answer (3 s budget)
  fabric_probe.py listen-udp PORT SECONDS   print each datagram's payload
  fabric_probe.py broadcast PORT TEXT       one UDP broadcast from this namespace
"""
import socket
import sys


def serve(addr, port, name):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, peer = s.accept()
        c.sendall(("%s %s\n" % (name, peer[0])).encode())
        c.close()


def ask(addr, port):
    s = socket.create_connection((addr, int(port)), timeout=3)
    s.settimeout(3)
    data = b""
    while True:
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    sys.stdout.write(data.decode())


def listen_udp(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.settimeout(float(seconds))
    print("ready", flush=True)
    try:
        while True:
            data, _ = s.recvfrom(2048)
            print(data.decode(), flush=True)
    except socket.timeout:
        pass


def broadcast(port, text):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.sendto(text.encode(), ("255.255.255.255", int(port)))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "ask": ask, "listen-udp": listen_udp, "broadcast": broadcast}[cmd](*args)
