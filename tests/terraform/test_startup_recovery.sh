#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A jump server whose boot disk was replaced (a managed instance group
# recreates a preempted spot VM: a new VM, a fresh boot disk from the image,
# the same data disk) comes back whole from the data disk alone.
#
# The rendered startup script (scripts/startup.sh.tftpl) runs with the same
# phases and flags as in test_startup_host.sh (--root TREE --offline, the
# release at a file:// URL) on a Debian 12 tree (tests/lxd/build-image):
#   1. server A: its first boot.  Then an Incus (incusd with its INCUS_DIR
#      on A's /var/lib/incus, as the data disk's dataset is mounted there)
#      gets three users as helperd records them (user.containarium.* keys
#      on their instances: name, uid, state, IPv4, keys).
#   2. server B: a fresh tree from the same tarball, with new SSH host keys
#      as a new VM makes them, and nothing of A but A's data disk: the
#      directories that are the pool's datasets (containarium-startup's
#      datasets()), copied over.  The startup script runs on it.
# Checked on B: every SSH host key (private and public) is A's; a second
# run changes no byte, mode, owner or mtime under etc, usr and var/lib;
# then, with incusd on B's /var/lib/incus and B's packaged helperd (in
# `chroot B`), every user is back: `getent passwd` through the packaged NSS
# module gives the same uid, and the packaged keys command the same keys
# pinned to the same IPv4.  And the control: B's own new keys were not A's.
# Runs in a private mount namespace; the host's files are never touched.
# Needs root, a build, and Incus (/usr/libexec/incus/incusd).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/testlib.sh
. "$HERE/../lib/testlib.sh"
# shellcheck source=tests/lib/debs.sh
. "$HERE/../lib/debs.sh"
GCE=$SRC/terraform/gce
INCUSD=/usr/libexec/incus/incusd
read -ra PKGS <<<"$CTM_DEBS_PACKAGES"

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in chroot zstd tar python3 systemctl unshare base64 curl dpkg-buildpackage \
		dpkg-scanpackages apt-get rsync ssh-keygen incus "$INCUSD"; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	unshare --mount --fork true 2>/dev/null || skip_all "cannot create mount namespaces here"
	need_built "$BUILD/helperd/containarium-helperd" "$BUILD/nss_containarium/libnss_containarium.so.2"
	started=$SECONDS
	if ! DEBS=$(ctm_debs_build); then
		fail "the .debs of this tree build (tests/lib/debs.sh)"
		printf '%s\n' "$CTM_DEBS_ERR" | sed 's/^/#   /'
		summary
		exit 1
	fi
	if ! tarball=$("$SRC/tests/lxd/build-image" 2>"${TMPDIR:-/tmp}/ctm-tf-rec-image.$$.log"); then
		fail "the Debian 12 tree (tests/lxd/build-image)"
		sed 's/^/#   /' "${TMPDIR:-/tmp}/ctm-tf-rec-image.$$.log"
		rm -f "${TMPDIR:-/tmp}/ctm-tf-rec-image.$$.log"
		summary
		exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/ctm-tf-rec-image.$$.log"
	printf '# the .debs and the tree: %d s\n' $((SECONDS - started))
	exec unshare --mount --propagation private --fork env BUILD="$BUILD" SRC="$SRC" TARBALL="$tarball" \
		DEBS="$DEBS" ELAPSED=$((SECONDS - started)) bash "$HERE/$(basename "$0")" --inside
fi

