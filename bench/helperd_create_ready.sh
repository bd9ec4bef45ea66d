#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# create-ready: seconds from POST /v1/containers until the create is done
# (helperd reports success, which it does only once the container's sshd
# accepts connections and the account is published) and this script sees
# port 22's banner, against creating and starting the same image through
# the same backend socket with curl (POST /1.0/instances with a pinned
# ipv4.address NIC, PUT state start) until GET state shows the address and
# port 22 answers with an SSH banner.  Both sides end at the same event: a
# container whose sshd answers.  Ours then logs in (ssh USER@IP true, with
# the user's own key): untimed, a check that "done" meant ready (a login
# that needs a second try is a NOTE), and its time is shown apart.
#
#   bench/helperd_create_ready.sh BUILD [--capture]
#
# Uses the test backend (tests/lxd/README.md; started if it is down,
# released at the end): Incus with its btrfs pool by default, where a
# create is a copy-on-write snapshot of the image and the figure is
# "create-ready"; with CTM_BACKEND=lxd, LXD 5.0 and its dir pool (every
# create unpacks the image), "create-ready-dir".  Each side creates the same
# container: no profiles, the root disk on pool ctmtest (1GB where the pool
# enforces a size: helperd stores none on dir), eth0 on the test bridge
# with a pinned address, 1 CPU, 256MB, from containarium-base.  The sides alternate ABBA
# (ours raw raw ours ...) after one untimed raw warm-up, so a slow first
# container or a load change hits both alike.  Both sides poll the same way
# (every 0.1 s: LXD's state until the address shows, then port 22); ours
# also waits for its operation (a long poll, answered when it ends).
#
# A run that fails (the backend or helperd fails the create or the start,
# or the container never becomes reachable) is handled alike on both
# sides: counted, not timed, its container removed, and tried again under
# a new name, 3 times at most per run before the benchmark gives up.  The
# BENCH line carries each side's failed/attempted runs beside the ratio.
#
# Every container is deleted: ours with helperd's DELETE ?force=1, raw ones
# with LXD's DELETE; the EXIT trap force-deletes whatever is left.
#
# --capture also writes the live answers the fake server replays
# (bench/fake_incus_{server,instance,network}.json).
#
# Environment: HD_RUNS (8 per side); HD_LOG_LEVEL (helperd's log_level,
# debug shows each step's own timing), HD_KEEP_LOG (a path: helperd's
# time-stamped log is copied there at the end).
set -euo pipefail

SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
BUILD=${1:?usage: helperd_create_ready.sh BUILD [--capture]}
CAPTURE=${2:-}
RUNS=${HD_RUNS:-8}
GOAL=1.15
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
# shellcheck source=bench/helperd_lib.sh
. "$SRC/bench/helperd_lib.sh"
# shellcheck source=tests/lxd/lxdlib.sh
. "$SRC/tests/lxd/lxdlib.sh"

[ "$(id -u)" = 0 ] || hd_die "create-ready needs root (LXD, a UTS namespace)"
for t in $(ctm_backend_tools) curl jq ssh ssh-keygen unshare; do
	command -v "$t" >/dev/null || hd_die "create-ready needs $t (tests/install-deps)"
done
[ -x "$BUILD/helperd/containarium-helperd" ] || hd_die "build first: make BUILD=$BUILD"

TAG=$(printf '%04d' $(($$ % 10000)))
# The same container on both sides: a root disk size only where the pool
# enforces one, as helperd does (helperd/storage_pool.h).
if [ "$CTM_LXD_POOL_DRIVER" = btrfs ]; then BENCH_NAME=create-ready ROOT_SIZE=1GB; else BENCH_NAME=create-ready-$CTM_LXD_POOL_DRIVER ROOT_SIZE=; fi
# The same NIC too: helperd gives every NIC the tenant-isolation options
# (helperd/nic_policy.h), whose nftables rules the backend sets up at start;
# the raw side carries them as well, so the ratio is what helperd adds, not
# what isolation costs.  HD_RAW_NIC_SECURITY=0 measures a raw NIC without
# them (the ratio then includes isolation).
if [ "${HD_RAW_NIC_SECURITY:-1}" = 1 ]; then
	RAW_NIC_SECURITY='{"security.mac_filtering": "true", "security.ipv4_filtering": "true",
		"security.ipv6_filtering": "true", "security.port_isolation": "true"}'
