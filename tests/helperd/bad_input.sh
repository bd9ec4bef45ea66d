# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Part of test_helperd_api.sh (sourced): bad requests to helperd a, each
# answered with the expected 4xx status and error code, and afterwards
# nothing changed: no new instance in LXD, the snapshot's generation the
# same (when nobody else changed LXD meanwhile), U's keys unchanged.
# Uses U, I, K, STATE, KEY_MAIN, OPID from the test.

BAD_COUNT=0
# bad_create DESCRIPTION STATUS CODE JSON: POST /v1/containers JSON.
bad_create() {
	BAD_COUNT=$((BAD_COUNT + 1))
	hd_json a POST /v1/containers "$4"
	hd_expect_error "create, $1" "$2" "$3"
}
# bad_req DESCRIPTION STATUS CODE METHOD PATH [CURL-ARGS...]
bad_req() {
	local desc=$1 status=$2 code=$3
	shift 3
	BAD_COUNT=$((BAD_COUNT + 1))
	hd_api a "$@"
	hd_expect_error "$desc" "$status" "$code"
}
# A create body for NAME with one valid, unused key; or for KEY (a string).
KEY_OTHER=$(cat "$K/other.pub")
with_name() { jq -cn --arg n "$1" --arg k "$KEY_OTHER" '{name: $n, ssh_keys: [$k]}'; }
with_key() { jq -cn --arg n "${HD_PREFIX}bad" --arg k "$1" '{name: $n, ssh_keys: [$k]}'; }
with_fields() { jq -cn --arg n "${HD_PREFIX}bad" --arg k "$KEY_OTHER" --argjson x "$1" '{name: $n, ssh_keys: [$k]} + $x'; }

bad_before_ours=$(hd_lxd_ours)
bad_before_fp=$(hd_lxd_fingerprint)
bad_before_gen=$(hd_snap_generation "$STATE")
bad_t0=$(date +%s%N)

# Names.
bad_create "empty name" 400 invalid_name "$(with_name '')"
bad_create "uppercase name" 400 invalid_name "$(with_name "${HD_PREFIX}Bad")"
bad_create "name root" 400 invalid_name "$(with_name root)"
bad_create "name sshd" 400 invalid_name "$(with_name sshd)"
bad_create "name of 33 characters" 400 invalid_name "$(with_name "a$(printf 'b%.0s' {1..32})")"
bad_create "name with '_'" 400 invalid_name "$(with_name "${HD_PREFIX}a_b")"
bad_create "name with '.'" 400 invalid_name "$(with_name "${HD_PREFIX}a.b")"
bad_create "name with a space" 400 invalid_name "$(with_name "${HD_PREFIX}a b")"
bad_create "name with unicode" 400 invalid_name "$(with_name "${HD_PREFIX}é")"
bad_create "name with a leading digit" 400 invalid_name "$(with_name "1${HD_PREFIX}")"
bad_create "name with a trailing '-'" 400 invalid_name "$(with_name "${HD_PREFIX}x-")"
bad_create "name with '--'" 400 invalid_name "$(with_name "${HD_PREFIX}a--b")"
bad_create "name with a NUL" 400 invalid_name "{\"name\":\"${HD_PREFIX}a\\u0000b\",\"ssh_keys\":[\"$KEY_OTHER\"]}"
bad_create "name daemon (reserved, a host user)" 400 invalid_name "$(with_name daemon)"
bad_create "name nobody (reserved, a host user)" 400 invalid_name "$(with_name nobody)"
bad_create "name missing" 400 invalid_name "$(jq -cn --arg k "$KEY_OTHER" '{ssh_keys: [$k]}')"
bad_create "name not a string" 400 invalid_name "$(jq -cn --arg k "$KEY_OTHER" '{name: 12, ssh_keys: [$k]}')"
# Host users whose names are not reserved: one of this machine's (when
# there is one) and one that exists only in helperd's /etc/passwd copy.
host_user=$(awk -F: '$1 ~ /^[a-z][a-z0-9-]*$/ && $1 !~ /--|-$/ && length($1) <= 32 { print $1 }' /etc/passwd |
	grep -vxE 'root|daemon|bin|sys|sync|games|man|lp|mail|news|uucp|proxy|www-data|backup|list|irc|gnats|nobody|sshd|messagebus|syslog|systemd-.*|polkitd|dnsmasq|lxd|incus|ntp|chrony|tcpdump|uuidd|avahi|postfix|admin|operator|ubuntu|debian|guest|test' |
	head -n 1)
