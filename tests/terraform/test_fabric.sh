#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The cluster layout's container network (terraform/gce/scripts/containarium-fabric)
# on real kernel networking: three "jump servers" (network namespaces), each
# with a bridge like Incus makes on every cluster member (same subnet, same
# gateway address and MAC), joined by an "underlay" like GCE's VPC, and one
# "container" (namespace) on each bridge.  After `containarium-fabric up` on
# each member:
#   - every member's host reaches every container, and the container sees
#     the member's own host address (so it answers the right member);
#   - a container's gateway is its own member (anycast gateway stays local);
#   - a broadcast crosses the members (one L2), DHCP does not;
#   - no container reaches a container on another member (tenants stay
#     apart across the tunnel, as port isolation keeps them on one member);
#   - `up` again changes nothing; `down` removes everything.
# Only namespaces this test creates are touched.  Needs root.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
need_root
for tool in ip bridge nft python3; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed"
done
FABRIC=$SRC/terraform/gce/scripts/containarium-fabric
PROBE=$HERE/fabric_probe.py
mk_scratch
NS=ctmtf$$
GW=10.200.0.1
GWMAC=00:16:3e:ca:fe:01
PIDS=()
cleanup() {
	local p i
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
	for i in 1 2 3; do
		ip netns del "$NS-m$i" 2>/dev/null
		ip netns del "$NS-c$i" 2>/dev/null
	done
	ip netns del "$NS-net" 2>/dev/null
	rm -rf "$T_TMP"
}
trap cleanup EXIT
ip netns add "$NS-net" || skip_all "cannot create network namespaces here"
nsx() { local ns=$1; shift; ip netns exec "$NS-$ns" "$@"; }
# nsx_bg NS CMD... &: the same for a background job, so that $! is the
# command's own PID (ip netns exec execs it) and cleanup's kill reaches it;
# with nsx, $! is a subshell whose death leaves the command running.
nsx_bg() { local ns=$1; shift; exec ip netns exec "$NS-$ns" "$@"; }

# The underlay: a switch in its own namespace, 192.0.2.i on member i.
nsx net ip link add sw type bridge
nsx net ip link set sw up
for i in 1 2 3; do
	ip netns add "$NS-m$i"
	ip netns add "$NS-c$i"
	ip link add u$i netns "$NS-m$i" type veth peer name p$i netns "$NS-net"
	nsx net ip link set p$i master sw up
	nsx m$i ip link set lo up
	nsx m$i ip addr add 192.0.2.$i/24 dev u$i
	nsx m$i ip link set u$i up
	# What Incus makes on every member: one bridge, same address and MAC.
	nsx m$i ip link add ctmbr0 address $GWMAC type bridge
	nsx m$i ip addr add $GW/16 dev ctmbr0
	nsx m$i ip link set ctmbr0 up
	nsx m$i sysctl -qw net.ipv4.ip_forward=1
	# Container i, 10.200.0.1i, on member i's bridge.
	ip link add veth$i netns "$NS-m$i" type veth peer name eth0 netns "$NS-c$i"
	nsx m$i ip link set veth$i master ctmbr0 up
	nsx c$i ip link set lo up
	nsx c$i ip addr add 10.200.0.1$i/16 dev eth0
	nsx c$i ip link set eth0 mtu 1450 up
	nsx c$i ip route add default via $GW
	cat >"$T_TMP/m$i.conf" <<EOF
# member $i
bridge=ctmbr0
gateway_mac=$GWMAC
subnet=10.200.0.0/16
gateway=$GW
host_address=10.200.0.$((1 + i))
hosts=10.200.0.2-10.200.0.4
local=192.0.2.$i
peers=$(for j in 1 2 3; do [ "$j" = "$i" ] || printf '192.0.2.%s ' "$j"; done)
mtu=1450
EOF
done

# What `up` sets: links (without their counters and timers), the tunnel's
# parameters, the flood list, the rule, the routes, the nft table.
state() {
	nsx "$1" sh -c 'ip -o link show ctmvx0; ip -o link show ctmhost; ip -o link show ctmhostp;
		ip -d link show ctmvx0 | grep -o "vxlan id .*dstport [0-9]*"; ip addr show ctmhost;
		bridge fdb show dev ctmvx0 | grep "^00:00:00:00:00:00"; ip rule show; ip route show table 4242;
		nft list table bridge containarium_fabric' 2>&1
}

ok_up=1
for i in 1 2 3; do
	nsx m$i "$FABRIC" up "$T_TMP/m$i.conf" >"$T_TMP/up$i.log" 2>&1 || { ok_up=0; sed 's/^/#   /' "$T_TMP/up$i.log"; }
done
check "containarium-fabric up on three members" test "$ok_up" = 1
for i in 1 2 3; do state m$i >"$T_TMP/state$i.a"; done
ok_again=1
for i in 1 2 3; do
	nsx m$i "$FABRIC" up "$T_TMP/m$i.conf" >"$T_TMP/again$i.log" 2>&1 || { ok_again=0; sed "s/^/#   /" "$T_TMP/again$i.log"; }
	state m$i >"$T_TMP/state$i.b"
	cmp -s "$T_TMP/state$i.a" "$T_TMP/state$i.b" || { ok_again=0; diff "$T_TMP/state$i.a" "$T_TMP/state$i.b" | sed 's/^/#   /'; }
