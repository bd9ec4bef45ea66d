#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A stand-in for helperd's session endpoint, for tests/pam/test_pam_session.sh.

It exists because the real helperd cannot, on demand, hang without
answering, send garbage, cut an answer short, or fill its listen backlog,
and the module's behaviour in exactly those cases is what the tests check.
It speaks only the part of HTTP the module uses.

    fake_helperd.py SOCKET DIR MODE [ARGS...]

Records, in DIR: "ready" once listening; one line per accepted connection
in "connections"; the exact bytes of the N-th request in "req.N".

MODE:
  respond STATUS DELAY_MS BODY   read the request, wait, answer, close
  hang                           read the request, never answer (until the
                                 client closes)
  garbage                        read the request, answer with non-HTTP bytes
  partial                        answer headers and half the body, then hang
  close                          accept and close at once, reading nothing
  backlog                        never accept; fill the listen backlog so a
                                 further connect gets EAGAIN
Exits after 120 s whatever happens, so a broken test cannot leave it behind.
"""
import os
import signal
import socket
import sys
import threading
import time

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error",
           503: "Service Unavailable"}


def read_request(conn):
    """Headers, then Content-Length bytes of body; at most 5 s, 64 KiB."""
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                break
            body += chunk
            data += chunk
    except (socket.timeout, ValueError):
        pass
    return data


def wait_for_close(conn, limit=60):
    conn.settimeout(limit)
    try:
        while conn.recv(4096):
            pass
    except (socket.timeout, OSError):
        pass


def answer(status, body):
    reason = REASONS.get(status, "Status")
    return ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n%s" % (status, reason, len(body.encode()), body)).encode()


def serve(conn, n, outdir, mode, args):
    try:
        if mode == "close":
            return
        req = read_request(conn)
        with open(os.path.join(outdir, "req.%d" % n), "wb") as f:
            f.write(req)
        if mode == "respond":
            status, delay_ms, body = int(args[0]), int(args[1]), args[2]
            time.sleep(delay_ms / 1000.0)
            conn.sendall(answer(status, body))
        elif mode == "hang":
            wait_for_close(conn)
        elif mode == "garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n\x00\xff not http at all\r\n")
        elif mode == "partial":
            full = answer(200, '{"recorded":true,"container":"running","ipv4":"10.0.3.15"}')
            conn.sendall(full[:-20])
            wait_for_close(conn)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    path, outdir, mode, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    signal.alarm(120)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(0 if mode == "backlog" else 16)
    fillers = []
    if mode == "backlog":
        # Connect to ourselves until the kernel says the queue is full.
        for _ in range(64):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(path)
            except BlockingIOError:
                c.close()
                break
            fillers.append(c)
    with open(os.path.join(outdir, "ready"), "w") as f:
        f.write("%d\n" % len(fillers))
    if mode == "backlog":
        time.sleep(120)
        return
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        with open(os.path.join(outdir, "connections"), "a") as f:
            f.write("%d\n" % n)
        threading.Thread(target=serve, args=(conn, n, outdir, mode, args), daemon=True).start()


if __name__ == "__main__":
    main()
