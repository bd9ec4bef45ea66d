#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Tenant isolation on the container network, with real containers: no
# tenant can take another tenant's address (IPv4, MAC, ARP) or reach
# another tenant's container, while every tenant still reaches the gateway
# (DHCP, DNS) and the jump host reaches every container.
#
# Two tenants, ann and ben, are created through helperd; each is root in
# her own container, as every user is (sudo), and acts as a hostile tenant
# would.  Two plain containers that helperd did not make (ctlx, ctly: no
# NIC security options) are the controls: every attack below is also run
# between them and must succeed there, so a refusal between the tenants
# shows the NIC options at work and not a test that cannot see an attack.
#
# The bridge is the test's own, configured as terraform/gce's is for what
# matters here: routing on, so no forward-reject rule of the backend
# drops bridged frames (this kernel runs bridged frames through the IP
# firewall, br_netfilter, and a bridge with routing off would reject them
# there, hiding a missing isolation).  The controls reaching each other
# prove that nothing but the NIC options stands between the tenants.  NAT
# stays off: these tests send nothing off the subnet, and NAT (masquerade
# of traffic leaving the subnet) does not touch frames inside it.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
HD_TAG=ti
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../helperd/hdlib.sh"
hd_setup

FRAME_PROBE=$BUILD/tests/netiso/frame_probe
if [ ! -x "$FRAME_PROBE" ]; then
	fail "built: $FRAME_PROBE (run make tests)"
	summary
	exit 1
