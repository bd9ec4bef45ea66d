#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Images as the user's documents use them: `create --image REMOTE:ALIAS`
# pulls through the backend from an image server declared in helperd.conf,
# and an image without an SSH server never gives a "created" user who
# cannot log in.  Offline, with servers of the test's own:
#   - a second incusd on 127.0.0.1 serving public images over the Incus
#     protocol (lab:), and on Incus a simplestreams tree made by Debian's
#     incus-simplestreams, served over HTTPS by Python's http.server
#     (labss:; LXD 5.0 does not read Incus's simplestreams file types, and
#     the public server stopped serving LXD in 2024, so the LXD pass runs
#     the Incus-protocol half);
#   - the images: the test base with openssh-server and sudo purged, as in
#     images:debian/12 (debian/12), and the same without apt-get
#     (debian/12-noapt) (tests/lxd/build-image-variant);
#   - a Debian package source on the bridge, the containers' own apt
#     source: the .debs the image build caches (openssh-server, sudo, ...)
#     and docker.io with what it needs, fetched once through the host's apt.
# Checks: the pull (the backend caches the image's fingerprint), step 4
# "Installing Docker, SSH, and tools", a login with the user's key, sudo,
# Docker for the user; the refusals (no apt-get, sources unreachable, an
# unknown remote, a server that is down, a wrong certificate, an unknown
# alias) name the image and what to do, and leave no container and no user.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
HD_TAG=hi
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/hdlib.sh"
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lxd/image_servers.sh"
for cmd in python3 openssl dpkg-scanpackages apt-get; do
	command -v "$cmd" >/dev/null || skip_all "$cmd missing (tests/install-deps)"
done
if [ "$CTM_BACKEND" = incus ]; then
	command -v incus-simplestreams >/dev/null || skip_all "incus-simplestreams missing (incus-extra; tests/install-deps)"
fi
hd_setup
T_START=$(date +%s%N)