done
check "up a second time changes nothing (links, flood list, rules, routes, nft)" test "$ok_again" = 1
expect_eq "each member floods to its two peers" "192.0.2.2 192.0.2.3" \
	"$(nsx m1 bridge fdb show dev ctmvx0 | awk '$1 == "00:00:00:00:00:00" { print $3 }' | sort | xargs)"

# Listeners: each container answers on 2222, each member's host on the
# gateway address, port 2223.
wait_ready() { local f=$1 n=200; while [ "$n" -gt 0 ] && ! grep -q ready "$f" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done; }
for i in 1 2 3; do
	nsx_bg c$i python3 "$PROBE" serve 0.0.0.0 2222 c$i >"$T_TMP/srv-c$i" 2>&1 &
	PIDS+=($!)
	nsx_bg m$i python3 "$PROBE" serve $GW 2223 m$i >"$T_TMP/srv-m$i" 2>&1 &
	PIDS+=($!)
done
for i in 1 2 3; do wait_ready "$T_TMP/srv-c$i"; wait_ready "$T_TMP/srv-m$i"; done

for m in 1 2 3; do
	for c in 1 2 3; do
		got=$(nsx m$m timeout 5 python3 "$PROBE" ask 10.200.0.1$c 2222 2>&1)
		expect_eq "member $m's host reaches container $c, which sees host address 10.200.0.$((1 + m))" \
			"c$c 10.200.0.$((1 + m))" "$got"
	done
done
# Tenants on different members: no container reaches another member's
# container through the tunnel (port isolation keeps apart the ones on one
# member).  The controls above are the same probe, from a host address.
# (Without the fabric's tunnel rules both answer: one L2 segment.)
for c in 2 3; do
	if got=$(nsx c1 timeout 5 python3 "$PROBE" ask 10.200.0.1$c 2222 2>/dev/null); then
		fail "container 1 cannot reach container $c on member $c"
		echo "#   it answered: $got"
	else
		ok "container 1 cannot reach container $c on member $c"
	fi
done
for c in 1 2 3; do
	got=$(nsx c$c timeout 5 python3 "$PROBE" ask $GW 2223 2>&1)
	expect_eq "container $c's gateway is its own member" "m$c 10.200.0.1$c" "$got"
done

# One L2: a broadcast from container 1 reaches member 3; DHCP does not
# (but reaches member 1's own dnsmasq port, so the probe does send).  The
# listeners wait long enough for a loaded machine to start the senders (a
# python start can take seconds there); the two that must hear something
# are waited for, and member 3's DHCP listener gets a second more: had the
# DHCP broadcast crossed, it would have come with the other one.
nsx_bg m3 python3 "$PROBE" listen-udp 5067 30 >"$T_TMP/bc-m3" 2>&1 &
PIDS+=($!)
nsx_bg m3 python3 "$PROBE" listen-udp 67 30 >"$T_TMP/dhcp-m3" 2>&1 &
PIDS+=($!)
nsx_bg m1 python3 "$PROBE" listen-udp 67 30 >"$T_TMP/dhcp-m1" 2>&1 &
PIDS+=($!)
for f in bc-m3 dhcp-m3 dhcp-m1; do wait_ready "$T_TMP/$f"; done
nsx c1 python3 "$PROBE" broadcast 5067 hello-l2
nsx c1 python3 "$PROBE" broadcast 67 dhcp-discover
heard() { grep -qx hello-l2 "$T_TMP/bc-m3" && grep -qx dhcp-discover "$T_TMP/dhcp-m1"; }
for _ in $(seq 100); do heard && break; sleep 0.1; done
sleep 1
check "a broadcast from container 1 crosses to member 3 (one L2 segment)" grep -qx hello-l2 "$T_TMP/bc-m3"
check "DHCP from container 1 reaches its own member" grep -qx dhcp-discover "$T_TMP/dhcp-m1"
check "DHCP from container 1 never reaches another member" sh -c "! grep -q dhcp-discover '$T_TMP/dhcp-m3'"
# Nothing the gateway MAC sends was learned as living behind the tunnel.
check "no member learned the gateway MAC behind the tunnel" \
	sh -c "! ip netns exec $NS-m2 bridge fdb show dev ctmvx0 | grep -qi '^$GWMAC'"

ok_down=1
nsx m2 "$FABRIC" down "$T_TMP/m2.conf" >/dev/null 2>&1 || ok_down=0
left=$(nsx m2 sh -c 'ip link show ctmvx0; ip link show ctmhost; ip rule show | grep 4242;
	ip route show table 4242; nft list table bridge containarium_fabric' 2>/dev/null)
check "down removes the tunnel, the host port, the rule, the routes and the nft table" \
	test "$ok_down" = 1 -a -z "$left"
got=$(nsx m1 timeout 5 python3 "$PROBE" ask 10.200.0.13 2222 2>&1)
expect_eq "the other members still reach each other's containers" "c3 10.200.0.2" "$got"
summary
