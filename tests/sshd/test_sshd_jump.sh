#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end with a real sshd: a jump user reaches port 22 of their own
# container and nothing else; no shell, no PTY, no other forwarding; keys
# come from the registry snapshot through containarium-authorized-keys.
#
# Everything runs in private mount, pid and network namespaces (the network
# one has only loopback plus a veth to a "container" namespace), so the
# host's files, processes and network are never touched.  Needs root.
#
#   BUILD=build/sshd bash tests/sshd/test_sshd_jump.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in /usr/sbin/sshd ssh ssh-keygen unshare ip setpriv timeout; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed"
	done
	unshare --mount --pid --net --fork true 2>/dev/null || skip_all "cannot create namespaces here"
	for f in nss_containarium/libnss_containarium.so.2 authorized_keys/containarium-authorized-keys \
		mksnapshot/containarium-mksnapshot; do
		[ -f "$BUILD/$f" ] || { fail "$BUILD/$f is built (run make BUILD=$BUILD)"; summary; exit 1; }
	done
	# --kill-child: should unshare be killed, the namespace's init is too,
	# and with it every process of the test.  (A TERM to the process group
	# reaches the init's trap below.)
	exec unshare --mount --pid --net --kill-child --mount-proc \
		env BUILD="$BUILD" SRC="$SRC" bash "$HERE/$(basename "$0")" --inside
fi

# ---- inside the namespaces ------------------------------------------------
W=/run/ctm-test
jail_fail() {
	fail "setup: $*"
	stop_started
	summary
	exit 1
}
. "$HERE/jail.sh"
. "$HERE/target_net.sh"
. "$HERE/daemons.sh"
. "$HERE/client.sh"
. "$HERE/registry.sh"
trap stop_started EXIT
trap 'exit 1' INT TERM

JUMP_PORT=2200        # VERBOSE log, the level production would run
DEBUG_PORT=2201       # same policy, DEBUG3: some refusals are logged only there
JUMP=$W/jump
JDBG=$W/jump-debug
TARGET=$W/target

jail_setup
target_net_setup
for u in alice bob carol; do client_identity "$u"; done
# As grep -E patterns: the log assertions below match these literally.
ALICE_FP=$(re "$(key_fp alice)") BOB_FP=$(re "$(key_fp bob)") CAROL_FP=$(re "$(key_fp carol)")
publish_registry active || jail_fail "publish the registry snapshots"

# The containers: root logs in with the same key its user has on the jump
# host.  Port 2222 on alice's address stands for "another port of her own
# container"; bob's address for "someone else's container".
mkdir -m 0755 "$TARGET"
cat "$W/client/alice.pub" "$W/client/bob.pub" >"$TARGET/authorized_keys"
chmod 0644 "$TARGET/authorized_keys"
daemon_config "$TARGET" VERBOSE "$TARGET/authorized_keys" prohibit-password \
	"$ALICE_ADDR:22" "$ALICE_ADDR:2222" "$BOB_ADDR:22"
daemon_config "$JUMP" VERBOSE none no "127.0.0.1:$JUMP_PORT"
jump_policy "$JUMP"
daemon_config "$JDBG" DEBUG3 none no "127.0.0.1:$DEBUG_PORT"
jump_policy "$JDBG"

for d in "$TARGET" "$JUMP" "$JDBG"; do
	expect_eq "sshd -t accepts $(basename "$d")/sshd_config" "" "$(sshd_check "$d")"
done
# The policy really applies to jump users: sshd's own view of the
# configuration for alice (resolved through the NSS module's groups).
T=$("$SSHD" -T -f "$JUMP/sshd_config" -C user=alice,host=laptop,addr=127.0.0.1 2>&1)
KEYS_COMMAND_RE=$(re "$KEYS_COMMAND")
expect_match "sshd -T for alice: keys command" "^authorizedkeyscommand $KEYS_COMMAND_RE %u$" "$T"
expect_match "sshd -T for alice: forced nologin" "^forcecommand /usr/sbin/nologin$" "$T"
expect_match "sshd -T for alice: local forwarding only" "^allowtcpforwarding local$" "$T"
T=$("$SSHD" -T -f "$JUMP/sshd_config" -C user=root,host=laptop,addr=127.0.0.1 2>&1)
expect_match "sshd -T for root: no keys command" "^authorizedkeyscommand none$" "$T"
expect_eq "sshd -T for root: no forced command" "" "$(printf '%s\n' "$T" | grep '^forcecommand /')"