if [ -n "$host_user" ]; then
	bad_create "name $host_user (a user of this host, not reserved)" 409 name_taken "$(with_name "$host_user")"
else
	echo "# no non-reserved user in this host's /etc/passwd; only the namespace one is tried"
fi
bad_create "name $HD_HOST_USER (in helperd's /etc/passwd only)" 409 name_taken "$(with_name "$HD_HOST_USER")"
bad_create "name of an existing container user" 409 already_exists "$(with_name "$U")"

# Keys.
bad_create "ssh_keys missing" 400 invalid_key "$(jq -cn --arg n "${HD_PREFIX}bad" '{name: $n}')"
bad_create "ssh_keys empty" 400 invalid_key "$(jq -cn --arg n "${HD_PREFIX}bad" '{name: $n, ssh_keys: []}')"
bad_create "ssh_keys a string, not a list" 400 invalid_key \
	"$(jq -cn --arg n "${HD_PREFIX}bad" --arg k "$KEY_OTHER" '{name: $n, ssh_keys: $k}')"
bad_create "ssh_keys element not a string" 400 invalid_key \
	"$(jq -cn --arg n "${HD_PREFIX}bad" '{name: $n, ssh_keys: [42]}')"
bad_create "key with an options prefix (command=)" 400 invalid_key "$(with_key "command=\"/bin/sh\" $KEY_OTHER")"
bad_create "key with an options prefix (no-pty)" 400 invalid_key "$(with_key "no-pty $KEY_OTHER")"
bad_create "key with bad base64" 400 invalid_key "$(with_key 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!!!notbase64 x')"
bad_create "key whose type does not match its blob" 400 invalid_key \
	"$(with_key "ssh-rsa $(cut -d' ' -f2 <<<"$KEY_OTHER") x")"
bad_create "a private key" 400 invalid_key "$(with_key "$(cat "$K/other")")"
if hd_keygen "$K/dsa" dsa 2>/dev/null; then
	bad_create "a DSA key" 400 invalid_key "$(with_key "$(cat "$K/dsa.pub")")"
else
	bad_create "a DSA key" 400 invalid_key "$(with_key 'ssh-dss AAAAB3NzaC1kc3MAAACBAPzCXVHoOCCL x')"
fi
hd_keygen "$K/rsa1024" rsa 1024
bad_create "an RSA key of 1024 bits" 400 invalid_key "$(with_key "$(cat "$K/rsa1024.pub")")"
bad_create "two keys in one string (newline)" 400 invalid_key "$(with_key "$KEY_OTHER"$'\n'"$KEY_MAIN")"
bad_create "key with a carriage return" 400 invalid_key "$(with_key "$KEY_OTHER"$'\r')"
bad_create "key with a NUL" 400 invalid_key \
	"{\"name\":\"${HD_PREFIX}bad\",\"ssh_keys\":[\"${KEY_OTHER% *} a\\u0000b\"]}"
bad_create "key of 9000 characters" 400 invalid_key "$(with_key "ssh-ed25519 $(head -c 6750 /dev/zero | base64 -w0) x")"

