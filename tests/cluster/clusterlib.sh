# shellcheck shell=bash disable=SC2034  # sourced: tests read the CL_* settings
# SPDX-License-Identifier: Apache-2.0
# A real N-member Incus cluster on one machine, each member a jump host of
# its own, as terraform/gce deploys them (source it after testlib.sh):
#
#   cl_up N        the members, the cluster (formed by the GCE startup
#                  script's own cluster phases), the container network
#                  across them (containarium-fabric), the image, and on
#                  every member its jump host: sshd configured by
#                  containarium-host-setup, helperd, the NSS module, the
#                  keys command and PAM (installed with `make install`)
#   cl_in I CMD... run CMD in member I's namespaces
#   cl_down        everything stopped and removed, by PID and by name
#
# Member I (1..N) is a mount, network and UTS namespace of its own
# (member_init.sh), with its own /etc, /run, /var/lib/incus and helperd
# state, on an underlay bridge of the host (CL_UNDERLAY, 10.213.90.0/24:
# member I is .I, the host .254) as GCE's VPC would be.  Incus, sshd and
# helperd run in the member's namespaces as they would on its VM; the host
# plays the developer's laptop.  Recipe and pitfalls: tests/cluster/README.md.
#
# Everything lives under CL_HOME; incusd, helperd and sshd PIDs are in
# CL_HOME/mI/*.pid.  Functions return non-zero with CL_ERR saying why.

CL_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$CL_TOOLS/../lxd/lxdlib.sh"
CL_HOME=${CL_HOME:-/var/lib/containarium-test/cluster}
CL_UNDERLAY=${CL_UNDERLAY:-ctmclu0}
CL_NET=10.213.90           # the underlay: member I is .I, the host .254
CL_SUBNET=10.213.91.0/24   # the containers' network (containariumbr0 on every member)
CL_GATEWAY=10.213.91.1
CL_HWADDR=00:16:3e:c7:91:01
CL_DHCP=10.213.91.64-10.213.91.127
CL_SSH_PORT=22
CL_POOL=default            # the names containarium-startup gives them
CL_NETWORK=containariumbr0
# The name users reach the jump servers by (GCE: the load balancer's): in
# every member's SSH host certificates.  Nothing resolves it: a test's
# ssh_config maps it to a member (HostName, HostKeyAlias).
CL_LB_NAME=lb.containarium.test
# The host CA (Terraform's tls_private_key.host_ca): the key that signs
# and the public keys users trust, as files (a rotation sets others).
CL_HOST_CA=${CL_HOST_CA:-}
CL_HOST_CA_TRUSTED=${CL_HOST_CA_TRUSTED:-}
CL_ERR=
CL_N=0
CL_GCE=$SRC/terraform/gce

cl_pid() { cat "$CL_HOME/m$1/holder.pid" 2>/dev/null; }
cl_addr() { printf '%s.%s\n' "$CL_NET" "$1"; }
# The container-network address the fabric gives member I's host.
cl_host_address() { printf '10.213.91.%s\n' $((1 + $1)); }

# cl_in I CMD...: CMD in member I's mount, network and UTS namespaces, with
# its Incus client configuration.
cl_in() {
	local i=$1
	shift
	nsenter -t "$(cl_pid "$i")" -m -n -u -- env INCUS_DIR=/var/lib/incus INCUS_CONF=/var/lib/incus/client "$@"
}

# cl_exec I CMD... &: the same for a background job: it execs, so that $!
# is the command's own PID (a stop by that PID reaches it).
cl_exec() {
	local i=$1
	shift
	exec nsenter -t "$(cl_pid "$i")" -m -n -u -- env INCUS_DIR=/var/lib/incus INCUS_CONF=/var/lib/incus/client "$@"
}

# cl_api I METHOD PATH [CURL-ARGS...]: one request to member I's Incus.
cl_api() {
	local i=$1 method=$2 path=$3
	shift 3
	cl_in "$i" curl -sS --max-time 60 --unix-socket /var/lib/incus/unix.socket -X "$method" "$@" "http://incus$path"
}

# cl_helperd I METHOD PATH [CURL-ARGS...]: one request to member I's helperd.
cl_helperd() {
	local i=$1 method=$2 path=$3
	shift 3
	cl_in "$i" curl -sS --max-time 150 --unix-socket /run/containarium/helperd.sock -X "$method" "$@" \
		"http://helperd$path"
}

_cl_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
}