else
	RAW_NIC_SECURITY='{}'
fi
S=$(mktemp -d /tmp/ctm-hdbench.XXXXXX)
LXD_SOCK=$(ctm_lxd_socket)
OURS_NAMES=() RAW_NAMES=()

cleanup() {
	local rc=$? n
	trap - EXIT
	set +e
	for n in "${OURS_NAMES[@]}"; do
		[ -n "$n" ] || continue
		ctm_lxd_delete "$n-container" >/dev/null 2>&1 || echo "create-ready: could not delete $n-container" >&2
	done
	for n in "${RAW_NAMES[@]}"; do
		[ -n "$n" ] || continue
		ctm_lxd_delete "$n" >/dev/null 2>&1 || echo "create-ready: could not delete $n" >&2
	done
	hd_helperd_stop
	ctm_lxd_release
	[ -z "${HD_KEEP_LOG:-}" ] || cp "$S/helperd.log" "$HD_KEEP_LOG"
	rm -rf "$S"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lxd_api() { curl -sS --max-time 130 --unix-socket "$LXD_SOCK" "${@:1:$#-1}" "http://lxd${*: -1}"; }

# lxd_sync METHOD PATH [BODY]: one call; waits for an async operation and
# fails unless it ends in Success.
lxd_sync() {
	local out op args=(-X "$1")
	[ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' -d "$3")
	out=$(lxd_api "${args[@]}" "$2") || return 1
	case $(jq -r .type <<<"$out") in
	async)
		op=$(jq -r .operation <<<"$out")
		out=$(lxd_api "$op/wait?timeout=120") || return 1
		[ "$(jq -r .metadata.status <<<"$out")" = Success ] || {
			echo "create-ready: $1 $2: $(jq -r '.metadata.err // .error' <<<"$out")" >&2
			return 1
		} ;;
	sync) ;;
	*)
		echo "create-ready: $1 $2: $(jq -r .error <<<"$out")" >&2
		return 1 ;;
	esac
}

# op_failed ID: helperd's operation ID ended in failure (says why on stderr).
op_failed() {
	local op
	op=$(hd_api "/v1/operations/$1" 2>/dev/null) || return 1
	jq -e '.status == "failure"' <<<"$op" >/dev/null 2>&1 || return 1
	echo "create-ready: operation $1: $(jq -c .error <<<"$op")" >&2
}

# op_gone ID: op_failed, asked at most once a second.  It only makes a run
# give up early when helperd failed; asking every 0.1 s (a curl and a jq)
# loaded the 2-CPU machine during ours' boot alone: the raw side has no
# such check.
OP_ASKED=0
op_gone() {
	local now=${EPOCHREALTIME%.*}
	[ "$now" != "$OP_ASKED" ] || return 1
	OP_ASKED=$now
	op_failed "$1"
}

# wait_ready NAME IP [OPID]: poll LXD's state until eth0 has IP, then port 22
# until it sends a banner; gives up when helperd's operation OPID failed.
# Prints "T_ADDRESS T_BANNER".
wait_ready() {
	local name=$1 ip=$2 opid=${3:-} deadline=$((SECONDS + 120)) t_addr line
	while :; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "create-ready: $name: no address $ip" >&2; return 1; }
		[ -z "$opid" ] || ! op_gone "$opid" || return 1
		if lxd_api "/1.0/instances/$name/state" 2>/dev/null | jq -e --arg ip "$ip" \
			'.metadata.status == "Running" and
			 ([.metadata.network.eth0.addresses[]? | select(.family == "inet") | .address] | index($ip))' \
			>/dev/null 2>&1; then
			t_addr=$EPOCHREALTIME
			break
		fi
		sleep 0.1
	done
	while :; do
		[ "$SECONDS" -lt "$deadline" ] || { echo "create-ready: $name: no SSH banner at $ip" >&2; return 1; }
		[ -z "$opid" ] || ! op_gone "$opid" || return 1
		# shellcheck disable=SC2016
		line=$(timeout 0.5 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -n 1 <&3' _ "$ip" 2>/dev/null) || line=
		case $line in SSH-2.0-*) break ;; esac
		sleep 0.1
	done
	echo "$t_addr $EPOCHREALTIME"
}

