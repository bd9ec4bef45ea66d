# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Test certificates made with openssl (source it):
#   pki_ca DIR NAME CN             a self-signed CA: DIR/NAME.crt, DIR/NAME.key
#   pki_leaf DIR NAME CN CA [SAN]  a certificate signed by DIR/CA, e.g. with
#                                  SAN "IP:127.0.0.1,DNS:localhost"
# Keys are RSA 2048 (quick to make), valid 2 days, mode 0600.
pki_ca() {
	openssl req -x509 -new -nodes -newkey rsa:2048 -days 2 -subj "/CN=$3" -keyout "$1/$2.key" \
		-out "$1/$2.crt" 2>/dev/null && chmod 0600 "$1/$2.key"
}

pki_leaf() {
	openssl req -new -nodes -newkey rsa:2048 -subj "/CN=$3" -keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null ||
		return 1
	if [ -n "${5:-}" ]; then printf 'subjectAltName=%s\n' "$5" >"$1/$2.ext"; else : >"$1/$2.ext"; fi
	openssl x509 -req -in "$1/$2.csr" -CA "$1/$4.crt" -CAkey "$1/$4.key" -CAcreateserial -days 2 \
		-extfile "$1/$2.ext" -out "$1/$2.crt" 2>/dev/null && chmod 0600 "$1/$2.key"
}
