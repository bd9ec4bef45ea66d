# SPDX-License-Identifier: Apache-2.0
# Sourced by test_sshd_jump.sh: the users' side (keys, ssh client runs) and
# helpers that look at what sshd logged for one connection.
#
# Needs: W, jail_fail, and testlib's ok/fail.

# client_identity NAME: an ed25519 key pair and an ssh_config that uses only
# it.  The options live in a file rather than on the command line because
# `ssh -J` passes -F, but not -i or -o, to the ssh it runs for the jump hop.
client_identity() {
	local name=$1
	[ -d "$W/client" ] || mkdir -m 0700 "$W/client"
	ssh-keygen -q -t ed25519 -N '' -C "$name@laptop" -f "$W/client/$name" || jail_fail "key for $name"
	cat >"$W/client/$name.ssh_config" <<-EOF
	Host *
	IdentityFile $W/client/$name
	IdentitiesOnly yes
	BatchMode yes
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	GlobalKnownHostsFile /dev/null
	ConnectTimeout 5
	LogLevel ERROR
	EOF
}

# key_fp NAME: the SHA256 fingerprint sshd logs for NAME's key.
key_fp() {
	ssh-keygen -l -E sha256 -f "$W/client/$1.pub" | awk '{print $2}'
}

# re TEXT: TEXT as a grep -E pattern matching itself (fingerprints hold
# '+', paths hold '.').
re() { printf '%s' "$1" | sed 's/[][\\.*^$+?(){}|]/\\&/g'; }

# as_user NAME SSH-ARGS...: runs ssh with NAME's key and configuration;
# sets OUT (stdout), ERR (stderr) and RC.  A hard time limit keeps a hung
# connection from hanging the test.
as_user() {
	local name=$1
	shift
	OUT=$(timeout 20 ssh -F "$W/client/$name.ssh_config" "$@" </dev/null 2>"$W/client/stderr")
	RC=$?
	ERR=$(cat "$W/client/stderr")
}

# log_mark LOG: the number of lines LOG has now; log_since LOG MARK: the
# lines written after it, i.e. by the connections made in between.
log_mark() { wc -l <"$1"; }
log_since() { tail -n "+$(($2 + 1))" "$1"; }

# expect_log DESC LOG MARK REGEX: some line after MARK matches REGEX.  sshd
# writes a few lines after the client is gone, so wait a little for them.
expect_log() {
	local desc=$1 log=$2 mark=$3 pattern=$4
	for _ in $(seq 40); do
		if log_since "$log" "$mark" | grep -Eq -- "$pattern"; then
			ok "$desc"
			return
		fi
		sleep 0.05
	done
	fail "$desc"
	printf '#   no line matches: %s\n' "$pattern"
	log_since "$log" "$mark" | sed 's/^/#   log: /' | head -30
}

# expect_no_log DESC LOG MARK REGEX: no line after MARK matches REGEX.
expect_no_log() {
	local desc=$1 log=$2 mark=$3 pattern=$4
	if log_since "$log" "$mark" | grep -Eq -- "$pattern"; then
		fail "$desc"
		log_since "$log" "$mark" | grep -E -- "$pattern" | sed 's/^/#   unexpected: /' | head -10
	else
		ok "$desc"
	fi
}

# expect_rc DESC EXPECTED: RC of the last as_user.
expect_rc() {
	if [ "$RC" = "$2" ]; then ok "$1"; else
		fail "$1"
		printf '#   exit %s, expected %s\n#   stdout: %s\n#   stderr: %s\n' "$RC" "$2" "$OUT" "$ERR"
	fi
}