ssh_user() {
	ssh -F /dev/null -i "$S/key" -o IdentitiesOnly=yes -o BatchMode=yes -o PasswordAuthentication=no \
		-o KbdInteractiveAuthentication=no -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=2 -o LogLevel=ERROR "$1@$2" true </dev/null
}

# An address in the upper (pinned) half of the bridge's subnet that no NIC
# uses, counting down from the top; helperd allocates from the bottom.
free_pinned_ip() {
	local used n ip
	used=$(lxd_api "/1.0/instances?recursion=1" | jq -r '.metadata[] | .expanded_devices[]? | ."ipv4.address" // empty')
	for n in $(seq 254 -1 200); do
		ip=$(ctm_lxd_subnet_addr "$n")
		grep -qxF "$ip" <<<"$used" || { echo "$ip"; return 0; }
	done
	return 1
}

# raw_run NAME IP: one raw run; prints "T0 T_CREATED T_STARTED T_ADDRESS
# T_BANNER", or fails (saying why) when the backend's create or start
# failed or the container never became reachable.
raw_run() {
	local name=$1 ip=$2 body t0 t1 t2 ready
	body=$(jq -cn --arg n "$name" --arg ip "$ip" --arg img "$CTM_LXD_IMAGE" --arg pool "$CTM_LXD_POOL" --arg size "$ROOT_SIZE" --argjson nicsec "$RAW_NIC_SECURITY" \
		--arg br "$CTM_LXD_BRIDGE" '{name: $n, type: "container", profiles: [],
		source: {type: "image", alias: $img},
		config: {"limits.cpu": "1", "limits.memory": "256MB", "boot.autostart": "true"},
		devices: {root: ({type: "disk", path: "/", pool: $pool} + if $size == "" then {} else {size: $size} end),
			  eth0: ({type: "nic", network: $br, name: "eth0", "ipv4.address": $ip} + $nicsec)}}')
	t0=$EPOCHREALTIME
	lxd_sync POST /1.0/instances "$body" || { echo "create-ready: raw create of $name failed" >&2; return 1; }
	t1=$EPOCHREALTIME
	lxd_sync PUT "/1.0/instances/$name/state" '{"action":"start","timeout":60}' ||
		{ echo "create-ready: raw start of $name failed" >&2; return 1; }
	t2=$EPOCHREALTIME
	ready=$(wait_ready "$name" "$ip") || { echo "create-ready: raw $name never became reachable" >&2; return 1; }
	echo "$t0 $t1 $t2 $ready"
}

raw_delete() {
	lxd_sync PUT "/1.0/instances/$1/state" '{"action":"stop","force":true,"timeout":30}' || true
	lxd_sync DELETE "/1.0/instances/$1" || hd_die "raw delete of $1 failed"
	lxd_api "/1.0/instances/$1" | jq -e '.error_code == 404' >/dev/null || hd_die "$1 is still there"
	forget RAW_NAMES "$1"
}

# forget ARRAY NAME: NAME is deleted, the EXIT trap need not.
forget() {
	local -n arr=$1
	local kept=() x
	for x in "${arr[@]}"; do
		[ "$x" = "$2" ] || kept+=("$x")
	done
	arr=("${kept[@]}")
}

# op_wait ID: waits for helperd's operation ID and prints it (JSON); fails
# unless it succeeded.
op_wait() {
	local op
	op=$(hd_api -f --max-time 130 "/v1/operations/$1?wait=120") || return 1
	[ "$(jq -r .status <<<"$op")" = success ] || {
		echo "create-ready: operation $1: $(jq -c '{status, error}' <<<"$op")" >&2
		return 1
	}
	printf '%s\n' "$op"
}

# op_times OP: the start of each step, then the end, as epoch seconds
# (helperd stamps them with the wall clock, as $EPOCHREALTIME).
op_times() {
	jq -r 'def t: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601)
			+ ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | "0." + . | tonumber);
		[.steps[].started_at | t] + [.finished_at | t] | map(tostring) | join(" ")' <<<"$1"
}

