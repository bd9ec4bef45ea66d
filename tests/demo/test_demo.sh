#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command, demo/containarium-demo: up twice (the second
# run finds everything up and proves ssh -J again), the daemons it leaves
# running answer a login of our own, and down takes everything away.  Run
# under its own directory, port and user name so that a demo a person has
# running is not touched.
#
#   bash tests/demo/test_demo.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
. "$SRC/tests/lxd/lxdlib.sh"
need_root
for cmd in $(ctm_backend_tools); do
	command -v "$cmd" >/dev/null || skip_all "$cmd is not installed (tests/install-deps)"
done
DEMO_DIR=/var/lib/containarium-demo-test.$$
DEMO_USER=dt$(tr -dc a-z0-9 </dev/urandom | head -c 5)
export CONTAINARIUM_DEMO_DIR=$DEMO_DIR CONTAINARIUM_DEMO_PORT=2025 CONTAINARIUM_DEMO_USER=$DEMO_USER
DEMO=$SRC/demo/containarium-demo
# Holding the LXD (shared) keeps `down` from stopping it under other tests;
# the last user out stops it.
trap '"$DEMO" down >/dev/null 2>&1; ctm_lxd_release' EXIT
ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }

auto_before=no
[ -e "$CTM_LXD_AUTO_MARK" ] && auto_before=yes
OUT=$("$DEMO" up 2>&1)
expect_eq "up: exit 0" 0 "$?" || printf '%s\n' "$OUT" | tail -n 20 | sed 's/^/#   /'
if [ "$auto_before" = yes ]; then
	# Or the LXD this test started would outlive the test run.
	check "up leaves an LXD that tests started to the tests (its mark stays)" test -e "$CTM_LXD_AUTO_MARK"
fi
for s in "Installing Debian packages" "Building" "Starting a private $CTM_BACKEND_NAME" "Making a private mount namespace" \
	"containarium-host-setup install" "Starting helperd" "Starting the jump sshd" "Creating the user $DEMO_USER" \
	"Exporting its SSH configuration" "Proving it: ssh -J $DEMO_USER@127.0.0.1:2025"; do
	expect_match "up: prints the step \"$s\"" "^\[[0-9]+\] $s" "$OUT"
done
expect_match "up: the login ran in the container as the user" "^    $DEMO_USER@$DEMO_USER-container: Linux " "$OUT"
expect_match "up: the jump sshd accepted the key" "jump sshd: Accepted publickey for $DEMO_USER from 127.0.0.1" "$OUT"
expect_match "up: no shell on the jump host" "no shell: This account is currently not available" "$OUT"
expect_match "up: tells how to try it and take it down" "ssh -F $DEMO_DIR/ssh_config $DEMO_USER-dev" "$OUT"
check "/etc on the host is not changed (nsswitch.conf has no containarium)" \
	bash -c '! grep -q containarium /etc/nsswitch.conf'
check "no sshd drop-in on the host" test ! -e /etc/ssh/sshd_config.d/containarium.conf

OUT=$("$DEMO" up 2>&1)
expect_eq "up again: exit 0" 0 "$?" || printf '%s\n' "$OUT" | tail -n 20 | sed 's/^/#   /'
expect_match "up again: finds the namespace" "The namespace is up" "$OUT"
expect_match "up again: helperd already running" "Starting helperd
    running \(pid [0-9]+\)" "$OUT"
expect_match "up again: the user exists" "Creating the user $DEMO_USER
    exists" "$OUT"
expect_match "up again: installer changes nothing" "/etc/nsswitch.conf: unchanged" "$OUT"
expect_match "up again: proves ssh -J again" "^    $DEMO_USER@$DEMO_USER-container: Linux " "$OUT"
expect_eq "one container for the user after two runs" 1 \
	"$(ctm_lxd_api '/1.0/instances' | jq --arg n "/1.0/instances/$DEMO_USER-container" '[.metadata[] | select(. == $n)] | length')"

OUT=$(ssh -F "$DEMO_DIR/ssh_config" -o BatchMode=yes "$DEMO_USER-dev" id -un 2>&1)
expect_eq "what it leaves running: ssh -F .../ssh_config USER-dev" "$DEMO_USER" "$OUT"
OUT=$(nsenter --mount="$DEMO_DIR/mnt" containarium --json audit "$DEMO_USER" 2>&1)
check "the audit log inside has the sessions" \
	test "$(printf '%s' "$OUT" | jq '[.events[] | select(.event == "session_open")] | length' 2>/dev/null)" -ge 3

OUT=$("$DEMO" down 2>&1)
expect_eq "down: exit 0" 0 "$?"
expect_match "down: deletes the user" "Container $DEMO_USER-container and the jump account $DEMO_USER are deleted" "$OUT"
check "down: the directory is gone" test ! -e "$DEMO_DIR"
expect_eq "down: the container is gone" 0 \
	"$(ctm_lxd_api '/1.0/instances' | jq --arg n "/1.0/instances/$DEMO_USER-container" '[.metadata[] | select(. == $n)] | length')"
check "down: nothing listens on 127.0.0.1:2025" bash -c '! (exec 3<>/dev/tcp/127.0.0.1/2025) 2>/dev/null'
OUT=$("$DEMO" down 2>&1)
expect_eq "down again: exit 0 (nothing to do)" 0 "$?"
summary