sshd_start "$TARGET" "$TARGET_NS"
sshd_start "$JUMP"
sshd_start "$JDBG"
JLOG=$JUMP/sshd.log DLOG=$JDBG/sshd.log TLOG=$TARGET/sshd.log

# ---- the environment is what the checks assume ---------------------------
expect_eq "getent passwd alice (NSS module)" \
	"alice:*:70010:70000::/:/usr/sbin/nologin" "$(getent passwd alice)"
expect_eq "alice is in containarium-users (initgroups, for Match Group)" \
	"containarium-users" "$(id -Gn alice 2>&1)"
expect_eq "keys.db: root:$AUTHKEYS_USER 0640" "root:$AUTHKEYS_USER 640" \
	"$(stat -c '%U:%G %a' /var/lib/containarium/keys.db)"

# ---- the keys command, run as sshd runs it --------------------------------
KC() { setpriv --reuid="$1" --regid="$1" --init-groups "$KEYS_COMMAND" "$2"; }
expect_eq "keys command as $AUTHKEYS_USER: alice's confined key" \
	"restrict,port-forwarding,permitopen=\"$ALICE_ADDR:22\" $(cat "$W/client/alice.pub")" "$(KC "$AUTHKEYS_USER" alice)"
expect_eq "keys command as $AUTHKEYS_USER: bob's confined key" \
	"restrict,port-forwarding,permitopen=\"$BOB_ADDR:22\" $(cat "$W/client/bob.pub")" "$(KC "$AUTHKEYS_USER" bob)"
expect_eq "keys command: nothing for suspended carol (exit 0)" "|0" "$(KC "$AUTHKEYS_USER" carol)|$?"
expect_eq "keys command: nothing for root (exit 0)" "|0" "$(KC "$AUTHKEYS_USER" root)|$?"
KC nobody alice >/dev/null 2>&1
expect_eq "keys command as nobody: keys.db unreadable, exit 1" 1 $?

# sshd looks the user up, then forks (keys command, session) and the child
# looks users up again (initgroups).  When that deadlocks in the module,
# every login below would hang until its timeout: say so once and stop.
# shellcheck disable=SC2016 # perl code, not shell
timeout 5 perl -e 'getpwnam("alice"); my $p = fork; if (!$p) { exit(getpwnam("bob") ? 0 : 3) }
	waitpid($p, 0); exit($? >> 8)'
FORK_RC=$?
expect_eq "NSS lookup in a forked child of a process that used the module (exit 0, 124 = hang)" 0 "$FORK_RC"
if [ "$FORK_RC" != 0 ]; then
	fail "sshd logins not attempted: each would hang in the forked child's NSS lookup"
	stop_started
	summary
	exit 1
fi

# ---- the one thing a jump user is for -------------------------------------
m=$(log_mark "$JLOG") t=$(log_mark "$TLOG")
as_user alice -J "alice@127.0.0.1:$JUMP_PORT" "root@$ALICE_ADDR" echo reached-target
expect_eq "alice: ssh -J reaches her container" "reached-target|0" "$OUT|$RC"
expect_log "jump log: Accepted publickey for alice (her key)" "$JLOG" "$m" \
	"Accepted publickey for alice from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $ALICE_FP"
expect_log "jump log: the key was found in the keys command's output, line 1" "$JLOG" "$m" \
	"Accepted key ED25519 $ALICE_FP found at $KEYS_COMMAND_RE %u:1[[:cntrl:]]*$"
expect_log "target log: Accepted publickey for root, from the jump host's address" "$TLOG" "$t" \
	"Accepted publickey for root from $JUMP_ADDR port [0-9]+ ssh2: ED25519 $ALICE_FP"
expect_no_log "jump log: no session for a -J hop" "$JLOG" "$m" "Starting session"