# One ours run: prints "T0 S1 S2 S3 S4 S5 S6 S7 T_CREATED T_ADDRESS T_BANNER
# T_SSH T_READY LOGIN_TRIES": T_CREATED is when helperd ended the operation
# (its clock), T_READY when this script had both its answer and the banner.
ours_run() {
	local user=$1 body t0 ip='' ready t_ssh t_done t_ready tries=0 deadline steps op opid
	body=$(jq -cn --arg n "$user" --arg k "$(cat "$S/key.pub")" '{name: $n, ssh_keys: [$k]}')
	: >"$S/post.out"
	t0=$EPOCHREALTIME
	hd_api -f -X POST -H 'Content-Type: application/json' -d "$body" /v1/containers >"$S/post.out" ||
		hd_die "POST /v1/containers for $user failed: $(cat "$S/post.out")"
	opid=$(jq -r .operation.id "$S/post.out")
	# The operation's end, as soon as helperd answers the long poll.
	(op_wait "$opid" >"$S/op.json" && echo "$EPOCHREALTIME" >"$S/op.done") &
	local waiter=$!
	# The pinned address appears in the instance's config once helperd made it.
	deadline=$((SECONDS + 60))
	while [ -z "$ip" ]; do
		[ "$SECONDS" -lt "$deadline" ] || hd_die "$user-container never appeared"
		! op_gone "$opid" || hd_die "$user's create failed"
		ip=$(lxd_api "/1.0/instances/$user-container" 2>/dev/null |
			jq -r '.metadata.config["user.containarium.ipv4"] // empty' 2>/dev/null) || ip=
		[ -n "$ip" ] || sleep 0.1
	done
	ready=$(wait_ready "$user-container" "$ip" "$opid") || hd_die "$user-container never became reachable"
	wait "$waiter" || hd_die "$user's create failed"
	op=$(cat "$S/op.json")
	t_done=$(cat "$S/op.done")
	rm -f "$S/op.json" "$S/op.done"
	t_ready=$(awk -v a="$t_done" -v b="${ready#* }" 'BEGIN { printf "%.6f", (a > b) ? a : b }')
	# The check: the user logs in now, with no wait in between.
	deadline=$((SECONDS + 60))
	until tries=$((tries + 1)) && ssh_user "$user" "$ip" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || hd_die "$user could not log in to $ip after the create was done"
		sleep 0.1
	done
	t_ssh=$EPOCHREALTIME
	[ "$tries" -eq 1 ] || echo "# NOTE: $user's first login after the create was done failed; it took $tries tries" >&2
	steps=$(op_times "$op")
	[ "$(wc -w <<<"$steps")" = 8 ] || hd_die "$user's create reported steps I do not know: $steps"
	echo "$t0 $steps $ready $t_ssh $t_ready $tries"
}

ours_delete() {
	local user=$1 i r
	r=$(hd_api -f -X DELETE "/v1/containers/$user?force=1") || hd_die "DELETE $user failed"
	op_wait "$(jq -r .operation.id <<<"$r")" >/dev/null || hd_die "helperd did not delete $user"
	for i in $(seq 100); do
		lxd_api "/1.0/instances/$user-container" | jq -e '.error_code == 404' >/dev/null && break
		sleep 0.1
	done
	lxd_api "/1.0/instances/$user-container" | jq -e '.error_code == 404' >/dev/null || hd_die "$user-container is still there"
	forget OURS_NAMES "$user"
}

# The fake server replays these; say whether they still have the live shape.
capture_check() {
	local user=$1 live_inst shape_live shape_fix
	live_inst=$(lxd_api "/1.0/instances?recursion=1" | jq --arg n "$user-container" '.metadata[] | select(.name == $n)')
	shape_live=$(jq -c '[paths | map(tostring) | join(".")] | sort' <<<"$live_inst")
	shape_fix=$(jq -c '[paths | map(tostring) | join(".")] | sort' "$SRC/bench/fake_incus_instance.json")
	if [ "$shape_live" = "$shape_fix" ]; then
		echo "# fake_incus_instance.json has the same fields as this run's helperd-made instance"
	else
		echo "# NOTE: fake_incus_instance.json differs in fields from this run's instance" \
			"(refresh: bench/helperd_create_ready.sh BUILD --capture):" \
			"$(diff <(jq -r '.[]' <<<"$shape_fix") <(jq -r '.[]' <<<"$shape_live") | grep '^[<>]' | tr '\n' ' ')"
	fi
	if [ "$CAPTURE" = --capture ]; then
		jq . <<<"$live_inst" >"$SRC/bench/fake_incus_instance.json"
		lxd_api /1.0 | jq . >"$SRC/bench/fake_incus_server.json"
		lxd_api "/1.0/networks/$CTM_LXD_BRIDGE" | jq . >"$SRC/bench/fake_incus_network.json"
		echo "# --capture: wrote bench/fake_incus_{instance,server,network}.json from the live LXD"
	fi
}

