#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The GCE startup script on a real Debian 12 tree (the debootstrap root of
# tests/lxd/build-image): the script Terraform renders
# (scripts/startup.sh.tftpl, rendered here the way templatefile() does)
# runs with --root TREE --offline and a release at a file:// URL, so its
# phase 3 installs containarium's five .debs (this tree's, built once by
# tests/lib/debs.sh) with apt in the tree, exactly as on a VM: the release's
# SHA256SUMS checked against the pinned sha256, each .deb against
# SHA256SUMS, `apt-get install ./*.deb` with the dependencies from a Debian
# mirror (here a local one holding the .debs the tree lacks, fetched once).
# Phase 4 then configures the tree (no disk, no services: the steps that
# need a VM are skipped).  Checked:
#   - the first run installs the five packages (not the -dbgsym ones in the
#     release), the second changes no byte (nor any mtime) under etc, usr
#     and var/lib, dpkg's database included;
#   - the packages and phase 4 do not fight: the only packaged file phase 4
#     changes is the conffile helperd.conf (dpkg --verify), helperd's unit is
#     enabled by its package, the drop-in and PAM name the packaged paths,
#     nothing of containarium is under /usr/local but the deploy scripts;
#   - `sshd -t` passes in the tree; nsswitch.conf keeps every source it had
#     (here Google's OS Login line: files cache_oslogin oslogin);
#   - the packaged containarium-helperd accepts the helperd.conf written;
#   - the host CA: its files root's only (0700 directory, 0600 key), the
#     helperd.conf lines the packaged helperd accepts (it runs ssh-keygen on
#     the key), the tree's host keys signed for the server's names and
#     addresses and named in the sshd drop-in; a key that is not one refused;
#   - the units are enabled, the fail2ban jail has the documents' values,
#     the guard's nft rules parse, the fabric lists the peers;
#   - a wrong pin, a damaged .deb, a release missing a package: refused with
#     a message saying what to do, nothing changed;
#   - a new pin (same version) reinstalls, keeps helperd.conf and the host
#     configuration, and takes away an earlier startup script's `make
#     install` under /usr/local; the run after that changes nothing;
#   - settings text that looks like shell never runs.
# Runs in a private mount namespace; the host's files are never touched.
# Needs root and a build (BUILD: the old `make install` the upgrade replaces).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib/testlib.sh
. "$HERE/../lib/testlib.sh"
# shellcheck source=tests/lib/debs.sh
. "$HERE/../lib/debs.sh"
GCE=$SRC/terraform/gce
read -ra PKGS <<<"$CTM_DEBS_PACKAGES"

if [ "${1:-}" != --inside ]; then
	need_root
	for tool in chroot zstd tar python3 systemctl nft /usr/sbin/sshd unshare base64 curl \
		dpkg-buildpackage dpkg-scanpackages apt-get rsync; do
		command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
	done
	unshare --mount --fork true 2>/dev/null || skip_all "cannot create mount namespaces here"
	need_built "$BUILD/helperd/containarium-helperd" "$BUILD/nss_containarium/libnss_containarium.so.2" \
		"$BUILD/authorized_keys/containarium-authorized-keys" "$BUILD/pam_containarium/pam_containarium.so"
	started=$SECONDS
	if ! DEBS=$(ctm_debs_build); then
		fail "the .debs of this tree build (tests/lib/debs.sh)"
		printf '%s\n' "$CTM_DEBS_ERR" | sed 's/^/#   /'
		summary
		exit 1
	fi
	if ! tarball=$("$SRC/tests/lxd/build-image" 2>"${TMPDIR:-/tmp}/ctm-tf-image.$$.log"); then
		fail "the Debian 12 tree (tests/lxd/build-image)"
		sed 's/^/#   /' "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
		rm -f "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
		summary
		exit 1
	fi
	rm -f "${TMPDIR:-/tmp}/ctm-tf-image.$$.log"
	printf '# the .debs and the tree: %d s\n' $((SECONDS - started))
	exec unshare --mount --propagation private --fork env BUILD="$BUILD" SRC="$SRC" TARBALL="$tarball" \
		DEBS="$DEBS" ELAPSED=$((SECONDS - started)) bash "$HERE/$(basename "$0")" --inside
fi

