#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
# What a new user tried (issue 11): two helperds each creating 5 users at
# once.  Each uid and address is reserved in the backend before it is used
# (helperd/reservation.h), so no two creates ever hold one.
echo "# 12. two helperds on one backend, 5 creates each at once"
hd_conf b
check "helperd b (own socket and state_dir, same backend) starts" hd_start b
VIA_A=() VIA_B=()
for i in 1 2 3 4 5; do VIA_A+=("${HD_PREFIX}a$i"); VIA_B+=("${HD_PREFIX}b$i"); done
t0=$(date +%s%N)
for i in 0 1 2 3 4; do
	bg_create a "${VIA_A[$i]}" "$T_TMP/two.${VIA_A[$i]}"
	bg_create b "${VIA_B[$i]}" "$T_TMP/two.${VIA_B[$i]}"
done
bg_wait
echo "# 5+5 creates through two helperds at once: $(hd_ms_since "$t0") s in all"
for u in "${VIA_A[@]}" "${VIA_B[@]}"; do echo "#   $u: $(bg_results "$T_TMP/two.$u")"; done
expect_eq "all 10 creates through the two helperds succeed" 10 "$(bg_results "$T_TMP"/two.* | grep -c '^202 success ')"
expect_eq "they got 10 distinct uids" 10 "$(bg_results "$T_TMP"/two.* | awk '{ print $4 }' | sort -u | grep -c '^[0-9]')"
expect_eq "they got 10 distinct IPv4 addresses" 10 \
	"$(bg_results "$T_TMP"/two.* | awk '{ print $5 }' | sort -u | grep -c '^[0-9]')"
# Each carries its two reservations, which name its uid and address.
want_res=$(for f in "$T_TMP"/two.*; do
	read -r _ _ _ uid ip _ <"$f"
	printf '%s ctm-uid-%s ctm-ipv4-%s\n' "$(basename "$f" | sed 's/^two\.//')-container" "$uid" "${ip//./-}"
done | sort)
expect_eq "each instance carries the reservations of its uid and address, and only them" "$want_res" \
	"$(for u in "${VIA_A[@]}" "${VIA_B[@]}"; do
		ctm_lxd_api -f "/1.0/instances/$u-container" | jq -r '.metadata | "\(.name) \(.profiles | join(" "))"'
	done | sort)"
hd_api a DELETE /v1/containers/"${VIA_A[0]}"?force=1
hd_wait_op a "$(hd_jq '.operation.id // empty')"
uid0=$(awk '{ print $4 }' "$T_TMP/two.${VIA_A[0]}")
expect_eq "a delete releases its reservations (the backend answers 404)" "404" \
	"$(ctm_lxd_api -o /dev/null -w '%{http_code}' "/1.0/profiles/ctm-uid-$uid0" 2>/dev/null)"

# --- 13. reservations at start -------------------------------------------------
# An account made before reservations existed gets them when helperd
# starts; a reservation nobody carries is removed once an hour old (a create
# may hold one that long while its image is pulled), not before.
echo "# 13. reservations at start"
OLDACC=${VIA_B[1]}-container
ctm_lxd_api -X PATCH -H 'Content-Type: application/json' -d '{"profiles": []}' "/1.0/instances/$OLDACC" >/dev/null
expect_eq "$OLDACC carries no profile (as an account made before reservations)" "" \
	"$(ctm_lxd_api -f "/1.0/instances/$OLDACC" | jq -r '.metadata.profiles | join(" ")')"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for r in "ctm-uid-99990 2026-01-01T00:00:00Z" "ctm-uid-99991 $now"; do
	ctm_lxd_api -X POST -H 'Content-Type: application/json' -d "$(jq -cn --arg n "${r% *}" \
		--arg d "containarium: uid ${r% *} for ${HD_PREFIX}orphan by nowhere at ${r#* }" \
		'{name: $n, description: $d}')" /1.0/profiles >/dev/null
done
hd_stop b
check "helperd b starts again" hd_start b
read -r _ _ _ uid1 ip1 _ <"$T_TMP/two.${VIA_B[1]}"
wantp="ctm-uid-$uid1 ctm-ipv4-${ip1//./-}"
expect_eq "at start helperd b reserved $OLDACC's uid and address and attached them" "$wantp" \
	"$(ctm_lxd_api -f "/1.0/instances/$OLDACC" | jq -r '.metadata.profiles | join(" ")')"