# --- setup
ctm_lxd_up || hd_die "the test LXD did not come up (tests/lxd/README.md)"
ssh-keygen -q -t ed25519 -N '' -C "hdbench-$TAG" -f "$S/key" >/dev/null
hd_conf "$S/helperd.conf" "listen_socket=$S/helperd.sock" socket_mode=0600 "incus_socket=$LXD_SOCK" \
	"network=$CTM_LXD_BRIDGE" "storage_pool=$CTM_LXD_POOL" "image=$CTM_LXD_IMAGE" "state_dir=$S/state" \
	admin_group= keys_group= default_memory=256MB default_disk=1GB default_cpu=1 \
	${HD_LOG_LEVEL:+"log_level=$HD_LOG_LEVEL"}
hd_helperd_start "$BUILD" "$S" "$S/helperd.conf" "$TAG"
echo "# $BENCH_NAME: helperd (hdbench-$TAG) and curl on $CTM_BACKEND_NAME at $LXD_SOCK; image $CTM_LXD_IMAGE, pool $CTM_LXD_POOL ($CTM_LXD_POOL_DRIVER)," \
	"bridge $CTM_LXD_BRIDGE; $RUNS runs per side, ABBA order after one raw warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"

# try_run SIDE NAME: one run of SIDE (ours or raw) with a container named
# NAME; its line in RUN.  A run that fails leaves its container behind:
# the caller removes it.
try_run() {
	local ip
	if [ "$1" = ours ]; then
		OURS_NAMES+=("$2")
		RUN=$(ours_run "$2")
	else
		ip=$(free_pinned_ip) || hd_die "no free pinned address on $CTM_LXD_BRIDGE"
		RAW_NAMES+=("$2")
		RUN=$(raw_run "$2" "$ip")
	fi
}

# run_slot SIDE I: the I-th timed run of SIDE, named SLOT_NAME (the user
# on ours' side, the container on raw's).  Both sides treat a failed
# run alike: it is counted (FAILED), its container is removed, it is not
# timed, and it is tried again under a new name, TRIES times at most; a
# slot that fails TRIES times ends the benchmark.  ATTEMPTS counts every
# try, so FAILED/ATTEMPTS is each side's failure rate.
TRIES=3 TRY_LETTERS=abc
declare -A ATTEMPTS=([ours]=0 [raw]=0) FAILED=([ours]=0 [raw]=0)
run_slot() {
	local side=$1 i=$2 try container
	for ((try = 1; try <= TRIES; try++)); do
		SLOT_NAME=hdb$TAG${side:0:1}$i${TRY_LETTERS:try-1:1}
		ATTEMPTS[$side]=$((ATTEMPTS[$side] + 1))
		if try_run "$side" "$SLOT_NAME"; then
			return 0
		fi
		FAILED[$side]=$((FAILED[$side] + 1))
		echo "# $side $i: try $try of $TRIES failed (above); not timed, counted as a failure"
		container=$SLOT_NAME
		[ "$side" = raw ] || container=$SLOT_NAME-container
		ctm_lxd_delete "$container" >/dev/null 2>&1 || hd_die "cannot remove $container"
		forget OURS_NAMES "$SLOT_NAME"
		forget RAW_NAMES "$SLOT_NAME"
	done
	hd_die "$side $i failed $TRIES times in a row"
}

# The warm-up is not timed; a failed one is retried but not counted.
WARMUP_FAILED=0
for ((try = 1; try <= TRIES; try++)); do
	warm=hdb${TAG}w${TRY_LETTERS:try-1:1}
	try_run raw "$warm" && break
	WARMUP_FAILED=$((WARMUP_FAILED + 1))
	[ "$try" -lt "$TRIES" ] || hd_die "the raw warm-up failed $TRIES times"
	ctm_lxd_delete "$warm" >/dev/null 2>&1 || hd_die "cannot remove $warm"
	forget RAW_NAMES "$warm"
done
read -r a _ _ _ e <<<"$RUN"
echo "# warm-up raw: $(awk -v a="$a" -v e="$e" 'BEGIN { printf "%.2f", e - a }') s (not counted; $WARMUP_FAILED failed before it)"
raw_delete "$warm"