# Sizes and other fields.
bad_create "cpu 0" 400 invalid_cpu "$(with_fields '{"cpu": 0}')"
bad_create "cpu -1" 400 invalid_cpu "$(with_fields '{"cpu": -1}')"
bad_create "cpu \"abc\"" 400 invalid_cpu "$(with_fields '{"cpu": "abc"}')"
bad_create "cpu 2000" 400 invalid_cpu "$(with_fields '{"cpu": 2000}')"
bad_create "cpu 1.5" 400 invalid_cpu "$(with_fields '{"cpu": 1.5}')"
bad_create "memory 5XB" 400 invalid_memory "$(with_fields '{"memory": "5XB"}')"
bad_create "memory 1KB" 400 invalid_memory "$(with_fields '{"memory": "1KB"}')"
bad_create "memory -1GB" 400 invalid_memory "$(with_fields '{"memory": "-1GB"}')"
bad_create "disk \"10\" (bytes)" 400 invalid_disk "$(with_fields '{"disk": "10"}')"
bad_create "image with a space and '!'" 400 invalid_image "$(with_fields '{"image": "bad image!"}')"
bad_create "image with a quote" 400 invalid_image "$(with_fields '{"image": "x\"y"}')"
bad_create "autostart not a boolean" 400 invalid_request "$(with_fields '{"autostart": "yes"}')"
bad_create "unknown field" 400 invalid_request "$(with_fields '{"colour": "red"}')"

# Bodies and HTTP.
bad_create "body not JSON" 400 invalid_json '{"name": '
bad_create "body a JSON array" 400 invalid_json "[$(with_name "${HD_PREFIX}bad")]"
bad_create "body with data after the object" 400 invalid_json "$(with_name "${HD_PREFIX}bad") x"
printf '{"name":"%sbad\xff","ssh_keys":[]}' "$HD_PREFIX" >"$T_TMP/bad-utf8.json"
bad_req "create, body not UTF-8" 400 invalid_json POST /v1/containers \
	-H 'Content-Type: application/json' --data-binary "@$T_TMP/bad-utf8.json"
bad_req "create without a body" 400 invalid_request POST /v1/containers
bad_req "create with Content-Type text/plain" 415 unsupported_media_type POST /v1/containers \
	-H 'Content-Type: text/plain' --data-binary "$(with_name "${HD_PREFIX}bad")"
bad_req "create with no Content-Type" 415 unsupported_media_type POST /v1/containers \
	-H 'Content-Type:' --data-binary "$(with_name "${HD_PREFIX}bad")"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T_TMP/big.json"
printf '%s' "$(with_name "${HD_PREFIX}bad")" >>"$T_TMP/big.json"
bad_req "create with a body over max_body_bytes (65536)" 413 body_too_large POST /v1/containers \
	-H 'Content-Type: application/json' --data-binary "@$T_TMP/big.json"
bad_req "the same body chunked (no Content-Length)" 413 body_too_large POST /v1/containers \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$T_TMP/big.json"
bad_req "unknown route" 404 not_found GET /v1/nothing-here
bad_req "unknown version" 404 not_found GET /v2/containers
bad_req "path with an encoded slash" 404 not_found GET "/v1/containers/..%2F..%2F1.0"
bad_req "PUT /v1/containers" 405 method_not_allowed PUT /v1/containers
expect_match "405 says which methods: Allow: GET, POST" '^Allow: GET, POST$' "$HD_HEADERS"
bad_req "DELETE /v1/system" 405 method_not_allowed DELETE /v1/system
bad_req "GET a user with an invalid name" 404 not_found GET /v1/containers/Bad_Name
bad_req "GET a user without container" 404 not_found GET "/v1/containers/${HD_PREFIX}nobody"
bad_req "GET an unknown operation" 404 not_found GET /v1/operations/0123456789abcdef0123456789abcdef
bad_req "wait longer than 120 s" 400 invalid_request GET "/v1/operations/$OPID?wait=500"
bad_req "wait not a number" 400 invalid_request GET "/v1/operations/$OPID?wait=abc"

# Keys, resize and ssh-config of an existing user.
bad_req "DELETE a key without ?key=" 400 invalid_request DELETE "/v1/containers/$U/keys"
bad_req "DELETE a key with an empty ?key=" 400 invalid_request DELETE "/v1/containers/$U/keys?key="
bad_req "POST keys without a key" 400 invalid_key POST "/v1/containers/$U/keys" \
	-H 'Content-Type: application/json' --data-binary '{}'