# ---- inside the mount namespace ----------------------------------------------------
TARBALL=${TARBALL:?set by the outer half of this script}
DEBS=${DEBS:?set by the outer half of this script}
SECONDS=${ELAPSED:-0}
T=$(mktemp -d /var/tmp/ctm-tf-startup.XXXXXX)
chmod 0755 "$T"
trap 'cd /; umount -R "$T/root/proc" "$T/root/dev" 2>/dev/null; rm -rf --one-file-system "$T"' EXIT
ROOT=$T/root
mkdir "$ROOT"
zstd -dcq "$TARBALL" | tar -x --numeric-owner --xattrs --xattrs-include='*' -C "$T" rootfs ||
	{ fail "unpack the Debian tree"; summary; exit 1; }
mv "$T/rootfs"/* "$ROOT"/ && rmdir "$T/rootfs"
# sshd -t, ldconfig and the packages' scripts in the chroot want /dev and /proc.
mount --rbind /dev "$ROOT/dev"
mount -t proc proc "$ROOT/proc"
in_tree() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
ARCH=$(dpkg --print-architecture)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# The release as a project would publish it: every .deb dpkg-buildpackage
# made (the -dbgsym ones too) and SHA256SUMS; served here at a file:// URL.
REL=$T/release
mkdir "$REL" "$T/five"
cp "$DEBS"/*.deb "$REL/"
for p in "${PKGS[@]}"; do cp "$DEBS/${p}_"*"_$ARCH.deb" "$T/five/"; done
(cd "$REL" && sha256sum -- *.deb >SHA256SUMS)
PIN=$(sha256sum <"$REL/SHA256SUMS" | cut -d' ' -f1)

# Debian's mirror, offline: a local apt repository in the tree holding the
# .debs the packages need and the tree lacks (fetched once through apt on
# this host into the cache), the tree's only apt source.
MIRROR=$ROOT/srv/ctm-mirror
if ! ctm_debs_deps "$ROOT/var/lib/dpkg/status" "$MIRROR" "$T/five" ||
	! ctm_debs_build_deps "$ROOT/var/lib/dpkg/status" "$MIRROR"; then
	fail "the packages' dependencies and build dependencies are at hand (Debian's mirror or the cache)"
	printf '%s\n' "$CTM_DEBS_ERR" | sed 's/^/#   /'
	summary
	exit 1
fi
(cd "$MIRROR" && dpkg-scanpackages --multiversion . 2>/dev/null >Packages)
rm -f "$ROOT"/etc/apt/sources.list.d/*
echo 'deb [trusted=yes] file:/srv/ctm-mirror ./' >"$ROOT/etc/apt/sources.list"
out=$(in_tree apt-get update -q 2>&1) ||
	{ fail "apt-get update in the tree (the local mirror)"; printf '%s\n' "$out" | sed 's/^/#   /'; summary; exit 1; }
printf '# the tree, its mirror (%d .debs) and the release: %d s\n' "$(find "$MIRROR" -name '*.deb' | wc -l)" "$SECONDS"

# A booted server has SSH host keys (the image makes them at first boot).
in_tree /usr/bin/ssh-keygen -q -A >/dev/null
# What a GCE Debian 12 image with the guest environment has.
cp "$SRC/tests/host_setup/fixtures/oslogin/nsswitch.conf" "$ROOT/etc/nsswitch.conf"
cp "$ROOT/etc/nsswitch.conf" "$T/nsswitch.before"

# Settings as Terraform writes them for member 1 of a 3-server cluster (the
# layout with the most files) installing a release (CTM_SOURCE is then
# empty).  The "certificate" holds shell syntax: the script must never
# evaluate it.
CANARY=$T/evaluated
setting() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | base64 -w0)"; }
# The host CA as Terraform's tls_private_key makes it (an OpenSSH key).
ssh-keygen -q -t ed25519 -N '' -C "" -f "$T/host_ca" </dev/null
PRINCIPALS=jump.example.com,203.0.113.10,34.1.2.3,10.10.0.11,containarium-jump-1
# settings RELEASE_URL PIN
settings() {
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
	setting CTM_STORAGE_DRIVER zfs
	setting CTM_ZPOOL incus-pool
	setting CTM_DATA_DEVICE /dev/disk/by-id/google-containarium-data
	setting CTM_DATA_FILE_SIZE_GB 100
	setting CTM_INCUS_CHANNEL stable
	setting CTM_CONTAINER_IMAGE images:ubuntu/24.04
	setting CTM_SOURCE ""
	setting CTM_SOURCE_REF ""
	setting CTM_SOURCE_SHA256 ""
	setting CTM_RELEASE_URL "$1"
	setting CTM_RELEASE_SHA256 "$2"
	setting CTM_ADMIN_USERS admin
	setting CTM_CLUSTER_CERT "$(printf -- "-----BEGIN CERTIFICATE-----\n\$(touch %s.1)\n'; touch %s.2; '\n\`touch %s.3\`\n-----END CERTIFICATE-----" "$CANARY" "$CANARY" "$CANARY")"
	setting CTM_CLUSTER_KEY ""
	setting CTM_SERVER_CERT "-----BEGIN CERTIFICATE-----"
	setting CTM_SERVER_KEY "-----BEGIN PRIVATE KEY-----"
	setting CTM_MEMBER_CERTS ""
	setting CTM_HOST_CA_KEY "${HOST_CA_KEY-$(cat "$T/host_ca")}"
	setting CTM_HOST_CA_TRUSTED "$(cut -d' ' -f1,2 "$T/host_ca.pub") containarium-host-ca-ca1"
	setting CTM_HOST_PRINCIPALS "$PRINCIPALS"
}
settings "file://$REL/" "$PIN" >"$T/settings"
# render SETTINGS OUT: the startup script Terraform would give the VM.
render() {
	python3 "$HERE/render_startup.py" "$GCE/scripts/startup.sh.tftpl" settings="$1" \
		main="$GCE/scripts/containarium-startup" fabric="$GCE/scripts/containarium-fabric" >"$2"
}
render "$T/settings" "$T/startup.sh" || { fail "render startup.sh.tftpl"; summary; exit 1; }
check "the rendered startup script is valid bash" bash -n "$T/startup.sh"

# snapshot FILE: every file under etc, usr and var/lib, with inode, size,
# mode, owner, link target and mtime (last); and the checksum of each under
# etc, usr/local and var/lib, where the scripts write (dpkg, the only
# writer elsewhere in usr, replaces a file by a new inode).
snapshot() {
	# (Directories without mtimes: a temp file made and removed beside a
	# file that did not change touches its directory.)
	(cd "$ROOT" && find etc usr var/lib -xdev \( -type f -o -type l \) -printf '%p %i %s %m %u %g %l %T@\n' | sort &&
		find etc usr var/lib -xdev -type d -printf '%p/ %m %u %g - -\n' | sort) >"$1"
	(cd "$ROOT" && find etc usr/local var/lib -xdev -type f -print0 | sort -z | xargs -0 sha256sum) >>"$1"
}
# same_snapshots DESCRIPTION A B: no byte, mode, owner, link or mtime differs.
same_snapshots() {
	if cmp -s "$2" "$3"; then ok "$1"; else
		fail "$1"
		diff "$2" "$3" | head -20 | sed 's/^/#   /'
	fi
}
# shellcheck disable=SC2016 # a dpkg-query format, not shell
status() { in_tree dpkg-query -W -f '${db:Status-Abbrev}' "$1" 2>/dev/null; }
# run N [SCRIPT]: the rendered startup script, as GCE runs it (log: runN.log).
run() {
	(cd / && bash "${2:-$T/startup.sh}" --root "$ROOT" --offline) >"$T/run$1.log" 2>&1
}
leftovers() { find "$ROOT/var/tmp" -maxdepth 1 -name 'containarium-deploy.*' | wc -l; }

lap=$SECONDS
run 1
rc1=$?
expect_eq "first run: exit 0" 0 "$rc1" || sed 's/^/#   /' "$T/run1.log" | tail -n 40
printf '# the first run: %d s\n' $((SECONDS - lap))
snapshot "$T/snap1"
run 2
rc2=$?
expect_eq "second run: exit 0" 0 "$rc2" || sed 's/^/#   /' "$T/run2.log" | tail -n 40
snapshot "$T/snap2"
if cmp -s <(grep -v '^[0-9a-f]\{64\} ' "$T/snap1" | awk '{ $NF = ""; print }') \
	<(grep -v '^[0-9a-f]\{64\} ' "$T/snap2" | awk '{ $NF = ""; print }') &&
	cmp -s <(grep '^[0-9a-f]\{64\} ' "$T/snap1") <(grep '^[0-9a-f]\{64\} ' "$T/snap2"); then
	ok "the second run changes no byte, mode, owner or link ($(grep -vc '^[0-9a-f]\{64\} ' "$T/snap1") files and directories under etc, usr, var/lib)"
else
	fail "the second run changes no byte, mode, owner or link"
	diff <(awk '{ $NF = ""; print }' "$T/snap1") <(awk '{ $NF = ""; print }' "$T/snap2") | head -20 | sed 's/^/#   /'
fi
same_snapshots "the second run rewrites no file (same mtimes)" "$T/snap1" "$T/snap2"
check "the second run says nothing was written" sh -c "! grep -q ': written' '$T/run2.log'"
check "the first run wrote helperd.conf, the fail2ban jail and the fabric" \
	sh -c "grep -q 'helperd.conf: written' '$T/run1.log' && grep -q 'jail.d/sshd.conf: written' '$T/run1.log' &&
		grep -q 'fabric.conf: written' '$T/run1.log'"

# ---- phase 3: the packages -------------------------------------------------------
five_re=
for p in "${PKGS[@]}"; do five_re+="${p}_[^ ]*_$ARCH\\.deb "; done
expect_match "the first run installed the release's five .debs with apt" \
	"^containarium-startup: containarium: installed $five_re\\(release $PIN from file://$REL\\)\$" "$(cat "$T/run1.log")"
expect_match "... through apt-get, dependencies from the mirror" '^  apt: (Get|Selecting|Unpacking)' "$(cat "$T/run1.log")"
for p in "${PKGS[@]}"; do
	expect_eq "$p is installed" "ii " "$(status "$p")"
done
# shellcheck disable=SC2016 # a dpkg-query format, not shell
expect_eq "no -dbgsym package from the release is installed" "" \
	"$(in_tree dpkg-query -W -f '${binary:Package}\n' 2>/dev/null | grep -- '-dbgsym$')"
expect_match "the second run installs nothing: installed already" \
	"^containarium-startup: containarium: installed already \\(release $PIN\\)\$" "$(cat "$T/run2.log")"
check "the second run runs no apt" sh -c "! grep -q '^  apt: ' '$T/run2.log'"
expect_eq "the state names the release" "release $PIN" "$(cat "$ROOT/var/lib/containarium-deploy/installed")"
expect_eq "no download or work directory is left in the tree's /var/tmp" 0 "$(leftovers)"

# ---- the packages and phase 4 side by side ----------------------------------------
# dpkg --verify: the packages' files that differ from the package.  (The
# test image tells dpkg to leave out /usr/share/doc and man: "missing".)
verify() { in_tree dpkg --verify "${PKGS[@]}" 2>&1 | grep -Ev '^missing +/usr/share/(doc|man)(/|$)'; }
out=$(verify)
expect_eq "dpkg --verify: of the packages' files, phase 4 changed only the conffile helperd.conf" \
	"??5?????? c /etc/containarium/helperd.conf" "$out"
check "helperd's unit is the package's, enabled by its package (multi-user.target.wants)" \
	sh -c "[ \"\$(readlink '$ROOT/etc/systemd/system/multi-user.target.wants/containarium-helperd.service')\" = /lib/systemd/system/containarium-helperd.service ] &&
		grep -qx 'ExecStart=/usr/sbin/containarium-helperd' '$ROOT/lib/systemd/system/containarium-helperd.service'"
expect_eq "nothing of containarium under /usr/local but the deploy scripts" "" \
	"$(cd "$ROOT/usr/local" && find . -name '*containarium*' ! -path './lib/containarium-deploy*')"
check "the sshd drop-in names the packaged keys command" \
	grep -Eq '^[[:space:]]*AuthorizedKeysCommand /usr/libexec/containarium-authorized-keys %u$' \
	"$ROOT/etc/ssh/sshd_config.d/containarium.conf"
check "/etc/pam.d/sshd: the packaged module, in its account and session lines" \
	sh -c "grep -q '^account .*/usr/lib/$MA/security/pam_containarium.so' '$ROOT/etc/pam.d/sshd' &&
		grep -q '^session .*/usr/lib/$MA/security/pam_containarium.so' '$ROOT/etc/pam.d/sshd'"
