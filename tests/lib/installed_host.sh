# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# An installed Containarium host inside private mount (and pid, uts)
# namespaces: a copy of /etc, `make install` into a scratch /usr/local,
# an empty /var/lib/containarium, a private /run, containarium-host-setup
# run as an admin would, helperd on the test LXD, and the host's own sshd
# binary with the (copied, installed) sshd_config and PAM stack, on
# loopback.  Nothing on the host changes.  Used by tests/e2e and bench/.
#
# Source after testlib.sh and lxdlib.sh, inside the namespaces, with W (a
# path under /run that does not exist yet), BUILD and SRC set.  Each
# function returns non-zero with IH_ERR saying why.
#   ih_prepare          mounts, make install
#   ih_install [ARGS]   containarium-host-setup install --no-reload ARGS
#                       (its output in IH_OUT)
#   ih_start_helperd    helperd with /etc/containarium/helperd.conf (HELPERD_PID)
#   ih_start_sshd PORT  sshd on 127.0.0.1:PORT, log $W/sshd.log (SSHD_PID)
#   ih_stop             stops both

HELPERD_PID=
SSHD_PID=

ih_prepare() {
	mount -t tmpfs -o mode=0755,nosuid,nodev ctm-ih-run /run || { IH_ERR="tmpfs on /run"; return 1; }
	mkdir -m 0755 "$W" "$W/lxd" /run/sshd
	# The test LXD through a bind mount: a unix socket cannot be reached
	# through the overlay that may be laid on /var/lib below.
	mount --bind "$CTM_LXD_DIR" "$W/lxd" || { IH_ERR="bind the LXD directory"; return 1; }
	CTM_LXD_DIR=$W/lxd
	cp -a /etc "$W/etc" && mount --bind "$W/etc" /etc || { IH_ERR="private /etc"; return 1; }
	mkdir -m 0755 "$W/inst"
	if ! make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$W/inst" PREFIX=/usr/local install >"$W/install.log" 2>&1; then
		IH_ERR="make install: $(tail -n 3 "$W/install.log")"
		return 1
	fi
	mount --bind "$W/inst/usr/local" /usr/local || { IH_ERR="bind /usr/local"; return 1; }
	mkdir -m 0755 "$W/state"
	# No /var/lib/containarium on the host: a read-only overlay on /var/lib
	# adds the mount point without creating it there.
	if [ ! -d /var/lib/containarium ]; then
		mkdir -m 0755 "$W/varlib" "$W/varlib/containarium"
		mount -t overlay ctm-ih-varlib -o "lowerdir=$W/varlib:/var/lib" /var/lib ||
			{ IH_ERR="overlay on /var/lib"; return 1; }
	fi
	mount --bind "$W/state" /var/lib/containarium || { IH_ERR="bind /var/lib/containarium"; return 1; }
	printf '127.0.0.1 localhost\n' >/etc/hosts
	mkdir -p /etc/containarium
	cat >/etc/containarium/helperd.conf <<-EOF
	incus_socket = $CTM_LXD_DIR/unix.socket
	network = $CTM_LXD_BRIDGE
	storage_pool = $CTM_LXD_POOL
	image = $CTM_LXD_IMAGE
	admin_group =
	keys_group = containarium-keys
	default_memory = 256MB
	default_disk = 1GB
	default_cpu = 1
	backup_dir = $W/backups
	audit_log = $W/audit.log
	sshd_log = $W/sshd.log
	EOF
}

ih_install() {
	IH_OUT=$(/usr/local/sbin/containarium-host-setup install --no-reload "$@" 2>&1) ||
		{ IH_ERR="containarium-host-setup install: $IH_OUT"; return 1; }
}

ih_start_helperd() {
	/usr/local/sbin/containarium-helperd -c /etc/containarium/helperd.conf >>"$W/helperd.log" 2>&1 &
	HELPERD_PID=$!
	for _ in $(seq 100); do
		[ -S /run/containarium/helperd.sock ] && grep -q 'serving the API' "$W/helperd.log" && return 0
		kill -0 "$HELPERD_PID" 2>/dev/null || break
		sleep 0.1
	done
	IH_ERR="helperd starts: $(tail -n 3 "$W/helperd.log")"
	return 1
}

ih_start_sshd() {
	rm -f "$W/sshd.pid"
	/usr/sbin/sshd -D -p "$1" -o ListenAddress=127.0.0.1 -o LogLevel=VERBOSE -o PidFile="$W/sshd.pid" \
		-E "$W/sshd.log" </dev/null >/dev/null 2>&1 &
	SSHD_PID=$!
	for _ in $(seq 100); do
		[ -s "$W/sshd.pid" ] && return 0
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.05
	done
	IH_ERR="sshd starts: $(tail -n 3 "$W/sshd.log" 2>/dev/null)"
	return 1
}

ih_stop() {
	[ -z "$SSHD_PID" ] || kill "$SSHD_PID" 2>/dev/null
	[ -z "$HELPERD_PID" ] || kill "$HELPERD_PID" 2>/dev/null
	SSHD_PID=""
	HELPERD_PID=""
}
