# shellcheck shell=bash disable=SC2034  # sourced: its results (HD_*) are read by the tests
# SPDX-License-Identifier: Apache-2.0
# Shared by the helperd tests (tests/helperd/test_*.sh); source it after
# tests/lib/testlib.sh, with HD_TAG set to two letters naming the test.
#
# Runs containarium-helperd for real against the test backend (tests/lxd:
# Incus, or LXD with CTM_BACKEND=lxd):
#   hd_setup                 root, tools, build, scratch dir, backend up (else skip_all)
#   hd_conf NAME [K=V...]    write $T_TMP/NAME/helperd.conf (test defaults + overrides)
#   hd_start NAME [HOST]     start helperd NAME in its own mount+UTS namespace
#   hd_stop NAME / hd_kill9 NAME
#   hd_api NAME METHOD PATH [CURL-ARGS...]   one request: HD_CODE, HD_BODY
#   hd_json NAME METHOD PATH JSON            the same with a JSON body
#   hd_wait_op NAME ID       follow an operation to its end: HD_OP
#   hd_create NAME USER PUBFILE [EXTRA-JSON] create and wait, timed
# Everything the test makes is removed on exit (hd_cleanup): the helperds
# (by PID), every instance whose name or user starts with HD_PREFIX or
# whose owner is one of our helperds, what the test's own hd_cleanup_extra
# removes (when it defines one), the scratch dir.

HD_TESTDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HD_TESTDIR/../lxd/lxdlib.sh"
# shellcheck source-path=SCRIPTDIR
. "$HD_TESTDIR/hdview.sh"

# HELPERD may name another binary (to try a fix before it is in the tree).
HELPERD=${HELPERD:-$BUILD/helperd/containarium-helperd}
MKSNAPSHOT=$BUILD/mksnapshot/containarium-mksnapshot
AUTHKEYS=$BUILD/authorized_keys/containarium-authorized-keys
NSS_MODULE=$BUILD/nss_containarium/libnss_containarium.so.2

# Our users are HD_PREFIX + a word ("ha4242-main"): a per-run prefix ending
# in '-' so that no other run's prefix starts with ours.  Our helperds'
# host names start with HD_HOSTPREFIX.
HD_PREFIX=${HD_TAG:-hd}$$-
HD_HOSTPREFIX=hdtest-$$-
declare -A HD_PID=() HD_HOST=()
HD_CRASHES=0

# hd_ms_since START_NS: seconds since a `date +%s%N` stamp, as "S.mmm".
hd_ms_since() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# hd_free_id FILE FROM: the first id >= FROM that no line of FILE
# (passwd/group format) uses.
hd_free_id() {
	local id=$2
	while awk -F: -v id="$id" '$3 == id { found = 1 } END { exit !found }' "$1"; do
		id=$((id + 1))
	done
	printf '%s\n' "$id"
}

hd_setup() {
	local cmd f
	need_root
	for cmd in $(ctm_backend_tools) jq curl setpriv unshare ssh ssh-keygen sha256sum gzip; do
		command -v "$cmd" >/dev/null || skip_all "$cmd missing (tests/install-deps)"
	done
	# A missing build is a failure, not a skip: a skip would hide it.
	for f in "$HELPERD" "$MKSNAPSHOT" "$AUTHKEYS" "$NSS_MODULE"; do
		if [ ! -x "$f" ] && [ ! -f "$f" ]; then
			fail "built: $f (run make BUILD=${BUILD#"$SRC"/} first)"
			summary
			exit 1
		fi
	done
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
	chmod 755 "$T_TMP"
	trap hd_cleanup EXIT
	trap 'exit 130' INT TERM # so that the EXIT trap runs

	# The admin group and a host user that is not a reserved name exist
	# only in the helperds' mount namespaces (hd_enter.sh).
	HD_ADMIN_GROUP=hdadm$$
	HD_ADMIN_GID=$(hd_free_id /etc/group 4200)
	{ cat /etc/group; echo "$HD_ADMIN_GROUP:x:$HD_ADMIN_GID:"; } >"$T_TMP/etc-group"
	HD_HOST_USER=${HD_PREFIX}host
	local uid
	uid=$(hd_free_id /etc/passwd 4300)
	{ cat /etc/passwd; echo "$HD_HOST_USER:x:$uid:$uid:host user:/nonexistent:/usr/sbin/nologin"; } \
		>"$T_TMP/etc-passwd"
	chmod 644 "$T_TMP/etc-group" "$T_TMP/etc-passwd"

	if ! ctm_lxd_up; then
		skip_all "the test $CTM_BACKEND_NAME cannot be brought up (tests/lxd/$CTM_BACKEND-up): $(tail -n 3 "$CTM_LXD_LOG" 2>/dev/null | tr '\n' ' ')"
	fi
	ctm_lxd_healthy || skip_all "the test $CTM_BACKEND_NAME is up but not healthy (bridge, pool or image missing; see $CTM_LXD_LOG)"
	hd_nss_setup
}

