# shellcheck shell=bash disable=SC2034  # sourced: lxd-up, lxd-down and tests read the settings
# SPDX-License-Identifier: Apache-2.0
# Shared settings and helpers for tests that need a real container backend:
# source it.  The backend is Incus 6.0 LTS (CTM_BACKEND=incus, the default)
# or LXD 5.0 (CTM_BACKEND=lxd); both speak one REST API, and everything
# below works on either.
#
#   . "$SRC/tests/lxd/lxdlib.sh"
#   ctm_lxd_up                      # use our backend daemon, starting it if needed
#   ctm_lxd_launch NAME [IPV4]      # create + start from containarium-base
#   ip=$(ctm_lxd_ipv4 NAME)         # wait until RUNNING with an IPv4 on our bridge
#   ctm_lxd_delete NAME             # force-delete, wait until gone
#   ctm_lxd_release                 # the last test out stops a daemon tests started
#
# The functions and CTM_LXD_* settings keep their LXD-era names and mean
# "the test backend's".  Our daemon is a private instance: its own
# LXD_DIR/INCUS_DIR, bridge, pool and client config, so it never touches a
# system LXD or Incus or root's ~/.config.  The two backends can run side by
# side (their own files under CTM_LXD_HOME, bridges, subnets).  Every
# setting below can be overridden from the environment.

CTM_LXD_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CTM_BACKEND=${CTM_BACKEND:-incus}
CTM_LXD_HOME=${CTM_LXD_HOME:-/var/lib/containarium-test}
CTM_TEST_CACHE=${CTM_TEST_CACHE:-/var/cache/containarium-test}
CTM_LXD_POOL=${CTM_LXD_POOL:-ctmtest}
CTM_LXD_IMAGE=${CTM_LXD_IMAGE:-containarium-base}
# Per backend: its name; what GET /1.0's environment.server_version looks
# like (Debian 12's LXD 5.0.2, backports' Incus 6.0.4); its directory under
# CTM_LXD_HOME; the bridge and its address/prefix (host side of the only
# network containers get); the pool driver (LXD: dir; Incus: btrfs on a
# loop file it makes, DIR/disks/POOL.img, so quotas hold) and size; the
# daemon, its socket group, the client and its admin command.
case $CTM_BACKEND in
lxd) _ctm_be="LXD ^5\. lxd ctmtestbr0 10.213.77.1/24 dir - lxd lxd lxc lxd" ;;
incus) _ctm_be="Incus ^6\. incus ctmincbr0 10.213.78.1/24 btrfs 8GiB /usr/libexec/incus/incusd root incus incus+admin" ;;
*)
	echo "lxdlib.sh: CTM_BACKEND=$CTM_BACKEND: set it to incus or lxd" >&2
	return 2 ;;
esac
read -r CTM_BACKEND_NAME CTM_BACKEND_VERSION_RE _ctm_dir _ctm_bridge _ctm_subnet CTM_LXD_POOL_DRIVER _ctm_size \
	_ctm_daemon CTM_DAEMON_GROUP CTM_CLIENT _ctm_admin <<<"$_ctm_be"
