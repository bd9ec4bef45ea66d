#!/usr/bin/env bash
# containarium-helperd when things go wrong or happen at once, against the
# test LXD: the backend is down (and comes back), racing creates of one name
# and of several, helperd killed part-way through a create (the next start
# removes the half-made container), two helperds on one LXD.
# The daemons run in their own mount+UTS namespaces (hd_enter.sh); every
# container made here is deleted on exit.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/../lib/testlib.sh"
HD_TAG=hr
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/hdlib.sh"
hd_setup
T_START=$(date +%s%N)

K=$T_TMP/keys
mkdir -m 0700 "$K"
hd_keygen "$K/user"
PUB=$K/user.pub

# bg_create NAME USER OUT: one create through helperd NAME, started in the
# background (it touches no shared file); its PID is added to BG_PIDS.
# OUT gets "POST-CODE STATUS ERROR-CODE UID IPV4 SECONDS [| ERROR-MESSAGE]".
BG_PIDS=()
bg_create() {
	bg_create_run "$1" "$2" >"$3" 2>/dev/null &
	BG_PIDS+=("$!")
}
# bg_wait: waits for the bg_create jobs (a plain `wait` would wait for the
# helperds too).
bg_wait() {
	local p
	for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do
		wait "$p"
	done
	BG_PIDS=()
}
bg_create_run() {
	local name=$1 user=$2 t0 resp code sock
	sock=$(hd_sock "$name")
	t0=$(date +%s%N)
	resp=$(curl -sS --max-time 150 --unix-socket "$sock" -X POST -H 'Content-Type: application/json' \
		--data-binary "$(jq -cn --arg n "$user" --arg k "$(cat "$PUB")" '{name: $n, ssh_keys: [$k]}')" \
		-w '\n%{http_code}' http://helperd/v1/containers 2>&1)
	code=${resp##*$'\n'}
	resp=${resp%$'\n'*}
	if [ "$code" = 202 ]; then
		resp=$(curl -sS --max-time 150 --unix-socket "$sock" \
			"http://helperd/v1/operations/$(jq -r .operation.id <<<"$resp")?wait=120" 2>&1)
		printf '%s %s' "$code" "$(jq -r '"\(.status) \(.error.code // "-") \(.result.uid // "-") \(.result.ipv4 // "-")"' \
			<<<"$resp" 2>/dev/null || echo "no-answer - - -")"
	else
		printf '%s - %s - -' "$code" "$(jq -r '.error.code // "-"' <<<"$resp" 2>/dev/null || echo "-")"
	fi
	printf ' %s' "$(hd_ms_since "$t0")"
	# Why, when it failed.
	jq -r '" | \(.error.message // empty)"' <<<"$resp" 2>/dev/null | tr -d '\n'
	echo
}

# bg_results FILES...: the lines bg_create wrote, one per file.
bg_results() { cat "$@" 2>/dev/null; }

# --- 9. backend down ---------------------------------------------------------
echo "# 9. backend down"
NOSOCK=$T_TMP/nolxd/unix.socket
mkdir -p "$T_TMP/nolxd" "$T_TMP/down/state"
hd_conf down "incus_socket=$NOSOCK"
OLD=${HD_PREFIX}old
printf '{"generation":7,"users":[{"name":"%s","uid":70077,"ipv4":"10.213.77.250","keys":["%s"]}]}\n' \
	"$OLD" "$(cat "$PUB")" | "$MKSNAPSHOT" --passwd-db "$T_TMP/down/state/passwd.db" --keys-db "$T_TMP/down/state/keys.db" -
snap_sum() { cat "$T_TMP/down/state/passwd.db" "$T_TMP/down/state/keys.db" | sha256sum; }
sum_before=$(snap_sum)
check "helperd starts although nothing listens on incus_socket" hd_start down
hd_api down GET /v1/containers
hd_expect_error "GET /v1/containers with the backend down" 503 backend_unavailable down
echo "# 503 message: $(hd_jq .error.message)"
hd_api down GET "/v1/containers/$OLD"
hd_expect_error "GET /v1/containers/USER with the backend down" 503 backend_unavailable down
hd_json down POST /v1/containers "$(jq -cn --arg n "${HD_PREFIX}new" --arg k "$(cat "$PUB")" '{name: $n, ssh_keys: [$k]}')"
hd_expect_error "create with the backend down" 503 backend_unavailable down
hd_api down GET /v1/system
expect_eq "GET /v1/system answers: backend.available=false, with the error" "200 false true" \
	"$HD_CODE $(hd_jq '.backend.available') $(hd_jq '(.backend.error | length) > 10')"
hd_api down GET /v1/metrics
expect_eq "GET /v1/metrics: containarium_backend_up 0" "200 0" \
	"$HD_CODE $(sed -n 's/^containarium_backend_up //p' <<<"$HD_BODY")"
sleep 2.5 # two polls, each retrying the backend
expect_eq "the published snapshot is left as it was" "$sum_before" "$(snap_sum)"
expect_eq "its user still resolves for logins (authorized-keys)" 1 "$(hd_authkeys "$T_TMP/down/state" "$OLD" | wc -l)"
check "helperd is still running" hd_alive down
# The backend comes back: the next poll connects and publishes what LXD holds.
ln -s "$(ctm_lxd_socket)" "$NOSOCK"
t0=$(date +%s%N)
check "backend back: within 10 s the snapshot is LXD's (the old user is gone)" \
	hd_wait_snap "$T_TMP/down/state" 10 ".users | map(.name) | index(\"$OLD\") | not"
echo "# backend back: republished after $(hd_ms_since "$t0") s"
hd_api down GET /v1/containers
expect_eq "GET /v1/containers answers again" 200 "$HD_CODE"
hd_stop down

# --- 10. concurrency ---------------------------------------------------------
echo "# 10. concurrent creates"
hd_conf a
if ! hd_start a; then
	fail "helperd a starts"
	summary
	exit 1
fi
SAME=${HD_PREFIX}same
t0=$(date +%s%N)
for i in 1 2 3 4 5; do bg_create a "$SAME" "$T_TMP/same.$i"; done
bg_wait
echo "# 5 creates of $SAME at once: $(hd_ms_since "$t0") s"
bg_results "$T_TMP"/same.* | sed 's/^/#   /'
expect_eq "exactly one of 5 racing creates of one name succeeds" 1 \
	"$(bg_results "$T_TMP"/same.* | grep -c '^202 success ')"
expect_eq "the other 4 are refused with 409 busy or already_exists" 4 \
	"$(bg_results "$T_TMP"/same.* | grep -cE '^409 - busy |^202 failure already_exists ')"
f0=$T_FAIL
busy=$(bg_results "$T_TMP"/same.* | grep -c '^409 - busy ')
# At least one refusal is a 409 busy (the four start while the first create
# runs), or there would be nothing to compare.
expect_eq "each 409 busy names the user: \"another operation on $SAME is still running\" (at least one)" \
	"$busy $busy" \
	"$([ "$busy" -ge 1 ] && echo "$busy" || echo none) $(bg_results "$T_TMP"/same.* | grep -c "^409 - busy .* another operation on $SAME is still running")"
hd_bug "$f0" "the 409 busy message prints freed memory: start_op (service_containers.c) frees the job, then formats the message with user, which points into it"
expect_eq "LXD holds exactly one instance for $SAME" 1 \
	"$(hd_lxd_managed | jq --arg u "$SAME" '[.[] | select(.user == $u)] | length')"

MANY=("${HD_PREFIX}c1" "${HD_PREFIX}c2" "${HD_PREFIX}c3" "${HD_PREFIX}c4")
t0=$(date +%s%N)
for u in "${MANY[@]}"; do bg_create a "$u" "$T_TMP/many.$u"; done
bg_wait
echo "# 4 creates of different names at once: $(hd_ms_since "$t0") s in all"
for u in "${MANY[@]}"; do echo "#   $u: $(bg_results "$T_TMP/many.$u")"; done
f0=$T_FAIL
expect_eq "4 concurrent creates of different names all succeed" 4 \
	"$(bg_results "$T_TMP"/many.* | grep -c '^202 success ')"
expect_eq "they got 4 distinct uids" 4 "$(bg_results "$T_TMP"/many.* | awk '{ print $4 }' | sort -u | grep -c '^[0-9]')"
expect_eq "they got 4 distinct IPv4 addresses" 4 \
	"$(bg_results "$T_TMP"/many.* | awk '{ print $5 }' | sort -u | grep -c '^[0-9]')"
hd_bug "$f0" "racing creates clash on a pinned address: LXD refuses to start (or to move) an instance while another NIC pins the same address (see the errors above)"
for u in "${MANY[@]}"; do
	ip=$(awk '{ print $5 }' "$T_TMP/many.$u")
	expect_eq "$u: LXD pins the address the result gave and the container has it" "$ip $ip" \
		"$(ctm_lxd_api -f "/1.0/instances/$u-container" | jq -r '.metadata.devices.eth0["ipv4.address"]') $(ctm_lxd_ipv4 "$u-container" 20)"
done

# --- 11. crash part-way -------------------------------------------------------
echo "# 11. helperd killed during a create"
CR=${HD_PREFIX}crash
hd_json a POST /v1/containers "$(jq -cn --arg n "$CR" --arg k "$(cat "$PUB")" '{name: $n, ssh_keys: [$k]}')"
crash_op=$(hd_jq '.operation.id // empty')
step=0
for ((i = 0; i < 600 && step < 2; i++)); do
	step=$(curl -sS --max-time 5 --unix-socket "$(hd_sock a)" "http://helperd/v1/operations/$crash_op" | jq -r '.step // 0')
	[ "$step" -ge 2 ] 2>/dev/null || { step=0; sleep 0.05; }
done
hd_kill9 a
echo "# killed helperd a (kill -9) at step $step of the create of $CR"
check "the create had reached step 2 when helperd was killed" test "$step" -ge 2
expect_eq "LXD: the half-made instance is there, state provisioning" provisioning \
	"$(hd_lxd_config "$CR-container" user.containarium.state 2>/dev/null)"
t0=$(date +%s%N)
check "helperd a starts again" hd_start a
check "within 15 s of the restart the half-made instance is gone from LXD" hd_wait_gone "$CR-container" 15
echo "# reconcile removed $CR-container $(hd_ms_since "$t0") s after the restart"
check "the snapshot does not list $CR" hd_wait_snap "$(hd_state a)" 5 \
	".users | map(.name) | index(\"$CR\") | not"
expect_match "the log says the instance was removed" "removing $CR-container: its create did not finish" \
	"$(cat "$(hd_log a)")"
if hd_lxd_exists "$CR-container"; then
	echo "# BUG: the half-made $CR-container is still there ($(hd_lxd_config "$CR-container" user.containarium.state)): reconcile tries once, at start, and gives up when LXD refuses"
	grep -F "$CR-container" "$(hd_log a)" | sed 's/^/#   log: /'
fi
if hd_create a "$CR" "$PUB"; then ok "$CR, whose create was cut off, can be created again"; else
	fail "$CR, whose create was cut off, can be created again"; fi

# --- 12. two helperds on one LXD ----------------------------------------------
echo "# 12. two helperds on one LXD"
hd_conf b
check "helperd b (own socket and state_dir, same LXD) starts" hd_start b
VIA_A=("${HD_PREFIX}a1" "${HD_PREFIX}a2")
VIA_B=("${HD_PREFIX}b1" "${HD_PREFIX}b2")
t0=$(date +%s%N)
bg_create a "${VIA_A[0]}" "$T_TMP/two.${VIA_A[0]}"
bg_create b "${VIA_B[0]}" "$T_TMP/two.${VIA_B[0]}"
bg_create a "${VIA_A[1]}" "$T_TMP/two.${VIA_A[1]}"
bg_create b "${VIA_B[1]}" "$T_TMP/two.${VIA_B[1]}"
bg_wait
echo "# 2+2 creates through two helperds at once: $(hd_ms_since "$t0") s in all"
for u in "${VIA_A[@]}" "${VIA_B[@]}"; do echo "#   $u: $(bg_results "$T_TMP/two.$u")"; done
f0=$T_FAIL
expect_eq "all 4 creates through the two helperds succeed" 4 "$(bg_results "$T_TMP"/two.* | grep -c '^202 success ')"
hd_bug "$f0" "racing creates clash on a pinned address (see the errors above)"

# Every user whose create succeeded in parts 10 to 12.
CREATED=()
grep -qs '^202 success ' "$T_TMP"/same.* && CREATED+=("$SAME")
for u in "${MANY[@]}" "${VIA_A[@]}" "${VIA_B[@]}"; do
	grep -qs '^202 success ' "$T_TMP"/*."$u" && CREATED+=("$u")
done
[ "$(hd_lxd_config "$CR-container" user.containarium.state 2>/dev/null)" = active ] && CREATED+=("$CR")
echo "# users created: ${CREATED[*]}"
managed=$(hd_lxd_managed)
ours=$(jq -c --arg p "$HD_PREFIX" '[.[] | select(.user | startswith($p))]' <<<"$managed")
expect_eq "LXD: every user created is there and active" \
	"$(printf '%s active\n' "${CREATED[@]}" | sort)" \
	"$(jq -r '.[] | select(.state == "active") | "\(.user) \(.state)"' <<<"$ours" | sort)"
# Other tests may be creating on this LXD right now (a create settles a
# clash after making its instance), so only clashes involving ours count.
clashes() {
	jq -r --arg p "$HD_PREFIX" --arg f "$1" '
		group_by(.[$f])[] | select(length > 1 and any(.[]; .user | startswith($p)))
		| map("\(.user)=\(.[$f])") | join(" ")' <<<"$managed"
}
expect_eq "LXD: no uid of ours is used by two instances" "" "$(clashes uid)"
expect_eq "LXD: no IPv4 of ours is used by two instances" "" "$(clashes ipv4)"
want_json=$(printf '%s\n' "${CREATED[@]}" | jq -R . | jq -sc .)
listed="(\$want - [.users[] | select(.state == \"active\") | .name]) == []"
for h in a b; do
	t0=$(date +%s%N)
	check "helperd $h's passwd.db lists all ${#CREATED[@]} users, active, within 5 s" \
		hd_wait_snap "$(hd_state "$h")" 5 "$want_json as \$want | $listed"
	echo "#   helperd $h: $(hd_ms_since "$t0") s"
done
# Both have polled since the last change (failed creates roll back late).
our_entries() {
	hd_dump "$(hd_state "$1")" | jq -c --arg p "$HD_PREFIX" '[.users[] | select(.name | startswith($p)) | [.name, .uid, .ipv4, .state]]'
}
for ((i = 0; i < 25; i++)); do
	[ "$(our_entries a)" = "$(our_entries b)" ] && break
	sleep 0.2
done
expect_eq "both helperds publish the same users, uids, addresses and states (within 5 s)" \
	"$(our_entries a)" "$(our_entries b)"
# A clash between two creates is settled by moving the later instance
# before it starts; meanwhile LXD holds two instances with one uid, and a
# publish that sees them must not fail (it would leave every user's
# snapshot stale, and fail a create that is activating at that moment).
f0=$T_FAIL
for h in a b; do
	expect_eq "helperd $h never failed to publish during the racing creates" "" \
		"$(grep -E 'publishing .* failed|both have uid|both have (the )?(address|IPv4)' "$(hd_log "$h")" | head -n 3)"
done
hd_bug "$f0" "while a clash is being settled the registry holds two accounts with one uid and every publish fails (stale snapshots; a create activating then fails with publish_failed)"

# Delete through a what b created, and the rest; b notices by polling.
t0=$(date +%s%N)
pids=()
mapfile -t ALL < <(hd_lxd_ours | sed 's/-container$//')
for u in "${ALL[@]}"; do
	curl -sS --max-time 150 --unix-socket "$(hd_sock a)" -X DELETE "http://helperd/v1/containers/$u?force=1" \
		-o "$T_TMP/del.$u" &
	pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
ndone=0
for u in "${ALL[@]}"; do
	id=$(jq -r '.operation.id // empty' "$T_TMP/del.$u" 2>/dev/null)
	[ -n "$id" ] && hd_wait_op a "$id" && ndone=$((ndone + 1))
done
echo "# ${#ALL[@]} deletes at once through helperd a: $(hd_ms_since "$t0") s"
expect_eq "all ${#ALL[@]} deletes through helperd a succeed (b's users too)" "${#ALL[@]}" "$ndone"
expect_eq "LXD: none of our instances is left" "" "$(hd_lxd_ours)"
check "helperd b's snapshot drops them within 5 s" hd_wait_snap "$(hd_state b)" 5 \
	"[.users[] | select(.name | startswith(\"$HD_PREFIX\"))] == []"
check "helperd a is still running" hd_alive a
check "helperd b is still running" hd_alive b
echo "# helperd crashes seen: $HD_CRASHES; whole test: $(hd_ms_since "$T_START") s"
summary
