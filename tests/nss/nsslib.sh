# shellcheck shell=bash disable=SC2034  # sourced; its constants are used by the tests
# SPDX-License-Identifier: Apache-2.0
# Shared by the NSS shell tests; source it after tests/lib/testlib.sh.
#
# nss_scratch      a scratch dir holding a copy of the module and a test
#                  nsswitch.conf (passwd/group: files containarium); removed,
#                  with any background process we started, on exit
# nss_publish      build a snapshot pair with containarium-mksnapshot
# ns_run           run a command in a throwaway mount+pid+net namespace where
#                  glibc's NSS uses our module (see ns_enter.sh); the host's
#                  /etc and /usr are never written
# expect_ns        ns_run, then assert exit code and exact stdout

NSS_MODULE=$BUILD/nss_containarium/libnss_containarium.so.2
MKSNAPSHOT=$BUILD/mksnapshot/containarium-mksnapshot
AUTHKEYS=$BUILD/authorized_keys/containarium-authorized-keys
NSS_TESTDIR=$SRC/tests/nss

# The users every NSS test publishes, deliberately not in name order.
NSS_KEY_ALICE='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM3TmDl4lChpa7sy/+pLcIjOoVbUgVwi8xGxk2Sp+0Ui alice@laptop'
NSS_KEY_BOB='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICuMknG8MpsvhjgjnSW4CycBwbI96/+smK3RfE7liMct bob@desk'
nss_users_json() { # [EXTRA_USER_JSON...]: the base users plus extra user objects
	local extra=""
	for u in "$@"; do extra="$extra,$u"; done
	cat <<EOF
{"users":[
 {"name":"zoe","uid":70030,"ipv4":"10.0.3.30","state":"suspended"},
 {"name":"alice","uid":70010,"gecos":"Alice Liddell","ipv4":"10.0.3.15","keys":["$NSS_KEY_ALICE"]},
 {"name":"bob","uid":70011,"home":"/home/bob","ipv4":"10.0.3.16","keys":["$NSS_KEY_BOB"]}$extra
]}
EOF
}
NSS_PW_ALICE='alice:*:70010:70000:Alice Liddell:/:/usr/sbin/nologin'
NSS_PW_BOB='bob:*:70011:70000::/home/bob:/usr/sbin/nologin'
NSS_PW_ZOE='zoe:*:70030:70000::/:/usr/sbin/nologin'
NSS_GR='containarium-users:*:70000:'

# A missing build is a failure, not a skip: a skip would hide a broken build.
nss_need_build() {
	local f
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			fail "built: $f (run make BUILD=${BUILD#"$SRC"/} first)"
			summary
			exit 1
		fi
	done
}

NSS_PIDS=()
nss_cleanup() {
	local p
	for p in ${NSS_PIDS[@]+"${NSS_PIDS[@]}"}; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "${T_TMP:-}" ] && rm -rf "$T_TMP"
}

nss_scratch() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ctm-$T_NAME.XXXXXX")
	chmod 755 "$T_TMP"
	trap nss_cleanup EXIT
	trap 'exit 130' INT TERM # so that the EXIT trap runs
	mkdir -p "$T_TMP/mod" "$T_TMP/varlib/containarium"
	install -m 0644 "$NSS_MODULE" "$T_TMP/mod/libnss_containarium.so.2"
	cat >"$T_TMP/nsswitch.conf" <<-'EOF'
	passwd:         files containarium
	group:          files containarium
	shadow:         files
	hosts:          files
	EOF
	# Our module alone (for buffer tests: files would answer ERANGE first).
	printf 'passwd: containarium\ngroup: containarium\n' >"$T_TMP/nsswitch-only.conf"
	# Our module first, and its NOTFOUND final: root then resolves only when
	# the module says UNAVAIL, which is how its two failures are told apart.
	printf 'passwd: containarium [NOTFOUND=return] files\ngroup: containarium [NOTFOUND=return] files\n' \
		>"$T_TMP/nsswitch-notfound-return.conf"
	NSS_NSSWITCH=$T_TMP/nsswitch.conf
	NS_LIBDIR=$(libdir)
	[ -d "$NS_LIBDIR" ] || { fail "glibc's lib dir found ($NS_LIBDIR)"; summary; exit 1; }
}

