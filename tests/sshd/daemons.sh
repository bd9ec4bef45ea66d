# SPDX-License-Identifier: Apache-2.0
# Sourced by test_sshd_jump.sh: writes the sshd configurations from the
# templates in this directory, starts the daemons in the foreground (-D, so
# $! is the daemon itself) and stops exactly the processes it started.
#
# Needs: HERE (this directory), jail_fail.

SSHD=/usr/sbin/sshd
STARTED_PIDS=()

# render_template FILE NAME=VALUE...: FILE with every @NAME@ replaced.
# Fails when a placeholder is left over (a typo in a name).
render_template() {
	local file=$1 text kv
	shift
	text=$(cat "$file") || return 1
	for kv in "$@"; do
		text=${text//"@${kv%%=*}@"/"${kv#*=}"}  # quoted: no pattern, no & expansion
	done
	if printf '%s\n' "$text" | grep -Eq '@[A-Z_]+@'; then
		printf '# %s: placeholders left: %s\n' "$file" \
			"$(printf '%s\n' "$text" | grep -Eo '@[A-Z_]+@' | sort -u | tr '\n' ' ')" >&2
		return 1
	fi
	printf '%s\n' "$text"
}

# daemon_config DIR LOGLEVEL AUTHORIZED_KEYS PERMIT_ROOT LISTEN...
# Writes DIR/sshd_config (global part) and DIR's host key.
daemon_config() {
	local dir=$1 loglevel=$2 akf=$3 root=$4 addr
	shift 4
	[ -d "$dir" ] || mkdir -m 0755 "$dir"
	[ -f "$dir/ssh_host_ed25519_key" ] ||
		ssh-keygen -q -t ed25519 -N '' -C "$(basename "$dir")" -f "$dir/ssh_host_ed25519_key" ||
		jail_fail "host key for $dir"
	{
		for addr in "$@"; do echo "ListenAddress $addr"; done
		render_template "$HERE/test_daemon_sshd_config.in" HOSTKEY="$dir/ssh_host_ed25519_key" \
			PIDFILE="$dir/sshd.pid" LOGLEVEL="$loglevel" AUTHORIZED_KEYS="$akf" PERMIT_ROOT="$root"
	} >"$dir/sshd_config" || jail_fail "render $dir/sshd_config"
}

# jump_policy DIR: appends the jump users' Match block (must come last);
# no host certificates (the installer's --host-ca fills @HOST_CERTIFICATES@;
# tests/hostca tests those).
jump_policy() {
	render_template "$SRC/host_setup/sshd_dropin.conf.in" JUMP_GROUP=containarium-users \
		KEYS_COMMAND="$KEYS_COMMAND" KEYS_COMMAND_USER="$AUTHKEYS_USER" HOST_CERTIFICATES= >>"$1/sshd_config" ||
		jail_fail "render the jump policy into $1/sshd_config"
}

# sshd_check DIR: `sshd -t` output (empty when the configuration is valid).
sshd_check() {
	"$SSHD" -t -f "$1/sshd_config" 2>&1
}

# sshd_start DIR [NETNS]: starts sshd and waits until it has bound its
# sockets (it writes the pid file only after that).
sshd_start() {
	local dir=$1 ns=${2:-} pid
	rm -f "$dir/sshd.pid"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" "$SSHD" -D -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 &
	else
		"$SSHD" -D -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null >/dev/null 2>&1 &
	fi
	pid=$!
	STARTED_PIDS+=("$pid")
	for _ in $(seq 100); do
		[ -s "$dir/sshd.pid" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/#   /' "$dir/sshd.log" 2>/dev/null
	jail_fail "sshd in $dir did not start"
}

# stop_pid PID: stops one process this test started.
stop_pid() {
	local keep=() pid
	kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
	for pid in "${STARTED_PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
	STARTED_PIDS=("${keep[@]+"${keep[@]}"}")
}

# Stops what this test started, by PID only.
stop_started() {
	local pid
	for pid in "${STARTED_PIDS[@]+"${STARTED_PIDS[@]}"}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	STARTED_PIDS=()
}
