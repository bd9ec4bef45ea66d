# SPDX-License-Identifier: Apache-2.0
# Sourced by test_sshd_jump.sh: the "containers" the jump host tunnels to.
# One network namespace joined to the jump host's (already private)
# namespace by a veth pair.  It carries two addresses: alice's container and
# bob's, "another container" as far as alice is concerned.  The namespace
# lives under the private /run/netns and dies with the test's namespaces.
#
# Needs: jail_fail.

TARGET_NS=ctm-target
JUMP_ADDR=10.213.0.1
ALICE_ADDR=10.213.0.2
BOB_ADDR=10.213.0.3

target_net_setup() {
	ip netns add "$TARGET_NS" || jail_fail "ip netns add $TARGET_NS"
	ip link add ctm-jump type veth peer name ctm-target netns "$TARGET_NS" || jail_fail "veth pair"
	ip addr add "$JUMP_ADDR/24" dev ctm-jump || jail_fail "jump address"
	ip link set ctm-jump up || jail_fail "jump link up"
	if ! { ip -n "$TARGET_NS" link set lo up &&
		ip -n "$TARGET_NS" addr add "$ALICE_ADDR/24" dev ctm-target &&
		ip -n "$TARGET_NS" addr add "$BOB_ADDR/24" dev ctm-target &&
		ip -n "$TARGET_NS" link set ctm-target up; }; then
		jail_fail "target addresses"
	fi
}