# _cl_certs N: what Terraform's tls resources make (horizontal-scaling.tf):
# the cluster certificate, valid for every member's address and name, and
# one server certificate per member; ECDSA P-384, ten years.
_cl_certs() {
	local n=$1 i sans=""
	for ((i = 1; i <= n; i++)); do sans="$sans,IP:$(cl_addr "$i"),DNS:m$i"; done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 3650 \
		-keyout "$CL_HOME/certs/cluster.key" -out "$CL_HOME/certs/cluster.crt" \
		-subj "/O=Containarium/CN=ctm-test Incus cluster" -addext "subjectAltName=${sans#,}" \
		-addext "extendedKeyUsage=serverAuth,clientAuth" >/dev/null 2>&1 || return 1
	for ((i = 1; i <= n; i++)); do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 3650 \
			-keyout "$CL_HOME/certs/m$i.key" -out "$CL_HOME/certs/m$i.crt" \
			-subj "/O=Containarium/CN=m$i" -addext "subjectAltName=IP:$(cl_addr "$i"),DNS:m$i" \
			-addext "extendedKeyUsage=serverAuth,clientAuth" >/dev/null 2>&1 || return 1
	done
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$CL_HOME/certs/host_ca" </dev/null || return 1
	printf '%s containarium-host-ca-ca1\n' "$(cut -d' ' -f1,2 "$CL_HOME/certs/host_ca.pub")" >"$CL_HOME/certs/host_ca.trusted"
}

# _cl_settings I N: member I's deploy.conf, as spot-instance.tf writes it
# for a cluster (one KEY=BASE64 line each), with a btrfs pool.
_cl_settings() {
	local i=$1 n=$2 peers="" j members=""
	for ((j = 1; j <= n; j++)); do peers="$peers $(cl_addr "$j")"; done
	for ((j = 2; j <= n; j++)); do members="$members$(cat "$CL_HOME/certs/m$j.crt")"$'\n'; done
	s() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }
	s CTM_LAYOUT cluster
	s CTM_SERVER_NAME "m$i"
	s CTM_SERVER_INDEX $((i - 1))
	s CTM_INTERNAL_IP "$(cl_addr "$i")"
	s CTM_PEER_IPS "${peers# }"
	s CTM_VPC_CIDR "$CL_NET.0/24"
	s CTM_CONTAINER_SUBNET "$CL_SUBNET"
	s CTM_BRIDGE_ADDRESS "$CL_GATEWAY/24"
	s CTM_BRIDGE_HWADDR "$CL_HWADDR"
	s CTM_BRIDGE_MTU 1450
	s CTM_DHCP_RANGE "$CL_DHCP"
	s CTM_HOST_ADDRESS "$(cl_host_address "$i")"
	s CTM_STORAGE_DRIVER btrfs
	s CTM_ZPOOL incus-pool
	s CTM_DATA_DEVICE ""
	s CTM_DATA_FILE_SIZE_GB 3
	s CTM_INCUS_CHANNEL stable
	s CTM_CONTAINER_IMAGE ""
	s CTM_SOURCE file:///nonexistent
	s CTM_SOURCE_REF ""
	s CTM_SOURCE_SHA256 ""
	s CTM_RELEASE_URL ""
	s CTM_RELEASE_SHA256 ""
	s CTM_ADMIN_USERS ""
	s CTM_CLUSTER_CERT "$(cat "$CL_HOME/certs/cluster.crt")"
	s CTM_CLUSTER_KEY "$(cat "$CL_HOME/certs/cluster.key")"
	s CTM_HOST_CA_KEY "$(cat "${CL_HOST_CA:-$CL_HOME/certs/host_ca}")"
	s CTM_HOST_CA_TRUSTED "$(cat "${CL_HOST_CA_TRUSTED:-$CL_HOME/certs/host_ca.trusted}")"
	s CTM_HOST_PRINCIPALS "$CL_LB_NAME,$(cl_addr "$i"),m$i"
	if [ "$i" = 1 ]; then
		s CTM_SERVER_CERT ""
		s CTM_SERVER_KEY ""
		s CTM_MEMBER_CERTS "$members"
	else
		s CTM_SERVER_CERT "$(cat "$CL_HOME/certs/m$i.crt")"
		s CTM_SERVER_KEY "$(cat "$CL_HOME/certs/m$i.key")"
		s CTM_MEMBER_CERTS ""
	fi
}