# The package source listens on a fixed port of the bridge address (the
# images carry it in their sources.list): one run per backend at a time.
exec 6>"$CTM_TEST_CACHE/.images-test-$CTM_BACKEND.lock"
flock 6
GW=${CTM_LXD_SUBNET%/*}
MIRROR_PORT=18080
SOURCES="deb [trusted=yes] http://$GW:$MIRROR_PORT/ ./"
IS=$T_TMP/imgsrv SS=$T_TMP/ss MIRROR=$T_TMP/mirror

hd_cleanup_extra() {
	ctm_imgsrv_incus_stop "$IS"
	ctm_imgsrv_ss_stop "$SS"
	ctm_pkg_mirror_stop "$MIRROR"
	# What the backend cached from our servers (by the tarballs'
	# fingerprints, which only this test's images have).
	local fp
	for fp in ${FP_NOSSH:-} ${FP_NOAPT:-}; do
		ctm_lxd_api -X DELETE "/1.0/images/$fp" >/dev/null 2>&1
	done
}

# The images, and the .debs of the package source.
if ! NOSSH=$("$SRC/tests/lxd/build-image-variant" nossh "$SOURCES" 2>"$T_TMP/variant.log") ||
	! NOAPT=$("$SRC/tests/lxd/build-image-variant" noapt "$SOURCES" 2>>"$T_TMP/variant.log"); then
	fail "the test images (tests/lxd/build-image-variant)"
	sed 's/^/#   /' "$T_TMP/variant.log"
	summary
	exit 1
fi
FP_NOSSH=$(sha256sum "$NOSSH" | cut -d' ' -f1)
FP_NOAPT=$(sha256sum "$NOAPT" | cut -d' ' -f1)
hd_cleanup_extra # an earlier run's cached copies: every pull below is a real one
# docker.io and the packages it needs that the image lacks, fetched once
# through the host's apt (as tests/lib/debs.sh fetches the packages' own).
DOCKER_DEBS=$CTM_TEST_CACHE/mirror-debs
if ! ls "$DOCKER_DEBS"/docker.io_*.deb >/dev/null 2>&1; then
	mkdir -p "$T_TMP/status" "$DOCKER_DEBS/partial"
	tar --zstd -xf "$NOSSH" -C "$T_TMP/status" rootfs/var/lib/dpkg/status
	if ! out=$(apt-get -q -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
		-o Dir::State::status="$T_TMP/status/rootfs/var/lib/dpkg/status" -o Dir::Cache::archives="$DOCKER_DEBS" \
		-y --download-only --no-install-recommends install docker.io 2>&1); then
		fail "docker.io and its dependencies download through the host's apt"
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
		summary
		exit 1
	fi
fi

IPORT=$(free_port)
if ! ctm_imgsrv_incus_start "$IS" "$IPORT" || ! ctm_imgsrv_incus_import "$IS" "$NOSSH" debian/12 ||
	! ctm_imgsrv_incus_import "$IS" "$NOAPT" debian/12-noapt; then
	fail "a second incusd serves the test images on https://127.0.0.1:$IPORT"
	summary
	exit 1
fi
ok "a second incusd serves the test images on https://127.0.0.1:$IPORT (Incus protocol)"
if [ "$CTM_BACKEND" = incus ]; then
	SPORT=$(free_port)
	if ! ctm_imgsrv_ss_start "$SS" "$SPORT" || ! ctm_imgsrv_ss_add "$SS" "$NOSSH" debian/12; then
		fail "a simplestreams tree (incus-simplestreams) is served on https://127.0.0.1:$SPORT"
		summary
		exit 1
	fi
	ok "a simplestreams tree (incus-simplestreams) is served on https://127.0.0.1:$SPORT"
fi
if ! ctm_pkg_mirror_start "$MIRROR" "$GW" "$MIRROR_PORT" "$CTM_TEST_CACHE/debs" "$DOCKER_DEBS"; then
	fail "a package source on $GW:$MIRROR_PORT"
	summary
	exit 1
fi
check "the package source has openssh-server, sudo and docker.io" \
	test "$(grep -cE '^Package: (openssh-server|sudo|docker.io)$' "$MIRROR/Packages")" = 3

DEAD=$(free_port)
hd_conf a
{
	echo "remote = lab https://127.0.0.1:$IPORT incus $IS/server.crt"
	[ "$CTM_BACKEND" = incus ] && echo "remote = labss https://127.0.0.1:$SPORT simplestreams $SS/cert.pem"
	echo "remote = dead https://127.0.0.1:$DEAD incus"
	echo "remote = wrongcert https://127.0.0.1:$IPORT incus $SRC/tests/lib/testlib.sh"
} >>"$T_TMP/a/helperd.conf"
if "$HELPERD" --check-config -c "$T_TMP/a/helperd.conf" >"$T_TMP/check.out" 2>&1; then
	fail "--check-config refuses a remote whose certificate file is no certificate"
else
	expect_match "--check-config refuses a remote whose certificate file is no certificate" \
		"remote wrongcert: .*testlib.sh is not a PEM certificate" "$(cat "$T_TMP/check.out")"
fi
# Replaced by a certificate, but the wrong server's (the simplestreams
# one's, or on LXD a fresh one).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T_TMP/other.key" \
	-out "$T_TMP/other.crt" -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
sed -i "s|^remote = wrongcert .*|remote = wrongcert https://127.0.0.1:$IPORT incus $T_TMP/other.crt|" "$T_TMP/a/helperd.conf"
if ! hd_start a; then
	fail "helperd starts with remotes declared"
	summary
	exit 1
fi
STATE=$(hd_state a)
K=$T_TMP/keys
mkdir -m 0700 "$K"
hd_keygen "$K/k"

hd_api a GET /v1/system
want="images https://images.linuxcontainers.org simplestreams -
lab https://127.0.0.1:$IPORT incus $IS/server.crt"
[ "$CTM_BACKEND" = incus ] && want="$want
labss https://127.0.0.1:$SPORT simplestreams $SS/cert.pem"
want="$want
dead https://127.0.0.1:$DEAD incus -
wrongcert https://127.0.0.1:$IPORT incus $T_TMP/other.crt"
expect_eq "GET /v1/system lists the remotes (images built in) and the default image" \
	"$CTM_LXD_IMAGE
$want" "$(hd_jq '.images.default, (.images.remotes[] | "\(.name) \(.url) \(.protocol) \(.certificate // "-")")')"

# no_trace USER: neither a container nor an account is left of USER.
no_trace() {
	local u=$1
	ctm_lxd_api -f "/1.0/instances/$u-container" >/dev/null 2>&1 && return 1
	[ "$(ctm_lxd_api -o /dev/null -w '%{http_code}' "/1.0/instances/$u-container" 2>/dev/null)" = 404 ] || return 1
	[ -z "$(hd_snap_user "$STATE" "$u")" ]
}

# --- 1. Incus protocol, an image without sshd and sudo ----------------------
echo "# 1. lab:debian/12: pulled over the Incus protocol, sshd and sudo installed"
U1=${HD_PREFIX}one
if hd_create a "$U1" "$K/k.pub" '{"image": "lab:debian/12"}'; then ok "create --image lab:debian/12 succeeds"; else fail "create --image lab:debian/12 succeeds"; fi
expect_eq "the steps: step 4 installs what the image lacks" "1:Creating container...
2:Starting container...
3:Waiting for network...
4:Installing Docker, SSH, and tools...
5:Creating user $U1...
6:Adding SSH keys...
7:Activating jump account..." "$(hd_op_steps)"
IP1=$(hd_jq '.result.ipv4 // empty')
expect_eq "the result names the image as written" "lab:debian/12" "$(hd_jq .result.image)"
expect_eq "the backend pulled the image (its fingerprint is cached)" "$FP_NOSSH" \
	"$(ctm_lxd_api -f "/1.0/images/$FP_NOSSH" 2>/dev/null | jq -r .metadata.fingerprint)"
expect_eq "the registry keeps the image (user.containarium.image)" "lab:debian/12" \
	"$(ctm_lxd_api -f "/1.0/instances/$U1-container" | jq -r '.metadata.config["user.containarium.image"]')"
expect_eq "the user logs in with her key, and sudo works" "$U1 root" \
	"$(hd_ssh "$K/k" "$U1" "${IP1:-0.0.0.0}" 'id -un; sudo -n id -un' 2>&1 | paste -sd' ' -)"
check "helperd's log says what the image lacked" grep -q "image lab:debian/12 lacks openssh-server sudo; installing" \
	"$(hd_log a)"

# --- 2. simplestreams ----------------------------------------------------
if [ "$CTM_BACKEND" = incus ]; then
	echo "# 2. labss:debian/12: the same image over simplestreams"
	ctm_lxd_api -X DELETE "/1.0/images/$FP_NOSSH" >/dev/null 2>&1
	sleep 1
	U2=${HD_PREFIX}two
	if hd_create a "$U2" "$K/k.pub" '{"image": "labss:debian/12"}'; then
		ok "create --image labss:debian/12 succeeds"
	else
		fail "create --image labss:debian/12 succeeds"
	fi
	check "the image file was downloaded from the simplestreams server" \
		grep -q "GET /images/$FP_NOSSH.incus_combined.tar.gz HTTP/1.1\" 200" "$SS.log"
	expect_eq "step 4 installed sshd and sudo" "4:Installing Docker, SSH, and tools..." "$(hd_op_steps | sed -n 4p)"
	expect_eq "the user logs in with her key" "$U2" \
		"$(hd_ssh "$K/k" "$U2" "$(hd_jq '.result.ipv4 // "0.0.0.0"')" id -un 2>&1)"
fi

# --- 3. Docker when asked -------------------------------------------------
echo "# 3. lab:debian/12 with docker: docker.io from the container's sources"
U3=${HD_PREFIX}dock
if hd_create a "$U3" "$K/k.pub" '{"image": "lab:debian/12", "docker": true}'; then
	ok "create --docker on an image without Docker succeeds"
else
	fail "create --docker on an image without Docker succeeds"
fi
expect_eq "step 4 installs Docker, SSH and tools" "4:Installing Docker, SSH, and tools..." "$(hd_op_steps | sed -n 4p)"
IP3=$(hd_jq '.result.ipv4 // empty')
expect_match "the user reaches the Docker daemon (group docker)" '^[0-9]+\.[0-9]+' \
	"$(hd_ssh "$K/k" "$U3" "${IP3:-0.0.0.0}" docker info --format '{{.ServerVersion}}' 2>&1)"

# --- 4. refusals ----------------------------------------------------------
echo "# 4. refusals: each names the image and what to do, and leaves nothing"
# create_refused DESC USER IMAGE STATUS CODE PATTERN: the create fails with
# STATUS/CODE and a message matching PATTERN, and leaves no trace.
create_refused() {
	local desc=$1 u=$2 image=$3 status=$4 code=$5 pattern=$6 body
	body=$(jq -cn --arg n "$u" --arg k "$(cat "$K/k.pub")" --arg i "$image" '{name: $n, ssh_keys: [$k], image: $i}')
	hd_json a POST /v1/containers "$body"
	hd_expect_error "$desc" "$status" "$code"
	expect_match "$desc: the message" "$pattern" "$(hd_jq .error.message)"
	check "$desc: no container and no account left" no_trace "$u"
}
create_refused "an image without sshd and without apt-get" "${HD_PREFIX}noapt" lab:debian/12-noapt 422 \
	image_not_ready "^image lab:debian/12-noapt lacks openssh-server sudo and has no apt-get to install them: use an image"
create_refused "an unknown remote" "${HD_PREFIX}nosuch" nosuch:debian/12 400 invalid_image \
	"no image server is called \"nosuch\"; the declared remotes are images, lab, .*dead, wrongcert"
create_refused "a remote nobody answers on" "${HD_PREFIX}dead" dead:debian/12 502 image_unavailable \
	"^image dead:debian/12 could not be fetched from https://127.0.0.1:$DEAD \(incus\): .*; check"
create_refused "a remote whose certificate is another server's" "${HD_PREFIX}cert" wrongcert:debian/12 502 \
	image_unavailable "^image wrongcert:debian/12 could not be fetched from https://127.0.0.1:$IPORT .*certificate"
create_refused "an alias the server does not have" "${HD_PREFIX}alias" lab:debian/99 502 image_unavailable \
	"^image lab:debian/99 could not be fetched from https://127.0.0.1:$IPORT \(incus\): .*(not found|No such)"
ctm_pkg_mirror_stop "$MIRROR"
create_refused "an image without sshd whose package sources are unreachable" "${HD_PREFIX}nosrc" lab:debian/12 \
	502 image_not_ready "^openssh-server sudo are not in image lab:debian/12 and could not be installed from its package sources \(apt-get update failed.*\); use an image that has them"

echo "# $(hd_ms_since "$T_START") s in all"
summary
