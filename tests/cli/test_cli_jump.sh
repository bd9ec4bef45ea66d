#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The administrator's flow end to end, as the user guide tells it: the CLI
# creates a user through helperd, exports their SSH configuration, and the
# user connects with `ssh USER-dev` through a real jump sshd (our NSS
# module, containarium-authorized-keys, the jump policy) into the real
# container.  Key changes made with the CLI take effect on both hops; after
# delete the jump account is gone.
#
# Runs in private mount, pid and UTS namespaces (tests/sshd/jail.sh makes
# this namespace look like an installed host: /etc files, the NSS module,
# /var/lib/containarium); the network is the host's, for the test LXD's
# bridge, and sshd listens on loopback only.
#
#   BUILD=build/cli bash tests/cli/test_cli_jump.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
. "$SRC/tests/lxd/lxdlib.sh"

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd ssh ssh-keygen ssh-keyscan unshare $(ctm_backend_tools) jq; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	need_built "$BUILD"/{cli/containarium,helperd/containarium-helperd,nss_containarium/libnss_containarium.so.2} \
		"$BUILD/authorized_keys/containarium-authorized-keys"
	U=cli$(tr -dc a-z0-9 </dev/urandom | head -c 5)j
	# Inside, the container is removed by the test itself; this is for a
	# test that died on the way.
	trap 'ctm_lxd_api -f "/1.0/instances/$U-container" >/dev/null 2>&1 && ctm_lxd_delete "$U-container"
		ctm_lxd_release' EXIT
	ctm_lxd_up || { fail "the test $CTM_BACKEND_NAME comes up"; summary; exit 1; }
	# --kill-child: if unshare dies, the namespace's init and everything in
	# it go too.
	unshare --mount --pid --uts --fork --kill-child --mount-proc \
		env BUILD="$BUILD" SRC="$SRC" U="$U" bash "$HERE/$(basename "$0")" --inside
	exit $?
fi

# ---- inside the namespaces ------------------------------------------------
W=/run/ctm-cli-jump
JUMP_PORT=$(free_port) # the jump sshd: never a fixed port, suites run side by side
CLI=$BUILD/cli/containarium
jail_fail() {
	fail "setup: $*"
	summary
	exit 1
}
# daemons.sh finds its sshd_config templates in $HERE.
HERE=$SRC/tests/sshd
. "$HERE/jail.sh"
. "$HERE/daemons.sh"
cleanup() {
	ctm_lxd_api -f "/1.0/instances/$U-container" >/dev/null 2>&1 && ctm_lxd_delete "$U-container"
	stop_started
}
trap cleanup EXIT
trap 'exit 1' INT TERM

hostname "jump-$$" || jail_fail "hostname"
jail_private_run
# The test LXD's directory, reachable under $W: jail_state_dir may lay an
# overlay over /var/lib, and a unix socket cannot be reached through one.
mkdir -m 0755 "$W/lxd" || jail_fail "mkdir $W/lxd"
mount --bind "$CTM_LXD_DIR" "$W/lxd" || jail_fail "bind the LXD directory"
CTM_LXD_DIR=$W/lxd
jail_etc
jail_nss_module
jail_state_dir
jail_keys_command
printf '127.0.0.1 localhost\n127.0.0.1 jump.example.com\n' >"$W/hosts"
mount --bind "$W/hosts" /etc/hosts || jail_fail "bind /etc/hosts"

# helperd as installed: default socket and state dir; keys.db for sshd's
# AuthorizedKeysCommandUser; root only may change things.
mkdir -m 0755 "$W/etc-containarium"
cat >"$W/etc-containarium/helperd.conf" <<EOF
incus_socket = $CTM_LXD_DIR/unix.socket
network = $CTM_LXD_BRIDGE
storage_pool = $CTM_LXD_POOL
image = $CTM_LXD_IMAGE
admin_group =
keys_group = $AUTHKEYS_USER
default_memory = 256MB
default_disk = 1GB
default_cpu = 1
backup_dir = $W/backups
audit_log = $W/audit.log
EOF
"$BUILD/helperd/containarium-helperd" -c "$W/etc-containarium/helperd.conf" >"$W/helperd.log" 2>&1 &
STARTED_PIDS+=("$!")
for _ in $(seq 100); do
	grep -q 'serving the API' "$W/helperd.log" && break
	sleep 0.1
done
daemon_config "$W/jump" VERBOSE none no "127.0.0.1:$JUMP_PORT"
jump_policy "$W/jump"
expect_eq "sshd -t accepts the jump configuration" "" "$(sshd_check "$W/jump")"
sshd_start "$W/jump"

