# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# What the helperd tests look at besides the API (sourced by hdlib.sh):
# LXD itself, the published snapshots, glibc through the NSS module, and
# ssh into a container.  Needs lxdlib.sh, T_TMP, MKSNAPSHOT, AUTHKEYS,
# NSS_MODULE, HD_PREFIX, HD_HOSTPREFIX.

# hd_lxd_managed: every instance marked user.containarium.managed=true, as
# a JSON array of {name, user, uid, ipv4, state, status, owner}.
hd_lxd_managed() {
	ctm_lxd_api -f '/1.0/instances?recursion=1' | jq -c '[.metadata[]
		| select(.config["user.containarium.managed"] == "true")
		| {name, status, user: .config["user.containarium.user"], uid: .config["user.containarium.uid"],
		   ipv4: .config["user.containarium.ipv4"], state: .config["user.containarium.state"],
		   keys: .config["user.containarium.keys"], owner: .config["user.containarium.helperd"]}]'
}

# hd_lxd_ours: names of the instances this run made (by name, user or owner).
hd_lxd_ours() {
	local all
	# Fails when the backend does not answer: "none of ours" must be its answer.
	all=$(ctm_lxd_api -f '/1.0/instances?recursion=1') || return 1
	jq -r --arg p "$HD_PREFIX" --arg h "$HD_HOSTPREFIX" <<<"$all" '
		.metadata[] | select((.name | startswith($p))
			or ((.config["user.containarium.user"] // "") | startswith($p))
			or ((.config["user.containarium.helperd"] // "") | startswith($h))) | .name'
}

# hd_lxd_fingerprint: what helperd publishes from LXD (every managed
# instance's user, uid, state, address, keys), hashed: when it is the same
# before and after, nobody changed the registry meanwhile.
hd_lxd_fingerprint() {
	hd_lxd_managed | jq -c 'map({user, uid, state, ipv4, keys}) | sort_by(.user)' | sha256sum | cut -c1-16
}

hd_lxd_exists() { ctm_lxd_api -f "/1.0/instances/$1" >/dev/null 2>&1; }

# hd_lxd_config INSTANCE KEY: one config value ("" when unset).
hd_lxd_config() {
	ctm_lxd_api -f "/1.0/instances/$1" | jq -r --arg k "$2" '.metadata.config[$k] // ""'
}

# hd_wait_gone INSTANCE SECONDS: until LXD no longer knows INSTANCE.
hd_wait_gone() {
	local deadline=$((SECONDS + $2))
	while hd_lxd_exists "$1"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# hd_dump STATE_DIR: both snapshots as JSON (containarium-mksnapshot --dump).
hd_dump() { "$MKSNAPSHOT" --dump --passwd-db "$1/passwd.db" --keys-db "$1/keys.db" 2>/dev/null; }

# hd_snap_user STATE_DIR USER: USER's entry in the snapshot, compact JSON,
# or nothing.
hd_snap_user() { hd_dump "$1" | jq -c --arg u "$2" '.users[] | select(.name == $u)' 2>/dev/null; }

hd_snap_generation() { hd_dump "$1" | jq -r '.generation' 2>/dev/null; }

# hd_wait_snap STATE_DIR SECONDS JQ-CONDITION: until the dump satisfies it.
hd_wait_snap() {
	local deadline=$((SECONDS + $2))
	until hd_dump "$1" | jq -e "$3" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# hd_authkeys STATE_DIR USER: what sshd's AuthorizedKeysCommand prints.
hd_authkeys() { "$AUTHKEYS" --keys-db "$1/keys.db" "$2"; }

# hd_nss_setup: a directory holding only our module and a test nsswitch.conf
# for hd_getent (the recipe of tests/nss/ns_enter.sh).
hd_nss_setup() {
	mkdir -p "$T_TMP/nss/mod" "$T_TMP/nss/varlib/containarium"
	install -m 0644 "$NSS_MODULE" "$T_TMP/nss/mod/libnss_containarium.so.2"
	printf 'passwd: files containarium\ngroup: files containarium\n' >"$T_TMP/nss/nsswitch.conf"
}

# hd_getent PASSWD_DB ARGS...: getent ARGS in a private mount+pid+net
# namespace where glibc loads our module, CONTAINARIUM_PASSWD_DB=PASSWD_DB.
hd_getent() {
	local db=$1
	shift
	timeout -k 5 30 env NS_LIBDIR="$(libdir)" NS_MODDIR="$T_TMP/nss/mod" \
		NS_NSSWITCH="$T_TMP/nss/nsswitch.conf" NS_VARLIB="$T_TMP/nss/varlib" \
		unshare --mount --propagation private --pid --fork --kill-child --net -- \
		bash "$SRC/tests/nss/ns_enter.sh" env "$db" getent "$@"
}

# hd_ssh KEY USER IP COMMAND...: ssh straight to a container's sshd.
hd_ssh() {
	local key=$1 user=$2 ip=$3
	shift 3
	timeout 30 ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o LogLevel=ERROR "$user@$ip" "$@" </dev/null
}

# hd_keygen FILE [TYPE [BITS]]: a key pair without passphrase.
hd_keygen() {
	ssh-keygen -q -t "${2:-ed25519}" ${3:+-b "$3"} -N '' -C "$(basename "$1")@hdtest" -f "$1" </dev/null
}

# hd_fp PUBFILE: the SHA256 fingerprint ssh-keygen -lf shows.
hd_fp() { ssh-keygen -l -E sha256 -f "$1" | awk '{ print $2 }'; }

# hd_not COMMAND...: succeeds when COMMAND fails (for check).
hd_not() { ! "$@"; }

# hd_ssh_refused KEY USER IP: ssh reached the container's sshd and it
# refused the key, "Permission denied (publickey)"; not any other failure
# (a timeout, sshd down, no route), which a negative check must not accept.
hd_ssh_refused() {
	local out rc
	out=$(hd_ssh "$1" "$2" "$3" true 2>&1 >/dev/null)
	rc=$?
	[ "$rc" = 255 ] && [[ $out == *"Permission denied (publickey"* ]] && return 0
	printf '#   ssh exit %s: %.200s\n' "$rc" "$out"
	return 1
}
