#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Smoke test of the backend harness against a real Incus (CTM_BACKEND=incus,
# the default) or LXD (CTM_BACKEND=lxd): bring it up, run two
# containers from containarium-base, reach their sshd over our bridge, use
# the REST API and exec, delete them.  Leaves the machine as it found it,
# except the image cache: a daemon that tests started is stopped by the last
# test using it (ctm_lxd_release); one a person started with
# tests/lxd/lxd-up (incus-up) is left up.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
. "$(dirname "$0")/lxdlib.sh"

need_root
for cmd in $(ctm_backend_tools) debootstrap zstd nft jq curl losetup; do
	command -v "$cmd" >/dev/null || skip_all "$cmd missing (tests/install-deps)"
done

NAMES=("ctm-smoke-$$-a" "ctm-smoke-$$-b")
# Per run, so two runs side by side do not ask for one address.
PINNED=$(ctm_lxd_subnet_addr $((200 + $$ % 50)))

cleanup() {
	local n
	for n in "${NAMES[@]}"; do
		ctm_lxd_alive && ctm_lxd_api -f "/1.0/instances/$n" >/dev/null 2>&1 && ctm_lxd_delete "$n"
	done
	ctm_lxd_release
}
trap cleanup EXIT

# ms_since START_NS: milliseconds since a `date +%s%N` stamp, as "S.mmm".
ms_since() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

forward_before=$(sysctl -n net.ipv4.ip_forward)
if ctm_lxd_alive; then
	if [ -e "$CTM_LXD_AUTO_MARK" ]; then
		echo "# $CTM_BACKEND_NAME already up (pid $(ctm_lxd_pid)), started by another test"
	else
		echo "# $CTM_BACKEND_NAME already up (pid $(ctm_lxd_pid)), started by $CTM_BACKEND-up: leaving it up"
	fi
fi

t0=$(date +%s%N)
ctm_lxd_up || { fail "$CTM_BACKEND-up"; summary; exit 1; }
echo "# bringing $CTM_BACKEND_NAME up took $(ms_since "$t0") s"
# What lxd-down (incus-down) must put back: the value from before any test raised it.
inotify_orig=$(cat "$CTM_LXD_HOME/inotify.orig" 2>/dev/null) ||
	inotify_orig=$(sysctl -n fs.inotify.max_user_instances)
sock=$(CTM_LXD_AUTO=1 "$CTM_LXD_TOOLS/$CTM_BACKEND-up")
expect_eq "$CTM_BACKEND-up prints our socket path" "$CTM_LXD_DIR/unix.socket" "$sock"
pid=$(ctm_lxd_pid)
check "$CTM_BACKEND-up records the daemon's PID" test -n "$pid"
t0=$(date +%s%N)
CTM_LXD_AUTO=1 "$CTM_LXD_TOOLS/$CTM_BACKEND-up" >/dev/null
echo "# $CTM_BACKEND-up on a healthy $CTM_BACKEND_NAME took $(ms_since "$t0") s"
expect_eq "$CTM_BACKEND-up again keeps the same daemon" "$pid" "$(ctm_lxd_pid)"
check "inotify instances raised to at least 8192" test "$(sysctl -n fs.inotify.max_user_instances)" -ge 8192

