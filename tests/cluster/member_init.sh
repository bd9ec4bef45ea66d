#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# member_init.sh DIR NAME INSTALL: run by `unshare --mount --net --uts
# --propagation private --fork` (clusterlib.sh cl_member_up); makes this
# process's namespaces a cluster member's host, then holds them (sleeps)
# until it is killed.  In them, the usual paths are the member's own:
#   /sys                   a fresh sysfs (this network namespace's devices),
#                          with the host's cgroup hierarchy moved back
#   /proc                  remounted
#   /run                   a tmpfs (incusd's, sshd's and helperd's sockets)
#   /etc                   DIR/etc, a copy of the host's, for the installer
#   /usr/local             INSTALL (`make install` of the tree), under a
#                          writable layer of the member's own (DIR/usr-upper)
#   /var/lib/incus         DIR/incus (the member's Incus)
#   /var/lib/containarium  DIR/state (helperd's snapshots)
#   /var/log/containarium  DIR/log
# The host name is NAME.  DIR/holder.pid names this process (sleep, once
# everything is in place), and DIR/ready appears then.
set -euo pipefail
dir=$1 name=$2 install=$3
mkdir -p /mnt
mount --move /sys /mnt
mount -t sysfs sysfs /sys
mount --move /mnt/fs/cgroup /sys/fs/cgroup
umount -l /mnt
umount -l /proc
mount -t proc proc /proc
mount -t tmpfs -o mode=0755,nosuid,nodev "ctm-$name-run" /run
mkdir -m 0755 /run/sshd /run/lock
mkdir -p "$dir/incus" "$dir/state" "$dir/log" /var/lib/incus
# DIR through a mount of its own first: DIR may lie under /var/lib, which
# gets a read-only overlay below.
mkdir -m 0700 /run/ctm-member
mount --bind "$dir" /run/ctm-member
dir=/run/ctm-member
mount --bind "$dir/etc" /etc
mkdir -p "$dir/usr-upper" "$dir/usr-work"
mount -t overlay "ctm-$name-usr" -o "lowerdir=$install,upperdir=$dir/usr-upper,workdir=$dir/usr-work" /usr/local
# /var/lib/containarium and /var/log/containarium may not exist on the
# host: a read-only overlay of a scratch directory over /var/lib (and
# /var/log) gives the mount points without creating them there.
for d in lib log; do
	if [ ! -d "/var/$d/containarium" ]; then
		mkdir -p "/run/ctm-var$d/containarium"
		mount -t overlay "ctm-$name-var$d" -o "lowerdir=/run/ctm-var$d:/var/$d" "/var/$d"
	fi
done
mount --bind "$dir/incus" /var/lib/incus
mount --bind "$dir/state" /var/lib/containarium
mount --bind "$dir/log" /var/log/containarium
hostname "$name"
printf '%s\n' "$name" >/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$name" >/etc/hosts
ip link set lo up
# This process holds the namespaces: its PID is the member's.
echo "$$" >"$dir/holder.pid"
: >"$dir/ready"
exec sleep infinity
