# SPDX-License-Identifier: Apache-2.0
# Sourced by test_sshd_jump.sh inside its private mount namespace: makes this
# namespace look like an installed Containarium host (NSS module, keys
# command user, snapshots in their default place) without changing a byte
# of the host.  Every change is a mount that dies with the namespace.
#
# Needs: W (scratch dir on the private /run tmpfs), BUILD, jail_fail (a
# function that reports a setup failure and exits).

AUTHKEYS_USER=ctm-authkeys
STATE_DIR=/var/lib/containarium

# A private /run: sshd wants /run/sshd, `ip netns add` writes /run/netns,
# and the scratch dir lives here so nothing is left on the host's disk.
jail_private_run() {
	mount -t tmpfs -o mode=0755,nosuid,nodev ctm-test-run /run || jail_fail "tmpfs on /run"
	mkdir -m 0755 /run/sshd "$W" || jail_fail "mkdir /run/sshd $W"
}

# The lowest id in 100..999 that is neither a uid nor a gid in the host files.
jail_free_system_id() {
	local id
	for id in $(seq 999 -1 100); do
		if ! cut -d: -f3 /etc/passwd /etc/group | grep -qx "$id"; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

# Copies of /etc/passwd and /etc/group with the AuthorizedKeysCommandUser
# added (a system user with no shell and its own group, which will own
# keys.db), and an nsswitch.conf that asks our module after files.
jail_etc() {
	local id
	id=$(jail_free_system_id) || jail_fail "no free system uid/gid"
	mkdir -m 0755 "$W/etc"
	{ cat /etc/passwd; echo "$AUTHKEYS_USER:x:$id:$id:Containarium keys command:/nonexistent:/usr/sbin/nologin"; } \
		>"$W/etc/passwd"
	{ cat /etc/group; echo "$AUTHKEYS_USER:x:$id:"; } >"$W/etc/group"
	cat >"$W/etc/nsswitch.conf" <<-'EOF'
	passwd: files containarium
	group: files containarium
	shadow: files
	hosts: files
	EOF
	chmod 0644 "$W/etc/passwd" "$W/etc/group" "$W/etc/nsswitch.conf"
	local f
	for f in passwd group nsswitch.conf; do
		mount --bind "$W/etc/$f" "/etc/$f" || jail_fail "bind mount /etc/$f"
	done
}

# glibc loads NSS modules from the multiarch lib dir only: lay a read-only
# overlay over it whose top layer holds just our module.
jail_nss_module() {
	local libdir
	libdir=$(libdir) # testlib.sh: where libc.so.6 lives
	[ -d "$libdir" ] || jail_fail "no library directory '$libdir'"
	mkdir -m 0755 "$W/nsslib"
	install -m 0644 "$BUILD/nss_containarium/libnss_containarium.so.2" "$W/nsslib/" ||
		jail_fail "copy the NSS module"
	mount -t overlay ctm-test-nss -o "lowerdir=$W/nsslib:$libdir" "$libdir" ||
		jail_fail "overlay $W/nsslib on $libdir"
}

# A tmpfs at the snapshots' default place: sshd runs the keys command with a
# clean environment, so the defaults are what production uses.  When the
# host has no /var/lib/containarium, a read-only overlay on /var/lib adds the
# empty mount point.
jail_state_dir() {
	if [ ! -d "$STATE_DIR" ]; then
		mkdir -m 0755 "$W/varlib" "$W/varlib/containarium"
		mount -t overlay ctm-test-varlib -o "lowerdir=$W/varlib:/var/lib" /var/lib ||
			jail_fail "overlay adding $STATE_DIR"
	fi
	mount -t tmpfs -o mode=0755,nosuid,nodev ctm-test-state "$STATE_DIR" || jail_fail "tmpfs on $STATE_DIR"
}

# sshd runs the AuthorizedKeysCommand only when the file and every directory
# above it are root-owned and not writable by group or others.
jail_keys_command() {
	KEYS_COMMAND=$W/bin/containarium-authorized-keys
	mkdir -m 0755 "$W/bin"
	install -o root -g root -m 0755 "$BUILD/authorized_keys/containarium-authorized-keys" "$KEYS_COMMAND" ||
		jail_fail "install the keys command"
}

jail_setup() {
	jail_private_run
	ip link set lo up || jail_fail "loopback up"
	jail_etc
	jail_nss_module
	jail_state_dir
	jail_keys_command
}
