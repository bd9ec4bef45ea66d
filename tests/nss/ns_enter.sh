#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs as the first process of a private mount + pid namespace (started by
# ns_cmd in nsslib.sh).  Makes glibc see libnss_containarium.so.2 and a test
# nsswitch.conf in this namespace only, then execs the command.
#
#   ns_enter.sh MODE DB COMMAND...
#     MODE env:     CONTAINARIUM_PASSWD_DB=DB
#     MODE default: no env var; DB is bind-mounted at /var/lib/containarium/passwd.db
#                   on a tmpfs (DB "-": the default path has no file)
# Environment: NS_LIBDIR (glibc's lib dir), NS_MODDIR (holds only our module),
# NS_NSSWITCH (test nsswitch.conf), NS_VARLIB (holds an empty containarium/,
# the mount point when the host has no /var/lib/containarium).
set -eu
mode=$1 db=$2
shift 2

# The module is found by dlopen's default search of the lib dir; a read-only
# overlay adds it there without writing to the host's /usr.
mount -t overlay -o "ro,lowerdir=$NS_MODDIR:$NS_LIBDIR" ctm-nss-test "$NS_LIBDIR"
mount --bind "$NS_NSSWITCH" /etc/nsswitch.conf
mount -o remount,bind,ro /etc/nsswitch.conf
mount -t proc proc /proc

case $mode in
env)
	export CONTAINARIUM_PASSWD_DB=$db ;;
default)
	unset CONTAINARIUM_PASSWD_DB
	if [ ! -d /var/lib/containarium ]; then
		mount -t overlay -o "ro,lowerdir=$NS_VARLIB:/var/lib" ctm-nss-test /var/lib
	fi
	mount -t tmpfs -o mode=0755,size=1m ctm-nss-test /var/lib/containarium
	if [ "$db" != - ]; then
		: >/var/lib/containarium/passwd.db
		mount --bind "$db" /var/lib/containarium/passwd.db
	fi ;;
*)
	echo "ns_enter.sh: unknown mode $mode" >&2
	exit 125 ;;
esac
exec "$@"
