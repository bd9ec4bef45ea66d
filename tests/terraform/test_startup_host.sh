#!/usr/bin/env bash
# The GCE startup script's host configuration, on a real Debian 12 tree (the
# debootstrap root of tests/lxd/build-image, with containarium installed in
# it by `make install DESTDIR=`): the script Terraform renders
# (scripts/startup.sh.tftpl, rendered here the way templatefile() does) runs
# twice with --root TREE --offline (no packages, no disk, no services: the
# steps that need the internet or a VM are skipped).  Then:
#   - both runs succeed and the second changes no byte (nor any mtime);
#   - `sshd -t` passes in the tree; the sshd drop-in, PAM and nsswitch are
#     in place and nsswitch.conf keeps every source it had (here Google's
#     OS Login line: files cache_oslogin oslogin);
#   - the real containarium-helperd accepts the helperd.conf it wrote;
#   - the units are enabled, the fail2ban jail has the documents' values,
#     the guard's nft rules parse, the fabric lists the peers;
#   - settings text that looks like shell never runs.
# Runs in a private mount namespace; the host's files are never touched.
# Needs root and a build (BUILD).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
GCE=$SRC/terraform/gce

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in chroot zstd tar python3 systemctl nft /usr/sbin/sshd unshare base64; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	unshare --mount --fork true 2>/dev/null || skip_all "cannot create mount namespaces here"
	for f in helperd/containarium-helperd nss_containarium/libnss_containarium.so.2 \
		authorized_keys/containarium-authorized-keys pam_containarium/pam_containarium.so; do
		[ -f "$BUILD/$f" ] || { fail "$BUILD/$f is built (make BUILD=...)"; summary; exit 1; }
	done
	if ! tarball=$("$SRC/tests/lxd/build-image" 2>"${TMPDIR:-/tmp}/ctm-tf-image.$$.log"); then
		fail "the Debian 12 tree (tests/lxd/build-image)"
		sed 's/^/#   /' "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
		rm -f "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
		summary
		exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
	exec unshare --mount --propagation private --fork env BUILD="$BUILD" SRC="$SRC" TARBALL="$tarball" \
		bash "$HERE/$(basename "$0")" --inside
fi

# ---- inside the mount namespace ----------------------------------------------------
TARBALL=${TARBALL:?set by the outer half of this script}
T=$(mktemp -d /var/tmp/ctm-tf-startup.XXXXXX)
chmod 0755 "$T"
trap 'cd /; umount -R "$T/root/proc" "$T/root/dev" 2>/dev/null; rm -rf --one-file-system "$T"' EXIT
ROOT=$T/root
mkdir "$ROOT"
zstd -dcq "$TARBALL" | tar -x --numeric-owner --xattrs --xattrs-include='*' -C "$T" rootfs ||
	{ fail "unpack the Debian tree"; summary; exit 1; }