CTM_LXD_DIR=${CTM_LXD_DIR:-$CTM_LXD_HOME/$_ctm_dir}
CTM_LXD_BRIDGE=${CTM_LXD_BRIDGE:-$_ctm_bridge}
CTM_LXD_SUBNET=${CTM_LXD_SUBNET:-$_ctm_subnet}
[ "$_ctm_size" = - ] && _ctm_size=
CTM_LXD_POOL_SIZE=${CTM_LXD_POOL_SIZE:-$_ctm_size}
CTM_DAEMON=${CTM_DAEMON:-$_ctm_daemon}
IFS=+ read -r -a CTM_ADMIN <<<"$_ctm_admin"
unset _ctm_be _ctm_dir _ctm_bridge _ctm_subnet _ctm_size _ctm_daemon _ctm_admin
# A closed port: the daemon's image and instance-type fetches fail at once
# instead of hanging on a network we do not have.
CTM_LXD_PROXY=http://127.0.0.1:9
# The LXD files keep the names they always had (lxd.pid, users.lock, ...);
# Incus's carry its name (incus.pid, incus-users.lock, ...).
if [ "$CTM_BACKEND" = lxd ]; then CTM_FILE_PREFIX='' CTM_FILE_TAG=lxd; else CTM_FILE_PREFIX=incus- CTM_FILE_TAG=incus; fi
CTM_LXD_PIDFILE=$CTM_LXD_HOME/$CTM_FILE_TAG.pid
CTM_LXD_LOG=$CTM_LXD_HOME/$CTM_FILE_TAG.log
CTM_LXD_STDERR=$CTM_LXD_HOME/$CTM_FILE_TAG.stderr
# The client keeps its config (remotes, certs) here instead of ~/.config.
CTM_LXD_CONF=$CTM_LXD_HOME/${CTM_FILE_PREFIX}client
# Present while the running daemon was started by a test (ctm_lxd_up)
# rather than by a person running lxd-up; such a daemon is stopped again by
# the last test that releases it.
CTM_LXD_AUTO_MARK=$CTM_LXD_HOME/${CTM_FILE_PREFIX}auto-started
# Every test using our daemon holds a shared lock on CTM_LXD_USERS_LOCK
# through fd 7 (ctm_lxd_up); lxd-up keeps the daemon from inheriting it.
CTM_LXD_USERS_LOCK=$CTM_LXD_HOME/${CTM_FILE_PREFIX}users.lock
# Serialises lxd-up and lxd-down of one backend.
CTM_LXD_UPDOWN_LOCK=$CTM_LXD_HOME/.${CTM_FILE_PREFIX}lock
export CTM_BACKEND CTM_LXD_PROXY CTM_LXD_HOME CTM_LXD_DIR CTM_TEST_CACHE CTM_LXD_BRIDGE CTM_LXD_SUBNET \
	CTM_LXD_POOL CTM_LXD_IMAGE

# The tools a test of this backend needs on PATH (or at their path).
ctm_backend_tools() { printf '%s\n' "$CTM_DAEMON" "$CTM_CLIENT"; }

ctm_lxd_socket() { printf '%s\n' "$CTM_LXD_DIR/unix.socket"; }

# The lxc or incus client, pointed at our instance.
ctm_lxc() {
	if [ "$CTM_BACKEND" = lxd ]; then
		LXD_DIR=$CTM_LXD_DIR LXD_CONF=$CTM_LXD_CONF lxc "$@"
	else
		INCUS_DIR=$CTM_LXD_DIR INCUS_CONF=$CTM_LXD_CONF incus "$@"
	fi
}

# ctm_admin SUBCOMMAND...: `lxd SUB` or `incus admin SUB` on our daemon
# (waitready, init, shutdown); killed after CTM_ADMIN_TIMEOUT seconds if set.
ctm_admin() {
	env LXD_DIR="$CTM_LXD_DIR" INCUS_DIR="$CTM_LXD_DIR" LXD_CONF="$CTM_LXD_CONF" INCUS_CONF="$CTM_LXD_CONF" \
		${CTM_ADMIN_TIMEOUT:+timeout "$CTM_ADMIN_TIMEOUT"} "${CTM_ADMIN[@]}" "$@"
}

# ctm_lxd_api [CURL-ARGS...] PATH: one REST call over the unix socket.
ctm_lxd_api() {
	local path=${*: -1}
	curl -sS --max-time 30 --unix-socket "$CTM_LXD_DIR/unix.socket" \
		"${@:1:$#-1}" "http://lxd$path"
}