# The user's laptop: their keys and ~/.ssh (root's home, in this namespace).
mkdir -m 0700 "$W/laptop" "$W/laptop/.ssh"
mount --bind "$W/laptop" /root || jail_fail "bind a home on /root"
export HOME=/root
ssh-keygen -q -t ed25519 -N '' -C "$U@laptop" -f "/root/.ssh/containarium_$U" </dev/null
ssh-keygen -q -t ed25519 -N '' -C "$U@desktop" -f "/root/.ssh/desktop_$U" </dev/null
mkdir -m 0755 "$W/inbox"
cp "/root/.ssh/containarium_$U.pub" "/root/.ssh/desktop_$U.pub" "$W/inbox/"

# ---- the administrator ------------------------------------------------------
OUT=$("$CLI" create "$U" --ssh-key "$W/inbox/containarium_$U.pub" 2>&1)
expect_eq "create (default socket /run/containarium/helperd.sock)" 0 "$?"
IP=$("$CLI" --json info "$U" | jq -r .ipv4)
expect_match "create: the ssh -J line names this host" "^  ssh -J $U@jump-$$ $U@$IP$" "$OUT"
expect_eq "the jump account exists for glibc (NSS module)" \
	"$U:*:/:/usr/sbin/nologin" "$(getent passwd "$U" | cut -d: -f1,2,6,7)"
# shellcheck disable=SC2088 # the user's ~
OUT=$(cd "$W" && "$CLI" export "$U" --jump-ip jump.example.com --jump-port "$JUMP_PORT" \
	--key "~/.ssh/containarium_$U" --output "$U-ssh-config.txt" 2>&1)
expect_eq "export --output" 0 "$?"

# ---- the user -----------------------------------------------------------------
cp "$W/$U-ssh-config.txt" /root/.ssh/config
chmod 0600 /root/.ssh/config
# The jump host's key, as the user would accept it on first contact.
ssh-keyscan -p "$JUMP_PORT" jump.example.com >/root/.ssh/known_hosts 2>/dev/null
ctm_ssh_banner "$IP" 30 >/dev/null
OUT=$(ssh -o BatchMode=yes "$U-dev" 'hostname; id -un' 2>/dev/null)
expect_eq "ssh $U-dev: through the jump into the container" "$U-container|$U" "$(printf '%s' "$OUT" | paste -sd '|')"
OUT=$(ssh -o BatchMode=yes -T "containarium-jump-$U" 2>&1)
expect_eq "ssh to the jump account itself: no shell (exit 1)" 1 "$?"
expect_match "ssh to the jump account itself: nologin's refusal" 'This account is currently not available' "$OUT"

# Key changes through the CLI reach both hops: the desktop key works once
# added; the laptop key stops working once removed.
dev_with() { ssh -o BatchMode=yes -o IdentityFile="/root/.ssh/$1" -o IdentitiesOnly=yes "$U-dev" id -un 2>/dev/null; }
# -F none plus the config's own lines but another key: the config pins
# IdentityFile, so the desktop key is given on its own here.
desktop() {
	ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -i "/root/.ssh/desktop_$U" \
		-o UserKnownHostsFile=/root/.ssh/known_hosts -o StrictHostKeyChecking=accept-new \
		-o ProxyCommand="ssh -F none -o BatchMode=yes -o IdentitiesOnly=yes -i /root/.ssh/desktop_$U -o UserKnownHostsFile=/root/.ssh/known_hosts -p $JUMP_PORT -W %h:%p $U@jump.example.com" \
		"$U@$IP" id -un 2>/dev/null
}
expect_eq "the desktop key is not in yet" "" "$(desktop)"
"$CLI" key add "$U" --ssh-key "$W/inbox/desktop_$U.pub" >/dev/null
expect_eq "key add: the desktop key works through the jump" "$U" "$(desktop)"
"$CLI" key remove "$U" "$U@laptop" >/dev/null
LOG_MARK=$(wc -l <"$W/jump/sshd.log")
expect_eq "key remove: the laptop key no longer gets through" "" "$(dev_with "containarium_$U")"
LAPTOP_FP=$(ssh-keygen -lf "/root/.ssh/containarium_$U.pub" | awk '{ print $2 }')
expect_match "the jump sshd refused it (the keys command no longer has it)" \
	"Failed publickey for $U from 127\\.0\\.0\\.1 .* ED25519 $(printf '%s' "$LAPTOP_FP" | sed 's/[+]/\\&/g')" \
	"$(tail -n "+$((LOG_MARK + 1))" "$W/jump/sshd.log")"

# ---- delete ---------------------------------------------------------------------
"$CLI" delete "$U" --force >/dev/null
expect_eq "delete" 0 "$?"
expect_eq "the jump account is gone for glibc" "" "$(getent passwd "$U")"
expect_eq "and nobody gets through" "" "$(desktop)"
summary