info=$(curl -sS --max-time 10 --unix-socket "$sock" http://lxd/1.0)
expect_eq "GET /1.0 over the socket: environment.server" "$CTM_BACKEND" \
	"$(printf '%s' "$info" | jq -r '.metadata.environment.server')"
expect_eq "GET /1.0: the local socket of our daemon is trusted" trusted \
	"$(printf '%s' "$info" | jq -r '.metadata.auth')"

# Isolation: the bridge is the only network and leads nowhere.
net=$(ctm_lxd_api -f "/1.0/networks/$CTM_LXD_BRIDGE")
expect_eq "bridge: NAT off, routing off, no IPv6" "false false none" \
	"$(printf '%s' "$net" | jq -r '.metadata.config | "\(."ipv4.nat") \(."ipv4.routing") \(."ipv6.address")"')"
expect_eq "bridge: DHCP hands out the lower half only (upper half is for pinning)" "$(ctm_lxd_dhcp_range)" \
	"$(printf '%s' "$net" | jq -r '.metadata.config."ipv4.dhcp.ranges"')"
expect_match "bridge: forward hook rejects traffic into and out of the bridge" \
	"iifname \"$CTM_LXD_BRIDGE\" reject" "$(nft list chain inet "$CTM_BACKEND" "fwd.$CTM_LXD_BRIDGE" 2>&1)"
expect_eq "core.proxy_https points at a closed port" "$CTM_LXD_PROXY" \
	"$(ctm_lxd_api -f /1.0 | jq -r '.metadata.config."core.proxy_https"')"
pool=$(ctm_lxd_api -f "/1.0/storage-pools/$CTM_LXD_POOL")
expect_eq "pool $CTM_LXD_POOL: driver and size" "$CTM_LXD_POOL_DRIVER ${CTM_LXD_POOL_SIZE:-null}" \
	"$(printf '%s' "$pool" | jq -r '.metadata | "\(.driver) \(.config.size)"')"
if [ -n "$CTM_LXD_POOL_SIZE" ]; then
	check "pool $CTM_LXD_POOL is on a loop device backed by a file in our directory" test -n "$(ctm_lxd_loops)"
fi
expect_eq "image alias $CTM_LXD_IMAGE exists" "$CTM_LXD_IMAGE" \
	"$(ctm_lxd_api -f "/1.0/images/aliases/$CTM_LXD_IMAGE" | jq -r '.metadata.name')"

ips=()
for i in 0 1; do
	name=${NAMES[$i]}
	pin=
	[ "$i" -eq 1 ] && pin=$PINNED
	t0=$(date +%s%N)
	if ctm_lxd_launch "$name" ${pin:+"$pin"} && ip=$(ctm_lxd_ipv4 "$name" 60); then
		echo "# $name: create+start+IPv4 $(ms_since "$t0") s ($ip${pin:+, pinned})"
		ok "$name runs with IPv4 $ip on $CTM_LXD_BRIDGE"
	else
		fail "$name runs with an IPv4 on $CTM_LXD_BRIDGE"
		ip=
	fi
	ips+=("$ip")
	expect_eq "$name state" Running "$(ctm_lxd_state "$name")"
done
for name in "${NAMES[@]}"; do
	mem=$(ctm_lxd_api -f "/1.0/instances/$name/state" | jq -r '.metadata.memory.usage // 0')
	echo "# $name: memory in use $((mem / 1048576)) MiB"
done
expect_eq "pinned container got its address" "$PINNED" "${ips[1]}"
check "the two containers have different addresses" test "${ips[0]}" != "${ips[1]}"

for i in 0 1; do
	name=${NAMES[$i]}
	t0=$(date +%s%N)
	banner=$(ctm_ssh_banner "${ips[$i]}" 30)
	echo "# $name: sshd answered $(ms_since "$t0") s after the address appeared"
	expect_match "$name: TCP 22 answers from the host with an SSH banner" '^SSH-2\.0-OpenSSH' "$banner"
	expect_eq "$name: $CTM_CLIENT exec id" "uid=0(root) gid=0(root) groups=0(root)" \
		"$(ctm_lxc exec "$name" -- id 2>&1)"
	expect_eq "$name: hostname comes from the image template" "$name" "$(ctm_lxc exec "$name" -- hostname 2>&1)"
	expect_eq "$name: no default route (nothing beyond the bridge)" "" \
		"$(ctm_lxc exec "$name" -- ip -4 route show default 2>&1)"
	expect_eq "$name: systemd reached a clean state" running \
		"$(ctm_lxc exec "$name" -- systemctl is-system-running --wait 2>&1)"
done
key_a=$(ctm_lxc exec "${NAMES[0]}" -- cat /etc/ssh/ssh_host_ed25519_key.pub 2>&1 | cut -d' ' -f2)
key_b=$(ctm_lxc exec "${NAMES[1]}" -- cat /etc/ssh/ssh_host_ed25519_key.pub 2>&1 | cut -d' ' -f2)
check "each container made its own SSH host key" test -n "$key_a" -a "$key_a" != "$key_b"
id_a=$(ctm_lxc exec "${NAMES[0]}" -- cat /etc/machine-id 2>&1)
id_b=$(ctm_lxc exec "${NAMES[1]}" -- cat /etc/machine-id 2>&1)
expect_match "machine-id is set at first boot" '^[0-9a-f]{32}$' "$id_a"
check "each container has its own machine-id" test "$id_a" != "$id_b"

for name in "${NAMES[@]}"; do
	check "$name deleted" ctm_lxd_delete "$name"
	expect_eq "$name: API answers 404 after delete" 404 \
		"$(ctm_lxd_api -o /dev/null -w '%{http_code}' "/1.0/instances/$name")"
done
expect_eq "no instance of ours is left" "" \
	"$(ctm_lxd_api -f /1.0/instances | jq -r '.metadata[]' | grep -F "ctm-smoke-$$-")"
expect_eq "$CTM_BACKEND_NAME did not turn on IPv4 forwarding" "$forward_before" "$(sysctl -n net.ipv4.ip_forward)"

trap - EXIT
ctm_lxd_release
if [ "$CTM_LXD_STOPPED" -eq 1 ]; then
	check "the daemon is gone" test -z "$(ctm_lxd_pid)"
	expect_match "the bridge is gone (ip says it does not exist)" 'does not exist' \
		"$(ip link show dev "$CTM_LXD_BRIDGE" 2>&1)"
	expect_eq "no mounts left under $CTM_LXD_DIR" "" "$(ctm_lxd_mounts)"
	if [ -n "$(ctm_lxd_loops)" ] && holders=$(ctm_lxd_foreign_holders) && [ -n "$holders" ]; then
		# Not ours to end: a namespace someone made while the pool was mounted.
		echo "# loop device $(ctm_lxd_loops) still held by mount namespaces of PIDs ${holders//$'\n'/ }"
		check "the loop device left is autoclear (it goes with those namespaces)" \
			test "$(losetup -n -O AUTOCLEAR "$(ctm_lxd_loops | head -n 1)" | tr -d ' ')" = 1
	else
		check "no loop device left for our pool" test -z "$(ctm_lxd_loops)"
	fi
	# Shared with the other backend: the last one down restores it.
	if ctm_other_backend_up; then
		check "inotify limit kept raised: the other backend's daemon still runs" \
			test "$(sysctl -n fs.inotify.max_user_instances)" -ge 8192
	else
		expect_eq "inotify limit restored" "$inotify_orig" "$(sysctl -n fs.inotify.max_user_instances)"
	fi
	check "no nftables chains left for the bridge" bash -c "! nft list ruleset | grep -qF '.$CTM_LXD_BRIDGE'"
	# shellcheck disable=SC2016 # expanded by that bash
	check "no empty nftables table of $CTM_BACKEND_NAME left (inet, bridge)" bash -c 'for f in inet bridge; do
		t=$(nft list table "$f" "$1" 2>/dev/null) || continue; grep -q "^[[:space:]]*chain " <<<"$t" || exit 1; done' _ "$CTM_BACKEND"
elif [ -e "$CTM_LXD_AUTO_MARK" ]; then
	echo "# $CTM_BACKEND_NAME left up: another test still uses it and will stop it"
else
	check "a daemon started by $CTM_BACKEND-up is left running" ctm_lxd_alive
fi
summary
