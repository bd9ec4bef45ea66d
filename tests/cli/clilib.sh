# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Helpers for tests/cli/test_cli.sh (source it after testlib.sh and
# lxdlib.sh): helperds of our own, and the CLI run with its output captured.
#
# Needs: T_TMP (scratch, mode 0755), CLI, HELPERD.

# cli_run ARGS...: runs the CLI; OUT = stdout, ERR = stderr, RC = exit status.
cli_run() {
	OUT=$("$CLI" "$@" 2>"$T_TMP/stderr")
	RC=$?
	ERR=$(cat "$T_TMP/stderr")
}

# cli_run_nobody SETPRIV-GROUP-ARG ARGS...: the same as the user nobody
# (uid/gid 65534), e.g. cli_run_nobody --clear-groups list.
cli_run_nobody() {
	local groups=$1
	shift
	OUT=$(setpriv --reuid=65534 --regid=65534 "$groups" -- "$CLI" "$@" 2>"$T_TMP/stderr")
	RC=$?
	ERR=$(cat "$T_TMP/stderr")
}

# expect_rc DESCRIPTION CODE: the last cli_run exited with CODE.
expect_rc() {
	if [ "$RC" = "$2" ]; then ok "$1 (exit $2)"; else
		fail "$1 (exit $2)"
		printf '#   exit %s\n#   stdout: %s\n#   stderr: %s\n' "$RC" "$(printf '%s' "$OUT" | head -c 600)" \
			"$(printf '%s' "$ERR" | head -c 600)"
	fi
}

# expect_no_request DESCRIPTION: -v showed no request (no "> METHOD" line).
expect_no_request() {
	if printf '%s\n' "$ERR" | grep -q '^> '; then
		fail "$1: no request was made"
		printf '#   stderr: %s\n' "$ERR"
	else ok "$1: no request was made"; fi
}

# expect_same DESCRIPTION EXPECTED ACTUAL: multi-line text, diff on failure.
expect_same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		fail "$1"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -30 | sed 's/^/#   /'
	fi
}

# jq_eq DESCRIPTION FILTER EXPECTED JSON: jq -r FILTER of JSON is EXPECTED.
jq_eq() {
	local got
	got=$(printf '%s' "$4" | jq -r "$2" 2>&1)
	expect_eq "$1" "$3" "$got"
}

# squeeze: runs of spaces to one (tables, whose widths depend on the rows).
squeeze() { tr -s ' '; }

# no_generated: the export's timestamp line made constant.
no_generated() { sed 's/^# Generated: .*/# Generated: X/'; }

# start_helperd NAME [SETTING...]: a helperd of our own with its socket,
# state and backups under $T_TMP/NAME, settings after the test defaults
# (later lines win), until stop_helperd NAME.  It runs in its own UTS
# namespace with its own host name: helperd's start-up removes
# "provisioning" containers its host name owns as leftovers of a crash,
# and other tests' helperds on this machine share the host name "vm"; with
# a name of its own neither removes the other's creates in flight.
start_helperd() {
	local name=$1 dir=$T_TMP/$1
	shift
	mkdir -p "$dir/state"
	chmod 0755 "$dir"
	{
		printf '%s\n' "listen_socket = $dir/helperd.sock" "incus_socket = $(ctm_lxd_socket)" \
			"network = $CTM_LXD_BRIDGE" "storage_pool = $CTM_LXD_POOL" "image = $CTM_LXD_IMAGE" \
			"state_dir = $dir/state" "backup_dir = $dir/backups" "audit_log = $dir/audit.log" \
			"admin_group =" "keys_group =" \
			"default_memory = 256MB" "default_disk = 1GB" "default_cpu = 1" "log_level = info"
		printf '%s\n' "$@"
	} >"$dir/helperd.conf"
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --uts -- sh -c 'hostname "$1" && exec "$2" -c "$3"' sh "ctmcli-$name-$$" "$HELPERD" \
		"$dir/helperd.conf" >"$dir/log" 2>&1 &
	echo $! >"$dir/pid"
	for _ in $(seq 100); do
		[ -S "$dir/helperd.sock" ] && grep -q 'serving the API' "$dir/log" && return 0
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "# helperd $name did not come up:" && sed 's/^/#   /' "$dir/log"
	return 1
}

# stop_helperd NAME: SIGTERM (helperd waits up to 10 s for running work),
# then SIGKILL.
stop_helperd() {
	local pidf=$T_TMP/$1/pid pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$pidf"
}

# helperd_alive NAME: still running (a crash would show here).
helperd_alive() { kill -0 "$(cat "$T_TMP/$1/pid")" 2>/dev/null; }

# The container of user U exists in our LXD.
lxd_has() { ctm_lxd_api -f "/1.0/instances/$1-container" >/dev/null 2>&1; }
# lxd_absent USER: the backend answered that USER's container does not
# exist (404); an unreachable backend is not "absent".
lxd_absent() { ctm_lxd_api "/1.0/instances/$1-container" 2>/dev/null | jq -e '.error_code == 404' >/dev/null 2>&1; }