# Prints the PID of the lxd we started when it is still that process (a
# recycled PID or a zombie does not count).
ctm_lxd_pid() {
	local pid state
	[ -r "$CTM_LXD_PIDFILE" ] || return 1
	pid=$(cat "$CTM_LXD_PIDFILE")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	{ tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF -- "--logfile=$CTM_LXD_LOG" || return 1
	printf '%s\n' "$pid"
}

# ctm_backend_up B: the daemon of backend B (incus or lxd) that its up
# script started runs, with its default settings.
ctm_backend_up() {
	# shellcheck disable=SC2016 # expanded by that bash
	env -u CTM_LXD_DIR -u CTM_LXD_BRIDGE -u CTM_LXD_SUBNET CTM_BACKEND="$1" \
		bash -c '. "$1/lxdlib.sh" && ctm_lxd_pid >/dev/null' _ "$CTM_LXD_TOOLS"
}

# ctm_other_backend_up: the other backend's daemon (Incus for LXD, LXD for
# Incus) runs.
ctm_other_backend_up() {
	if [ "$CTM_BACKEND" = lxd ]; then ctm_backend_up incus; else ctm_backend_up lxd; fi
}

# A member of the test cluster (tests/cluster) runs.
ctm_cluster_up() {
	local f st
	for f in "${CL_HOME:-$CTM_LXD_HOME/cluster}"/m*/holder.pid; do
		[ -r "$f" ] || continue
		st=$(awk '{ print $3 }' "/proc/$(cat "$f")/stat" 2>/dev/null) || continue
		[ -n "$st" ] && [ "$st" != Z ] && return 0
	done
	return 1
}

# The host's inotify limit is shared by both test backends and the test
# cluster: with the default of 128 instances, containers beyond ~14 die at
# boot while their start reports success (every container's root is the
# same host uid, and each systemd takes several).  The first user raises
# it, keeping the old value; the last one down puts it back.
ctm_inotify_raise() {
	local cur
	cur=$(sysctl -n fs.inotify.max_user_instances)
	if [ "$cur" -lt 8192 ]; then
		mkdir -p "$CTM_LXD_HOME"
		[ -e "$CTM_LXD_HOME/inotify.orig" ] || echo "$cur" >"$CTM_LXD_HOME/inotify.orig"
		sysctl -q -w fs.inotify.max_user_instances=8192
	fi
}

# ctm_inotify_restore: called once the caller's own daemons are down.
ctm_inotify_restore() {
	[ -r "$CTM_LXD_HOME/inotify.orig" ] || return 0
	if ctm_backend_up incus || ctm_backend_up lxd || ctm_cluster_up; then return 0; fi
	sysctl -q -w fs.inotify.max_user_instances="$(cat "$CTM_LXD_HOME/inotify.orig")"
	rm -f "$CTM_LXD_HOME/inotify.orig"
}

# Our daemon is running and answers on its socket.
ctm_lxd_alive() {
	ctm_lxd_pid >/dev/null && [ -S "$CTM_LXD_DIR/unix.socket" ] &&
		ctm_lxd_api -f --max-time 5 /1.0 >/dev/null 2>&1
}

# Alive, and everything tests rely on is in place: bridge, pool, image.
ctm_lxd_healthy() {
	ctm_lxd_alive || return 1
	ctm_lxd_api -f --max-time 5 "/1.0/networks/$CTM_LXD_BRIDGE" 2>/dev/null |
		jq -e '.metadata.status == "Created"' >/dev/null || return 1
	ctm_lxd_api -f --max-time 5 "/1.0/storage-pools/$CTM_LXD_POOL" >/dev/null 2>&1 || return 1
	ctm_lxd_api -f --max-time 5 "/1.0/images/aliases/$CTM_LXD_IMAGE" >/dev/null 2>&1 || return 1
	ip link show dev "$CTM_LXD_BRIDGE" >/dev/null 2>&1
}

# ctm_lxd_up: registers this shell as a user of our LXD and brings it up
# (marked as started by a test when it was down).  Tests run side by side
# (tests/run of two developers, a person's lxd-up): one test's cleanup must
# not stop the LXD another is using, so stopping is left to the last user.
# Pair it with ctm_lxd_release in the test's EXIT trap.
ctm_lxd_up() {
	mkdir -p "$CTM_LXD_HOME"
	exec 7>>"$CTM_LXD_USERS_LOCK"
	flock -s 7
	CTM_LXD_AUTO=1 "$CTM_LXD_TOOLS/$CTM_BACKEND-up" >/dev/null
}

# ctm_lxd_release: drops this shell's claim; when no other test holds one and
# a test started the daemon, stops it (lxd-down).  Sets CTM_LXD_STOPPED=1
# when it did.
ctm_lxd_release() {
	CTM_LXD_STOPPED=0
	[ -e /dev/fd/7 ] || return 0
	# Converting to exclusive succeeds only when nobody else holds the lock;
	# holding it through lxd-down keeps a new user from starting meanwhile.
	if flock -xn 7 && [ -e "$CTM_LXD_AUTO_MARK" ]; then
		# shellcheck disable=SC2034 # read by the caller
		"$CTM_LXD_TOOLS/$CTM_BACKEND-down" && CTM_LXD_STOPPED=1
	fi
	exec 7>&-
}

# ctm_lxd_down [--purge]: stops our daemon whoever started it (lxd-down).
ctm_lxd_down() { "$CTM_LXD_TOOLS/$CTM_BACKEND-down" "$@"; }

# ctm_lxd_launch NAME [IPV4]: create and start a container from our image.
# With IPV4 the NIC is pinned to that address (a static DHCP lease), the way
# helperd pins each user's container.
ctm_lxd_launch() {
	local name=$1 ipv4=${2:-}
	if [ -z "$ipv4" ]; then
		ctm_lxc launch -q "$CTM_LXD_IMAGE" "$name"
		return
	fi
	ctm_lxc init -q "$CTM_LXD_IMAGE" "$name" &&
		ctm_lxc config device override -q "$name" eth0 "ipv4.address=$ipv4" >/dev/null &&
		ctm_lxc start -q "$name"
}

# ctm_lxd_state NAME: the instance's status ("Running", "Stopped", ...).
ctm_lxd_state() {
	ctm_lxd_api -f "/1.0/instances/$1/state" 2>/dev/null | jq -r '.metadata.status'
}

# ctm_lxd_ipv4 NAME [TIMEOUT_SECONDS]: waits until the container is Running
# with a global IPv4 on eth0 inside our bridge's subnet and prints it.  A start
# can report success while the container dies at boot, so a container that
# stops while we wait fails at once.
ctm_lxd_ipv4() {
	local name=$1 timeout=${2:-60} deadline state addr
	deadline=$((SECONDS + timeout))
	while [ "$SECONDS" -lt "$deadline" ]; do
		state=$(ctm_lxd_api -f "/1.0/instances/$name/state" 2>/dev/null) || state=
		case $(printf '%s' "$state" | jq -r '.metadata.status // empty' 2>/dev/null) in
		Running)
			addr=$(printf '%s' "$state" | jq -r '.metadata.network.eth0.addresses[]?
				| select(.family == "inet" and .scope == "global") | .address' | head -n 1)
			if [ -n "$addr" ] && ctm_lxd_in_subnet "$addr"; then
				printf '%s\n' "$addr"
				return 0
			fi ;;
		Stopped | Error)
			echo "ctm_lxd_ipv4: $name is not running" >&2
			return 1 ;;
		esac
		sleep 0.2
	done
	echo "ctm_lxd_ipv4: $name has no IPv4 after ${timeout}s" >&2
	return 1
}