expect_match "phase 4's host-setup run finds the postinst's work done" \
	"^  host-setup: $ROOT/etc/nsswitch.conf: unchanged\$" "$(cat "$T/run1.log")"
check "the keys user and the admin group (the packages' sysusers.d) exist in the tree" \
	sh -c "grep -q '^containarium-keys:' '$ROOT/etc/passwd' && grep -q '^containarium-admin:' '$ROOT/etc/group'"

# ---- sshd, PAM, nsswitch ---------------------------------------------------------
out=$(in_tree /usr/sbin/sshd -t 2>&1)
expect_eq "sshd -t passes in the tree" "" "$out"
for db in passwd group; do
	expect_eq "nsswitch $db: containarium after files, Google's sources kept in order" \
		"files containarium cache_oslogin oslogin" "$(awk -v d="$db:" '$1 == d { $1 = ""; sub(/^ /, ""); print }' "$ROOT/etc/nsswitch.conf")"
done
expect_eq "nsswitch: every other line unchanged" \
	"$(grep -Ev '^(passwd|group):' "$T/nsswitch.before")" "$(grep -Ev '^(passwd|group):' "$ROOT/etc/nsswitch.conf")"

# ---- helperd, units, fail2ban, guard, fabric ----------------------------------------
out=$(in_tree /usr/sbin/containarium-helperd -c /etc/containarium/helperd.conf --check-config 2>&1)
rc=$?
expect_eq "the packaged containarium-helperd --check-config accepts the helperd.conf written" 0 "$rc" ||
	printf '%s\n' "$out" | sed 's/^/#   /'
