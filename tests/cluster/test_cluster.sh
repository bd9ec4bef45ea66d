#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Many jump hosts, one Incus cluster, tested live (issue 11): three members
# on one machine (tests/cluster/clusterlib.sh), formed by the GCE startup
# script's own cluster phases, each a jump host with sshd, helperd, the NSS
# module, the keys command and PAM; the host plays the developer's laptop.
#   - the cluster: three voters, the fabric up, the startup phases again
#     change nothing;
#   - a create through member 1's CLI lands where Incus's scheduler puts
#     it, or on --target; `ssh -J` through every member reaches it; every
#     member's passwd.db lists it (measured);
#   - 30 creates at once spread over the three helperds: all succeed, no
#     uid or address twice, no raw backend error; deletes leave every
#     member's snapshot;
#   - member 3's incusd killed: logins through members 1, 2 and 3 (its
#     snapshot still answers its sshd), its helperd answers 503 with a
#     sentence; back, everything converges;
#   - a helperd restarted sees the same registry; list and info show each
#     container's member.
# Needs root; everything it makes is removed at the end.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HERE/../lib/testlib.sh"
need_root
CTM_BACKEND=incus
# shellcheck source-path=SCRIPTDIR
. "$HERE/clusterlib.sh"
for tool in /usr/libexec/incus/incusd incus nsenter unshare openssl jq ssh python3 btrfs; do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
for f in helperd/containarium-helperd cli/containarium nss_containarium/libnss_containarium.so.2; do
	[ -f "$BUILD/$f" ] || { fail "$BUILD/$f is built (make BUILD=...)"; summary; exit 1; }