# _cl_member_up I: the namespaces, the underlay port, incusd.
_cl_member_up() {
	local i=$1 d=$CL_HOME/m$1 pid k
	mkdir -p "$d"
	rm -f "$d/ready"
	[ -d "$d/etc" ] || cp -a /etc "$d/etc"
	rm -f "$d/holder.pid"
	# --kill-child: the member goes with unshare whichever is killed.
	unshare --mount --net --uts --propagation private --fork --kill-child -- \
		bash "$CL_TOOLS/member_init.sh" "$d" "m$i" "$CL_HOME/inst/usr/local" >"$d/init.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	echo $! >"$d/unshare.pid"
	for ((k = 0; k < 100; k++)); do
		[ -e "$d/ready" ] && break
		_cl_alive "$(cat "$d/unshare.pid")" || break
		sleep 0.05
	done
	[ -e "$d/ready" ] || { CL_ERR="member m$i's namespaces: $(tail -n 3 "$d/init.log")"; return 1; }
	pid=$(cl_pid "$i")
	ip link del "ctmclv$i" 2>/dev/null
	ip link add "ctmclv$i" type veth peer name eth0 netns "$pid" || { CL_ERR="veth for m$i"; return 1; }
	ip link set "ctmclv$i" master "$CL_UNDERLAY" up
	cl_in "$i" ip addr add "$(cl_addr "$i")/24" dev eth0
	cl_in "$i" ip link set eth0 up
	# A joining member presents the certificate Terraform made for it: put
	# where Incus reads it before Incus first starts (place_server_cert's
	# job on a VM, where Incus is already running).
	if [ "$i" != 1 ] && [ ! -e "$d/incus/server.crt" ]; then
		install -m 0644 "$CL_HOME/certs/m$i.crt" "$d/incus/server.crt"
		install -m 0600 "$CL_HOME/certs/m$i.key" "$d/incus/server.key"
	fi
	_cl_incusd_start "$i"
}

# _cl_incusd_start I: incusd in member I (its PID in mI/incusd.pid).
_cl_incusd_start() {
	local i=$1 d=$CL_HOME/m$1
	# The closed proxy, but not for the other members (a join goes
	# through Go's proxy settings).
	cl_exec "$i" env HTTP_PROXY="$CTM_LXD_PROXY" HTTPS_PROXY="$CTM_LXD_PROXY" NO_PROXY="$CL_NET.0/24" \
		setsid /usr/libexec/incus/incusd --group root --logfile=/var/lib/incus/incusd.log \
		>"$d/incusd.stderr" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	echo $! >"$d/incusd.pid"
	if ! cl_in "$i" timeout 30 incus admin waitready --timeout 25 >/dev/null 2>&1; then
		CL_ERR="incusd in m$i is not ready: $(tail -n 3 "$d/incusd.stderr")"
		return 1
	fi
}

# cl_startup I PHASE: the GCE startup script, rendered as Terraform renders
# it with member I's settings, run in member I with --cluster-phase PHASE.
cl_startup() {
	local i=$1 phase=$2 d=$CL_HOME/m$1
	_cl_settings "$i" "$CL_N" >"$d/settings"
	python3 "$SRC/tests/terraform/render_startup.py" "$CL_GCE/scripts/startup.sh.tftpl" settings="$d/settings" \
		main="$CL_GCE/scripts/containarium-startup" fabric="$CL_GCE/scripts/containarium-fabric" >"$d/startup.sh" ||
		{ CL_ERR="render startup.sh.tftpl"; return 1; }
	if ! cl_in "$i" bash "$d/startup.sh" --offline --cluster-phase "$phase" >>"$d/startup.log" 2>&1; then
		CL_ERR="m$i: containarium-startup --cluster-phase $phase: $(tail -n 5 "$d/startup.log")"
		return 1
	fi
}

# _cl_jump_up I: member I's jump host: the host CA's files and
# containarium-host-setup with them, as the startup script's phase 4 runs
# it (--cluster-phase hostca: sshd drop-in, nsswitch, PAM, the member's
# host certificates), helperd on the member's Incus, the host's sshd on its
# address.
_cl_jump_up() {
	local i=$1 d=$CL_HOME/m$1
	mkdir -p "$d/etc/containarium"
	cat >"$d/etc/containarium/helperd.conf" <<-EOF
	network = $CL_NETWORK
	storage_pool = $CL_POOL
	image = $CTM_LXD_IMAGE
	admin_group =
	keys_group = containarium-keys
	default_memory = 256MB
	default_disk = 1GB
	default_cpu = 1
	poll_seconds = 1
	host_ca_key = /etc/containarium/host-ca/host_ca
	host_ca_trust = /etc/containarium/host-ca/trusted.pub
	log_level = ${CL_HELPERD_LOG_LEVEL:-info}
	EOF
	cl_startup "$i" hostca || return 1
	cl_in "$i" ldconfig
	_cl_helperd_start "$i" || return 1
	cl_sshd_start "$i"
}