check "helperd.conf: the bridge, pool and image the startup script makes" \
	sh -c "grep -qx 'network = containariumbr0' '$ROOT/etc/containarium/helperd.conf' &&
		grep -qx 'storage_pool = default' '$ROOT/etc/containarium/helperd.conf' &&
		grep -qx 'image = containarium-base' '$ROOT/etc/containarium/helperd.conf'"
for link in multi-user.target.wants/containarium-guard.service \
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
expect_eq "the guard's nft rules parse (nft -c)" 0 "$rc" || printf '%s\n' "$out" | sed 's/^/#   /'
expect_eq "fabric.conf: the two peers, not this member" "peers=10.10.0.10 10.10.0.12" \
	"$(grep '^peers=' "$ROOT/etc/containarium/fabric.conf")"
expect_eq "fabric.conf: every member's host address (cidrhost 2, 3, 4), this one's among them" \
	"host_address=10.200.0.3 hosts=10.200.0.2-10.200.0.4" \
	"$(grep -E '^(hosts|host_address)=' "$ROOT/etc/containarium/fabric.conf" | sort | xargs)"
expect_eq "deploy.conf is root's only (it holds keys)" "600" "$(stat -c %a "$ROOT/etc/containarium/deploy.conf")"

# ---- the host CA -----------------------------------------------------------------
HCA=$ROOT/etc/containarium/host-ca
expect_eq "the host CA's directory 0700, its key 0600, root's" "700 root 600 root" \
	"$(stat -c '%a %U' "$HCA") $(stat -c '%a %U' "$HCA/host_ca")"