m=$(log_mark "$JLOG") t=$(log_mark "$TLOG")
as_user bob -J "bob@127.0.0.1:$JUMP_PORT" "root@$BOB_ADDR" echo reached-bob
expect_eq "bob: ssh -J reaches his container" "reached-bob|0" "$OUT|$RC"
expect_log "target log: bob's key accepted at his container's address" "$TLOG" "$t" \
	"Accepted publickey for root from $JUMP_ADDR port [0-9]+ ssh2: ED25519 $BOB_FP"

# ---- no shell, no command, no PTY -----------------------------------------
NOLOGIN_MSG="This account is currently not available."
m=$(log_mark "$JLOG")
as_user alice -p "$JUMP_PORT" alice@127.0.0.1
expect_eq "alice: shell request runs nologin (exit 1)" "$NOLOGIN_MSG|1" "$OUT|$RC"
expect_log "jump log: forced command from the config for a shell" "$JLOG" "$m" \
	"Starting session: forced-command \(config\) '/usr/sbin/nologin' for alice from 127\.0\.0\.1"
m=$(log_mark "$JLOG")
as_user alice -p "$JUMP_PORT" alice@127.0.0.1 id
expect_eq "alice: 'ssh alice@jump id' runs nologin, not id" "$NOLOGIN_MSG|1" "$OUT|$RC"
expect_log "jump log: forced command for an exec request" "$JLOG" "$m" \
	"Starting session: forced-command \(config\) '/usr/sbin/nologin' for alice"
m=$(log_mark "$JLOG")
as_user alice -p "$JUMP_PORT" -s alice@127.0.0.1 sftp
expect_log "jump log: forced command for the sftp subsystem" "$JLOG" "$m" \
	"Starting session: forced-command \(config\) '/usr/sbin/nologin' for alice"
m=$(log_mark "$DLOG")
as_user alice -tt -p "$DEBUG_PORT" alice@127.0.0.1
expect_match "alice: ssh -tt: PTY refused (client)" "PTY allocation request failed" "$ERR"
# A client that asked for a terminal with -t/-tt closes the session when
# refused one (255); with a PTY, nologin would have run and exited 1.
expect_eq "alice: ssh -tt: the client gives up without a terminal (255)" 255 "$RC"
expect_log "jump debug log: PTY not permitted" "$DLOG" "$m" "Allocating a pty not permitted"
expect_no_log "jump debug log: no tty allocated" "$DLOG" "$m" "Allocated pty|session_pty_req: session [0-9]+ alloc /dev/pts"

# ---- no tunnel anywhere else ----------------------------------------------
# Control first: the same request to her own container is granted, so the
# refusals below are about the destination, not about -W.
m=$(log_mark "$JLOG")
as_user alice -W "$ALICE_ADDR:22" -p "$JUMP_PORT" alice@127.0.0.1
expect_match "alice: -W $ALICE_ADDR:22 reaches her container's sshd" "^SSH-2\.0-OpenSSH" "$OUT"
expect_no_log "jump log: nothing denied for her own container" "$JLOG" "$m" "denied|refused"

denied_tunnel() { # USER PORT HOST:DPORT
	local user=$1 port=$2 dest=$3
	m=$(log_mark "$JLOG")
	as_user "$user" -o LogLevel=INFO -W "$dest" -p "$port" "$user@127.0.0.1"
	expect_eq "$user: -W $dest refused, nothing relayed" "|255" "$OUT|$RC"
	expect_match "$user: -W $dest: client sees administratively prohibited" \
		"open failed: administratively prohibited" "$ERR"
	expect_log "jump log: $user's request to $dest was denied" "$JLOG" "$m" \
		"Received request from 127\.0\.0\.1 port [0-9]+ to connect to host $(re "${dest%:*}") port ${dest##*:}, but the request was denied\."
}
denied_tunnel alice "$JUMP_PORT" "$BOB_ADDR:22"          # another container
denied_tunnel alice "$JUMP_PORT" "$ALICE_ADDR:2222"      # another port of hers
denied_tunnel alice "$JUMP_PORT" "127.0.0.1:$JUMP_PORT"  # the jump host itself
denied_tunnel alice "$JUMP_PORT" "$JUMP_ADDR:$JUMP_PORT" # the jump host by its other address