fi
NET=ctmti$$
NET=${NET:0:15}
CTM_LXD_SUBNET=${CTM_TI_SUBNET:-10.213.79.1/24}
GW=${CTM_LXD_SUBNET%/*}
FWD_ORIG=$(cat /proc/sys/net/ipv4/conf/all/forwarding)

hd_cleanup_extra() {
	ctm_lxc network delete "$NET" >/dev/null 2>&1
	# The backend turns forwarding on for a routed bridge.
	[ -n "${FWD_ORIG:-}" ] && sysctl -q -w net.ipv4.conf.all.forwarding="$FWD_ORIG"
}

# Inside a container, as its root.
ti_exec() {
	local c=$1
	shift
	ctm_lxc exec "$c" -- "$@"
}

# ti_tcp FROM IP PORT: what FROM reads from IP:PORT (its first 7 bytes;
# "SSH-2.0" from an sshd), or nothing when it cannot connect in 4 s.
ti_tcp() {
	# shellcheck disable=SC2016 # expanded by the container's bash
	ti_exec "$1" timeout 4 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -c 7 <&3' "$2" "$3" 2>/dev/null
}
# ti_tcp_until NAME IP PORT SECONDS: ti_tcp again until something answers
# (for the checks that expect an answer: a container whose isolation was
# just lifted may still hold a failed neighbour entry for IP, and a loaded
# machine may take seconds to answer; the checks that expect silence stay
# one attempt of 4 s).
ti_tcp_until() {
	local deadline=$((SECONDS + $4)) got
	until got=$(ti_tcp "$1" "$2" "$3") && [ -n "$got" ]; do
		[ "$SECONDS" -lt "$deadline" ] || break
		sleep 0.5
	done
	printf '%s' "$got"
}

# ti_hostkey NAME: the container's ed25519 host key (base64 part).
ti_hostkey() { ti_exec "$1" cat /etc/ssh/ssh_host_ed25519_key.pub | awk '{ print $2 }'; }

# ti_scan IP: the ed25519 host key whoever answers at IP:22 presents to
# the jump host, after the host forgot the address's MAC (so the answer
# comes from whoever answers ARP for it now).  Empty when nobody answers.
ti_scan() {
	ip neigh flush dev "$NET" to "$1" 2>/dev/null
	ssh-keyscan -T 3 -t ed25519 "$1" 2>/dev/null | awk '$2 == "ssh-ed25519" { print $3 }'
}

# ti_nic INSTANCE: the security options set on its eth0, sorted, one line.
ti_nic() {
	ctm_lxd_api -f "/1.0/instances/$1" |
		jq -r '[.metadata.devices.eth0 // {} | to_entries[] | select(.key | startswith("security."))
			| select(.value == "true") | .key] | sort | join(" ")'
}
ALL4="security.ipv4_filtering security.ipv6_filtering security.mac_filtering security.port_isolation"
SPOOF3="security.ipv4_filtering security.ipv6_filtering security.mac_filtering"

# ti_wait_nic INSTANCE OPTIONS SECONDS: until its eth0 carries exactly OPTIONS.
ti_wait_nic() {
	local deadline=$((SECONDS + $3))
	until [ "$(ti_nic "$1")" = "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

ti_mac() { ctm_lxd_api -f "/1.0/instances/$1" | jq -r '.metadata.config["volatile.eth0.hwaddr"] // ""'; }

# ti_restart [KEY=VALUE...]: helperd a again, with this configuration.
ti_restart() {
	hd_stop a
	hd_conf a "network=$NET" "$@"
	hd_start a
}

echo "# the test bridge $NET ($CTM_LXD_SUBNET): routing on, NAT off"
if ! out=$(ctm_lxc network create "$NET" "ipv4.address=$CTM_LXD_SUBNET" ipv4.nat=false ipv4.routing=true \
	ipv6.address=none "ipv4.dhcp.ranges=$(ctm_lxd_dhcp_range)" \
	"raw.dnsmasq=$(printf 'no-resolv\ndhcp-option=option:router')" 2>&1); then
	fail "the test bridge can be created: $out"
	summary
	exit 1
fi
ok "the test bridge $NET exists, routing on"

# --- the controls: two containers without NIC options --------------------
X=${HD_PREFIX}ctlx Y=${HD_PREFIX}ctly
X_IP=$(ctm_lxd_subnet_addr 250) Y_IP=$(ctm_lxd_subnet_addr 251)
for c in "$X:$X_IP" "$Y:$Y_IP"; do
	if ! { ctm_lxc init -q "$CTM_LXD_IMAGE" "${c%%:*}" -n "$NET" &&
		ctm_lxc config device set "${c%%:*}" eth0 "ipv4.address=${c#*:}" &&
		ctm_lxc start -q "${c%%:*}"; }; then
		fail "control ${c%%:*} starts"
	fi
done

# --- two tenants through helperd ------------------------------------------
K=$T_TMP/keys
mkdir -m 0700 "$K"
A=${HD_PREFIX}ann B=${HD_PREFIX}ben
hd_keygen "$K/ann"
hd_keygen "$K/ben"
hd_conf a "network=$NET"
if ! hd_start a; then
	fail "helperd starts on $NET"
	summary
	exit 1
fi
hd_create a "$A" "$K/ann.pub" || fail "create $A"
A_IP=$(hd_jq '.result.ipv4 // empty')
hd_create a "$B" "$K/ben.pub" || fail "create $B"
B_IP=$(hd_jq '.result.ipv4 // empty')
AI=$A-container BI=$B-container
A_MAC=$(ti_mac "$AI") B_MAC=$(ti_mac "$BI") X_MAC=$(ti_mac "$X") Y_MAC=$(ti_mac "$Y")
echo "# $A $A_IP $A_MAC, $B $B_IP $B_MAC; controls $X $X_IP $X_MAC, $Y $Y_IP $Y_MAC"
for c in "$X" "$Y"; do
	expect_match "control $c has its address, and its sshd answers" '^SSH-2\.0-' \
		"$(ctm_ssh_banner "$(ctm_lxd_ipv4 "$c" 60)" 30)"

done
for c in "$AI" "$BI" "$X" "$Y"; do
	ctm_lxc file push -q --mode 0755 "$FRAME_PROBE" "$c/usr/local/bin/frame_probe" ||
		fail "frame_probe copied into $c"
done

echo "# 1. what helperd sets and says"
expect_eq "$AI: eth0 has the four options" "$ALL4" "$(ti_nic "$AI")"
expect_eq "$BI: eth0 has the four options" "$ALL4" "$(ti_nic "$BI")"
expect_eq "the controls' eth0 have none" "|" "$(ti_nic "$X")|$(ti_nic "$Y")"
hd_api a GET "/v1/containers/$A"
expect_eq "GET /v1/containers/$A lists them (network_security)" "$ALL4" \
	"$(hd_jq '.network_security | sort | join(" ")')"
hd_api a GET /v1/system
expect_eq "/v1/system: tenant isolation complete on $NET, nothing missing" "true true $NET 4 0" \
	"$(hd_jq '.tenant_isolation | "\(.complete) \(.isolate_tenants) \(.network) \(.enforced | length) \(.missing | length)"')"
SERVER=$(hd_jq .backend.server)
expect_match "helperd's log says what isolates tenants" \
	"tenants cannot take each other's addresses or reach each other's containers \(security\.mac_filtering, security\.ipv4_filtering, security\.ipv6_filtering, security\.port_isolation, enforced by $SERVER on the host\)" \
	"$(cat "$(hd_log a)")"

echo "# 2. reach: the gateway and the jump host yes, another tenant no"
expect_eq "control: $X reaches $Y's sshd (the bridge forwards between containers)" SSH-2.0 \
	"$(ti_tcp_until "$X" "$Y_IP" 22 20)"
expect_match "the jump host reaches $BI's sshd" '^SSH-2\.0-' "$(ctm_ssh_banner "$B_IP" 30)"
expect_match "the jump host reaches $AI's sshd" '^SSH-2\.0-' "$(ctm_ssh_banner "$A_IP" 30)"
expect_eq "$AI cannot open TCP to $BI:22" "" "$(ti_tcp "$AI" "$B_IP" 22)"
expect_eq "$BI cannot open TCP to $AI:22" "" "$(ti_tcp "$BI" "$A_IP" 22)"
# No frame passes between them, so no port can: A never learns B's MAC.
ti_exec "$AI" ip neigh flush dev eth0 to "$B_IP"
ti_exec "$AI" timeout 4 bash -c "exec 3<>/dev/tcp/$B_IP/8080" 2>/dev/null
neigh=$(ti_exec "$AI" ip -4 neigh show "$B_IP" dev eth0)
expect_match "$AI never resolves $BI's MAC (no frame crosses, whatever the port)" '(FAILED|INCOMPLETE) *$' \
	"${neigh:-none}"
expect_match "control: $X resolved $Y's MAC" "lladdr $Y_MAC " "$(ti_exec "$X" ip -4 neigh show "$Y_IP" dev eth0)"
expect_match "$AI asks the gateway's DNS and gets an answer" '^rcode [0-9]+$' \
	"$(ti_exec "$AI" frame_probe dns "$GW" "$BI.lxd" 2>&1)"
ti_exec "$AI" ip -4 addr flush dev eth0
ti_exec "$AI" networkctl reconfigure eth0
got=
for _ in $(seq 1 100); do
	got=$(ti_exec "$AI" ip -4 -o addr show dev eth0 | awk '{ print $4 }')
	[ -n "$got" ] && break
	sleep 0.2
done
expect_eq "$AI gets its pinned address again from the gateway's DHCP" "$A_IP/${CTM_LXD_SUBNET#*/}" "$got"
expect_eq "$B logs in to his container" "$B" "$(hd_ssh "$K/ben" "$B" "$B_IP" id -un 2>&1)"

