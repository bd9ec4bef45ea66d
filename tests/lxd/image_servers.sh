# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Image servers and a package mirror of a test's own, for the remote-image
# tests (source it after lxdlib.sh).  Nothing here reaches the internet:
#
#   ctm_imgsrv_incus_start DIR PORT   a second incusd (INCUS_DIR=DIR) serving
#                                     its public images on https://127.0.0.1:PORT
#                                     over the Incus protocol; its certificate
#                                     is DIR/server.crt
#   ctm_imgsrv_incus_import DIR TARBALL ALIAS   a public image on it
#   ctm_imgsrv_incus_stop DIR
#   ctm_imgsrv_ss_start DIR PORT      a simplestreams tree in DIR/tree (empty;
#                                     ctm_imgsrv_ss_add fills it) served over
#                                     HTTPS on 127.0.0.1:PORT by Python's
#                                     http.server; certificate DIR/cert.pem,
#                                     requests logged in DIR.log
#   ctm_imgsrv_ss_add DIR TARBALL ALIAS   incus-simplestreams add
#   ctm_imgsrv_ss_stop DIR
#   ctm_pkg_mirror_start DIR ADDR PORT DEB-DIR...
#                                     a flat Debian repository of the .debs in
#                                     DEB-DIRs (dpkg-scanpackages) served over
#                                     HTTP on ADDR:PORT: what a container's
#                                     "deb [trusted=yes] http://ADDR:PORT/ ./"
#                                     reads
#   ctm_pkg_mirror_stop DIR
# Each server's PID is in DIR/pid; stop functions end it by that PID only.
# Failures print why on stderr and return 1.

# _ctm_pid_alive PID: the process exists and is not a zombie.
_ctm_pid_alive() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
}

# _ctm_stop_pid DIR: TERM the process in DIR/pid, KILL it after 5 s.
_ctm_stop_pid() {
	local pid i
	pid=$(cat "$1/pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		_ctm_pid_alive "$pid" || break
		sleep 0.1
	done
	_ctm_pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$1/pid"
}

ctm_imgsrv_incus_start() {
	local dir=$1 port=$2 i
	mkdir -p "$dir"
	chmod 711 "$dir"
	# The same closed proxy as the test backend: it fetches nothing.
	INCUS_DIR=$dir HTTP_PROXY=$CTM_LXD_PROXY HTTPS_PROXY=$CTM_LXD_PROXY \
		setsid /usr/libexec/incus/incusd --group root --logfile="$dir.log" >"$dir.stderr" 2>&1 </dev/null 7>&- 8>&- &
	echo $! >"$dir/pid"
	if ! INCUS_DIR=$dir timeout 30 incus admin waitready --timeout 25 >/dev/null 2>&1; then
		echo "image server: incusd in $dir did not become ready: $(tail -n 3 "$dir.stderr")" >&2
		return 1
	fi
	INCUS_DIR=$dir INCUS_CONF=$dir.client incus config set core.https_address "127.0.0.1:$port" >/dev/null 2>"$dir.stderr" ||
		{ cat "$dir.stderr" >&2; return 1; }
	for ((i = 0; i < 50; i++)); do
		curl -sk -o /dev/null "https://127.0.0.1:$port/1.0" && return 0
		sleep 0.1
	done
	echo "image server: nothing answers on https://127.0.0.1:$port" >&2
	return 1
}

ctm_imgsrv_incus_import() {
	INCUS_DIR=$1 INCUS_CONF=$1.client incus image import -q "$2" --alias "$3" --public >/dev/null
}

ctm_imgsrv_incus_stop() {
	local dir=$1
	[ -d "$dir" ] || return 0
	INCUS_DIR=$dir timeout 30 incus admin shutdown >/dev/null 2>&1
	_ctm_stop_pid "$dir"
	# Its tmpfs mounts go with a clean shutdown; after a KILL they stay.
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$dir" "$dir.client"
}

ctm_imgsrv_ss_start() {
	local dir=$1 port=$2 i
	mkdir -p "$dir/tree"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
		-out "$dir/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
		{ echo "image server: openssl could not make a certificate" >&2; return 1; }
	python3 - "$dir/tree" "$port" "$dir/cert.pem" "$dir/key.pem" >"$dir.log" 2>&1 7>&- 8>&- <<'EOF' &
import functools, http.server, ssl, sys
root, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
EOF
	echo $! >"$dir/pid"
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null --cacert "$dir/cert.pem" "https://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	echo "image server: the simplestreams server does not answer on 127.0.0.1:$port: $(tail -n 3 "$dir.log")" >&2
	return 1
}

ctm_imgsrv_ss_add() {
	(cd "$1/tree" && incus-simplestreams add "$2" --alias "$3" >/dev/null)
}

ctm_imgsrv_ss_stop() {
	[ -d "$1" ] || return 0
	_ctm_stop_pid "$1"
	rm -rf "$1" "$1.log"
}

ctm_pkg_mirror_start() {
	local dir=$1 addr=$2 port=$3 d i
	shift 3
	mkdir -p "$dir"
	for d; do
		cp "$d"/*.deb "$dir/" || return 1
	done
	(cd "$dir" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null) ||
		{ echo "package mirror: dpkg-scanpackages failed" >&2; return 1; }
	python3 -m http.server --bind "$addr" --directory "$dir" "$port" >"$dir.log" 2>&1 7>&- 8>&- &
	echo $! >"$dir/pid"
	for ((i = 0; i < 50; i++)); do
		curl -s -o /dev/null "http://$addr:$port/Packages" && return 0
		sleep 0.1
	done
	echo "package mirror: nothing answers on http://$addr:$port: $(tail -n 3 "$dir.log")" >&2
	return 1
}

ctm_pkg_mirror_stop() {
	[ -d "$1" ] || return 0
	_ctm_stop_pid "$1"
	rm -rf "$1" "$1.log"
}