# ctm_ssh_banner IP [TIMEOUT_SECONDS]: waits until IP:22 answers and prints
# the server's first line ("SSH-2.0-OpenSSH_...").  sshd starts a moment after
# the address appears: host keys are made at first boot.
ctm_ssh_banner() {
	local ip=$1 timeout=${2:-30} deadline line
	deadline=$((SECONDS + timeout))
	while [ "$SECONDS" -lt "$deadline" ]; do
		# shellcheck disable=SC2016
		if line=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -n 1 <&3' _ "$ip" 2>/dev/null) &&
			[ -n "$line" ]; then
			printf '%s\n' "${line%$'\r'}"
			return 0
		fi
		sleep 0.2
	done
	echo "ctm_ssh_banner: $ip:22 did not answer in ${timeout}s" >&2
	return 1
}

# ctm_lxd_delete NAME: deletes the container (stopping it first) and waits
# until the API no longer knows it.
ctm_lxd_delete() {
	local name=$1 tries=50
	ctm_lxc delete -q --force "$name" 2>/dev/null
	while [ $((tries -= 1)) -ge 0 ]; do
		ctm_lxd_api -f "/1.0/instances/$name" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	echo "ctm_lxd_delete: $name still exists" >&2
	return 1
}

# Mount points under our daemon's directory, deepest first.
ctm_lxd_mounts() {
	findmnt -rn -o TARGET | awk -v d="$CTM_LXD_DIR/" 'index($0, d) == 1' | sort -r
}