# cl_sshd_start I: the host's sshd in member I on its address, port 22.
cl_sshd_start() {
	local i=$1 d=$CL_HOME/m$1 k
	rm -f "$d/sshd.pid"
	cl_exec "$i" /usr/sbin/sshd -D -o ListenAddress="$(cl_addr "$i")" -o LogLevel=VERBOSE \
		-o PidFile=/run/sshd.pid -E /var/log/containarium/sshd.log </dev/null >/dev/null 2>&1 7>&- 8>&- 9>&- &
	echo $! >"$d/sshd.pid"
	for ((k = 0; k < 100; k++)); do
		timeout 1 bash -c "exec 3<>/dev/tcp/$(cl_addr "$i")/22" 2>/dev/null && return 0
		sleep 0.05
	done
	CL_ERR="m$i: sshd does not listen: $(tail -n 3 "$d/log/sshd.log" 2>/dev/null)"
	return 1
}

# cl_sshd_stop I, cl_helperd_stop I, cl_helperd_start I: for tests.
cl_sshd_stop() { _cl_stop_pidfile "$CL_HOME/m$1/sshd.pid"; }
cl_helperd_stop() { _cl_stop_pidfile "$CL_HOME/m$1/helperd.pid"; }
cl_helperd_start() { _cl_helperd_start "$1"; }

# _cl_helperd_start I: helperd in member I (log mI/log/helperd.log).
_cl_helperd_start() {
	local i=$1 d=$CL_HOME/m$1 k
	cl_exec "$i" /usr/local/sbin/containarium-helperd -c /etc/containarium/helperd.conf \
		>>"$d/log/helperd.log" 2>&1 </dev/null 7>&- 8>&- 9>&- &
	echo $! >"$d/helperd.pid"
	for ((k = 0; k < 200; k++)); do
		cl_helperd "$i" GET /v1/system -o /dev/null 2>/dev/null && return 0
		_cl_alive "$(cat "$d/helperd.pid")" || break
		sleep 0.05
	done
	CL_ERR="m$i: helperd does not answer: $(tail -n 3 "$d/log/helperd.log")"
	return 1
}

# _cl_stop_pidfile FILE: TERM, then KILL after 10 s, the process FILE names.
_cl_stop_pidfile() {
	local pid k
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((k = 0; k < 100; k++)); do
		_cl_alive "$pid" || break
		sleep 0.1
	done
	_cl_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$1"
}

cl_up() {
	local n=$1 i
	CL_N=$n
	[ "$(id -u)" -eq 0 ] || { CL_ERR="needs root"; return 1; }
	mkdir -p "$CL_HOME/certs"
	# 30 containers on one host die at boot without (lxdlib.sh).
	ctm_inotify_raise
	chmod 0700 "$CL_HOME"
	# One install of the tree, shared (read-only below each member's own
	# writable layer).
	rm -rf "$CL_HOME/inst"
	if ! make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$CL_HOME/inst" PREFIX=/usr/local install >"$CL_HOME/install.log" 2>&1; then
		CL_ERR="make install: $(tail -n 3 "$CL_HOME/install.log")"
		return 1
	fi
	_cl_certs "$n" || { CL_ERR="openssl: the cluster's certificates"; return 1; }
	ip link del "$CL_UNDERLAY" 2>/dev/null
	if ! { ip link add "$CL_UNDERLAY" type bridge && ip addr add "$CL_NET.254/24" dev "$CL_UNDERLAY" &&
		ip link set "$CL_UNDERLAY" up; }; then
		CL_ERR="the underlay bridge $CL_UNDERLAY"
		return 1
	fi
	for ((i = 1; i <= n; i++)); do _cl_member_up "$i" || return 1; done
	# The cluster as the startup script forms it: bootstrap, then each
	# member joins with the certificate the first one trusts.
	for ((i = 1; i <= n; i++)); do cl_startup "$i" incus || return 1; done
	for ((i = 1; i <= n; i++)); do cl_startup "$i" fabric || return 1; done
	# The startup script turns NAT on (the containers reach package
	# mirrors on GCE); tests keep traffic off the host's networks.
	cl_in 1 incus network set "$CL_NETWORK" ipv4.nat=false || { CL_ERR="ipv4.nat=false"; return 1; }
	local tarball
	tarball=$("$SRC/tests/lxd/build-image" 2>"$CL_HOME/image.log") || { CL_ERR="the image: $(tail -n 3 "$CL_HOME/image.log")"; return 1; }
	cl_in 1 incus image import -q "$tarball" --alias "$CTM_LXD_IMAGE" >/dev/null 2>>"$CL_HOME/image.log" ||
		{ CL_ERR="image import: $(tail -n 3 "$CL_HOME/image.log")"; return 1; }
	for ((i = 1; i <= n; i++)); do _cl_jump_up "$i" || return 1; done
}