# ---- inside the mount namespace ----------------------------------------------------
TARBALL=${TARBALL:?set by the outer half of this script}
DEBS=${DEBS:?set by the outer half of this script}
SECONDS=${ELAPSED:-0}
T=$(mktemp -d /var/tmp/ctm-tf-recovery.XXXXXX)
chmod 0755 "$T"
PIDS=()
cleanup() {
	local d p
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
	for d in A B; do
		[ -S "$T/$d/root/var/lib/incus/unix.socket" ] &&
			INCUS_DIR=$T/$d/root/var/lib/incus timeout 30 incus admin shutdown >/dev/null 2>&1
	done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	cd / || return
	awk -v d="$T/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT
ARCH=$(dpkg --print-architecture)
in_tree() { local r=$1; shift; chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }

# The data disk: what containarium-startup's datasets() mounts from the pool
# (on a VM; here plain directories of the tree).  Read from the script, so
# a dataset added there is carried over here too.
# shellcheck disable=SC2016 # the script's text: $JUMP_HOST_STATE is matched, not expanded
mapfile -t DATA_DIRS < <(sed -n '/^datasets() {/,/^}/p' "$GCE/scripts/containarium-startup" |
	grep -oE '(\$JUMP_HOST_STATE|/var/[a-z/-]+)"' | tr -d '"' |
	sed "s|^\\\$JUMP_HOST_STATE\$|$(sed -n 's/^JUMP_HOST_STATE=//p' "$GCE/scripts/containarium-startup")|")
expect_eq "the data disk's datasets, as containarium-startup mounts them" \
	"/var/lib/incus /var/lib/containarium/backups /var/log/containarium /var/lib/containarium/jump-host" \
	"${DATA_DIRS[*]}"

# tree DIR: a fresh Debian tree in DIR/root, as a new boot disk from the
# image is, with /dev and /proc for the chroots.
tree() {
	mkdir -p "$1/root"
	zstd -dcq "$TARBALL" | tar -x --numeric-owner --xattrs --xattrs-include='*' -C "$1" rootfs || return 1
	mv "$1/rootfs"/* "$1/root"/ && rmdir "$1/rootfs"
	mount --rbind /dev "$1/root/dev"
	mount -t proc proc "$1/root/proc"
}
A=$T/A/root
B=$T/B/root
tree "$T/A" || { fail "unpack the Debian tree (server A)"; summary; exit 1; }

# The release and Debian's mirror, offline, as test_startup_host.sh has them.
REL=$T/release
mkdir "$REL" "$T/five"
cp "$DEBS"/*.deb "$REL/"
for p in "${PKGS[@]}"; do cp "$DEBS/${p}_"*"_$ARCH.deb" "$T/five/"; done
(cd "$REL" && sha256sum -- *.deb >SHA256SUMS)
PIN=$(sha256sum <"$REL/SHA256SUMS" | cut -d' ' -f1)
MIRROR=$T/mirror
if ! ctm_debs_deps "$A/var/lib/dpkg/status" "$MIRROR" "$T/five" ||
	! ctm_debs_build_deps "$A/var/lib/dpkg/status" "$MIRROR"; then
	fail "the packages' dependencies are at hand (Debian's mirror or the cache)"
	printf '%s\n' "$CTM_DEBS_ERR" | sed 's/^/#   /'
	summary
	exit 1
fi
(cd "$MIRROR" && dpkg-scanpackages --multiversion . 2>/dev/null >Packages)
# use_mirror ROOT: the mirror is the tree's only apt source.
use_mirror() {
	mkdir -p "$1/srv/ctm-mirror"
	mount --bind "$MIRROR" "$1/srv/ctm-mirror"
	rm -f "$1"/etc/apt/sources.list.d/*
	echo 'deb [trusted=yes] file:/srv/ctm-mirror ./' >"$1/etc/apt/sources.list"
	in_tree "$1" apt-get update -q >/dev/null 2>&1
}
use_mirror "$A" || { fail "apt-get update in tree A (the local mirror)"; summary; exit 1; }

# The deployment's SSH host CA, as Terraform makes it (tls_private_key.host_ca).
ssh-keygen -q -t ed25519 -N '' -C "" -f "$T/host_ca" </dev/null
PRINCIPALS=jump.example.com,203.0.113.10,10.10.0.10,containarium-jump-0
# The settings of a single spot server (the default layout) installing the release.
setting() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }
{
	setting CTM_LAYOUT standalone
	setting CTM_SERVER_NAME containarium-jump-0
	setting CTM_SERVER_INDEX 0
	setting CTM_INTERNAL_IP 10.10.0.10
	setting CTM_PEER_IPS 10.10.0.10
	setting CTM_VPC_CIDR 10.10.0.0/24
	setting CTM_CONTAINER_SUBNET 10.200.0.0/16
	setting CTM_BRIDGE_ADDRESS 10.200.0.1/16
	setting CTM_BRIDGE_HWADDR 00:16:3e:ca:fe:01
	setting CTM_BRIDGE_MTU 1460
	setting CTM_DHCP_RANGE 10.200.255.1-10.200.255.254
	setting CTM_HOST_ADDRESS ""
	setting CTM_STORAGE_DRIVER zfs
	setting CTM_ZPOOL incus-pool
	setting CTM_DATA_DEVICE /dev/disk/by-id/google-containarium-data
	setting CTM_DATA_FILE_SIZE_GB 100
	setting CTM_INCUS_CHANNEL stable
	setting CTM_CONTAINER_IMAGE images:ubuntu/24.04
	setting CTM_SOURCE ""
	setting CTM_SOURCE_REF ""
	setting CTM_SOURCE_SHA256 ""
	setting CTM_RELEASE_URL "file://$REL/"
	setting CTM_RELEASE_SHA256 "$PIN"
	setting CTM_ADMIN_USERS admin
	setting CTM_CLUSTER_CERT ""
	setting CTM_CLUSTER_KEY ""
	setting CTM_SERVER_CERT ""
	setting CTM_SERVER_KEY ""
	setting CTM_MEMBER_CERTS ""
	setting CTM_HOST_CA_KEY "$(cat "$T/host_ca")"
	setting CTM_HOST_CA_TRUSTED "$(cut -d' ' -f1,2 "$T/host_ca.pub") containarium-host-ca-ca1"
	setting CTM_HOST_PRINCIPALS "$PRINCIPALS"
} >"$T/settings"
python3 "$HERE/render_startup.py" "$GCE/scripts/startup.sh.tftpl" settings="$T/settings" \
	main="$GCE/scripts/containarium-startup" fabric="$GCE/scripts/containarium-fabric" >"$T/startup.sh" ||
	{ fail "render startup.sh.tftpl"; summary; exit 1; }
# run ROOT LOG: the rendered startup script, as test_startup_host.sh runs it.
run() { (cd / && bash "$T/startup.sh" --root "$1" --offline) >"$2" 2>&1; }
# snapshot ROOT FILE: every file under etc, usr and var/lib with inode,
# size, mode, owner, link and mtime, and each one's sha256.
snapshot() {
	(cd "$1" && find etc usr var/lib -xdev \( -type f -o -type l \) -printf '%p %i %s %m %u %g %l %T@\n' | sort &&
		find etc usr var/lib -xdev -type d -printf '%p/ %m %u %g\n' | sort &&
		find etc usr/local var/lib -xdev -type f -print0 | sort -z | xargs -0 sha256sum) >"$2"
}
# keys ROOT DIR: "NAME SHA256" of each ssh_host_* file in ROOT/DIR.
keys() { (cd "$1$2" 2>/dev/null && sha256sum ssh_host_* 2>/dev/null | awk '{ print $2, $1 }' | sort); }

# ---- server A: the first boot --------------------------------------------------------
in_tree "$A" /usr/bin/ssh-keygen -q -A >/dev/null
keys "$A" /etc/ssh >"$T/A.image-keys"
lap=$SECONDS
run "$A" "$T/runA.log"
rc=$?
expect_eq "server A, first boot: exit 0" 0 "$rc" || sed 's/^/#   /' "$T/runA.log" | tail -n 30
printf '# the first boot: %d s\n' $((SECONDS - lap))
expect_eq "server A: its SSH host keys are saved on the data disk, each byte" \
	"$(cat "$T/A.image-keys")" "$(keys "$A" /var/lib/containarium/jump-host/ssh)"
check "server A: at least the ed25519 and rsa keys (private and public)" \
	grep -qx 'ssh_host_ed25519_key [0-9a-f]*' "$T/A.image-keys"
expect_eq "server A: the data disk's key directory is root's only" "700 root" \
	"$(stat -c '%a %U' "$A/var/lib/containarium/jump-host/ssh")"
check "server A: the guest agent is told to keep the host keys" \
	grep -qx 'set_host_keys = false' "$A/etc/default/instance_configs.cfg"

# Its users, as helperd keeps them: in Incus's database on the data disk.
# incusd_start ROOT: incusd on ROOT's /var/lib/incus (INCUS_DIR), its client
# config beside it.
incusd_start() {
	local dir=$1/var/lib/incus
	mkdir -p "$dir"
	chmod 0711 "$dir"
	INCUS_DIR=$dir HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
		setsid "$INCUSD" --group root --logfile="$T/incusd.${1##*/}.log" >"$T/incusd.$$.stderr" 2>&1 </dev/null 7>&- 8>&- &
	INCUSD_PID=$!
	PIDS+=("$INCUSD_PID")
	INCUS_DIR=$dir timeout 30 incus admin waitready --timeout 25 >/dev/null 2>&1 ||
		{ printf '#   %s\n' "$(tail -n 3 "$T/incusd.$$.stderr")"; return 1; }
}
incusd_stop() {
	INCUS_DIR=$1/var/lib/incus timeout 30 incus admin shutdown >/dev/null 2>&1
	kill -TERM "$INCUSD_PID" 2>/dev/null
	wait "$INCUSD_PID" 2>/dev/null
	awk -v d="$1/var/lib/incus/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
}
inc() { INCUS_DIR=$A/var/lib/incus incus "$@"; }
USERS=(alice bob carol)
declare -A UID_OF=([alice]=70001 [bob]=70002 [carol]=70007) IP_OF=([alice]=10.200.1.11 [bob]=10.200.1.12 [carol]=10.200.3.40)
declare -A KEY_OF=()
made=0
if incusd_start "$A"; then
	printf 'storage_pools:\n- name: default\n  driver: dir\n' | inc admin init --preseed >/dev/null 2>&1
	for u in "${USERS[@]}"; do
		ssh-keygen -q -t ed25519 -N '' -C "$u@laptop" -f "$T/$u" >/dev/null
		KEY_OF[$u]=$(cat "$T/$u.pub")
		inc init --empty "$u-container" -s default >/dev/null 2>&1 &&
			inc config set "$u-container" user.containarium.managed=true user.containarium.user="$u" \
				user.containarium.uid="${UID_OF[$u]}" user.containarium.state=active \
				user.containarium.ipv4="${IP_OF[$u]}" user.containarium.keys="${KEY_OF[$u]}" \
				user.containarium.created=2026-12-01T10:00:00Z >/dev/null 2>&1 &&
			made=$((made + 1))
	done
	incusd_stop "$A"