# Loop devices backed by a file under our daemon's directory (a btrfs pool's
# DIR/disks/POOL.img).
ctm_lxd_loops() {
	losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v d="$CTM_LXD_DIR/" 'index($2, d) == 1 { print $1 }'
}

# ctm_lxd_foreign_holders: PIDs of processes in other mount namespaces that
# still see a mount under our directory: a namespace made while the daemon
# ran (unshare --mount) copies its pool mount, which keeps the loop device
# busy until that namespace goes.  One PID per namespace.
ctm_lxd_foreign_holders() {
	local self p ns
	self=$(readlink /proc/self/ns/mnt)
	local -A seen=()
	for p in /proc/[0-9]*; do
		ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
		if [ "$ns" = "$self" ] || [ -n "${seen[$ns]:-}" ]; then continue; fi
		grep -qF " $CTM_LXD_DIR/" "$p/mountinfo" 2>/dev/null || continue
		seen[$ns]=1
		printf '%s\n' "${p#/proc/}"
	done
}

# IPv4 dotted quad to integer.
ctm_ip2int() {
	local IFS=. a b c d
	# shellcheck disable=SC2086
	set -- $1
	a=$1 b=$2 c=$3 d=$4
	printf '%s\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}

ctm_int2ip() {
	printf '%d.%d.%d.%d\n' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255))
}

# ctm_lxd_subnet_addr N: the Nth address of our bridge's subnet (N=1 is the
# host side), e.g. for pinning a container: use the upper half (N >= 128 in
# a /24), which DHCP never hands out.
ctm_lxd_subnet_addr() {
	local net=${CTM_LXD_SUBNET%/*} len=${CTM_LXD_SUBNET#*/} mask
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	ctm_int2ip $(($(ctm_ip2int "$net") & mask | $1))
}

# ctm_lxd_dhcp_range: "FIRST-LAST" of the dynamic pool, the lower half of the
# subnet; the upper half is left for pinned addresses (ctm_lxd_launch NAME
# IPV4), so a pinned address is never already leased to another container.
ctm_lxd_dhcp_range() {
	local len=${CTM_LXD_SUBNET#*/}
	printf '%s-%s\n' "$(ctm_lxd_subnet_addr 2)" "$(ctm_lxd_subnet_addr $(((1 << (32 - len)) / 2 - 1)))"
}

# ctm_lxd_in_subnet ADDR: ADDR lies inside CTM_LXD_SUBNET.
ctm_lxd_in_subnet() {
	local net=${CTM_LXD_SUBNET%/*} len=${CTM_LXD_SUBNET#*/} mask
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	[ $(($(ctm_ip2int "$1") & mask)) -eq $(($(ctm_ip2int "$net") & mask)) ]
}