bad_req "POST keys, an RSA key of 1024 bits" 400 invalid_key POST "/v1/containers/$U/keys" \
	-H 'Content-Type: application/json' --data-binary "$(jq -cn --arg k "$(cat "$K/rsa1024.pub")" '{key: $k}')"
bad_req "POST keys, options prefix" 400 invalid_key POST "/v1/containers/$U/keys" \
	-H 'Content-Type: application/json' --data-binary "$(jq -cn --arg k "restrict $KEY_OTHER" '{key: $k}')"
bad_req "POST keys, two keys in one" 400 invalid_key POST "/v1/containers/$U/keys" \
	-H 'Content-Type: application/json' --data-binary "$(jq -cn --arg k "$KEY_OTHER"$'\n'"$KEY_OTHER" '{key: $k}')"
bad_req "PATCH without a body" 400 invalid_request PATCH "/v1/containers/$U"
bad_req "PATCH {}" 400 invalid_request PATCH "/v1/containers/$U" \
	-H 'Content-Type: application/json' --data-binary '{}'
bad_req "PATCH cpu 0" 400 invalid_cpu PATCH "/v1/containers/$U" \
	-H 'Content-Type: application/json' --data-binary '{"cpu":0}'
bad_req "PATCH memory 1KB" 400 invalid_memory PATCH "/v1/containers/$U" \
	-H 'Content-Type: application/json' --data-binary '{"memory":"1KB"}'
bad_req "PATCH disk 10" 400 invalid_disk PATCH "/v1/containers/$U" \
	-H 'Content-Type: application/json' --data-binary '{"disk":"10"}'
bad_req "PATCH an unknown field" 400 invalid_request PATCH "/v1/containers/$U" \
	-H 'Content-Type: application/json' --data-binary '{"cpu":2,"gpu":1}'
bad_req "ssh-config without jump_ip" 400 invalid_jump_ip GET "/v1/containers/$U/ssh-config"
bad_req "ssh-config, jump_ip with a space" 400 invalid_jump_ip GET "/v1/containers/$U/ssh-config?jump_ip=a%20b"
bad_req "ssh-config, jump_ip with a newline" 400 invalid_jump_ip GET "/v1/containers/$U/ssh-config?jump_ip=a%0AProxyCommand%20x"
bad_req "ssh-config, key path with a quote" 400 invalid_key_path \
	GET "/v1/containers/$U/ssh-config?jump_ip=203.0.113.10&key=%22x"
bad_req "ssh-config, jump_port 70000" 400 invalid_port GET "/v1/containers/$U/ssh-config?jump_ip=203.0.113.10&jump_port=70000"

echo "# $BAD_COUNT bad requests in $(hd_ms_since "$bad_t0") s"
# A guard, not a check: it fails only when the list above was cut short.
[ "$BAD_COUNT" -ge 30 ] || fail "at least 30 bad requests were tried (only $BAD_COUNT)"
sleep 1.5 # one poll of helperd: a change it would publish is visible by now
expect_eq "after the bad requests: no new instance of ours in LXD" "$bad_before_ours" \
	"$(hd_lxd_ours || echo "(the backend did not answer)")"
if [ "$bad_before_fp" = "$(hd_lxd_fingerprint)" ]; then
	expect_eq "after the bad requests: snapshot generation unchanged" "$bad_before_gen" "$(hd_snap_generation "$STATE")"
else
	echo "# another test changed LXD's containers meanwhile: generation not compared"
fi
expect_eq "after the bad requests: $U keeps exactly its key" "$KEY_MAIN" "$(hd_lxd_config "$I" user.containarium.keys)"
expect_eq "after the bad requests: $U still has 2 CPUs and 512MB" "2 512MB" \
	"$(hd_lxd_config "$I" limits.cpu) $(hd_lxd_config "$I" limits.memory)"
check "helperd a is still running after the bad requests" hd_alive a
