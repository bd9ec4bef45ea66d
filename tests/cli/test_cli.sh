#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# containarium (the CLI) against a real helperd on real Incus (or LXD) containers:
# every command and flag, --json parsed with jq, tables and export compared
# with expected text, every exit code provoked, and bad arguments refused
# before any request.
#
# Env: BUILD; CTM_HELPERD (another helperd binary, default
# $BUILD/helperd/containarium-helperd).
. "$(dirname "$0")/../lib/testlib.sh"
need_root
CLI=$BUILD/cli/containarium
HELPERD=${CTM_HELPERD:-$BUILD/helperd/containarium-helperd}
. "$SRC/tests/lxd/lxdlib.sh"
need_built "$CLI" "$HELPERD"
for tool in jq setpriv script ssh-keygen ssh unshare $(ctm_backend_tools); do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
. "$SRC/tests/cli/clilib.sh"
mk_scratch

# Three users, unique to this run: U1 goes through every command, U2 is
# created with --json and deleted with a backup, U3's create fails (Docker
# cannot be installed offline) and is undone by helperd.
RND=$(tr -dc a-z0-9 </dev/urandom | head -c 5)
U1=cli${RND}a U2=cli${RND}b U3=cli${RND}c
cleanup() {
	local u
	for u in "$U1" "$U2" "$U3"; do lxd_has "$u" && ctm_lxd_delete "$u-container"; done
	stop_helperd main
	stop_helperd down
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT

# ---- keys ----------------------------------------------------------------
K=$T_TMP/keys
mkdir -m 0755 "$K"
for n in 1 2 3 4 5 6; do ssh-keygen -q -t ed25519 -N '' -C "key$n@$U1" -f "$K/k$n" </dev/null; done
fp() { ssh-keygen -lf "$K/$1.pub" | awk '{ print $2 }'; }
# k1 and k2 in one file, with a blank line, a comment and Windows line ends.
{ cat "$K/k1.pub"; echo; echo "# Alice's laptop and desktop"; cat "$K/k2.pub"; } | sed 's/$/\r/' >"$K/two.pub"
printf 'ssh-ed25519 AAAA!!!notbase64 x@y\n' >"$K/bad.pub"
printf 'command="/bin/sh" %s\n' "$(cat "$K/k1.pub")" >"$K/options.pub"
printf '# nothing here\n\n' >"$K/empty.pub"
cp "$K/k1.pub" "$K/secret.pub" && chmod 0600 "$K/secret.pub"
chmod 0644 "$K"/*.pub "$K/secret.pub" 2>/dev/null; chmod 0600 "$K/secret.pub"

# ---- help, version, the man page (no helperd needed) ----------------------
VERSION=$(make -s -C "$SRC" version)
cli_run --version
expect_rc "--version" 0
expect_eq "--version prints the version (debian/changelog's)" "containarium $VERSION" "$OUT"
cli_run list --version
expect_eq "--version after a command" "containarium $VERSION" "$OUT"
cli_run --help
expect_rc "--help" 0
for cmd in create list info delete start stop resize export "key list" "key add" "key remove" "system info" \
	metrics operations audit sessions; do
	expect_match "--help lists $cmd" "^  $cmd " "$OUT"
done
cli_run
expect_rc "no command is a usage error" 2
expect_match "no command prints the usage on stderr" '^Usage: containarium' "$ERR"
cli_run help create
HELP_CREATE=$OUT
cli_run create --help
expect_same "help create and create --help agree" "$HELP_CREATE" "$OUT"
expect_match "create --help shows --ssh-key" '--ssh-key FILE' "$OUT"
cli_run create alice --frobnicate --help
expect_rc "--help wins over a bad option" 0
cli_run key --help
expect_match "key --help lists key add" 'containarium key add USER --ssh-key FILE' "$OUT"
cli_run help nosuch
expect_rc "help for an unknown command" 2
MAN=$(MANWIDTH=200 man -l "$SRC/cli/containarium.1" 2>/dev/null | col -bx)
# Every flag any --help shows is in the man page, and every exit code.
flags=
for cmd in create list info delete start stop resize export "key list" "key add" "key remove" "system info" \
	metrics operations audit sessions; do
	# shellcheck disable=SC2086 # two-word commands
	cli_run $cmd --help
	[ "$RC" = 0 ] || fail "$cmd --help exits 0"
	flags="$flags $(printf '%s\n' "$OUT" | grep -oE -- '--[a-z][a-z-]+' | sort -u | tr '\n' ' ')"
	expect_match "man page documents $cmd" "^ +(containarium )?$cmd( |$)" "$MAN"
done
missing=
# shellcheck disable=SC2086 # one flag a word
for f in $(printf '%s\n' $flags | sort -u); do
	printf '%s\n' "$MAN" | grep -q -- "$f" || missing="$missing $f"
done
expect_eq "man page documents every flag of every --help" "" "$missing"
for code in 0 1 2 3 4 5 6; do
	expect_match "man page documents exit status $code" "^ {7}$code +[A-Z]" "$MAN"
done

# ---- bad arguments: exit 2, a clear message, no request --------------------
# Against a socket that does not exist: a request would give exit 5.
ABSENT=$T_TMP/absent.sock
bad() { # DESCRIPTION REGEX ARGS...
	local d=$1 re=$2
	shift 2
	cli_run --socket "$ABSENT" -v "$@"
	expect_rc "$d" 2
	expect_match "$d: message" "$re" "$ERR"
	expect_no_request "$d"
}
bad "unknown flag" 'unknown option --frobnicate for this command; see containarium create --help' \
	create "$U1" --ssh-key "$K/k1.pub" --frobnicate
bad "unknown global flag" 'unknown option --frob before the command' --frob list
bad "flag without its value" '--ssh-key needs a value' create "$U1" --ssh-key
bad "flag value on a flag" '--force takes no value' delete "$U1" --force=yes
bad "unknown command" 'unknown command "frobnicate"' frobnicate
bad "missing key file" "--ssh-key $K/nope.pub: no such file" create "$U1" --ssh-key "$K/nope.pub"
bad "key file is a directory" "--ssh-key $K is a directory" create "$U1" --ssh-key "$K"
bad "bad key" "$K/bad.pub, line 1: .*base64" create "$U1" --ssh-key "$K/bad.pub"
bad "private key" "$K/k1, line 1: .*private key" create "$U1" --ssh-key "$K/k1"
bad "key with options" "$K/options.pub, line 1: .*option" create "$U1" --ssh-key "$K/options.pub"
bad "key file without keys" 'holds no public key' create "$U1" --ssh-key "$K/empty.pub"
bad "no key at all" '--ssh-key FILE is required' create "$U1"
bad "stdin twice" 'standard input\) is given twice' create "$U1" --ssh-key - --ssh-key - </dev/null
bad "size 5XB" '--memory "5XB" is not a size' create "$U1" --ssh-key "$K/k1.pub" --memory 5XB
bad "disk 5XB" '--disk-quota "5XB" is not a size' create "$U1" --ssh-key "$K/k1.pub" --disk-quota 5XB
bad "disk too small" '--disk-quota 100MB is too small' create "$U1" --ssh-key "$K/k1.pub" --disk-quota 100MB
bad "negative cpu" '--cpu "-1" must be a whole number of CPUs from 1 to 1024' \
	create "$U1" --ssh-key "$K/k1.pub" --cpu -1
bad "zero cpu" '--cpu "0" must be' create "$U1" --ssh-key "$K/k1.pub" --cpu 0
bad "cpu 1025" '--cpu "1025" must be' resize "$U1" --cpu 1025
bad "bad image" '--image ".*" is not an image alias' create "$U1" --ssh-key "$K/k1.pub" --image 'a b'
bad "uppercase user name" 'uppercase' create Alice --ssh-key "$K/k1.pub"
bad "reserved user name" 'reserved' info root
bad "resize without limits" 'nothing to change' resize "$U1"
bad "resize bad memory" '--memory "12XB" is not a size' resize "$U1" --memory 12XB
bad "export without --jump-ip" '--jump-ip is required' export "$U1"
bad "export bad host" '--jump-ip "a b" is not an IP address' export "$U1" --jump-ip 'a b'
bad "export bad port" '--jump-port "0" must be a port' export "$U1" --jump-ip 1.2.3.4 --jump-port 0
# shellcheck disable=SC2088 # the user's ~, not ours
bad "export key path with a space" '--key ".*" must be a path without spaces' \
	export "$U1" --jump-ip 1.2.3.4 --key '~/my key'
bad "list with an argument" 'unexpected argument "extra"' list extra
bad "list bad state" '--state ".*" is not a state' list --state 'run;ning'
bad "key remove without a key" 'missing arguments; usage: containarium key remove USER FINGERPRINT' key remove "$U1"
bad "key without subcommand" 'key needs a subcommand' key
bad "operations bad id" 'is not an operation id' operations xyz
bad "audit bad limit" '--limit "0" must be a number' audit --limit 0
bad "--socket without a path" '--socket needs a path' --socket= list
# Unreadable, for someone who is not root.
cli_run_nobody --clear-groups --socket "$ABSENT" -v create "$U1" --ssh-key "$K/secret.pub"
expect_rc "unreadable key file" 2
expect_match "unreadable key file: message" "--ssh-key $K/secret.pub: cannot open it: Permission denied" "$ERR"
expect_no_request "unreadable key file"

# ---- helperd not there: exit 5 ---------------------------------------------
cli_run --socket "$ABSENT" list
expect_rc "no socket" 5
expect_eq "no socket: message" "containarium: cannot connect to helperd at $ABSENT: is containarium-helperd running? (systemctl start containarium-helperd)" "$ERR"
OUT=$(CONTAINARIUM_SOCKET=$ABSENT "$CLI" list 2>&1)
expect_match "CONTAINARIUM_SOCKET is used" "at $ABSENT:" "$OUT"
if [ ! -e /run/containarium/helperd.sock ]; then
	OUT=$(env -u CONTAINARIUM_SOCKET "$CLI" list 2>&1)
	expect_match "the default socket" 'at /run/containarium/helperd.sock:' "$OUT"
fi
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T_TMP/stale.sock"
cli_run --socket "$T_TMP/stale.sock" -v info "$U1"
expect_rc "a socket nobody listens on" 5
expect_match "-v says why" '^< no answer: Connection refused' "$ERR"

# ---- a helperd whose backend is down: exit 5 (503); a socket group: exit 6 -
ctm_lxd_up
start_helperd down "incus_socket = $T_TMP/no-lxd.sock" "admin_group = users" || fail "helperd (backend down) starts"
DOWN=$T_TMP/down/helperd.sock
cli_run --socket "$DOWN" list
expect_rc "backend down" 5
expect_match "backend down: message" 'the container backend is not answering' "$ERR"
cli_run --socket "$DOWN" --json list
expect_rc "backend down, --json" 5
jq_eq "backend down, --json: error code" '.error.code' backend_unavailable "$OUT"
jq_eq "backend down, --json: error status" '.error.status' 503 "$OUT"
cli_run --socket "$DOWN" --json system info
jq_eq "system info says the backend is unavailable" '.backend.available' false "$OUT"
cli_run --socket "$DOWN" system info
expect_match "system info (human) says so" '^Backend: unavailable at ' "$OUT"
cli_run_nobody --clear-groups --socket "$DOWN" list
expect_rc "socket closed to this user" 6
expect_match "socket closed: names the socket and the group" \
	"permission denied connecting to helperd at $DOWN \(.*group users\): join the group users \(sudo usermod -aG users" "$ERR"
stop_helperd down

# ---- the real thing ---------------------------------------------------------
start_helperd main || { summary; exit 1; }
SOCK=$T_TMP/main/helperd.sock
cli() { cli_run --socket "$SOCK" "$@"; }
HOST=$(hostname)

cli system info
expect_rc "system info" 0
expect_match "system info: backend" "^Backend: $CTM_BACKEND ${CTM_BACKEND_VERSION_RE#^}" "$OUT"
if [ "$CTM_LXD_POOL_DRIVER" = btrfs ]; then quotas=enforced; else quotas='not enforced \(refused on create and resize\)'; fi
expect_match "system info: the pool, its driver, whether quotas hold" \
	"^Storage: pool $CTM_LXD_POOL \\($CTM_LXD_POOL_DRIVER\\), disk quotas $quotas\$" "$OUT"
cli --json system info
jq_eq "system info --json: backend" ".backend.available and .backend.server == \"$CTM_BACKEND\"" true "$OUT"
cli metrics
expect_match "metrics: Prometheus text" '^containarium_backend_up 1$' "$OUT"
cli --json metrics
jq_eq "metrics --json" '.metrics[] | select(.name == "containarium_backend_up") | .value' 1 "$OUT"
jq_eq "metrics --json: labels" \
	'[.metrics[] | select(.name == "containarium_accounts") | .labels.state] | sort | join(",")' \
	active,provisioning,suspended "$OUT"

# The pool's driver decides whether a disk quota is a limit (helperd's
# storage_pool.h): Incus's btrfs pool keeps one; the LXD pass's dir pool
# cannot, and helperd refuses it with a sentence instead of storing it.
if [ "$CTM_LXD_POOL_DRIVER" = btrfs ]; then
	QUOTA_ARGS=(--disk-quota 1GB) DISK=1GB DISK_SHOWN=1GB
else
	QUOTA_ARGS=() DISK='' DISK_SHOWN='no quota (the storage pool cannot enforce one)'
	cli create "$U1" --ssh-key "$K/k1.pub" --disk-quota 1GB
	expect_rc "create --disk-quota on the $CTM_LXD_POOL_DRIVER pool: refused" 2
	expect_eq "create --disk-quota on the $CTM_LXD_POOL_DRIVER pool: the sentence" \
		"containarium: storage pool \"$CTM_LXD_POOL\" uses the $CTM_LXD_POOL_DRIVER driver, which cannot enforce a disk quota; leave out the disk quota, or point helperd.conf storage_pool at a btrfs, zfs or lvm pool" "$ERR"
	expect_eq "create --disk-quota refused: no container was made" "" \
		"$(ctm_lxc list --format csv -c n "^$U1-container\$" 2>&1)"
fi
# create U1: two keys from a file, one from stdin, every limit.
cli -v create "$U1" --ssh-key "$K/two.pub" --ssh-key - --cpu 1 --memory 256MB "${QUOTA_ARGS[@]}" --no-autostart \
	<"$K/k3.pub"
expect_rc "create $U1" 0
CREATE_OUT=$OUT CREATE_ERR=$ERR
cli --json info "$U1"
INFO=$OUT
IP1=$(printf '%s' "$INFO" | jq -r .ipv4)
UID1=$(printf '%s' "$INFO" | jq -r .uid)
expect_same "create: steps and details as expected" "Creating container for user $U1
[1/7] Creating container...
[2/7] Starting container...
[3/7] Waiting for network...
[4/7] SSH and tools: already in the image...
[5/7] Creating user $U1...
[6/7] Adding SSH keys...
[7/7] Activating jump account...
Container $U1-container created successfully!

Container Details:
  Name: $U1-container
  User: $U1
  IP: $IP1
  CPU: 1
  Memory: 256MB
  Disk: $DISK_SHOWN
  Auto-start: disabled
  Docker: disabled

Jump Server Account (proxy-only):
  Username: $U1
  Shell: /usr/sbin/nologin (no shell; it can only open a tunnel to port 22 of $IP1)

SSH Access (via ProxyJump):
  ssh -J $U1@$HOST $U1@$IP1
  ssh $U1-dev    # after: containarium export $U1 --jump-ip PUBLIC-IP >> ~/.ssh/config" "$CREATE_OUT"
expect_match "create -v: the POST" '^> POST /v1/containers \(JSON body\)$' "$CREATE_ERR"
expect_match "create -v: its 202" '^< 202 ' "$CREATE_ERR"
expect_match "create -v: the operation followed" '^> GET /v1/operations/[0-9a-f]{32}$' "$CREATE_ERR"
check "IPv4 is in the bridge's subnet" ctm_lxd_in_subnet "$IP1"
jq_eq "info --json: three keys" '.ssh_keys | length' 3 "$INFO"
jq_eq "info --json: limits" '[.cpu, .memory, .disk, .autostart, .state, .status] | map(tostring) | join(" ")' \
	"1 256MB $DISK false active Running" "$INFO"
jq_eq "info --json: usage" '.usage.memory_bytes > 0 and .usage.processes > 0' true "$INFO"
check "helperd is alive after following a finished operation" helperd_alive main
# The key really logs in to the container.
SSHOPTS=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10
	-o LogLevel=ERROR)
ctm_ssh_banner "$IP1" 30 >/dev/null
expect_eq "k2 (from the file) logs in to the container" "$U1" \
	"$(ssh "${SSHOPTS[@]}" -i "$K/k2" "$U1@$IP1" id -un 2>&1)"
expect_eq "k3 (from stdin) logs in to the container" "$U1" \
	"$(ssh "${SSHOPTS[@]}" -i "$K/k3" "$U1@$IP1" id -un 2>&1)"
# ... and the jump account is published with the same keys.
AK=$("$BUILD/authorized_keys/containarium-authorized-keys" --keys-db "$T_TMP/main/state/keys.db" "$U1")
expect_eq "keys.db has three keys for $U1" 3 "$(printf '%s\n' "$AK" | grep -c "permitopen=\"$IP1:22\"")"

cli create "$U1" --ssh-key "$K/k1.pub"
expect_rc "create an existing user" 4
expect_match "create an existing user: message" "user $U1 already has a container" "$ERR"

# create U2 with --json: only the result on stdout.
cli --json create "$U2" --ssh-key "$K/k6.pub" --autostart --image "$CTM_LXD_IMAGE"
expect_rc "create --json $U2" 0
jq_eq "create --json: the result" '[.name, .container, .state, .status, .autostart, (.ssh_keys | length)] | map(tostring) | join(" ")' \
	"$U2 $U2-container active Running true 1" "$OUT"
IP2=$(printf '%s' "$OUT" | jq -r .ipv4)

# list
cli list
expect_rc "list" 0
LIST=$OUT
expect_same "list: header and our rows" "NAME STATE IPV4 QUOTA AUTOSTART
$U1-container Running $IP1 ${DISK:--} No
$U2-container Running $IP2 ${DISK:--} Yes" \
	"$(printf '%s\n' "$LIST" | grep -E "^(NAME|$U1-container|$U2-container) " | squeeze)"
hdr=$(printf '%s\n' "$LIST" | head -n 1)
row=$(printf '%s\n' "$LIST" | grep "^$U1-container ")
col() { awk -v s="$2" '{ print index($0, s) }' <<<"$1"; }
expect_eq "list: columns line up" \
	"$(col "$hdr" STATE) $(col "$hdr" IPV4) $(col "$hdr" QUOTA) $(col "$hdr" AUTOSTART)" \
	"$(col "$row" Running) $(col "$row" "$IP1") $(($(col "$row" " ${DISK:--} ") + 1)) $(col "$row" No)"
expect_match "list: no colour when not a terminal" '^[^[:cntrl:]]*$' "$(printf '%s' "$LIST" | tr '\n' ' ')"
cli --json list
jq_eq "list --json" ".containers[] | select(.name == \"$U1\") | [.container, .ipv4, .disk] | join(\" \")" \
	"$U1-container $IP1 $DISK" "$OUT"
cli --json list --state stopped
jq_eq "list --state stopped: not $U1" "[.containers[] | select(.name == \"$U1\")] | length" 0 "$OUT"
cli --json list --state running
jq_eq "list --state running: $U1" "[.containers[] | select(.name == \"$U1\")] | length" 1 "$OUT"
cli list --usage --long
expect_rc "list --usage --long" 0
expect_match "list --usage --long: the header" '^NAME +STATE +IPV4 +QUOTA +AUTOSTART +(LOCATION +)?TYPE +SNAPSHOTS +CPU +MEMORY +DISK$' \
	"$(head -n 1 <<<"$OUT")"
expect_match "list --usage --long: $U1's row" \
	"^$U1-container +Running +$IP1 +${DISK:--} +No +container +0 +[0-9]+% +[0-9.]+ MiB +([0-9.]+ [KMG]iB|-)\$" "$OUT"
cli --json list --usage
jq_eq "list --usage --json: usage, type and snapshots" \
	".containers[] | select(.name == \"$U1\") | [.type, (.snapshots | tostring), (.usage.memory_bytes > 0 | tostring)] | join(\" \")" \
	"container 0 true" "$OUT"
# The per-container metrics: one series set per user, labelled by name only.
cli metrics
for m in running cpu_seconds_total memory_bytes memory_limit_bytes network_receive_bytes_total sessions; do
	expect_match "metrics: containarium_container_$m for $U1" "^containarium_container_$m\\{user=\"$U1\"\\} [0-9.e+]+\$" "$OUT"
done
expect_match "metrics: the backend could be read" '^containarium_container_metrics_up 1$' "$OUT"
expect_eq "metrics: no label but user on the container series" "" \
	"$(grep '^containarium_container_[a-z_]*{' <<<"$OUT" | grep -v '^[a-z_]*{user="[a-z0-9-]*"} ' | head -n 3)"

# info
cli info "$U1"
expect_rc "info" 0
for line in "Container: $U1-container" "Status: Running" "User: $U1 (uid $UID1)" "Jump account: active" \
	"IP Address: $IP1" "Auto-start: disabled" "Docker: disabled" \
	"Image: $CTM_LXD_IMAGE" "SSH keys: 3 (containarium key list $U1)"; do
	expect_match "info: $line" "^$(printf '%s' "$line" | sed 's/[][\\.*^$+?(){}|]/\\&/g')$" "$OUT"
done
# Used and limit in one unit style: 256MB is 244.1 MiB, 1GB 953.7 MiB.
expect_match "info: memory used of its limit" '^Memory: [0-9.]+ MiB used of 244\.1 MiB \([0-9]+%\)$' "$OUT"
expect_match "info: how busy its CPU is, and the CPU time" \
	'^CPU: 1 \([0-9]+\.[0-9]% busy now; [0-9]+\.[0-9] s used since start\)$' "$OUT"
expect_match "info: uptime" '^Uptime: ([0-9]+s|[0-9]+m [0-9]+s|[0-9]+h [0-9]+m)$' "$OUT"
expect_match "info: network bytes" '^Network: [0-9.]+ ([KMG]i)?B received, [0-9.]+ ([KMG]i)?B sent$' "$OUT"
if [ -n "$DISK" ]; then
	expect_match "info: disk used of its quota" '^Disk: [0-9.]+ [KMG]iB used of 953\.7 MiB \([0-9]+%\)$' "$OUT"
else
	expect_match "info: disk: why there is no quota" \
		"^Disk: ([0-9.]+ [KMG]iB used; )?no quota \\(the $CTM_LXD_POOL_DRIVER pool \"$CTM_LXD_POOL\" cannot enforce one\\)\$" "$OUT"
fi
cli --json info "$U1"
jq_eq "info --json: usage beside the limits, in bytes" \
	'.usage | [(.memory_limit_bytes | tostring), (.cpu_limit | tostring), (.cpu_percent >= 0 and .cpu_percent <= 100 | tostring), (.uptime_seconds >= 0 | tostring), (.network_rx_bytes > 0 | tostring)] | join(" ")' \
	"256000000 1 true true true" "$OUT"
cli info "nosuch$RND"
expect_rc "info of a user without a container" 3
expect_eq "info: not found message" "containarium: user nosuch$RND has no container; list them with containarium list" "$ERR"
cli --json info "nosuch$RND"
jq_eq "info --json: the error object" '.error.code + " " + (.error.status | tostring)' "not_found 404" "$OUT"
# Every command answers an unknown user as info does: the same sentence,
# the same exit status, nothing of the backend's own answer.
ssh-keygen -q -t ed25519 -N '' -C nosuch -f "$T_TMP/nosuch" </dev/null
unknown_user() { # unknown_user ARGS...: USER among them stands for the unknown user
	local x args=() label=
	for x in "$@"; do
		[ "$x" = USER ] && { label=${args[*]}; x=nosuch$RND; }
		args+=("$x")
	done
	cli "${args[@]}"
	expect_eq "$label of a user without a container: exit 3 and info's sentence" \
		"3 containarium: user nosuch$RND has no container; list them with containarium list" "$RC $ERR"
	cli --json "${args[@]}"
	jq_eq "$label --json of a user without a container: not_found 404" \
		'.error.code + " " + (.error.status | tostring)' "not_found 404" "$OUT"
}
unknown_user start USER
unknown_user stop USER
unknown_user delete USER --force
unknown_user resize USER --memory 512MB
unknown_user key list USER
unknown_user key add USER --ssh-key "$T_TMP/nosuch.pub"
unknown_user key remove USER nosuch
unknown_user export USER --jump-ip 127.0.0.1

# keys
cli key list "$U1"
expect_rc "key list" 0
expect_same "key list: the table" "FINGERPRINT TYPE BITS COMMENT
$(fp k1) ssh-ed25519 256 key1@$U1
$(fp k2) ssh-ed25519 256 key2@$U1
$(fp k3) ssh-ed25519 256 key3@$U1" "$(printf '%s\n' "$OUT" | squeeze)"
cli --json key list "$U1"
jq_eq "key list --json" '[.keys[].fingerprint] | join(" ")' "$(fp k1) $(fp k2) $(fp k3)" "$OUT"
cli key add "$U1" --ssh-key "$K/k4.pub"
expect_rc "key add" 0
expect_same "key add: output" "Added $(fp k4) to $U1
$U1 has 4 keys now" "$OUT"
expect_eq "the added key logs in" "$U1" "$(ssh "${SSHOPTS[@]}" -i "$K/k4" "$U1@$IP1" id -un 2>&1)"
cli --json key add "$U1" --ssh-key - <"$K/k5.pub"
jq_eq "key add --json (stdin)" '.keys | length' 5 "$OUT"
cli key add "$U1" --ssh-key "$K/k4.pub"
expect_rc "key add an existing key" 4
expect_match "key add an existing key: message" "already has this key" "$ERR"
cli key remove "$U1" "$(fp k4)"
expect_rc "key remove by fingerprint" 0
expect_eq "key remove: output" "Removed the key $(fp k4) from $U1; 4 left" "$OUT"
# Refused by the container's sshd, not failed for another reason (a
# timeout, sshd down): exit 255 with "Permission denied (publickey)".
ssh_err=$(ssh "${SSHOPTS[@]}" -o IdentitiesOnly=yes -i "$K/k4" "$U1@$IP1" true 2>&1 >/dev/null)
expect_eq "the removed key no longer logs in: sshd says Permission denied (publickey)" "255 yes" \
	"$? $([[ $ssh_err == *"Permission denied (publickey"* ]] && echo yes || echo "no: ${ssh_err:0:200}")"
cli --json key remove "$U1" "key5@$U1"
jq_eq "key remove by comment --json" '[.keys[].comment] | join(" ")' "key1@$U1 key2@$U1 key3@$U1" "$OUT"
cli key remove "$U1" SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
expect_rc "key remove of an unknown key" 3
cli key remove "$U2" "key6@$U1"
expect_rc "key remove of the last key" 4
expect_match "last key: message" 'this is the last key' "$ERR"
AK=$("$BUILD/authorized_keys/containarium-authorized-keys" --keys-db "$T_TMP/main/state/keys.db" "$U1")
expect_eq "keys.db follows the key changes" 3 "$(printf '%s\n' "$AK" | grep -c "permitopen=\"$IP1:22\"")"
# key replace: one key for another in one change
cli key replace "$U1" "$(fp k3)" --ssh-key "$K/k5.pub"
expect_rc "key replace" 0
expect_eq "key replace: message" "Replaced the key $(fp k3) of $U1 with $(fp k5)" "$OUT"
cli --json key list "$U1"
jq_eq "key replace: k5 where k3 was" '[.keys[].comment] | join(" ")' "key1@$U1 key2@$U1 key5@$U1" "$OUT"
ssh_err=$(ssh "${SSHOPTS[@]}" -o IdentitiesOnly=yes -i "$K/k3" "$U1@$IP1" true 2>&1 >/dev/null)
expect_eq "the replaced key no longer logs in" "255 yes" \
	"$? $([[ $ssh_err == *"Permission denied (publickey"* ]] && echo yes || echo "no: ${ssh_err:0:200}")"
expect_eq "the new key logs in" ok "$(ssh "${SSHOPTS[@]}" -o IdentitiesOnly=yes -i "$K/k5" "$U1@$IP1" echo ok 2>/dev/null)"
AK=$("$BUILD/authorized_keys/containarium-authorized-keys" --keys-db "$T_TMP/main/state/keys.db" "$U1")
expect_eq "keys.db: k5 in, k3 out, still 3 keys" "1 0 3" \
	"$(grep -c "$(cut -d' ' -f2 "$K/k5.pub")" <<<"$AK") $(grep -c "$(cut -d' ' -f2 "$K/k3.pub")" <<<"$AK") $(grep -c permitopen <<<"$AK")"
cli key replace "$U1" "key1@$U1" --ssh-key "$K/k2.pub"
expect_rc "key replace by a key the user has" 4
expect_match "... says so" "already has the new key" "$ERR"
cli key replace "$U1" SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA --ssh-key "$K/k3.pub"
expect_rc "key replace of an unknown key" 3
cli key replace "$U1" "key1@$U1" --ssh-key "$K/two.pub"
expect_rc "key replace by a file of two keys: refused before any request" 2
cli --json key list "$U1"
jq_eq "the refused replaces changed nothing" '[.keys[].comment] | join(" ")' "key1@$U1 key2@$U1 key5@$U1" "$OUT"

# export
cli export "$U1" --jump-ip 203.0.113.10
expect_rc "export" 0
EXPORT=$OUT
expect_same "export: the ssh_config block" "# Containarium SSH Configuration
# User: $U1
# Generated: X

# Jump server (proxy-only account: no shell)
Host containarium-jump-$U1
    HostName 203.0.113.10
    User $U1

# $U1's development container
Host $U1-dev
    HostName $IP1
    User $U1
    ProxyJump containarium-jump-$U1
    StrictHostKeyChecking accept-new" "$(printf '%s\n' "$EXPORT" | no_generated)"
expect_match "export: Generated line" '^# Generated: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC$' "$EXPORT"
# shellcheck disable=SC2088 # the user's ~, not ours
cli export "$U1" --jump-ip jump.example.com --jump-port 2222 --key "~/.ssh/containarium_$U1"
expect_same "export --jump-port --key" "# Containarium SSH Configuration
# User: $U1
# Generated: X

# Jump server (proxy-only account: no shell)
Host containarium-jump-$U1
    HostName jump.example.com
    Port 2222
    User $U1
    IdentityFile ~/.ssh/containarium_$U1
    IdentitiesOnly yes

# $U1's development container
Host $U1-dev
    HostName $IP1
    User $U1
    IdentityFile ~/.ssh/containarium_$U1
    IdentitiesOnly yes
    ProxyJump containarium-jump-$U1
    StrictHostKeyChecking accept-new" "$(printf '%s\n' "$OUT" | no_generated)"
printf '%s\n' "$OUT" >"$T_TMP/ssh_config"
expect_eq "ssh reads the export: $U1-dev goes through the jump host" \
	"hostname $IP1|proxyjump containarium-jump-$U1|user $U1" \
	"$(ssh -F "$T_TMP/ssh_config" -G "$U1-dev" | grep -E '^(hostname|user|proxyjump) ' | sort | paste -sd '|')"
cli --json export "$U1" --jump-ip 203.0.113.10
jq_eq "export --json" '.name + " " + (.ssh_config | split("\n") | .[6])' "$U1     HostName 203.0.113.10" "$OUT"
cli export "nosuch$RND" --jump-ip 203.0.113.10
expect_rc "export of an unknown user" 3
# --output
OUTDIR=$T_TMP/out
ls_dir() { find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | paste -sd ' '; }
mkdir -m 0700 "$OUTDIR"
cli export "$U1" --jump-ip 203.0.113.10 --output "$OUTDIR/cfg"
expect_rc "export --output" 0
expect_eq "export --output: message" "Wrote the SSH configuration of $U1 to $OUTDIR/cfg (mode 0600)" \
	"$(printf '%s\n' "$OUT" | head -n 1)"
expect_same "export --output: the same text" "$(printf '%s\n' "$EXPORT" | no_generated)" "$(no_generated <"$OUTDIR/cfg")"
expect_eq "export --output: mode 0600" 600 "$(stat -c %a "$OUTDIR/cfg")"
expect_eq "export --output: no temporary file left" cfg "$(ls_dir "$OUTDIR")"
chown 65534:65534 "$OUTDIR/cfg"
cli export "$U1" --jump-ip 198.51.100.7 -o "$OUTDIR/cfg"
expect_rc "export --output over our own file" 0
expect_match "export --output replaced it" '^    HostName 198\.51\.100\.7$' "$(cat "$OUTDIR/cfg")"
expect_eq "export --output kept the owner" "65534:65534 600" "$(stat -c '%u:%g %a' "$OUTDIR/cfg")"
printf 'Host work\n    HostName 192.0.2.1\n' >"$OUTDIR/other"
cli export "$U1" --jump-ip 203.0.113.10 --output "$OUTDIR/other"
expect_rc "export --output over someone else's file" 4
expect_match "refused: message" "$OUTDIR/other exists and was not written by containarium .* add --force" "$ERR"
expect_eq "refused: the file is untouched" "Host work" "$(head -n 1 "$OUTDIR/other")"
ln -s other "$OUTDIR/link"
cli export "$U1" --jump-ip 203.0.113.10 --output "$OUTDIR/link"
expect_rc "export --output over a symbolic link" 4
expect_eq "refused: the link's target is untouched" "Host work" "$(head -n 1 "$OUTDIR/other")"
cli export "$U1" --jump-ip 203.0.113.10 --output "$OUTDIR/other" --force
expect_rc "export --output --force" 0
expect_eq "--force replaced it, mode 0600" "# Containarium SSH Configuration 600" \
	"$(head -n 1 "$OUTDIR/other") $(stat -c %a "$OUTDIR/other")"
cli export "$U1" --jump-ip 203.0.113.10 --output "$OUTDIR/missing/dir/cfg"
expect_rc "export --output into a missing directory" 1
expect_match "missing directory: message" 'cannot create a file next to' "$ERR"
expect_eq "no stray files in the output directory" "cfg link other" "$(ls_dir "$OUTDIR")"

# permission: nobody may read (socket group), not change (403): exit 6
cli_run_nobody --groups=0 --socket "$SOCK" --json list
expect_rc "a member of the socket's group may list" 0
cli_run_nobody --groups=0 --socket "$SOCK" create "nobody$RND" --ssh-key "$K/k1.pub"
expect_rc "but not create (403)" 6
expect_match "403: helperd's message" 'POST /v1/containers is for root only \(admin_group is empty in helperd.conf\)' "$ERR"
cli_run_nobody --clear-groups --socket "$SOCK" -v list
expect_rc "socket closed to this user" 6
expect_match "socket closed: message names socket and group" \
	"permission denied connecting to helperd at $SOCK \(Permission denied; mode 0660, group root\): only root may use it" "$ERR"
expect_match "socket closed: -v" '^< no answer: Permission denied$' "$ERR"

# stop, start, resize
cli stop "$U1"
expect_rc "stop" 0
expect_same "stop: output" "[1/1] Stopping container...
Container $U1-container is stopped" "$OUT"
cli --json list --state stopped
jq_eq "list --state stopped: $U1" "[.containers[] | select(.name == \"$U1\")] | length" 1 "$OUT"
cli key add "$U1" --ssh-key "$K/k4.pub"
expect_rc "key add to a stopped container" 4
expect_match "stopped: message" 'start it \(containarium start' "$ERR"
cli --json start "$U1"
expect_rc "start --json" 0
jq_eq "start --json: the result" '.status + " " + .ipv4' "Running $IP1" "$OUT"
# several users at once, and --all
cli stop "$U1" "$U2"
expect_rc "stop two users" 0
expect_eq "stop two users: one outcome each, in order" "Container $U1-container is stopped|Container $U2-container is stopped" \
	"$(grep '^Container' <<<"$OUT" | paste -sd '|')"
cli start --all
expect_rc "start --all" 0
expect_match "start --all started $U1" "^Container $U1-container is running at $IP1$" "$OUT"
expect_match "start --all started $U2" "^Container $U2-container is running at $IP2$" "$OUT"
cli start --all
expect_eq "start --all with every container running: nothing to do" "0 Nothing to start: every container runs" "$RC $OUT"
cli stop "$U1" "nosuch$RND"
expect_rc "stop of a user and an unknown one: the unknown one's exit status" 3
expect_match "... a line names what failed" "^containarium: stop: 1 of 2 failed: nosuch$RND$" "$ERR"
expect_eq "... and the other was stopped" Stopped "$(ctm_lxd_state "$U1-container")"
cli start "$U1" "$U1"
expect_rc "a user named twice: refused before any request" 2
cli start "$U1" --all
expect_rc "users and --all: refused" 2
cli start "$U1"
expect_rc "start $U1 again" 0
cli set "$U1" "$U2" --no-autostart
expect_rc "set --no-autostart for two users" 0
expect_eq "set: one step and one line each" \
	"[1/1] Applying new settings...|$U1-container: auto-start disabled|[1/1] Applying new settings...|$U2-container: auto-start disabled" \
	"$(paste -sd '|' <<<"$OUT")"
expect_eq "set: Incus has boot.autostart false on both" "false false" \
	"$(for u in "$U1" "$U2"; do ctm_lxd_api "/1.0/instances/$u-container" | jq -r '.metadata.config["boot.autostart"]'; done | paste -sd ' ')"
cli --json set "$U2" --autostart
jq_eq "set --autostart --json: the account" '.autostart' true "$OUT"
cli set "$U2"
expect_rc "set without a setting: refused" 2
cli snapshot create "$U1" "$U2" --name "pair$RND"
expect_rc "snapshot create USER USER --name NAME" 0
for u in "$U1" "$U2"; do
	expect_eq "snapshot create of two users: $u has pair$RND" 1 \
		"$(ctm_lxd_api "/1.0/instances/$u-container/snapshots" | jq --arg n "pair$RND" '[.metadata[] | select(endswith("/" + $n))] | length')"
done
cli snapshot create "$U1" "$U2" "x$RND"
expect_rc "snapshot create of three words without --name: refused before any request" 2
cli snapshot create --all "batch$RND"
expect_rc "snapshot create --all NAME" 0
for u in "$U1" "$U2"; do
	expect_eq "snapshot create --all: $u has batch$RND" 1 \
		"$(ctm_lxd_api "/1.0/instances/$u-container/snapshots" | jq --arg n "batch$RND" '[.metadata[] | select(endswith("/" + $n))] | length')"
done
if [ -n "$DISK" ]; then RESIZE_DISK=(--disk-quota 2GB) DISK2=2GB; else
	cli resize "$U1" --disk-quota 2GB
	expect_rc "resize --disk-quota on the $CTM_LXD_POOL_DRIVER pool: refused" 2
	expect_match "resize --disk-quota refused: the sentence" "cannot enforce a disk quota" "$ERR"
	RESIZE_DISK=() DISK2=''
fi
cli resize "$U1" --cpu 2 --memory 512MB "${RESIZE_DISK[@]}"
expect_rc "resize" 0
expect_same "resize: output" "[1/1] Applying new limits...
Container $U1-container now has CPU 2, memory 512MB, disk ${DISK2:-without quota}" "$OUT"
cli --json info "$U1"
jq_eq "resize took effect" '[.cpu, .memory, .disk] | join(" ")' "2 512MB $DISK2" "$OUT"
cli --json resize "$U1" --memory 384MiB
jq_eq "resize --json" '.memory' 384MiB "$OUT"

# audit: every change above, with who made it
cli --json audit "$U1"
jq_eq "audit --json: $U1's changes so far" '[.events[] | .event + ":" + (.by_uid | tostring)] | join(" ")' \
	"create:0 create:0 key_add:0 key_add:0 key_remove:0 key_remove:0 key_remove:0 key_add:0 stop:0 start:0 stop:0 start:0 stop:0 start:0 resize:0 snapshot:0 snapshot:0 resize:0 resize:0" "$OUT"
cli audit "$U1" --limit 2
expect_rc "audit" 0
expect_same "audit: the table" "TIME EVENT USER DETAILS
X resize $U1 by_uid=0 operation=X
X resize $U1 by_uid=0 operation=X" \
	"$(printf '%s\n' "$OUT" | squeeze | sed -E 's/^[0-9T:.-]+Z /X /; s/operation=[0-9a-f]{32}/operation=X/')"
cli_run_nobody --groups=0 --socket "$SOCK" audit
expect_rc "audit is for admins (403)" 6
expect_match "audit 403: message" 'GET /v1/audit needs root|GET /v1/audit is for root only' "$ERR"

# delete: running without --force is refused; on a terminal it asks.
cli delete "$U1"
expect_rc "delete a running container" 4
expect_match "delete running: message" 'stop it first, or delete with force' "$ERR"
check "still there" lxd_has "$U1"
ANSWERS=$T_TMP/answers
printf 'n\n' >"$ANSWERS"
TTY=$(script -qec "$CLI --socket $SOCK stop -f $U1 && $CLI --socket $SOCK delete $U1" /dev/null <"$ANSWERS")
TTY_RC=$?
expect_eq "on a terminal, answering n keeps it (exit 1)" 1 "$TTY_RC"
expect_match "on a terminal: the question" "Delete $U1-container \(Stopped, $IP1\) .*\[y/N\]" "$TTY"
expect_match "on a terminal: colour and marks" $'\u2713.* \\[1/1\\] Stopping container' "$TTY"
check "not deleted" lxd_has "$U1"
printf 'y\n' >"$ANSWERS"
TTY=$(NO_COLOR=1 script -qec "$CLI --socket $SOCK delete $U1" /dev/null <"$ANSWERS")
TTY_RC=$?
expect_eq "answering y deletes it" 0 "$TTY_RC"
expect_match "NO_COLOR: no escape sequences" '^[^[:cntrl:]]*$' "$(printf '%s' "$TTY" | tr -d '\r' | tr '\n' ' ')"
expect_match "delete: output" "Container $U1-container and the jump account $U1 are deleted" "$TTY"
check "$U1's container is gone ($CTM_BACKEND_NAME answers 404)" lxd_absent "$U1"
cli info "$U1"
expect_rc "info after delete" 3
cli delete "$U1" --force
expect_rc "delete of a missing user" 3

# busy (409 while an operation runs), Ctrl-C while following, and a
# failing create (exit 1) that helperd undoes.
"$CLI" --socket "$SOCK" create "$U3" --ssh-key "$K/k1.pub" --docker >"$T_TMP/c3.out" 2>"$T_TMP/c3.err" &
BG=$!
for _ in $(seq 100); do
	cli --json operations
	[ "$(printf '%s' "$OUT" | jq -r "[.operations[] | select(.target == \"$U3\" and .status == \"running\")] | length")" = 1 ] && break
	sleep 0.1
done
OPID=$(printf '%s' "$OUT" | jq -r ".operations[] | select(.target == \"$U3\") | .id")
cli delete "$U3" --force
expect_rc "delete while the create runs" 4
expect_match "busy: message" "another operation on $U3 is still running" "$ERR"
cli operations
expect_match "operations: a table with the running create" "^$OPID +create +$U3 +running " "$OUT"
# Steps show as they start (polls are a quarter second apart); step 1
# copies the image and takes longer on a busy machine.
for _ in $(seq 300); do
	grep -q '^\[2/7\] Starting container\.\.\.$' "$T_TMP/c3.out" && break
	sleep 0.1
done
expect_match "steps show while the create runs" '^\[2/7\] Starting container\.\.\.$' "$(cat "$T_TMP/c3.out")"
kill -INT "$BG"
wait "$BG"
expect_eq "Ctrl-C stops following (exit 130)" 130 "$?"
expect_match "Ctrl-C: how to follow again" "the work goes on in helperd: containarium operations $OPID --follow" \
	"$(cat "$T_TMP/c3.err")"
cli operations "$OPID" --follow
expect_rc "create --docker fails offline; operations --follow has its exit code" 1
expect_match "the failed step is shown" '^\[4/7\] Installing Docker, SSH, and tools\.\.\.$' "$OUT"
expect_match "the failure says why and what to do" 'Docker is not in image .* create without docker' \
	"$(printf '%s' "$ERR" | tr '\n' ' ')"
check "the failed create left nothing ($CTM_BACKEND_NAME answers 404)" lxd_absent "$U3"
cli operations "$OPID"
expect_match "operations ID: the table" "^$OPID +create +$U3 +failure +4/7 Installing Docker, SSH, and tools" "$OUT"
expect_match "operations ID: the error" '^Error: Docker is not in image .*\(docker_install_failed\)$' \
	"$(printf '%s' "$OUT" | tr '\n' ' ' | sed 's/ Error:/\nError:/')"
cli --json operations "$OPID"
jq_eq "operations ID --json" '.status + " " + .error.code' "failure docker_install_failed" "$OUT"
cli operations 0123456789abcdef0123456789abcdef
expect_rc "an unknown operation" 3

# delete --backup --force --json
cli --json delete "$U2" -f --backup
expect_rc "delete -f --backup --json" 0
jq_eq "delete --json: the result" '[.name, .container, (.deleted | tostring)] | join(" ")' \
	"$U2 $U2-container true" "$OUT"
BACKUP=$(printf '%s' "$OUT" | jq -r .backup)
expect_match "the backup is in backup_dir" "^$T_TMP/main/backups/$U2-container-.*\.tar\.gz$" "$BACKUP"
check "the backup is a gzip tarball" sh -c "gzip -t '$BACKUP'"
check "$U2's container is gone ($CTM_BACKEND_NAME answers 404)" lxd_absent "$U2"

check "helperd survived the whole run" helperd_alive main
summary
