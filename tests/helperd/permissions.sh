# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Part of test_helperd_api.sh (sourced): who may do what.  The socket is
# root's, group admin_group, mode socket_mode (0660); callers are told
# apart by SO_PEERCRED.  Creates UB (through an admin-group member) for the
# backup check of the delete part.  Uses U, I, K from the test.

SOCK=$(hd_sock a)
NOBODY="--reuid=65534 --regid=65534 --clear-groups"
MEMBER="--reuid=65534 --regid=65534 --groups=$HD_ADMIN_GID"
PRIMARY="--reuid=65534 --regid=$HD_ADMIN_GID --clear-groups"

expect_eq "socket: owner root, group $HD_ADMIN_GROUP, mode 660" "socket 0 $HD_ADMIN_GID 660" \
	"$(stat -c '%F %u %g %a' "$SOCK")"
hd_api_as "$NOBODY" a GET /v1/system
expect_eq "a user outside the admin group cannot connect at all (curl exit 7)" "7 000" "$HD_CURL_RC $HD_CODE"

hd_api_as "$MEMBER" a GET /v1/system
expect_eq "an admin-group member (supplementary group) reads /v1/system" 200 "$HD_CODE"
hd_api_as "$MEMBER" a POST /v1/containers -H 'Content-Type: application/json' --data-binary '{}'
hd_expect_error "an admin-group member gets past the role check (bad body)" 400 invalid_name
hd_api_as "$PRIMARY" a POST /v1/containers -H 'Content-Type: application/json' --data-binary '{}'
hd_expect_error "a caller whose primary group is the admin group gets past the role check" 400 invalid_name

hd_api_as "$MEMBER" a POST /v1/sessions -H 'Content-Type: application/json' --data-binary '{}'
hd_expect_error "an admin-group member may not post session events (root only)" 403 forbidden

UB=${HD_PREFIX}bkp
t0=$(date +%s%N)
hd_api_as "$MEMBER" a POST /v1/containers -H 'Content-Type: application/json' \
	--data-binary "$(jq -cn --arg n "$UB" --arg k "$(cat "$K/other.pub")" '{name: $n, ssh_keys: [$k], cpu: 1}')"
expect_eq "an admin-group member may create ($UB): 202" 202 "$HD_CODE"
if [ "$HD_CODE" = 202 ]; then
	hd_wait_op a "$(hd_jq .operation.id)"
	echo "# create $UB (by uid 65534 in $HD_ADMIN_GROUP): $(hd_ms_since "$t0") s; steps: $(hd_op_step_times)"
	expect_eq "the member's create succeeds" "success active" "$(hd_jq '"\(.status) \(.result.state)"')"
fi

# The read-only role needs a socket others can open, which socket_mode
# never allows (helperd.conf(5): no access for others).  An operator can
# still grant it (an ACL, or this chmod) to let users read; then the role
# check is all that stands between them and changes.
chmod 0666 "$SOCK"
hd_api_as "$NOBODY" a GET /v1/system
expect_eq "with the socket opened to all: uid 65534 reads /v1/system" 200 "$HD_CODE"
hd_api_as "$NOBODY" a GET /v1/containers
expect_eq "uid 65534 lists containers" 200 "$HD_CODE"
hd_api_as "$NOBODY" a GET "/v1/containers/$U/keys"
expect_eq "uid 65534 lists $U's keys" 200 "$HD_CODE"
hd_api_as "$NOBODY" a POST /v1/containers -H 'Content-Type: application/json' \
	--data-binary "$(jq -cn --arg n "${HD_PREFIX}nope" --arg k "$(cat "$K/other.pub")" '{name: $n, ssh_keys: [$k]}')"
hd_expect_error "uid 65534 may not create" 403 forbidden
expect_match "the 403 names the admin group" "$HD_ADMIN_GROUP" "$(hd_jq .error.message)"
PERM_CPU=$(hd_lxd_config "$I" limits.cpu)
[ "$PERM_CPU" != 3 ] || fail "permissions: $U must not have 3 CPUs already (the refused PATCH asks for 3)"
for what in "DELETE /v1/containers/$U?force=1" "PATCH /v1/containers/$U" "POST /v1/containers/$U/stop" \
	"POST /v1/containers/$U/start" "POST /v1/containers/$U/keys" "DELETE /v1/containers/$U/keys?key=x" \
	"GET /v1/audit" "POST /v1/sessions"; do
	# cpu 3: a value $U does not have, so a PATCH that went through would show.
	hd_api_as "$NOBODY" a "${what%% *}" "${what#* }" -H 'Content-Type: application/json' --data-binary '{"cpu":3}'
	hd_expect_error "uid 65534: $what" 403 forbidden
done
hd_api_as "$NOBODY" a GET "/v1/containers/$U"
expect_eq "after the refused requests $U is still Running" "200 Running" "$HD_CODE $(hd_jq .status)"
expect_eq "after the refused PATCH $U keeps its CPUs ($PERM_CPU, not 3)" "$PERM_CPU" "$(hd_lxd_config "$I" limits.cpu)"
chmod 0660 "$SOCK"
expect_eq "no container was made for the refused create" "" \
	"$(hd_lxd_ours | grep -x "${HD_PREFIX}nope-container")"
