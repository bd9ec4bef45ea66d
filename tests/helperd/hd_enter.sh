#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# First process of a private mount + UTS namespace that runs one helperd
# (started by hd_start in hdlib.sh).  Gives it the test's /etc/group (with
# the admin group) and /etc/passwd (with a host user that is not reserved),
# and a host name of its own, then execs the command: helperd keeps this
# process's PID, so the test can signal it directly.
#
#   hd_enter.sh HOSTNAME GROUP_FILE PASSWD_FILE COMMAND...
#
# The host name is what helperd records as the owner of the instances it
# creates (user.containarium.helperd); its restart removes only its own
# half-made instances, so a name per test run keeps it away from other
# runs' creates on the shared LXD.
set -eu
host=$1 group=$2 passwd=$3
shift 3
mount --bind "$group" /etc/group
mount --bind "$passwd" /etc/passwd
mount -o remount,bind,ro /etc/group
mount -o remount,bind,ro /etc/passwd
hostname "$host"
exec "$@"
