# SPDX-License-Identifier: Apache-2.0
# Sourced by test_sshd_jump.sh: publishes the registry snapshots the way
# helperd would, to the default paths under /var/lib/containarium.
#
# Needs: W, BUILD, AUTHKEYS_USER, ALICE_ADDR, BOB_ADDR, client keys of
# alice, bob and carol (client.sh).

MKSNAPSHOT=$BUILD/mksnapshot/containarium-mksnapshot

# publish_registry ALICE_STATE: alice (ALICE_STATE) and bob active, each
# with their own container address; carol suspended, pinned to alice's
# address so that only her state keeps her out.
publish_registry() {
	local alice_state=$1 generation=$((${REGISTRY_GENERATION:-0} + 1))
	REGISTRY_GENERATION=$generation
	cat >"$W/registry.json" <<-EOF
	{"generation": $generation, "users": [
	 {"name": "alice", "uid": 70010, "state": "$alice_state", "ipv4": "$ALICE_ADDR",
	  "keys": ["$(cat "$W/client/alice.pub")"]},
	 {"name": "bob", "uid": 70011, "state": "active", "ipv4": "$BOB_ADDR",
	  "keys": ["$(cat "$W/client/bob.pub")"]},
	 {"name": "carol", "uid": 70012, "state": "suspended", "ipv4": "$ALICE_ADDR",
	  "keys": ["$(cat "$W/client/carol.pub")"]}
	]}
	EOF
	"$MKSNAPSHOT" --keys-group "$AUTHKEYS_USER" "$W/registry.json"
}