# _cl_sweep I: end every process still in member I's network namespace
# (a killed incusd leaves its dnsmasq and its containers' lxc monitors
# behind), a monitor's container first: killing a monitor alone leaves its
# container running.
_cl_sweep() {
	local holder ns p c
	holder=$(cl_pid "$1")
	if [ -z "$holder" ] || ! _cl_alive "$holder"; then return 0; fi
	ns=$(readlink "/proc/$holder/ns/net") || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if [ "$p" = "$holder" ] || [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" != "$ns" ]; then
			continue
		fi
		for c in $(pgrep -P "$p"); do kill -KILL "$c" 2>/dev/null; done
		kill -KILL "$p" 2>/dev/null
	done
}

cl_down() {
	local i d pid
	for d in "$CL_HOME"/m*; do
		[ -d "$d" ] || continue
		i=${d##*/m}
		pid=$(cl_pid "$i")
		if [ -n "$pid" ] && _cl_alive "$pid"; then
			_cl_stop_pidfile "$d/sshd.pid"
			_cl_stop_pidfile "$d/helperd.pid"
		fi
	done
	# Containers first (a killed lxc monitor leaves its container running),
	# while every member is up: a member whose incusd a test killed gets
	# it back for that.
	for d in "$CL_HOME"/m*; do
		[ -d "$d" ] || continue
		i=${d##*/m}
		pid=$(cl_pid "$i")
		if [ -n "$pid" ] && _cl_alive "$pid" && [ -e "$d/incus/unix.socket" ] &&
			! _cl_alive "$(cat "$d/incusd.pid" 2>/dev/null || echo 0)"; then
			_cl_incusd_start "$i" || true
		fi
	done
	for d in "$CL_HOME"/m*; do
		i=${d##*/m}
		pid=$(cl_pid "$i")
		if [ -z "$pid" ] || ! _cl_alive "$pid" || ! _cl_alive "$(cat "$d/incusd.pid" 2>/dev/null || echo 0)"; then
			continue
		fi
		local n
		for n in $(cl_api "$i" GET "/1.0/instances?all-projects=true" 2>/dev/null | jq -r '.metadata[]? | sub(".*/"; "")'); do
			cl_in "$i" incus delete -f "$n" >/dev/null 2>&1
		done
		break
	done
	for d in "$CL_HOME"/m*; do
		[ -d "$d" ] || continue
		i=${d##*/m}
		pid=$(cl_pid "$i")
		if [ -n "$pid" ] && _cl_alive "$pid"; then
			cl_in "$i" "$CL_GCE/scripts/containarium-fabric" down /etc/containarium/fabric.conf >/dev/null 2>&1
			_cl_alive "$(cat "$d/incusd.pid" 2>/dev/null || echo 0)" &&
				cl_in "$i" timeout 60 incus admin shutdown >/dev/null 2>&1
			_cl_stop_pidfile "$d/incusd.pid"
			_cl_sweep "$i"
			# Incus leaves its pool mounted; the namespace going takes
			# the mounts with it, the loop device is detached below.
		fi
		_cl_stop_pidfile "$d/holder.pid"
		_cl_stop_pidfile "$d/unshare.pid"
		ip link del "ctmclv$i" 2>/dev/null
	done
	ip link del "$CL_UNDERLAY" 2>/dev/null
	# The members' btrfs loop files, no longer mounted anywhere.
	losetup -nO NAME,BACK-FILE 2>/dev/null | awk -v h="$CL_HOME/" 'index($2, h) == 1 { print $1 }' |
		while read -r dev; do losetup -d "$dev" 2>/dev/null; done
	rm -rf "$CL_HOME"
	ctm_inotify_restore
}