# nss_publish DIR [JSON]: DIR/passwd.db (root, 0644) and DIR/keys.db from JSON
# (default: nss_users_json).
nss_publish() {
	local dir=$1 json=${2:-$(nss_users_json)}
	mkdir -p "$dir"
	printf '%s\n' "$json" | "$MKSNAPSHOT" --passwd-db "$dir/passwd.db" --keys-db "$dir/keys.db" -
}

# nss_cc OUTPUT SOURCE [FLAGS...]: a test helper, with the project's warnings.
nss_cc() {
	local out=$1 src=$2
	shift 2
	"${CC:-cc}" -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
		-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-align -O2 -g \
		-D_FORTIFY_SOURCE=2 -o "$out" "$src" "$@"
}

# ns_cmd MODE DB: sets NS_CMD to the command prefix that enters a fresh
# namespace (MODE and DB as in ns_enter.sh) using $NSS_NSSWITCH.
# --kill-child: if unshare is killed, the namespace's init dies and takes
# every process in it along.
ns_cmd() {
	NS_CMD=(env NS_LIBDIR="$NS_LIBDIR" NS_MODDIR="$T_TMP/mod" NS_NSSWITCH="$NSS_NSSWITCH"
		NS_VARLIB="$T_TMP/varlib"
		unshare --mount --propagation private --pid --fork --kill-child --net --
		bash "$NSS_TESTDIR/ns_enter.sh" "$1" "$2")
}

# ns_run MODE DB COMMAND...: bounded, so a hung lookup fails the test instead
# of hanging it.
ns_run() {
	ns_cmd "$1" "$2"
	shift 2
	timeout -k 5 60 "${NS_CMD[@]}" "$@"
}

# expect_ns DESCRIPTION EXIT_CODE STDOUT MODE DB COMMAND...
expect_ns() {
	local desc=$1 want_rc=$2 want_out=$3 out rc
	shift 3
	out=$(ns_run "$@" 2>"$T_TMP/stderr"); rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
		ok "$desc"
	else
		fail "$desc"
		printf '#   expected: exit %s, stdout: %s\n#   actual:   exit %s, stdout: %s\n' \
			"$want_rc" "$want_out" "$rc" "$out"
		sed 's/^/#   stderr: /' "$T_TMP/stderr" | head -5
	fi
}

# nss_wait_lines FILE N: until FILE has N lines; at most 30 s (valgrind is slow).
nss_wait_lines() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(wc -l <"$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# nss_live_scenario DESCRIPTION COMMAND...: a snapshot replaced under a
# running process.  COMMAND runs in a namespace (mode env) and looks up alice
# and dave three times, reading a line from $T_TMP/live/go between stages
# (lookup_stages.c does this).  Between the stages the snapshot is
# republished (dave added, alice's gecos changed), then removed.  Asserts
# COMMAND's exit code and output; its stderr is left in $T_TMP/live/err.
nss_live_scenario() {
	local desc=$1 live=$T_TMP/live pid rc
	shift
	rm -rf "$live"
	mkdir -p "$live"
	nss_publish "$live"
	mkfifo "$live/go"
	: >"$live/out" # before the background job opens it: nss_wait_lines reads it
	ns_cmd env "$live/passwd.db"
	timeout -k 5 120 "${NS_CMD[@]}" "$@" >"$live/out" 2>"$live/err" &
	pid=$!
	NSS_PIDS=("$pid")

	nss_wait_lines "$live/out" 2
	nss_publish "$live" "$(nss_users_json '{"name":"dave","uid":70040,"gecos":"Dave"}' |
		sed 's/Alice Liddell/Alice P. Liddell/')"
	timeout 30 bash -c 'echo go >"$1"' _ "$live/go"
	nss_wait_lines "$live/out" 4
	rm -f "$live/passwd.db"
	timeout 30 bash -c 'echo go >"$1"' _ "$live/go"
	wait "$pid"; rc=$?
	NSS_PIDS=()
	expect_eq "$desc" "exit 0
1 alice 70010 Alice Liddell
1 dave -
2 alice 70010 Alice P. Liddell
2 dave 70040 Dave
3 alice -
3 dave -" "exit $rc
$(cat "$live/out")"
}