: >"$S/ours.t" && : >"$S/raw.t"
for ((i = 0; i < RUNS; i++)); do
	if ((i % 2 == 0)); then order="ours raw"; else order="raw ours"; fi
	for side in $order; do
		run_slot "$side" "$i"
		if [ "$side" = ours ]; then
			echo "$RUN" >>"$S/ours.t"
			[ "$i" -gt 0 ] || capture_check "$SLOT_NAME"
			ours_delete "$SLOT_NAME"
			awk '{ printf "# ours %d: %.2f s (helperd op done at %.2f s, banner %.2f s; a login then took %.2f s)\n", n, $13 - $1, $9 - $1, $11 - $1, $12 - $13 }' n="$i" <<<"$RUN"
		else
			echo "$RUN" >>"$S/raw.t"
			raw_delete "$SLOT_NAME"
			awk '{ printf "# raw  %d: %.2f s (created %.2f, started %.2f, address %.2f)\n", n, $5 - $1, $2 - $1, $3 - $1, $4 - $1 }' n="$i" <<<"$RUN"
		fi
	done
done

# med A B FILE: the median of field A minus field B over FILE's lines.
med() { awk -v a="$1" -v b="$2" '{ print $a - $b }' "$3" | hd_median | awk '{ printf "%.2f", $1 }'; }
ours=$(med 13 1 "$S/ours.t")
raw=$(med 5 1 "$S/raw.t")
# Where the time goes.  Ours' steps come from GET /v1/operations/ID
# (fields 2..8 = steps 1..7 start, 9 = op finished); raw's from curl.
echo "# LXD-bound phases, medians in s, ours / raw: create $(med 3 2 "$S/ours.t") / $(med 2 1 "$S/raw.t")" \
	"(ours: step 1 = registry read, network, two reservations, POST /1.0/instances); start $(med 4 3 "$S/ours.t") /" \
	"$(med 3 2 "$S/raw.t"); until the address shows (this script's poll, on both sides) $(med 10 4 "$S/ours.t") /" \
	"$(med 4 3 "$S/raw.t") (helperd's own poll saw it after $(med 5 4 "$S/ours.t"))"
echo "# what only ours does, medians in s (step times from GET /v1/operations/ID): POST /v1/containers to step 1 $(med 2 1 "$S/ours.t");" \
	"steps 4+5 (what the image lacks: nothing here; the user: done during step 3, while the address comes; reported after it)" \
	"$(med 7 5 "$S/ours.t");" \
	"6 keys and sshd accepting $(med 8 7 "$S/ours.t"); 7 activate+publish $(med 9 8 "$S/ours.t");" \
	"address to ready (done and banner) $(med 13 10 "$S/ours.t") (raw: address to banner $(med 5 4 "$S/raw.t"));" \
	"after it, not counted: a login (ssh USER@IP true, one ssh process) $(med 12 13 "$S/ours.t")," \
	"first try in $(awk '$14 == 1' "$S/ours.t" | wc -l) of $(wc -l <"$S/ours.t") runs"
extra=$(awk '{ print ($2 - $1) + ($13 - $10) }' "$S/ours.t" | hd_median | awk '{ printf "%.2f", $1 }')
echo "# with LXD's phases equal on both sides, ours' own additions ($extra s) alone would make the ratio" \
	"$(awk -v r="$raw" -v x="$extra" -v b="$(med 5 4 "$S/raw.t")" 'BEGIN { printf "%.3f", (r - b + x) / r }')" \
	"at this run's raw median; the rest of ours - raw is the LXD phases' spread between runs"
# rate SIDE: "FAILED/ATTEMPTS" of SIDE's timed runs.
rate() { echo "${FAILED[$1]}/${ATTEMPTS[$1]}"; }
echo "# failed runs (not timed, tried again; the same rule on both sides): ours $(rate ours), raw $(rate raw)"
ratio=$(awk -v o="$ours" -v r="$raw" 'BEGIN { printf "%.3f", o / r }')
met=$(awk -v x="$ratio" -v g="$GOAL" 'BEGIN { print (x <= g) ? "met" : "MISSED" }')
echo "# goal: ratio <= $GOAL ($met)"
printf 'BENCH %s ratio=%s ours=%.2f ref=%.2f unit=s failed_ours=%s failed_ref=%s\n' "$BENCH_NAME" "$ratio" "$ours" "$raw" \
	"$(rate ours)" "$(rate raw)"