hd_cleanup() {
	local n pids=()
	for n in "${!HD_PID[@]}"; do
		hd_stop "$n"
	done
	# After a failure, helperd's warnings and errors say what it saw.
	if [ "$T_FAIL" -gt 0 ] && [ -n "${T_TMP:-}" ]; then
		for n in "$T_TMP"/*/log; do
			[ -f "$n" ] || continue
			echo "# warnings and errors of helperd $(basename "$(dirname "$n")"):"
			grep -E '^<[0-4]>' "$n" | tail -n 20 | sed 's/^/#   /'
		done
	fi
	if ctm_lxd_alive; then
		for n in $(hd_lxd_ours); do
			echo "# cleanup: deleting $n"
			ctm_lxd_delete "$n" &
			pids+=("$!")
		done
		for n in ${pids[@]+"${pids[@]}"}; do
			wait "$n"
		done
		# Reservations of our users' uids and addresses (helperd's
		# reservation.h) that a failed run left.
		for n in $(ctm_lxd_api -f "/1.0/profiles?recursion=1" 2>/dev/null | jq -r --arg p " for $HD_PREFIX" \
			'.metadata[] | select((.name | startswith("ctm-")) and (.description | contains($p)) and
				(.used_by | length) == 0) | .name'); do
			echo "# cleanup: deleting reservation $n"
			ctm_lxd_api -X DELETE "/1.0/profiles/$n" >/dev/null 2>&1
		done
	fi
	# A test's own backend objects (a network, ...) go after its
	# instances and before the backend may stop: hd_cleanup_extra.
	if declare -F hd_cleanup_extra >/dev/null; then hd_cleanup_extra; fi
	ctm_lxd_release
	[ -n "${T_TMP:-}" ] && rm -rf "$T_TMP"
}

# hd_conf NAME [KEY=VALUE...]: the test's helperd.conf for helperd NAME.
hd_conf() {
	local name=$1 dir=$T_TMP/$1 a k
	shift
	mkdir -p "$dir"
	local -A kv=(
		[listen_socket]=$dir/api.sock [socket_mode]=0660 [admin_group]=$HD_ADMIN_GROUP
		[incus_socket]=$(ctm_lxd_socket) [network]=$CTM_LXD_BRIDGE [storage_pool]=$CTM_LXD_POOL
		[image]=$CTM_LXD_IMAGE [state_dir]=$dir/state [backup_dir]=$dir/backup [keys_group]=""
		[audit_log]=$dir/audit.log [default_cpu]=1 [default_memory]=256MB [default_disk]=1GB
		[poll_seconds]=1 [max_body_bytes]=65536 [log_level]=info
	)
	for a in "$@"; do
		kv[${a%%=*}]=${a#*=}
	done
	for k in "${!kv[@]}"; do
		printf '%s = %s\n' "$k" "${kv[$k]}"
	done | sort >"$dir/helperd.conf"
}

hd_sock() { printf '%s\n' "$T_TMP/$1/api.sock"; }
hd_state() { printf '%s\n' "$T_TMP/$1/state"; }
hd_log() { printf '%s\n' "$T_TMP/$1/log"; }

# hd_alive NAME: helperd NAME runs (our child; a zombie counts as gone).
hd_alive() {
	local pid=${HD_PID[$1]:-} st
	[ -n "$pid" ] || return 1
	st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# hd_start NAME [HOSTNAME]: starts helperd NAME (config from hd_conf) and
# waits until its API answers.  The host name is kept for restarts.
hd_start() {
	local name=$1 dir=$T_TMP/$1 i
	HD_HOST[$name]=${2:-${HD_HOST[$name]:-$HD_HOSTPREFIX$name}}
	unshare --mount --uts --propagation private -- \
		bash "$HD_TESTDIR/hd_enter.sh" "${HD_HOST[$name]}" "$T_TMP/etc-group" "$T_TMP/etc-passwd" \
		"$HELPERD" -c "$dir/helperd.conf" >>"$dir/log" 2>&1 &
	HD_PID[$name]=$!
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null --max-time 2 --unix-socket "$dir/api.sock" http://helperd/v1/system && return 0
		if ! hd_alive "$name"; then
			wait "${HD_PID[$name]}" 2>/dev/null
			unset "HD_PID[$name]"
			sed 's/^/#   log: /' "$dir/log" | tail -n 5
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# hd_stop NAME: SIGTERM, at most 15 s (helperd lets running work finish
# for up to 10 s), then SIGKILL.
hd_stop() {
	local name=$1 pid=${HD_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		hd_alive "$name" || break
		sleep 0.1
	done
	hd_alive "$name" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "HD_PID[$name]"
}

hd_kill9() {
	local pid=${HD_PID[$1]:-}
	[ -n "$pid" ] || return 1
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	unset "HD_PID[$1]"
}

# hd_crashed NAME WHAT: helperd died under a request: a failure of its own,
# reported with the evidence; then it is started again so that the checks
# after this one still say something.
hd_crashed() {
	local name=$1 what=$2 rc
	wait "${HD_PID[$name]}" 2>/dev/null
	rc=$?
	unset "HD_PID[$name]"
	HD_CRASHES=$((HD_CRASHES + 1))
	fail "helperd $name stays up while serving $what"
	echo "# BUG: helperd $name died (exit status $rc) while serving $what; last log lines:"
	tail -n 4 "$T_TMP/$name/log" | sed 's/^/#   /'
	dmesg 2>/dev/null | grep -E 'segfault|general protection' | tail -n 1 | sed 's/^/#   kernel: /'
	echo "# restarting helperd $name (operations in progress are lost)"
	hd_start "$name" || echo "# helperd $name does not start again"
}

# hd_api NAME METHOD PATH [CURL-ARGS...]: sets HD_CODE (000: no answer)
# and HD_BODY.
hd_api() {
	local name=$1 method=$2 path=$3
	shift 3
	HD_CODE=$(curl -sS --max-time 150 --unix-socket "$T_TMP/$name/api.sock" -X "$method" \
		-o "$T_TMP/$name/body" -D "$T_TMP/$name/headers" -w '%{http_code}' "$@" "http://helperd$path" \
		2>"$T_TMP/$name/curl.err")
	HD_BODY=$(cat "$T_TMP/$name/body" 2>/dev/null)
	HD_HEADERS=$(tr -d '\r' <"$T_TMP/$name/headers" 2>/dev/null)
	rm -f "$T_TMP/$name/body" "$T_TMP/$name/headers"
	if [ "$HD_CODE" = 000 ] && [ -n "${HD_PID[$name]:-}" ] && ! hd_alive "$name"; then
		hd_crashed "$name" "$method $path"
	fi
}

# hd_json NAME METHOD PATH JSON [CURL-ARGS...]
hd_json() {
	local name=$1 method=$2 path=$3 body=$4
	shift 4
	hd_api "$name" "$method" "$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# hd_jq [JQ-OPTIONS] FILTER: FILTER applied to HD_BODY (raw output; empty on
# bad JSON).
hd_jq() { printf '%s' "$HD_BODY" | jq -r "$@" 2>/dev/null; }

# hd_api_as "SETPRIV-OPTIONS" NAME METHOD PATH [CURL-ARGS...]: hd_api as
# another user (setpriv); HD_CURL_RC is curl's exit code (7: could not
# connect).
hd_api_as() {
	local who=$1 name=$2 method=$3 path=$4 out
	shift 4
	# shellcheck disable=SC2086 # who is a list of setpriv options
	out=$(setpriv $who curl -sS --max-time 150 --unix-socket "$T_TMP/$name/api.sock" -X "$method" \
		-w '\n%{http_code}' "$@" "http://helperd$path" 2>/dev/null)
	HD_CURL_RC=$?
	HD_CODE=${out##*$'\n'}
	HD_BODY=${out%$'\n'*}
}

# hd_expect_error DESCRIPTION STATUS CODE [NAME]: the last answer is the API
# error STATUS/CODE, with the same status in the body and a message to act
# on.  An answer 202 (an operation) is followed through helperd NAME
# (default a) and its error is checked instead.
hd_expect_error() {
	local desc=$1 want="$2 $3 $2 message" got id
	if [ "$HD_CODE" = 202 ] && id=$(hd_jq '.operation.id // empty') && [ -n "$id" ]; then
		desc="$desc (operation)"
		hd_wait_op "${4:-a}" "$id"
		HD_BODY=$(printf '%s' "$HD_OP" | jq -c '{error}' 2>/dev/null)
		HD_CODE=$(hd_jq '.error.status // "none"')
	fi
	got="$HD_CODE $(hd_jq '.error.code // "-"') $(hd_jq '.error.status // "-"')"
	got="$got $(hd_jq 'if (.error.message | length) > 15 then "message" else "no-message" end')"
	expect_eq "$desc: $2 $3" "$want" "$got"
	[ "$want" = "$got" ] || printf '#   body: %.300s\n' "$HD_BODY"
}

# hd_wait_op NAME ID: waits for operation ID (at most 120 s); HD_OP is its
# final JSON.  Returns 0 on success, 1 on failure, 2 when helperd did not
# answer (HD_OP empty).
hd_wait_op() {
	hd_api "$1" GET "/v1/operations/$2?wait=120"
	HD_OP=
	[ "$HD_CODE" = 200 ] || return 2
	HD_OP=$HD_BODY
	case $(hd_jq .status) in
	success) return 0 ;;
	failure) return 1 ;;
	*) return 2 ;;
	esac
}

# hd_op_steps: "n:description" of each step of HD_OP, one a line.
hd_op_steps() { printf '%s' "$HD_OP" | jq -r '.steps[] | "\(.n):\(.description)"' 2>/dev/null; }

# hd_op_step_times: "n=seconds" of each step of HD_OP, on one line.
hd_op_step_times() {
	local n s f out=""
	while read -r n s f; do
		[ -n "$f" ] || continue
		out="$out $n=$(awk -v a="$(date -d "$s" +%s.%N)" -v b="$(date -d "$f" +%s.%N)" \
			'BEGIN { printf "%.2f", b - a }')"
	done < <(printf '%s' "$HD_OP" | jq -r '.steps[] | "\(.n) \(.started_at) \(.finished_at // "")"' 2>/dev/null)
	printf '%s\n' "${out# }"
}

# hd_create NAME USER PUBFILE [EXTRA-JSON-FIELDS]: POST /v1/containers
# through helperd NAME and wait for the operation.  Sets HD_OPID, HD_OP,
# HD_CREATE_S (seconds, POST to result) and prints the timing.  Returns 0
# when the container was created.
hd_create() {
	local name=$1 user=$2 pub=$3 extra=${4:-} t0 body rc
	body=$(jq -cn --arg n "$user" --arg k "$(cat "$pub")" '{name: $n, ssh_keys: [$k]}')
	[ -n "$extra" ] && body=$(jq -c --argjson x "$extra" '. + $x' <<<"$body")
	t0=$(date +%s%N)
	hd_json "$name" POST /v1/containers "$body"
	HD_OPID=$(hd_jq '.operation.id // empty')
	HD_OP=
	if [ "$HD_CODE" != 202 ] || [ -z "$HD_OPID" ]; then
		echo "# create $user: POST answered $HD_CODE: $HD_BODY"
		return 1
	fi
	hd_wait_op "$name" "$HD_OPID"
	rc=$?
	HD_CREATE_S=$(hd_ms_since "$t0")
	echo "# create $user via helperd $name: $HD_CREATE_S s ($(hd_jq .status); steps: $(hd_op_step_times))"
	[ "$rc" -eq 1 ] && echo "#   error: $(hd_jq -c .error)"
	return "$rc"
}

# hd_bug FAILURES-BEFORE TEXT: prints "# BUG: TEXT" when a check failed
# since T_FAIL was FAILURES-BEFORE (a known helperd bug, described for the
# reader of the output; the failure itself is already counted).
hd_bug() {
	[ "$T_FAIL" -gt "$1" ] && echo "# BUG: $2"
	return 0
}
