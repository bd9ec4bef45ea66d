#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prints what the module sent in one request (a req.N file written by
fake_helperd.py) in a form the shell test compares exactly:

    POST /v1/sessions HTTP/1.1          the request line
    Host: helperd                       each header line, in order sent
    Content-Length: matches body        (or the two numbers when they differ)
    body {"event": "open", ...}         the body as JSON, keys in sent order,
                                        session_id shown as <hex32> when it is
                                        32 lowercase hex digits
    session_id 0123...                  the id itself, for comparisons

Anything that is not an HTTP request with a JSON object body is printed as
"unparsable: ..." so the comparison fails loudly."""
import json
import re
import sys


def main():
    data = open(sys.argv[1], "rb").read()
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        print("unparsable: no end of headers in %r" % data[:200])
        return
    lines = head.decode("ascii", "replace").split("\r\n")
    print(lines[0])
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            n = int(value.strip())
            print("Content-Length: matches body" if n == len(body)
                  else "Content-Length: %d but the body is %d bytes" % (n, len(body)))
        else:
            print(line)
    try:
        obj = json.loads(body.decode("utf-8"), object_pairs_hook=list)
    except ValueError as e:
        print("unparsable: body %r: %s" % (body[:200], e))
        return
    keys = [k for k, _ in obj]
    if len(set(keys)) != len(keys):
        print("duplicate keys: %s" % keys)
    shown = []
    sid = None
    for k, v in obj:
        if k == "session_id" and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{32}", v):
            sid = v
            v = "<hex32>"
        shown.append((k, v))
    print("body " + json.dumps(dict(shown)))
    print("session_id %s" % sid)


if __name__ == "__main__":
    main()