echo "# 3. forged frames never reach the bridge"
"$FRAME_PROBE" listen "$NET" 8 >"$T_TMP/frames" 2>&1 &
LISTENER=$!
for _ in $(seq 1 50); do grep -q '^ready' "$T_TMP/frames" && break; sleep 0.1; done
ti_exec "$AI" frame_probe garp eth0 "$A_IP"
ti_exec "$AI" frame_probe garp eth0 "$B_IP"
ti_exec "$AI" frame_probe garp eth0 "$A_IP" "$B_MAC"
ti_exec "$AI" frame_probe udp eth0 "$A_IP" "$GW" 9 "ti-honest-$$"
ti_exec "$AI" frame_probe udp eth0 "$B_IP" "$GW" 9 "ti-forged-ip-$$"
ti_exec "$AI" frame_probe udp eth0 "$A_IP" "$GW" 9 "ti-forged-mac-$$" "$B_MAC"
ti_exec "$X" frame_probe garp eth0 "$Y_IP"
ti_exec "$X" frame_probe udp eth0 "$Y_IP" "$GW" 9 "ti-control-$$"
wait "$LISTENER"
frames=$(cat "$T_TMP/frames")
expect_match "control: $X's gratuitous ARP for $Y's address reaches the bridge" "^arp $Y_IP $X_MAC\$" "$frames"
expect_match "control: $X's UDP from $Y's address reaches the bridge" "^udp $Y_IP ti-control-$$\$" "$frames"
expect_match "$AI's honest gratuitous ARP reaches the bridge" "^arp $A_IP $A_MAC\$" "$frames"
expect_match "$AI's honest UDP reaches the bridge" "^udp $A_IP ti-honest-$$\$" "$frames"
check "$AI's gratuitous ARP for $BI's address does not" hd_not grep -q "^arp $B_IP " <<<"$frames"
check "$AI's ARP with $BI's MAC does not" hd_not grep -q " $B_MAC\$" <<<"$frames"
check "$AI's UDP from $BI's address does not" hd_not grep -q "ti-forged-ip-$$" <<<"$frames"
check "$AI's UDP from $BI's MAC does not" hd_not grep -q "ti-forged-mac-$$" <<<"$frames"