# A unix socket on the jump host that anyone may use (on a real host:
# incus's, helperd's, docker's).  ssh 9.2 sends no channel open for
# -W /path, so forward a local TCP port to it with -L: a granted channel
# would bring back the socket's greeting.
perl -MSocket -MIO::Socket::UNIX -e 'umask 0;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $ARGV[0], Listen => 5) or die "$!\n";
	while (my $c = $s->accept) { print $c "hello-from-the-jump-host\n"; close $c }' "$W/open.sock" &
STARTED_PIDS+=("$!")
for _ in $(seq 40); do [ -S "$W/open.sock" ] && break; sleep 0.05; done
# shellcheck disable=SC2016 # perl code, not shell
expect_eq "the open unix socket greets a local non-root user" hello-from-the-jump-host \
	"$(setpriv --reuid=nobody --regid=nogroup --clear-groups perl -MIO::Socket::UNIX \
		-e 'print scalar IO::Socket::UNIX->new(Peer => $ARGV[0])->getline' "$W/open.sock")"
m=$(log_mark "$JLOG")
timeout 20 ssh -F "$W/client/alice.ssh_config" -N -L "127.0.0.1:7100:$W/open.sock" \
	-p "$JUMP_PORT" alice@127.0.0.1 </dev/null 2>/dev/null &
LPID=$!
STARTED_PIDS+=("$LPID")
ANSWER=none
for _ in $(seq 100); do
	if exec 3<>/dev/tcp/127.0.0.1/7100; then
		ANSWER=$(timeout 3 head -n 1 <&3)
		exec 3>&-
		break
	fi 2>/dev/null
	sleep 0.05
done
stop_pid "$LPID"
expect_eq "alice: -L to a unix socket on the jump host: nothing comes through" "" "$ANSWER"
expect_log "jump log: refused streamlocal port forward" "$JLOG" "$m" \
	"refused streamlocal port forward: originator 127\.0\.0\.1 port [0-9]+, target $(re "$W/open.sock")"

m=$(log_mark "$DLOG")
as_user alice -N -o ExitOnForwardFailure=yes -R "127.0.0.1:7022:$ALICE_ADDR:22" -p "$DEBUG_PORT" alice@127.0.0.1
expect_match "alice: -R refused (client)" "remote port forwarding failed for listen port 7022" "$ERR"
expect_eq "alice: -R exits 255" 255 "$RC"
expect_log "jump debug log: the tcpip-forward request arrived" "$DLOG" "$m" \
	"tcpip-forward listen 127\.0\.0\.1 port 7022"
expect_log "jump debug log: Server has disabled port forwarding" "$DLOG" "$m" \
	"sending debug message: Server has disabled port forwarding\."
expect_no_log "jump debug log: no listener set up" "$DLOG" "$m" "channel_setup_fwd_listener|forwarding listening on"

# -w: the client needs a tun device of its own before it asks.
if [ -c /dev/net/tun ]; then
	m=$(log_mark "$DLOG")
	as_user alice -o LogLevel=INFO -o Tunnel=point-to-point -w any -N -o ExitOnForwardFailure=yes \
		-p "$DEBUG_PORT" alice@127.0.0.1
	expect_match "alice: -w tunnel refused (client)" "Tunnel forwarding failed" "$ERR"
	expect_log "jump debug log: Server has rejected tunnel device forwarding" "$DLOG" "$m" \
		"sending debug message: Server has rejected tunnel device forwarding"
fi

m=$(log_mark "$DLOG")
DISPLAY=:0 as_user alice -o LogLevel=INFO -X -p "$DEBUG_PORT" alice@127.0.0.1
expect_match "alice: -X refused (client)" "X11 forwarding request failed" "$ERR"
# The key's restrict is checked first; X11Forwarding no stands behind it.
expect_log "jump debug log: X11 forwarding disabled" "$DLOG" "$m" \
	"X11 forwarding disabled (by key options|in server configuration file)"

ssh-agent -D -a "$W/agent.sock" >/dev/null 2>&1 &
STARTED_PIDS+=("$!")
for _ in $(seq 40); do [ -S "$W/agent.sock" ] && break; sleep 0.05; done
m=$(log_mark "$DLOG")
SSH_AUTH_SOCK=$W/agent.sock as_user alice -A -p "$DEBUG_PORT" alice@127.0.0.1
expect_log "jump debug log: agent forwarding disabled" "$DLOG" "$m" "agent forwarding disabled"
expect_log "jump debug log: the -A session ran only nologin" "$DLOG" "$m" \
	"Starting session: forced-command \(config\) '/usr/sbin/nologin' for alice"

