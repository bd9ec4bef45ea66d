#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Renders terraform/gce/scripts/startup.sh.tftpl as Terraform's
templatefile() does, for a template whose only template sequences are
${NAME} and ${chomp(NAME)} (hclcheck.js checks that it has no others; this
refuses any other too, and "$${" escapes, which it does not need).

  render_startup.py TEMPLATE NAME=FILE...   rendered script on stdout

chomp() removes trailing newline characters, as Terraform's does.
"""
import re
import sys

template = open(sys.argv[1], encoding="utf-8").read()
values = {}
for arg in sys.argv[2:]:
    name, _, path = arg.partition("=")
    values[name] = open(path, encoding="utf-8").read()

seq = re.compile(r"[$%]\{[^}]*\}?")


def render(m):
    s = m.group(0)
    mm = re.fullmatch(r"\$\{(chomp\()?([A-Za-z_][A-Za-z0-9_]*)(\))?\}", s)
    if not mm or bool(mm.group(1)) != bool(mm.group(3)) or mm.group(2) not in values:
        sys.exit("render_startup.py: cannot render template sequence %r" % s)
    v = values[mm.group(2)]
    return re.sub(r"[\r\n]+$", "", v) if mm.group(1) else v


if "$${" in template or "%%{" in template:
    sys.exit("render_startup.py: escapes are not supported")
sys.stdout.write(seq.sub(render, template))