expect_eq "... its public key is the key's" "$(cut -d' ' -f1,2 "$T/host_ca.pub")" "$(cut -d' ' -f1,2 "$HCA/host_ca.pub")"
expect_eq "... trusted.pub lists the CAs users trust" "$(cut -d' ' -f1,2 "$T/host_ca.pub") containarium-host-ca-ca1" \
	"$(cat "$HCA/trusted.pub")"
check "helperd.conf: host_ca_key and host_ca_trust" \
	sh -c "grep -qx 'host_ca_key = /etc/containarium/host-ca/host_ca' '$ROOT/etc/containarium/helperd.conf' &&
		grep -qx 'host_ca_trust = /etc/containarium/host-ca/trusted.pub' '$ROOT/etc/containarium/helperd.conf'"
check "the packaged helperd --check-config read the CA with the tree's ssh-keygen" \
	grep -qF "host CA $(ssh-keygen -l -f "$T/host_ca.pub" | awk '{ print $2 }')" <<<"$(in_tree /usr/sbin/containarium-helperd -c /etc/containarium/helperd.conf --check-config 2>&1)"
n=0
for c in "$ROOT"/etc/ssh/containarium/ssh_host_*_key-cert.pub; do
	[ -f "$c" ] || continue
	n=$((n + 1))
	expect_eq "${c##*/}: signed by the host CA for the server's names and addresses" \
		"$(ssh-keygen -l -f "$T/host_ca.pub" | awk '{ print $2 }') $PRINCIPALS" \
		"$(ssh-keygen -L -f "$c" | awk '$1 == "Signing" { ca = $4 } $1 == "Principals:" { p = 1; next }
			p && /^[ \t]+[^:]+$/ { l = l (l == "" ? "" : ",") $1; next } p { p = 0 } END { print ca, l }')"