mv "$T/rootfs"/* "$ROOT"/ && rmdir "$T/rootfs"
# sshd -t and ldconfig in the chroot want /dev/null and /proc.
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$ROOT" PREFIX=/usr/local install >"$T/install.log" 2>&1 ||
	{ fail "make install into the Debian tree"; sed 's/^/#   /' "$T/install.log"; summary; exit 1; }

# A booted server has SSH host keys (the image makes them at first boot).
chroot "$ROOT" /usr/bin/ssh-keygen -q -A >/dev/null
# What a GCE Debian 12 image with the guest environment has.
cp "$SRC/tests/host_setup/fixtures/oslogin/nsswitch.conf" "$ROOT/etc/nsswitch.conf"
cp "$ROOT/etc/nsswitch.conf" "$T/nsswitch.before"

# Settings as Terraform writes them for member 1 of a 3-server cluster (the
# layout with the most files).  The "certificate" holds shell syntax: the
# script must never evaluate it.
CANARY=$T/evaluated
setting() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }
{
	setting CTM_LAYOUT cluster
	setting CTM_SERVER_NAME containarium-jump-1
	setting CTM_SERVER_INDEX 1
	setting CTM_INTERNAL_IP 10.10.0.11
	setting CTM_PEER_IPS "10.10.0.10 10.10.0.11 10.10.0.12"
	setting CTM_VPC_CIDR 10.10.0.0/24
	setting CTM_CONTAINER_SUBNET 10.200.0.0/16
	setting CTM_BRIDGE_ADDRESS 10.200.0.1/16
	setting CTM_BRIDGE_HWADDR 00:16:3e:ca:fe:01
	setting CTM_BRIDGE_MTU 1410
	setting CTM_DHCP_RANGE 10.200.255.1-10.200.255.254
	setting CTM_HOST_ADDRESS 10.200.0.3
	setting CTM_ZPOOL incus-pool
	setting CTM_DATA_DEVICE /dev/disk/by-id/google-containarium-data
	setting CTM_DATA_FILE_SIZE_GB 100
	setting CTM_INCUS_CHANNEL stable
	setting CTM_CONTAINER_IMAGE images:ubuntu/24.04
	setting CTM_SOURCE gs://my-project-containarium-source/containarium-0123.zip
	setting CTM_SOURCE_REF ""
	setting CTM_SOURCE_SHA256 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	setting CTM_ADMIN_USERS admin
	setting CTM_CLUSTER_CERT "$(printf -- "-----BEGIN CERTIFICATE-----\n\$(touch %s.1)\n'; touch %s.2; '\n\`touch %s.3\`\n-----END CERTIFICATE-----" "$CANARY" "$CANARY" "$CANARY")"
	setting CTM_CLUSTER_KEY ""
	setting CTM_SERVER_CERT "-----BEGIN CERTIFICATE-----"
	setting CTM_SERVER_KEY "-----BEGIN PRIVATE KEY-----"
	setting CTM_MEMBER_CERTS ""
} >"$T/settings"
python3 "$HERE/render_startup.py" "$GCE/scripts/startup.sh.tftpl" settings="$T/settings" \
	main="$GCE/scripts/containarium-startup" fabric="$GCE/scripts/containarium-fabric" >"$T/startup.sh" ||
	{ fail "render startup.sh.tftpl"; summary; exit 1; }
check "the rendered startup script is valid bash" bash -n "$T/startup.sh"

# snapshot: every file the run may touch, with mode, owner, link target,
# mtime and checksum.
snapshot() {
	# (Directories without mtimes: a temp file made and removed beside a
	# file that did not change touches its directory.)
	(cd "$ROOT" && find etc usr/local var/lib -xdev \( -type f -o -type l \) -printf '%p %m %u %g %l %T@\n' &&
		find etc usr/local var/lib -xdev -type d -printf '%p/ %m %u %g - -\n' | sort) >"$1"
	(cd "$ROOT" && find etc usr/local var/lib -xdev -type f -print0 | sort -z | xargs -0 sha256sum) >>"$1"
}

run() {
	(cd / && bash "$T/startup.sh" --root "$ROOT" --offline) >"$T/run$1.log" 2>&1
}
run 1
rc1=$?
expect_eq "first run: exit 0" 0 "$rc1"
[ "$rc1" = 0 ] || sed 's/^/#   /' "$T/run1.log"
snapshot "$T/snap1"
run 2
rc2=$?
expect_eq "second run: exit 0" 0 "$rc2"
[ "$rc2" = 0 ] || sed 's/^/#   /' "$T/run2.log"
snapshot "$T/snap2"
if cmp -s <(grep -v '^[0-9a-f]\{64\} ' "$T/snap1" | awk '{ $NF = ""; print }') \
	<(grep -v '^[0-9a-f]\{64\} ' "$T/snap2" | awk '{ $NF = ""; print }') &&
	cmp -s <(grep '^[0-9a-f]\{64\} ' "$T/snap1") <(grep '^[0-9a-f]\{64\} ' "$T/snap2"); then
	ok "the second run changes no byte, mode, owner or link ($(grep -c '^[0-9a-f]\{64\} ' "$T/snap1") files)"
else
	fail "the second run changes no byte, mode, owner or link"
	diff <(awk '{ $NF = ""; print }' "$T/snap1") <(awk '{ $NF = ""; print }' "$T/snap2") | head -20 | sed 's/^/#   /'
fi
if cmp -s "$T/snap1" "$T/snap2"; then
	ok "the second run rewrites no file (same mtimes)"
else
	fail "the second run rewrites no file (same mtimes)"
	diff "$T/snap1" "$T/snap2" | head -20 | sed 's/^/#   /'
fi
check "the second run says nothing was written" sh -c "! grep -q ': written' '$T/run2.log'"
check "the first run wrote helperd.conf, the fail2ban jail and the fabric" \
	sh -c "grep -q 'helperd.conf: written' '$T/run1.log' && grep -q 'jail.d/sshd.conf: written' '$T/run1.log' &&
		grep -q 'fabric.conf: written' '$T/run1.log'"

# sshd, PAM, nsswitch.
out=$(chroot "$ROOT" /usr/sbin/sshd -t 2>&1)
expect_eq "sshd -t passes in the tree" "" "$out"
check "the sshd drop-in names the keys command and its user" \
	grep -q 'AuthorizedKeysCommand /usr/local/libexec/containarium-authorized-keys %u' \
	"$ROOT/etc/ssh/sshd_config.d/containarium.conf"
check "the keys user exists in the tree" grep -q '^containarium-keys:' "$ROOT/etc/passwd"
check "/etc/pam.d/sshd has the account and session lines" \
	sh -c "grep -q '^account .*pam_containarium.so' '$ROOT/etc/pam.d/sshd' && grep -q '^session .*pam_containarium.so' '$ROOT/etc/pam.d/sshd'"
for db in passwd group; do
	expect_eq "nsswitch $db: containarium after files, Google's sources kept in order" \
		"files containarium cache_oslogin oslogin" "$(awk -v d="$db:" '$1 == d { $1 = ""; sub(/^ /, ""); print }' "$ROOT/etc/nsswitch.conf")"
done
expect_eq "nsswitch: every other line unchanged" \
	"$(grep -Ev '^(passwd|group):' "$T/nsswitch.before")" "$(grep -Ev '^(passwd|group):' "$ROOT/etc/nsswitch.conf")"

# helperd, units, fail2ban, guard, fabric.
out=$("$BUILD/helperd/containarium-helperd" -c "$ROOT/etc/containarium/helperd.conf" --check-config 2>&1)
rc=$?
expect_eq "containarium-helperd --check-config accepts the helperd.conf written" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
check "helperd.conf: the bridge, pool and image the startup script makes" \
	sh -c "grep -qx 'network = containariumbr0' '$ROOT/etc/containarium/helperd.conf' &&
		grep -qx 'storage_pool = default' '$ROOT/etc/containarium/helperd.conf' &&
		grep -qx 'image = containarium-base' '$ROOT/etc/containarium/helperd.conf'"
for link in multi-user.target.wants/containarium-helperd.service multi-user.target.wants/containarium-guard.service \
	incus.service.wants/containarium-fabric.service incus.service.wants/containarium-guard.service; do
	check "enabled: $link" test -L "$ROOT/etc/systemd/system/$link"
done
check "the Incus drop-in waits for the pool's mount" \
	grep -qx 'ExecStartPre=/usr/bin/mountpoint -q /var/lib/incus' "$ROOT/etc/systemd/system/incus.service.d/containarium-zfs.conf"
jail=$ROOT/etc/fail2ban/jail.d/sshd.conf
check "fail2ban jail: the documents' values (sshd, port 22, 3 tries in 600 s, 1 h ban)" \
	sh -c "grep -qx '\[sshd\]' '$jail' && grep -qx 'enabled = true' '$jail' && grep -qx 'port = 22' '$jail' &&
		grep -qx 'filter = sshd' '$jail' && grep -qx 'maxretry = 3' '$jail' && grep -qx 'findtime = 600' '$jail' &&
		grep -qx 'bantime = 3600' '$jail'"
out=$(unshare --net nft -c -f "$ROOT/etc/containarium/guard.nft" 2>&1)
rc=$?
expect_eq "the guard's nft rules parse (nft -c)" 0 "$rc"
[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
expect_eq "fabric.conf: the two peers, not this member" "peers=10.10.0.10 10.10.0.12" \
	"$(grep '^peers=' "$ROOT/etc/containarium/fabric.conf")"
expect_eq "fabric.conf: every member's host address (cidrhost 2, 3, 4), this one's among them" \
	"host_address=10.200.0.3 hosts=10.200.0.2-10.200.0.4" \
	"$(grep -E '^(hosts|host_address)=' "$ROOT/etc/containarium/fabric.conf" | sort | xargs)"
expect_eq "deploy.conf is root's only (it holds keys)" "600" "$(stat -c %a "$ROOT/etc/containarium/deploy.conf")"
check "the scripts on the server are the repository's, byte for byte" \
	sh -c "cmp -s '$GCE/scripts/containarium-startup' '$ROOT/usr/local/lib/containarium-deploy/containarium-startup' &&
		cmp -s '$GCE/scripts/containarium-fabric' '$ROOT/usr/local/lib/containarium-deploy/containarium-fabric'"
check "settings text that looks like shell never ran" sh -c "! ls '$CANARY'* >/dev/null 2>&1"

# A bad settings file stops the script before it changes anything.
# shellcheck disable=SC2016 # the $(...) is the text under test
sed 's/^CTM_LAYOUT=.*/CTM_LAYOUT=$(reboot)/' "$T/settings" >"$T/bad.settings"
snapshot "$T/snap3"
out=$(bash "$GCE/scripts/containarium-startup" --root "$ROOT" --offline --config "$T/bad.settings" 2>&1)
rc=$?
snapshot "$T/snap4"
check "a settings line that is not KEY=BASE64 is refused, nothing changed" \
	sh -c "[ $rc -ne 0 ] && cmp -s '$T/snap3' '$T/snap4'"
expect_match "  ... with a message naming the line" 'bad.settings:1: not a KEY=BASE64 line' "$out"
summary