done
mk_scratch
N=3
cleanup() {
	cl_down
	rm -rf "$T_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# One cluster harness at a time on this machine (fixed names and addresses).
exec 9>"$CTM_TEST_CACHE/.cluster.lock"
flock 9
cl_down # what a killed run left

t0=$SECONDS
if ! cl_up "$N"; then
	fail "a $N-member cluster with a jump host on each comes up: $CL_ERR"
	summary
	exit 1
fi
ok "a $N-member cluster with a jump host on each comes up ($((SECONDS - t0)) s)"
# Without, the 30 creates below lose every container past ~14 at boot.
check "inotify instances raised to at least 8192 for the cluster's containers" \
	test "$(sysctl -n fs.inotify.max_user_instances)" -ge 8192
expect_eq "every member is an online database voter" "m1 ONLINE database
m2 ONLINE database
m3 ONLINE database" "$(cl_in 1 incus cluster list -f csv -c nsr | awk -F, '{ r = $3 ~ /database($|-leader)/ ? "database" : $3; print $1, $2, r }')"
for i in 1 2 3; do
	expect_eq "m$i: the fabric's VXLAN is on the bridge and kept there (bridge.external_interfaces)" \
		"containariumbr0 ctmvx0" \
		"$(cl_in "$i" cat /sys/class/net/ctmvx0/master/uevent 2>/dev/null | sed -n 's/^INTERFACE=//p') $(cl_in "$i" incus network get containariumbr0 bridge.external_interfaces --target "m$i")"
done
# The startup script's phases run again (as at every boot): nothing changes.
for i in 1 2 3; do
	: >"$CL_HOME/m$i/startup.log"
	cl_startup "$i" incus && cl_startup "$i" fabric
	expect_eq "m$i: the cluster phases again change nothing" "" \
		"$(grep -E 'written|joined|bootstrapped|trusts|keeps' "$CL_HOME/m$i/startup.log")"
done

K=$T_TMP/keys
mkdir -m 0700 "$K"
ssh-keygen -q -t ed25519 -N '' -C clustertest -f "$K/id" </dev/null
for i in 1 2 3; do cp "$K/id.pub" "$CL_HOME/m$i/etc/containarium/test-user.pub"; done
cat >"$T_TMP/ssh_config" <<EOF
Host *
  IdentityFile $K/id
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 10
EOF
# jump USER MEMBER IP COMMAND: ssh -J through member MEMBER's jump sshd.
jump() {
	local u=$1 m=$2 ip=$3
	shift 3
	timeout 40 ssh -F "$T_TMP/ssh_config" -J "$u@$(cl_addr "$m")" "$u@$ip" "$@" </dev/null 2>&1
}
# cli I ARGS...: the containarium CLI on member I.
cli() {
	local i=$1
	shift
	cl_in "$i" /usr/local/bin/containarium "$@"
}
# snap_has I USER: member I's passwd.db lists USER.
snap_has() { getent_in "$1" "$2" >/dev/null; }
getent_in() { cl_in "$1" getent passwd "$2"; }
# wait_snap I USER WANT(1 listed, 0 not) SECONDS: prints the seconds it took.
wait_snap() {
	local i=$1 u=$2 want=$3 limit=$4 start now
	start=$(date +%s%N)
	while :; do
		if snap_has "$i" "$u"; then [ "$want" = 1 ] && break; else [ "$want" = 0 ] && break; fi
		now=$(date +%s%N)
		[ $(((now - start) / 1000000)) -lt $((limit * 1000)) ] || { echo timeout; return 1; }
		sleep 0.05
	done
	now=$(date +%s%N)
	printf '%d.%03d\n' $(((now - start) / 1000000000)) $((((now - start) / 1000000) % 1000))
}

# --- 1. a create through member 1, logins through every member -------------------
echo "# 1. create through m1; ssh -J through m1, m2, m3"
U1=alice
out=$(cli 1 create "$U1" --ssh-key /etc/containarium/test-user.pub 2>&1)
rc=$?
expect_eq "create $U1 through m1's CLI succeeds" 0 "$rc" || printf '%s\n' "$out" | tail -n 5 | sed 's/^/#   /'
t_done=$(date +%s%N)
for i in 1 2 3; do
	t=$(wait_snap "$i" "$U1" 1 5)
	check "m$i's passwd.db lists $U1 within 2 s of the create's end (took ${t} s)" \
		awk -v t="$t" 'BEGIN { exit !(t != "timeout" && t + 0 <= 2) }'
done
echo "# converge: the create's end to the last member's passwd.db: $((($(date +%s%N) - t_done) / 1000000)) ms"
info=$(cli 2 --json info "$U1")
IP1=$(jq -r .ipv4 <<<"$info")
LOC1=$(jq -r .location <<<"$info")
expect_match "info through m2 names the member it is on" "^m[123]$" "$LOC1"
expect_eq "the member is the one Incus has it on" "$LOC1" \
	"$(cl_api 1 GET "/1.0/instances/$U1-container" | jq -r .metadata.location)"
for m in 1 2 3; do
	expect_eq "ssh -J $U1@m$m $U1@$IP1 reaches her container" "$U1-container $U1" \
		"$(jump "$U1" "$m" "$IP1" hostname \; id -un | paste -sd' ' -)"
done
expect_match "m3's sshd logged the jump login (Accepted publickey)" "Accepted publickey for $U1 from $CL_NET.254" \
	"$(cat "$CL_HOME/m3/log/sshd.log")"
expect_match "m3's jump account has no shell" "This account is currently not available" \
	"$(timeout 20 ssh -F "$T_TMP/ssh_config" "$U1@$(cl_addr 3)" true 2>&1)"

# --target; list and info show the member.
U2=bob
out=$(cli 1 create "$U2" --ssh-key /etc/containarium/test-user.pub --target m3 2>&1)
expect_match "create --target m3 through m1 says where it is" "Location: m3 \(cluster member\)" "$out"
expect_eq "Incus has $U2's container on m3" m3 "$(cl_api 2 GET "/1.0/instances/$U2-container" | jq -r .metadata.location)"
IP2=$(cli 1 --json info "$U2" | jq -r .ipv4)
expect_eq "ssh -J $U2@m1 reaches her container on m3" "$U2-container" "$(jump "$U2" 1 "$IP2" hostname)"
expect_match "list shows LOCATION" "^NAME +STATE +IPV4 +QUOTA +AUTOSTART +LOCATION" "$(cli 2 list)"
expect_match "list: $U2's container on m3" "^$U2-container +Running +$IP2 .* m3$" "$(cli 2 list)"
expect_match "info shows the member" "^Location: m3 \(cluster member\)$" "$(cli 3 info "$U2")"
# An address given again right after its container is deleted (another
# MAC): every member's host re-learns it (the fabric's neighbour timers).
cli 1 delete "$U2" --force >/dev/null 2>&1
U2B=erin
out=$(cli 1 create "$U2B" --ssh-key /etc/containarium/test-user.pub --target m3 2>&1)
expect_eq "a create on m3 right after a delete there succeeds" 0 $? || printf '%s\n' "$out" | tail -n 3 | sed 's/^/#   /'
IP2B=$(cli 1 --json info "$U2B" | jq -r .ipv4)
expect_eq "it got the deleted container's address again (the case this checks)" "$IP2" "$IP2B"
for m in 1 2; do
	expect_eq "ssh -J $U2B@m$m reaches her container at the reused address at once" "$U2B" \
		"$(jump "$U2B" "$m" "$IP2B" id -un)"
done
out=$(cli 1 create carol --ssh-key /etc/containarium/test-user.pub --target m9 2>&1)
expect_match "create --target a member that does not exist: a sentence, not the backend's raw error" \
	"cannot place carol-container on cluster member \"m9\": .*incus cluster list" "$out"
check "and nothing of carol is left" test -z "$(cl_api 1 GET /1.0/instances | jq -r '.metadata[] | select(endswith("/carol-container"))')"

# op I ARGS-OF-THE-REQUEST... > FILE: one request to member I's helperd
# that starts an operation, followed to its end (waits of 120 s, at most
# three); prints the operation's last state (or the refusal).
op() {
	local i=$1 out id k
	shift
	out=$(cl_helperd "$i" "$@" 2>&1)
	id=$(jq -r '.operation.id // empty' <<<"$out" 2>/dev/null)
	for ((k = 0; k < 3 && ${#id} > 0; k++)); do
		out=$(cl_helperd "$i" GET "/v1/operations/$id?wait=120" 2>&1)
		case $(jq -r '.status // empty' <<<"$out" 2>/dev/null) in success | failure) break ;; esac
	done
	printf '%s\n' "$out"
}

# --- 2. 30 creates at once, over the three helperds ----------------------------------
echo "# 2. 30 creates at once through the three helperds"
t0=$(date +%s%N)
pids=()
for k in $(seq 1 30); do
	i=$(((k - 1) % 3 + 1))
	op "$i" POST /v1/containers -H 'Content-Type: application/json' \
		--data-binary "$(jq -cn --arg n "dev$k" --arg k "$(cat "$K/id.pub")" '{name: $n, ssh_keys: [$k]}')" \
		>"$T_TMP/many.$k" &
	pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
echo "# 30 creates: $((($(date +%s%N) - t0) / 1000000)) ms in all"
ok_count=$(cat "$T_TMP"/many.* | jq -r '.status // empty' 2>/dev/null | grep -c '^success$')
expect_eq "all 30 creates succeed" 30 "$ok_count" || grep -h '"failure"' "$T_TMP"/many.* | jq -r '.error.message' | head -n 5 | sed 's/^/#   /'
expect_eq "30 distinct uids" 30 "$(cat "$T_TMP"/many.* | jq -r '.result.uid // empty' 2>/dev/null | sort -u | grep -c .)"
expect_eq "30 distinct IPv4 addresses" 30 "$(cat "$T_TMP"/many.* | jq -r '.result.ipv4 // empty' 2>/dev/null | sort -u | grep -c .)"
expect_eq "no answer carries a raw backend error (\"/1.0/\", a status code)" "" \
	"$(cat "$T_TMP"/many.* | grep -E '/1\.0/|: [0-9]{3} ' | head -n 3)"
echo "# placement: $(cl_api 1 GET '/1.0/instances?recursion=1' | jq -r '[.metadata[].location] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')"
all_users=$(printf 'dev%s\n' $(seq 1 30) | sort)
for i in 1 2 3; do
	for ((w = 0; w < 50; w++)); do
		[ "$(cl_in "$i" getent passwd | awk -F: '$1 ~ /^dev[0-9]+$/ { print $1 }' | sort)" = "$all_users" ] && break
		sleep 0.1
	done
	expect_eq "m$i's passwd.db lists the 30 users" "$all_users" \
		"$(cl_in "$i" getent passwd | awk -F: '$1 ~ /^dev[0-9]+$/ { print $1 }' | sort)"
done
expect_eq "every member publishes the same uids" "$(cl_in 1 getent passwd | grep '^dev' | sort)" \
	"$(cl_in 3 getent passwd | grep '^dev' | sort)"
IP7=$(jq -r .result.ipv4 "$T_TMP/many.7")
expect_eq "dev7 logs in through m2" dev7 "$(jump dev7 2 "$IP7" id -un)"

# Deletes through one member leave every member's snapshot.
t0=$(date +%s%N)
pids=()
for k in $(seq 1 30); do
	op 2 DELETE "/v1/containers/dev$k?force=1" >"$T_TMP/del.$k" &
	pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
expect_eq "30 deletes through m2 succeed" 30 "$(cat "$T_TMP"/del.* | jq -r '.status // empty' 2>/dev/null | grep -c '^success$')"
# The deletes ran at once and end in any order: wait for the last of the
# 30 to go from each member's snapshot, not for one name.
devs_listed() { cl_in "$1" getent passwd | grep '^dev[0-9]'; }
for i in 1 3; do
	t0w=$(date +%s%N) t=timeout
	while [ $((($(date +%s%N) - t0w) / 1000000)) -lt 5000 ]; do
		if ! devs_listed "$i" >/dev/null; then
			t=$(printf '%d.%03d' $((($(date +%s%N) - t0w) / 1000000000)) $(((($(date +%s%N) - t0w) / 1000000) % 1000)))
			break
		fi
		sleep 0.05
	done
	check "m$i's passwd.db drops them within 5 s ($t s)" test "$t" != timeout
	expect_eq "m$i lists none of them" "" "$(devs_listed "$i" | head -n 3)"
done
expect_eq "no reservation of theirs is left" "" \
	"$(cl_api 1 GET '/1.0/profiles?recursion=1' | jq -r '.metadata[] | select(.description | test(" for dev[0-9]+ ")) | .name')"
echo "# 30 deletes: $((($(date +%s%N) - t0) / 1000000)) ms"

# --- 3. a member lost, and back ---------------------------------------------------------
echo "# 3. m3's incusd killed"
kill -KILL "$(cat "$CL_HOME/m3/incusd.pid")"
wait "$(cat "$CL_HOME/m3/incusd.pid")" 2>/dev/null
for m in 1 2 3; do
	expect_eq "with m3's Incus gone, $U1 still logs in through m$m" "$U1" "$(jump "$U1" "$m" "$IP1" id -un)"
done
expect_eq "$U2B still logs in through m1 (a killed Incus leaves its containers running)" \
	"$U2B" "$(jump "$U2B" 1 "$IP2B" id -un)"
out=$(cl_helperd 3 GET /v1/containers -w '\n%{http_code}')
expect_eq "m3's helperd answers 503 backend_unavailable" "503 backend_unavailable" \
	"$(tail -n 1 <<<"$out") $(head -n -1 <<<"$out" | jq -r .error.code)"
expect_match "with a sentence to act on" "not answering.*existing users can still log in" \
	"$(head -n -1 <<<"$out" | jq -r .error.message)"
check "m3's snapshot still answers its sshd (getent through the NSS module)" snap_has 3 "$U1"
U3=dave
out=$(cli 2 create "$U3" --ssh-key /etc/containarium/test-user.pub 2>&1)
expect_eq "a create through m2 works while m3 is down" 0 $?
IP3=$(cli 1 --json info "$U3" | jq -r .ipv4)
expect_eq "...and lands on a member that is up" "" "$(cl_api 1 GET "/1.0/instances/$U3-container" | jq -r .metadata.location | grep -x m3)"
# The create made m1 and m2 read the registry again while m3 does not
# answer: Incus lists m3's containers without their config, and they keep
# m3's users as last published.
for i in 1 2; do
	for ((w = 0; w < 30; w++)); do grep -q 'stay as last published' "$CL_HOME/m$i/log/helperd.log" && break; sleep 0.2; done
	expect_match "m$i's helperd keeps m3's users as last published" \
		"containers are on a cluster member that does not answer .*stay as last published" \
		"$(cat "$CL_HOME/m$i/log/helperd.log")"
	check "m$i's passwd.db still lists $U2B, whose container is on m3" snap_has "$i" "$U2B"
done
expect_eq "$U2B still logs in through m2 after that read" "$U2B" "$(jump "$U2B" 2 "$IP2B" id -un)"
echo "# m3 back"
t0=$(date +%s%N)
if _cl_incusd_start 3; then ok "m3's incusd starts again"; else fail "m3's incusd starts again: $CL_ERR"; fi
for ((w = 0; w < 100; w++)); do
	[ "$(cl_helperd 3 GET /v1/containers -o /dev/null -w '%{http_code}')" = 200 ] && break
	sleep 0.1
done
expect_eq "m3's helperd answers again" 200 "$(cl_helperd 3 GET /v1/containers -o /dev/null -w '%{http_code}')"
t=$(wait_snap 3 "$U3" 1 10)
check "m3's passwd.db lists $U3, created while it was down (${t} s)" test "$t" != timeout
echo "# m3 converged $((($(date +%s%N) - t0) / 1000000)) ms after its incusd started"
expect_eq "$U3 logs in through m3" "$U3" "$(jump "$U3" 3 "$IP3" id -un)"
t0=$(date +%s%N)
for ((w = 0; w < 120; w++)); do
	[ "$(cl_in 1 incus cluster list -f csv -c ns | awk -F, '$1 == "m3" { print $2 }')" = ONLINE ] && break
	sleep 0.5
done
expect_eq "m3 is online again (within 60 s; took $((($(date +%s%N) - t0) / 1000000)) ms more)" ONLINE \
	"$(cl_in 1 incus cluster list -f csv -c ns | awk -F, '$1 == "m3" { print $2 }')"
for ((w = 0; w < 50; w++)); do
	[ "$(cli 1 --json info "$U2B" | jq -r .status)" = Running ] && break
	sleep 0.2
done
expect_eq "m1's helperd reads m3's containers again (status no longer Unknown)" Running \
	"$(cli 1 --json info "$U2B" | jq -r .status)"

# --- 4. a helperd restarted ---------------------------------------------------------
echo "# 4. helperd restarted on m2"
before=$(cli 2 --json list | jq -c '[.containers[] | [.name, .uid, .ipv4, .location]] | sort')
_cl_stop_pidfile "$CL_HOME/m2/helperd.pid"
if _cl_helperd_start 2; then ok "m2's helperd starts again"; else fail "m2's helperd starts again: $CL_ERR"; fi
expect_eq "it sees the same registry (names, uids, addresses, members)" "$before" \
	"$(cli 2 --json list | jq -c '[.containers[] | [.name, .uid, .ipv4, .location]] | sort')"
expect_eq "and the same as m1's" "$before" "$(cli 1 --json list | jq -c '[.containers[] | [.name, .uid, .ipv4, .location]] | sort')"
check "the registry is not empty (the comparisons above compared something)" \
	test "$(jq length <<<"$before")" -ge 3

summary