done
expect_eq "every host key the tree's sshd loads is certified, and the drop-in names each" \
	"$(in_tree /usr/sbin/sshd -T 2>/dev/null | awk '$1 == "hostkey" { print $2 }' | while read -r k; do [ -f "$ROOT$k.pub" ] && echo; done | wc -l) $n" \
	"$n $(grep -c '^HostCertificate /etc/ssh/containarium/ssh_host_.*_key-cert.pub$' "$ROOT/etc/ssh/sshd_config.d/containarium.conf")"
check "the scripts on the server are the repository's, byte for byte" \
	sh -c "cmp -s '$GCE/scripts/containarium-startup' '$ROOT/usr/local/lib/containarium-deploy/containarium-startup' &&
		cmp -s '$GCE/scripts/containarium-fabric' '$ROOT/usr/local/lib/containarium-deploy/containarium-fabric'"
check "settings text that looks like shell never ran" sh -c "! ls '$CANARY'* >/dev/null 2>&1"

# The tree's own copy of the host installer, from outside with --root and
# no --prefix: it finds its prefix inside the tree (not the tree's path
# twice) and finds the installation as the startup script left it.
snapshot "$T/snap-hs"
if out=$("$ROOT/usr/sbin/containarium-host-setup" install --root "$ROOT" --no-reload 2>&1); then
	ok "the tree's packaged containarium-host-setup, run with --root, installs"
else
	fail "the tree's packaged containarium-host-setup, run with --root, installs"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
expect_match "... and says its files are unchanged" 'nsswitch\.conf: unchanged' "$out"
snapshot "$T/snap-hs2"
same_snapshots "... and changes no byte" "$T/snap-hs" "$T/snap-hs2"

# ---- refusals: each stops the script before it changes anything --------------------
# refused DESCRIPTION MESSAGE-REGEX SETTINGS: a run with SETTINGS fails,
# says MESSAGE, changes nothing and leaves no download behind.
refused() {
	local out rc
	snapshot "$T/snap-r1"
	out=$(bash "$GCE/scripts/containarium-startup" --root "$ROOT" --offline --config "$3" 2>&1)
	rc=$?
	snapshot "$T/snap-r2"
	if [ "$rc" -ne 0 ] && cmp -s "$T/snap-r1" "$T/snap-r2" && [ "$(leftovers)" = 0 ]; then
		ok "$1: refused, nothing changed"
	else
		fail "$1: refused, nothing changed (exit $rc)"
		diff "$T/snap-r1" "$T/snap-r2" | head -10 | sed 's/^/#   /'
	fi
	expect_match "  ... saying: $2" "$2" "$out"
}
# shellcheck disable=SC2016 # the $(...) is the text under test
sed 's/^CTM_LAYOUT=.*/CTM_LAYOUT=$(reboot)/' "$T/settings" >"$T/bad.settings"
refused "a settings line that is not KEY=BASE64" 'bad\.settings:1: not a KEY=BASE64 line' "$T/bad.settings"
settings "file://$REL/" "$(printf '%s' "$PIN" | tr 0-9a-f 1-9a-f0)" >"$T/wrong-pin.settings"
refused "a release whose SHA256SUMS is not the one pinned" \
	"SHA256SUMS has sha256 $PIN, not [0-9a-f]{64} \\(containarium_release_sha256\\): .*set the variable to the release's .sha256sum SHA256SUMS.; nothing was installed" \
	"$T/wrong-pin.settings"