fi
expect_eq "server A: Incus on its data disk holds ${#USERS[@]} users" "${#USERS[@]}" "$made"

# ---- server B: a recreated VM: a fresh boot disk, A's data disk --------------------------
tree "$T/B" || { fail "unpack the Debian tree (server B)"; summary; exit 1; }
use_mirror "$B" || fail "apt-get update in tree B (the local mirror)"
in_tree "$B" /usr/bin/ssh-keygen -q -A >/dev/null
keys "$B" /etc/ssh >"$T/B.image-keys"
check "(control: the new VM's image made other host keys than A's)" \
	sh -c "! grep -qxFf '$T/B.image-keys' '$T/A.image-keys'"
# (Phase 2 makes the backups and audit datasets on a VM; under --root only
# the ones phases 3 and 4 wrote to exist.)
for d in "${DATA_DIRS[@]}"; do
	[ -d "$A$d" ] || continue
	mkdir -p "$B$d"
	rsync -aHAX --numeric-ids --exclude=unix.socket "$A$d/" "$B$d/" || fail "copy A's data disk: $d"
done
lap=$SECONDS
run "$B" "$T/runB1.log"
rc=$?
expect_eq "server B, its first boot on A's data disk: exit 0" 0 "$rc" || sed 's/^/#   /' "$T/runB1.log" | tail -n 30
printf '# the first boot of the recreated VM: %d s\n' $((SECONDS - lap))
expect_eq "server B: /etc/ssh has A's host keys, private and public, each byte" \
	"$(cat "$T/A.image-keys")" "$(keys "$B" /etc/ssh)"