expect_match "the log says so" "$OLDACC: reserved its uid and address" "$(cat "$(hd_log b)")"
expect_eq "an unused reservation from an hour ago is gone; one just made is kept" "404 200" \
	"$(ctm_lxd_api -o /dev/null -w '%{http_code}' /1.0/profiles/ctm-uid-99990 2>/dev/null) $(ctm_lxd_api -o /dev/null -w '%{http_code}' /1.0/profiles/ctm-uid-99991 2>/dev/null)"
ctm_lxd_api -X DELETE /1.0/profiles/ctm-uid-99991 >/dev/null 2>&1

# A value found reserved is skipped, never taken: helperd c's uid range
# is 95001-95003, and 95001 is reserved by someone else.
hd_conf c uid_min=95001 uid_max=95003
check "helperd c (uids 95001-95003) starts" hd_start c
reserve() {
	ctm_lxd_api -X POST -H 'Content-Type: application/json' -d "$(jq -cn --arg n "ctm-uid-$1" \
		--arg d "containarium: uid $1 for ${HD_PREFIX}other by elsewhere at $(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		'{name: $n, description: $d}')" /1.0/profiles >/dev/null
}
reserve 95001
U95=${HD_PREFIX}c95
if hd_create c "$U95" "$PUB"; then ok "a create next to a reserved uid succeeds"; else fail "a create next to a reserved uid succeeds"; fi
expect_eq "it got the next uid, 95002" 95002 "$(hd_jq '.result.uid // empty')"
expect_eq "the other reservation is untouched" "containarium: uid 95001 for ${HD_PREFIX}other" \
	"$(ctm_lxd_api -f /1.0/profiles/ctm-uid-95001 | jq -r '.metadata.description' | sed 's/ by elsewhere.*//')"
reserve 95003
hd_json c POST /v1/containers "$(jq -cn --arg n "${HD_PREFIX}c96" --arg k "$(cat "$PUB")" '{name: $n, ssh_keys: [$k]}')"
hd_expect_error "with every uid of the range reserved, a create is refused" 507 no_capacity c
expect_match "the refusal says what to widen" "no free uid or IPv4 address left .*widen uid_min/uid_max" \
	"$(hd_jq .error.message)"
hd_api c DELETE "/v1/containers/$U95?force=1"
hd_wait_op c "$(hd_jq '.operation.id // empty')"
for u in 95001 95003; do ctm_lxd_api -X DELETE "/1.0/profiles/ctm-uid-$u" >/dev/null 2>&1; done
hd_stop c

# Every user whose create succeeded in parts 10 to 13.
CREATED=()
grep -qs '^202 success ' "$T_TMP"/same.* && CREATED+=("$SAME")
for u in "${MANY[@]}" "${VIA_A[@]:1}" "${VIA_B[@]}"; do
	grep -qs '^202 success ' "$T_TMP"/*."$u" && CREATED+=("$u")
done
[ "$(hd_lxd_config "$CR-container" user.containarium.state 2>/dev/null)" = active ] && CREATED+=("$CR")
echo "# users created: ${CREATED[*]}"
managed=$(hd_lxd_managed)
ours=$(jq -c --arg p "$HD_PREFIX" '[.[] | select(.user | startswith($p))]' <<<"$managed")
expect_eq "LXD: every user created is there and active" \
	"$(printf '%s active\n' "${CREATED[@]}" | sort)" \
	"$(jq -r '.[] | select(.state == "active") | "\(.user) \(.state)"' <<<"$ours" | sort)"
# Other tests may be creating on this backend right now, so only clashes
# involving ours count.
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
# No two instances ever hold one uid, so no publish ever meets a clash.
for h in a b; do
	expect_eq "helperd $h never failed to publish during the racing creates" "" \
		"$(grep -E 'publishing .* failed|both have uid|both have (the )?(address|IPv4)' "$(hd_log "$h")" | head -n 3)"
done

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
expect_eq "no reservation of our users is left (deletes and the reconcile after the crash released them)" "" \
	"$(ctm_lxd_api -f "/1.0/profiles?recursion=1" | jq -r --arg p " for $HD_PREFIX" \
		'.metadata[] | select((.name | startswith("ctm-")) and (.description | contains($p))) | .name')"
check "helperd b's snapshot drops them within 5 s" hd_wait_snap "$(hd_state b)" 5 \
	"[.users[] | select(.name | startswith(\"$HD_PREFIX\"))] == []"
check "helperd a is still running" hd_alive a
check "helperd b is still running" hd_alive b
echo "# helperd crashes seen: $HD_CRASHES; whole test: $(hd_ms_since "$T_START") s"
summary