# ---- keys open only their owner's account ----------------------------------
m=$(log_mark "$JLOG")
as_user bob -p "$JUMP_PORT" alice@127.0.0.1 true
expect_rc "bob's key on alice's account: denied (255)" 255
expect_match "bob's key on alice's account: Permission denied (publickey)" "Permission denied \(publickey\)" "$ERR"
expect_log "jump log: Failed publickey for alice with bob's key" "$JLOG" "$m" \
	"Failed publickey for alice from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $BOB_FP"
expect_no_log "jump log: no Accepted for alice" "$JLOG" "$m" "Accepted .* for alice"

m=$(log_mark "$JLOG")
as_user carol -J "carol@127.0.0.1:$JUMP_PORT" "root@$ALICE_ADDR" echo reached-target
expect_eq "carol (suspended): ssh -J gets nowhere" "|255" "$OUT|$RC"
expect_log "jump log: Failed publickey for carol" "$JLOG" "$m" \
	"Failed publickey for carol from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $CAROL_FP"
expect_no_log "jump log: no Accepted for carol" "$JLOG" "$m" "Accepted .* for carol"

m=$(log_mark "$JLOG")
as_user alice -p "$JUMP_PORT" mallory@127.0.0.1 true
expect_rc "unknown user mallory: denied (255)" 255
expect_log "jump log: Invalid user mallory" "$JLOG" "$m" "Invalid user mallory from 127\.0\.0\.1"
expect_no_log "jump log: no Accepted for mallory" "$JLOG" "$m" "Accepted .* for mallory"

m=$(log_mark "$JLOG")
as_user alice -p "$JUMP_PORT" root@127.0.0.1 true
expect_rc "alice's key does not open root on the jump host" 255
expect_no_log "jump log: no Accepted for root" "$JLOG" "$m" "Accepted .* for root"

# ---- permitopen is per user ------------------------------------------------
m=$(log_mark "$JLOG")
as_user bob -W "$BOB_ADDR:22" -p "$JUMP_PORT" bob@127.0.0.1
expect_match "bob: -W $BOB_ADDR:22 reaches his container's sshd" "^SSH-2\.0-OpenSSH" "$OUT"
expect_log "jump log: Accepted publickey for bob" "$JLOG" "$m" \
	"Accepted publickey for bob from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $BOB_FP"
expect_no_log "jump log: nothing denied for bob's own container" "$JLOG" "$m" "denied|refused"
denied_tunnel bob "$JUMP_PORT" "$ALICE_ADDR:22"

# ---- sshd really asks the keys command, and asks it every time -------------
m=$(log_mark "$DLOG")
as_user alice -W "$ALICE_ADDR:22" -p "$DEBUG_PORT" alice@127.0.0.1
expect_log "jump debug log: sshd ran the keys command as $AUTHKEYS_USER" "$DLOG" "$m" \
	"subprocess: AuthorizedKeysCommand command \"$KEYS_COMMAND_RE alice\" running as $AUTHKEYS_USER "
expect_log "jump debug log: the command's permitopen is in force" "$DLOG" "$m" \
	"allow user local forwarding to host $ALICE_ADDR port 22"

publish_registry suspended || fail "republish with alice suspended"
m=$(log_mark "$JLOG")
as_user alice -J "alice@127.0.0.1:$JUMP_PORT" "root@$ALICE_ADDR" echo reached-target
expect_eq "alice suspended by a new snapshot: ssh -J fails" "|255" "$OUT|$RC"
expect_log "jump log: Failed publickey for alice after the new snapshot" "$JLOG" "$m" \
	"Failed publickey for alice from 127\.0\.0\.1 port [0-9]+ ssh2: ED25519 $ALICE_FP"

# Nothing went wrong behind the checks' backs.
expect_no_log "jump log: no error or fatal lines" "$JLOG" 0 "error:|fatal:|Unsafe|[Bb]ad owner"
expect_no_log "target log: no error or fatal lines" "$TLOG" 0 "error:|fatal:"

stop_started
summary