# (Each with a pin other than the installed one: an installed pin is not
# downloaded again.)
mkdir "$T/damaged"
cp "$T"/five/*.deb "$T/damaged/"
(cd "$T/damaged" && sha256sum -- *.deb >SHA256SUMS)
for f in "$T/damaged/containarium-helperd_"*"_$ARCH.deb"; do printf 'x' >>"$f"; done
settings "file://$T/damaged" "$(sha256sum <"$T/damaged/SHA256SUMS" | cut -d' ' -f1)" >"$T/damaged.settings"
refused "a release with a damaged .deb" \
	"containarium-helperd_[^ ]*\\.deb has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as SHA256SUMS says: a damaged or replaced file; nothing was installed" \
	"$T/damaged.settings"
mkdir "$T/partial"
cp "$REL"/*.deb "$T/partial/"
(cd "$T/partial" && sha256sum -- *.deb | grep -v ' libpam-containarium_' >SHA256SUMS)
settings "file://$T/partial" "$(sha256sum <"$T/partial/SHA256SUMS" | cut -d' ' -f1)" >"$T/partial.settings"
refused "a release without one of the packages" \
	"SHA256SUMS has no \\.deb of libpam-containarium for $ARCH .*: a release needs all five packages" "$T/partial.settings"
HOST_CA_KEY="-----BEGIN OPENSSH PRIVATE KEY-----
\$(touch $CANARY.4)
-----END OPENSSH PRIVATE KEY-----" settings "file://$REL/" "$PIN" >"$T/badca.settings"
refused "a host CA key that is not one" "ssh-keygen -y cannot read CTM_HOST_CA_KEY: it is not a usable OpenSSH private key" \
	"$T/badca.settings"
settings "file://$T/nowhere" "$(sha256sum <"$T/damaged/SHA256SUMS" | cut -d' ' -f1)" >"$T/nowhere.settings"
refused "a release URL with nothing there" "cannot download file://$T/nowhere/SHA256SUMS .*: check containarium_release_url" \
	"$T/nowhere.settings"

# ---- a new release pin; and a server an earlier startup script set up -------------
# The earlier script ran `make install` (PREFIX=/usr/local) and recorded its
# source in var/lib/containarium-deploy/source.  The new pin: the same
# .debs, listed in binary mode (sha256sum -b: "HASH *FILE").
make -s -C "$SRC" BUILD="$BUILD" DESTDIR="$ROOT" PREFIX=/usr/local install >"$T/make-install.log" 2>&1 ||
	{ fail "make install into the tree (an earlier startup script's server)"; sed 's/^/#   /' "$T/make-install.log"; }
echo "zip 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" >"$ROOT/var/lib/containarium-deploy/source"
in_tree ldconfig
# The loader's libnss_containarium.so.2 files (/lib is /usr/lib: merged /usr).
nss_paths() { in_tree ldconfig -p | awk '/libnss_containarium\.so\.2 / { print $NF }' | sed 's|^/lib/|/usr/lib/|' | sort | xargs; }
(cd "$ROOT" && find usr/local -type f ! -path 'usr/local/lib/containarium-deploy/*') >"$T/old-files"
expect_eq "(the old install: its NSS module is in the tree's loader path too)" \
	"/usr/lib/$MA/libnss_containarium.so.2 /usr/local/lib/$MA/libnss_containarium.so.2" "$(nss_paths)"
REL2=$T/release2
mkdir "$REL2"
cp "$T"/five/*.deb "$REL2/"
(cd "$REL2" && sha256sum -b -- *.deb >SHA256SUMS)
PIN2=$(sha256sum <"$REL2/SHA256SUMS" | cut -d' ' -f1)
settings "file://$REL2" "$PIN2" >"$T/settings2"
render "$T/settings2" "$T/startup2.sh" || fail "render startup.sh.tftpl (the new pin)"
cp -p "$ROOT/etc/containarium/helperd.conf" "$ROOT/etc/nsswitch.conf" "$ROOT/etc/pam.d/sshd" \
	"$ROOT/etc/ssh/sshd_config.d/containarium.conf" "$T/"
lap=$SECONDS
run 3 "$T/startup2.sh"
rc3=$?
printf '# the run that installed the new pin: %d s\n' $((SECONDS - lap))
expect_eq "a run with a new pin: exit 0" 0 "$rc3" || sed 's/^/#   /' "$T/run3.log" | tail -n 40
expect_match "... installs that release again (same version: --reinstall)" \
	"^containarium-startup: containarium: installed .*\\(release $PIN2 from file://$REL2\\)\$" "$(cat "$T/run3.log")"
expect_match "... and takes the earlier make install away from /usr/local" \
	'^containarium-startup: containarium: removed the earlier make install from /usr/local \([1-9][0-9]* files' "$(cat "$T/run3.log")"
expect_eq "... none of its $(wc -l <"$T/old-files") files is left under /usr/local" "" \
	"$(cd "$ROOT" && while read -r f; do [ ! -e "$f" ] || echo "$f"; done <"$T/old-files")"
expect_eq "... the loader finds the packaged NSS module only" "/usr/lib/$MA/libnss_containarium.so.2" "$(nss_paths)"
out=$(verify)
expect_eq "... every packaged file is the package's again (the unit make install overwrote too)" \
	"??5?????? c /etc/containarium/helperd.conf" "$out"
for f in helperd.conf nsswitch.conf sshd containarium.conf; do
	case $f in
	helperd.conf) path=/etc/containarium/helperd.conf ;;
	nsswitch.conf) path=/etc/nsswitch.conf ;;
	sshd) path=/etc/pam.d/sshd ;;
	containarium.conf) path=/etc/ssh/sshd_config.d/containarium.conf ;;
	esac
	check "... $path keeps its bytes (dpkg kept the conffile; the host configuration stays)" cmp -s "$T/$f" "$ROOT$path"
done
expect_eq "... dpkg left no .dpkg-dist or .dpkg-old beside the conffile" "" \
	"$(find "$ROOT/etc/containarium" -name '*.dpkg-*')"
expect_eq "... the state names the new release; the old record is gone" "release $PIN2|absent" \
	"$(cat "$ROOT/var/lib/containarium-deploy/installed")|$([ -e "$ROOT/var/lib/containarium-deploy/source" ] && echo present || echo absent)"
snapshot "$T/snap3"
run 4 "$T/startup2.sh"
rc4=$?
expect_eq "the run after that: exit 0" 0 "$rc4" || sed 's/^/#   /' "$T/run4.log" | tail -n 40
snapshot "$T/snap4"
same_snapshots "... and it changes nothing" "$T/snap3" "$T/snap4"

# ---- built on the server from a git repository -------------------------------------
# The other source: no release, CTM_SOURCE a git repository (this tree's
# files, committed), built in the tree with dpkg-buildpackage after apt
# installs the build dependencies from the mirror.
GIT=$T/git/containarium
mkdir -p "$GIT"
(cd "$SRC" && ctm_debs_tree_files) | rsync -a --files-from=- "$SRC"/ "$GIT/"
if ! { git -C "$GIT" init -q && git -C "$GIT" add -A &&
	git -C "$GIT" -c user.name=test -c user.email=test@example.org commit -q -m "containarium"; }; then
	fail "a git repository of this tree"
fi
COMMIT=$(git -C "$GIT" rev-parse HEAD)
settings "" "" | sed "s|^CTM_SOURCE=.*|CTM_SOURCE=$(printf '%s' "file://$GIT" | base64 -w0)|" >"$T/settings-git"
render "$T/settings-git" "$T/startup-git.sh" || fail "render startup.sh.tftpl (a git source)"
lap=$SECONDS
run 5 "$T/startup-git.sh"
rc5=$?
printf '# the run that built the packages: %d s\n' $((SECONDS - lap))
expect_eq "a run with a git source: exit 0" 0 "$rc5" || sed 's/^/#   /' "$T/run5.log" | tail -n 40
expect_match "... builds the packages of that commit" \
	"^containarium-startup: containarium: building the packages \\(git file://$GIT $COMMIT; log: /var/lib/containarium-deploy/build.log\\)\$" "$(cat "$T/run5.log")"
expect_match "... installs the five it built" \
	"^containarium-startup: containarium: installed $five_re\\(git file://$GIT $COMMIT\\)\$" "$(cat "$T/run5.log")"
expect_match "... dpkg-buildpackage built them (its log kept)" 'dpkg-buildpackage: info: binary-only upload' \
	"$(cat "$ROOT/var/lib/containarium-deploy/build.log" 2>/dev/null)"
out=$(verify)
expect_eq "... every packaged file is the package's (but the conffile)" "??5?????? c /etc/containarium/helperd.conf" "$out"
expect_eq "... no work directory left" 0 "$(leftovers)"
snapshot "$T/snap5"
run 6 "$T/startup-git.sh"
rc6=$?
expect_eq "the run after that: exit 0" 0 "$rc6" || sed 's/^/#   /' "$T/run6.log" | tail -n 40
expect_match "... finds that commit installed and builds nothing" \
	"^containarium-startup: containarium: installed already \\(git file://$GIT $COMMIT\\)\$" "$(cat "$T/run6.log")"
snapshot "$T/snap6"
same_snapshots "... and changes nothing" "$T/snap5" "$T/snap6"
printf '# %d s\n' "$SECONDS"
summary