expect_eq "server B: the public host keys sshd offers are A's" \
	"$(cat "$A"/etc/ssh/ssh_host_*_key.pub)" "$(cat "$B"/etc/ssh/ssh_host_*_key.pub)"
expect_eq "server B: the private host keys are root's, 0600" "600 root" \
	"$(stat -c '%a %U' "$B"/etc/ssh/ssh_host_*_key | sort -u | xargs)"
out=$(in_tree "$B" /usr/sbin/sshd -t 2>&1)
expect_eq "server B: sshd -t passes with them" "" "$out"
# The host CA signs the same key again: users who trust the CA see no change.
cert=$B/etc/ssh/containarium/ssh_host_ed25519_key-cert.pub
expect_eq "server B: its Ed25519 certificate certifies A's key, signed by the deployment's CA" \
	"$(ssh-keygen -l -f "$A/etc/ssh/ssh_host_ed25519_key.pub" | awk '{ print $2 }') $(ssh-keygen -l -f "$T/host_ca.pub" | awk '{ print $2 }')" \
	"$(ssh-keygen -L -f "$cert" 2>/dev/null | awk '/Public key:/ { k = $NF } /Signing CA:/ { c = $4 } END { print k, c }')"
check "server B: the run said so" grep -q 'ssh_host_ed25519_key: written' "$T/runB1.log"