echo "# 4. an impostor at a stopped tenant's address"
KEY_A=$(ti_hostkey "$AI") KEY_B=$(ti_hostkey "$BI") KEY_X=$(ti_hostkey "$X")
expect_eq "the jump host sees $BI's own host key at $B_IP" "$KEY_B" "$(ti_scan "$B_IP")"
hd_api a POST "/v1/containers/$B/stop"
id=$(hd_jq '.operation.id // empty')
hd_wait_op a "$id"
expect_eq "$BI stopped through helperd" Stopped "$(ctm_lxd_state "$BI")"
ctm_lxc stop -f "$Y"
ti_exec "$AI" ip addr add "$B_IP/${CTM_LXD_SUBNET#*/}" dev eth0
ti_exec "$X" ip addr add "$Y_IP/${CTM_LXD_SUBNET#*/}" dev eth0
expect_eq "control: $X answers at stopped $Y's address with its own key" "$KEY_X" "$(ti_scan "$Y_IP")"
got=$(ti_scan "$B_IP")
expect_eq "nobody answers at stopped $BI's address although $AI claims it" "" "$got"
[ "$got" = "$KEY_A" ] && echo "#   it was $AI's own host key: the impostor got through"
ti_exec "$X" ip link set dev eth0 address "$Y_MAC"
ti_exec "$AI" ip link set dev eth0 address "$B_MAC"
expect_eq "control: with $Y's MAC too, $X still answers for $Y" "$KEY_X" "$(ti_scan "$Y_IP")"
expect_eq "with $BI's MAC too, nobody answers at $BI's address" "" "$(ti_scan "$B_IP")"
ti_exec "$AI" ip link set dev eth0 address "$A_MAC"
ti_exec "$AI" ip addr del "$B_IP/${CTM_LXD_SUBNET#*/}" dev eth0

echo "# 5. reconcile: a container from before the NIC options gains them"
hd_api a POST "/v1/containers/$B/start"
hd_wait_op a "$(hd_jq '.operation.id // empty')"
expect_match "$BI runs again" '^SSH-2\.0-' "$(ctm_ssh_banner "$B_IP" 30)"
# The NIC exactly as helperd made it before it set these options.
nic=$(ctm_lxd_api -f "/1.0/instances/$BI" | jq -c '.metadata.devices.eth0
	| with_entries(select(.key | startswith("security.") | not))')
ctm_lxd_api -f -X PATCH -H 'Content-Type: application/json' \
	-d "$(jq -cn --argjson n "$nic" '{devices: {eth0: $n}}')" "/1.0/instances/$BI" >/dev/null
expect_eq "$BI's NIC stripped to the old form" "" "$(ti_nic "$BI")"
expect_eq "control: with the old NIC, $AI reaches $BI's sshd" SSH-2.0 "$(ti_tcp_until "$AI" "$B_IP" 22 20)"
hd_api a GET "/v1/containers/$B"
before=$(hd_jq -c '{uid, ipv4, ssh_keys, status}')
ti_restart
check "$BI regains the four options when helperd starts" ti_wait_nic "$BI" "$ALL4" 15
expect_match "helperd logs the change" \
	"$BI: NIC options changed to the isolation policy: security\.mac_filtering, security\.ipv4_filtering, security\.ipv6_filtering, security\.port_isolation" \
	"$(cat "$(hd_log a)")"
hd_api a GET "/v1/containers/$B"
expect_eq "$B keeps his uid, address and keys, and runs" "$before" "$(hd_jq -c '{uid, ipv4, ssh_keys, status}')"
expect_eq "$B still logs in" "$B" "$(hd_ssh "$K/ben" "$B" "$B_IP" id -un 2>&1)"
expect_eq "$AI cannot reach $BI's sshd again" "" "$(ti_tcp "$AI" "$B_IP" 22)"
expect_eq "$AI was not changed (it had them)" 0 "$(grep -c "$AI: NIC options changed" "$(hd_log a)")"

echo "# 6. isolate_tenants = no lets tenants reach each other, and only that"
ti_restart isolate_tenants=no
check "port isolation taken off $AI, anti-spoofing kept" ti_wait_nic "$AI" "$SPOOF3" 15
check "port isolation taken off $BI, anti-spoofing kept" ti_wait_nic "$BI" "$SPOOF3" 15
expect_eq "then $AI reaches $BI's sshd" SSH-2.0 "$(ti_tcp_until "$AI" "$B_IP" 22 20)"
hd_api a GET /v1/system
expect_match "/v1/system says tenants can reach each other" "^true false 3 .*CAN reach each other" \
	"$(hd_jq '.tenant_isolation | "\(.complete) \(.isolate_tenants) \(.enforced | length) \(.summary)"')"
ti_restart
check "the default puts port isolation back on $BI" ti_wait_nic "$BI" "$ALL4" 15
expect_eq "and $AI cannot reach $BI's sshd" "" "$(ti_tcp "$AI" "$B_IP" 22)"

summary