snapshot "$B" "$T/snapB1"
run "$B" "$T/runB2.log"
rc=$?
expect_eq "server B, a second run: exit 0" 0 "$rc" || sed 's/^/#   /' "$T/runB2.log" | tail -n 30
snapshot "$B" "$T/snapB2"
if cmp -s "$T/snapB1" "$T/snapB2"; then
	ok "server B: the second run changes no byte, mode, owner, link or mtime ($(grep -c . "$T/snapB1") lines under etc, usr, var/lib)"
else
	fail "server B: the second run changes no byte, mode, owner, link or mtime"
	diff "$T/snapB1" "$T/snapB2" | head -20 | sed 's/^/#   /'
fi
check "server B: the second run says nothing was written or saved" \
	sh -c "! grep -Eq ': written|saved on the data disk' '$T/runB2.log'"

# ---- server B: every user is back ----------------------------------------------------------
# Incus on B's data disk, B's packaged helperd (as its unit runs it, in the
# tree), then what sshd asks: the NSS module and the keys command.
if incusd_start "$B"; then
	ok "server B: Incus starts on the data disk's /var/lib/incus"
	mkdir -p "$B/run/containarium"
	chroot "$B" /usr/sbin/containarium-helperd -c /etc/containarium/helperd.conf >"$T/helperd.log" 2>&1 &
	hpid=$!
	PIDS+=("$hpid")
	for _ in $(seq 1 100); do
		[ -s "$B/var/lib/containarium/passwd.db" ] && [ -s "$B/var/lib/containarium/keys.db" ] && break
		sleep 0.1
	done
	check "server B: helperd published the users (passwd.db, keys.db)" \
		test -s "$B/var/lib/containarium/passwd.db" -a -s "$B/var/lib/containarium/keys.db" ||
		sed 's/^/#   /' "$T/helperd.log" | tail -n 20
	for u in "${USERS[@]}"; do
		expect_match "server B: $u has uid ${UID_OF[$u]} again (getent passwd, the packaged NSS module)" \
			"^$u:\\*:${UID_OF[$u]}:[0-9]+:.*:/usr/sbin/nologin\$" "$(in_tree "$B" getent passwd "$u")"
		expect_eq "server B: $u's key, pinned to ${IP_OF[$u]} (the packaged keys command)" \
			"restrict,port-forwarding,permitopen=\"${IP_OF[$u]}:22\" ${KEY_OF[$u]}" \
			"$(in_tree "$B" /usr/libexec/containarium-authorized-keys "$u")"
	done
	kill -TERM "$hpid" 2>/dev/null
	wait "$hpid" 2>/dev/null
	incusd_stop "$B"
else
	fail "server B: Incus starts on the data disk's /var/lib/incus"
fi
printf '# %d s\n' "$SECONDS"
summary
