#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The cluster benchmarks (issue 11 §5), on a real 3-member Incus cluster of
# jump hosts (tests/cluster: brought up here, taken down at the end):
#
#   cluster-converge      seconds from the moment a create through member 1's
#                         helperd reports success until member 3's passwd.db
#                         lists the user (read through glibc and the NSS
#                         module in m3, polled every 10 ms); median of 10.
#                         The reference is the goal itself, 1.0 s.
#   cluster-create-ready  seconds from POST /v1/containers on m1 until the
#                         create is done (helperd reports success only once
#                         the container's sshd accepts connections) and
#                         port 22 sends m1 a banner; then, untimed, the
#                         user's `ssh USER@IP true` from m1 must work (a
#                         second try is a NOTE; its time is shown apart).
#                         Against
#                         raw Incus on the same cluster: POST /1.0/instances
#                         (the same container: no profile, 1 CPU, 256MB, a
#                         1GB root disk, eth0 pinned with the same isolation
#                         options) and PUT state start through m1's socket,
#                         until Incus shows the address and port 22 sends a
#                         banner to m1.  Both sides on member m2 (?target=),
#                         so both cross the cluster; 8 runs per side, ABBA;
#                         each side reuses its address run after run.
#                         Goal 1.15.
#
#   bench/cluster_bench.sh BUILD [NAME...]     default: both
# Environment: CL_RUNS (8 per side); CL_HELPERD_LOG_LEVEL (the members'
# helperd log_level, e.g. debug: each create's timings); CL_KEEP_LOG=FILE
# (m1's helperd log is copied there at the end).
# Each prints comment lines, "# goal: ... (met|MISSED)" and its BENCH line.
set -uo pipefail
SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
BUILD=${1:?usage: bench/cluster_bench.sh BUILD [NAME...]}
shift
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(cluster-converge cluster-create-ready)
export SRC BUILD
# shellcheck source=tests/lib/testlib.sh
. "$SRC/tests/lib/testlib.sh"
export CTM_BACKEND=incus
# shellcheck source=tests/cluster/clusterlib.sh
. "$SRC/tests/cluster/clusterlib.sh"
# shellcheck source=bench/helperd_lib.sh
. "$SRC/bench/helperd_lib.sh"
RUNS=${CL_RUNS:-8}
[ "$(id -u)" = 0 ] || hd_die "the cluster benchmarks need root"

S=$(mktemp -d /tmp/ctm-clbench.XXXXXX)
exec 9>"$CTM_TEST_CACHE/.cluster.lock"
flock 9
# shellcheck disable=SC2317 # the traps call it
cleanup() {
	[ -z "${CL_KEEP_LOG:-}" ] || cp "$CL_HOME/m1/log/helperd.log" "$CL_KEEP_LOG"
	cl_down
	rm -rf "$S"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cl_down
t0=$SECONDS
cl_up 3 || hd_die "the cluster: $CL_ERR"
echo "# cluster: 3 members up in $((SECONDS - t0)) s; $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
ssh-keygen -q -t ed25519 -N '' -C clbench -f "$S/id" </dev/null
cp "$S/id" "$CL_HOME/m1/etc/containarium/bench.key"
chmod 0600 "$CL_HOME/m1/etc/containarium/bench.key"
KEY=$(cat "$S/id.pub")
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# create_op USER [TARGET]: POST through m1's helperd and follow the
# operation; 0 when it succeeded (its result in $S/op.json).
create_op() {
	local body id k
	body=$(jq -cn --arg n "$1" --arg k "$KEY" --arg t "${2:-}" \
		'{name: $n, ssh_keys: [$k]} + (if $t == "" then {} else {target: $t} end)')
	id=$(cl_helperd 1 POST /v1/containers -H 'Content-Type: application/json' --data-binary "$body" |
		jq -r '.operation.id // empty')
	[ -n "$id" ] || return 1
	for ((k = 0; k < 3; k++)); do
		cl_helperd 1 GET "/v1/operations/$id?wait=120" >"$S/op.json"
		case $(jq -r .status "$S/op.json") in success) return 0 ;; failure) return 1 ;; esac
	done
	return 1
}
delete_user() {
	local id
	id=$(cl_helperd 1 DELETE "/v1/containers/$1?force=1" | jq -r '.operation.id // empty')
	[ -n "$id" ] && cl_helperd 1 GET "/v1/operations/$id?wait=120" >/dev/null
}

cluster_converge() {
	local k u t_ok t_seen times=() fails=0
	for ((k = 1; k <= 10; k++)); do
		u=conv$k
		if ! create_op "$u"; then
			fails=$((fails + 1))
			delete_user "$u"
			continue
		fi
		t_ok=$(now)
		# m3 reads it as sshd would: glibc, nsswitch, our module.
		until cl_in 3 getent passwd "$u" >/dev/null; do
			[ $((($(now) - t_ok) / 1000000000)) -lt 10 ] || break
			sleep 0.01
		done
		t_seen=$(now)
		times+=("$(secs "$t_ok" "$t_seen")")
		echo "# converge $k: $(secs "$t_ok" "$t_seen") s (on $(jq -r .result.location "$S/op.json"))"
		delete_user "$u"
	done
	[ ${#times[@]} -ge 5 ] || hd_die "cluster-converge: $fails of 10 creates failed"
	local med
	med=$(printf '%s\n' "${times[@]}" | hd_median)
	echo "# cluster-converge: median of ${#times[@]} $med s (min $(printf '%s\n' "${times[@]}" | sort -g | head -n 1), max $(printf '%s\n' "${times[@]}" | sort -g | tail -n 1)); failed creates $fails/10"
	awk -v m="$med" 'BEGIN { printf "# goal: ratio <= 1.0 (%s)\n", m <= 1.0 ? "met" : "MISSED" }'
	printf 'BENCH cluster-converge ratio=%s ours=%s ref=1.0 unit=s\n' "$(awk -v m="$med" 'BEGIN { printf "%.3f", m }')" "$med"
}

# raw_create NAME IP: Incus alone, through m1's socket, on m2; until the
# address shows and port 22 of the container answers m1 with a banner.
raw_create() {
	local name=$1 ip=$2 body k
	body=$(jq -cn --arg n "$name" --arg ip "$ip" '{name: $n, type: "container", profiles: [],
		source: {type: "image", alias: "containarium-base"},
		config: {"limits.cpu": "1", "limits.memory": "256MB"},
		devices: {root: {type: "disk", path: "/", pool: "default", size: "1GB"},
			eth0: {type: "nic", name: "eth0", network: "containariumbr0", "ipv4.address": $ip,
				"security.mac_filtering": "true", "security.ipv4_filtering": "true",
				"security.ipv6_filtering": "true", "security.port_isolation": "true"}}}')
	cl_api 1 POST "/1.0/instances?target=m2" -H 'Content-Type: application/json' -d "$body" >"$S/raw.json" &&
		op_done "$(jq -r '.operation // empty' "$S/raw.json")" || return 1
	cl_api 1 PUT "/1.0/instances/$name/state" -H 'Content-Type: application/json' \
		-d '{"action": "start", "timeout": 30}' >"$S/raw.json" &&
		op_done "$(jq -r '.operation // empty' "$S/raw.json")" || return 1
	for ((k = 0; k < 600; k++)); do
		cl_api 1 GET "/1.0/instances/$name/state" | jq -e --arg ip "$ip" \
			'.metadata.network.eth0.addresses[]? | select(.address == $ip)' >/dev/null && break
		sleep 0.1
	done
	RAW_ADDR_AT=$(now)
	banner_from_m1 "$ip"
}
# banner_from_m1 IP: port 22 at IP sends m1 an SSH banner (polled every 0.1 s, 60 s at most).
banner_from_m1() {
	local k
	for ((k = 0; k < 600; k++)); do
		[ "$(cl_in 1 timeout 1 bash -c "exec 3<>/dev/tcp/$1/22 && head -c 4 <&3" 2>/dev/null)" = SSH- ] && return 0
		sleep 0.1
	done
	return 1
}
# op_done OPERATION-URL: it ended in Success.
op_done() {
	local base=${1%%\?*} q=
	[ -n "$1" ] || return 1
	[ "$base" = "$1" ] || q="&${1#*\?}"
	[ "$(cl_api 1 GET "$base/wait?timeout=120$q" | jq -r .metadata.status)" = Success ]
}

# op_steps FILE: each step's seconds in an operation helperd answered
# ("1=0.41 2=0.52 ..."; the last one ends at finished_at).
op_steps() {
	jq -r 'def t: (sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601)
			+ ((capture("\\.(?<f>[0-9]+)Z$").f // "0") | "0." + . | tonumber);
		([.steps[].started_at | t] + [.finished_at | t]) as $t
		| [range(0; ($t | length) - 1) | "\(. + 1)=\(($t[. + 1] - $t[.]) * 100 | round / 100)"] | join(" ")' "$1"
}

# forget_neighbours: every member forgets the containers' addresses (its
# neighbour table for the bridge's subnet).  Each side reuses its address
# run after run (ours: helperd gives the lowest free one, which the last
# deleted container had; raw: one fixed address), and a member still
# holding the old container's MAC for it waits seconds (the neighbour
# entry's delay and unicast probes) before it asks the bridge again: the
# side that probes the address first, early in the boot, pays that while
# the container boots, the other after.  Each run starts as with a new
# address, on both sides.
forget_neighbours() {
	local m
	for m in 1 2 3; do
		cl_in "$m" ip neigh flush to 10.213.91.0/24 >/dev/null 2>&1
	done
}

cluster_create_ready() {
	local k side u ip t0 t1 ours=() raw=() logins=() fo=0 fr=0 tries n
	create_op clbwarm m2 && delete_user clbwarm # the image on m2, once for both sides
	for ((k = 0; k < 2 * RUNS; k++)); do
		# ABBA: ours raw raw ours ...
		case $((k % 4)) in 0 | 3) side=ours ;; *) side=raw ;; esac
		for ((tries = 0; tries < 3; tries++)); do
			u=crd$k-$tries
			forget_neighbours
			t0=$(now)
			if [ "$side" = ours ]; then
				if create_op "$u" m2; then
					t1=$(now)
					ip=$(jq -r .result.ipv4 "$S/op.json")
					banner_from_m1 "$ip" || echo "# NOTE: $u: no banner from $ip after the create was done"
					ours+=("$(secs "$t0" "$(now)")")
					echo "# ours $k: ${ours[-1]} s (done at $(secs "$t0" "$t1") s; $ip; steps $(op_steps "$S/op.json"))"
					t1=$(now) n=0
					until n=$((n + 1)) && cl_in 1 timeout 10 ssh -F /dev/null -i /etc/containarium/bench.key \
						-o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
						-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$u@$ip" true </dev/null 2>/dev/null; do
						[ $((($(now) - t1) / 1000000000)) -lt 60 ] || break
						sleep 0.1
					done
					logins+=("$(secs "$t1" "$(now)")")
					[ "$n" -eq 1 ] || echo "# NOTE: $u's first login after the create was done failed ($n tries)"
					delete_user "$u"
					break
				fi
				fo=$((fo + 1))
				delete_user "$u"
			else
				# One address for every raw run, as ours reuses the
				# address its last (deleted) container had
				# (forget_neighbours).
				ip=10.213.91.200
				if raw_create "$u" "$ip"; then
					raw+=("$(secs "$t0" "$(now)")")
					echo "# raw $k: ${raw[-1]} s (the address at $(secs "$t0" "$RAW_ADDR_AT") s)"
					cl_in 1 incus delete -f "$u" >/dev/null 2>&1
					break
				fi
				fr=$((fr + 1))
				cl_in 1 incus delete -f "$u" >/dev/null 2>&1
			fi
		done
	done
	if [ ${#ours[@]} -eq 0 ] || [ ${#raw[@]} -eq 0 ]; then
		hd_die "cluster-create-ready: no successful run on a side"
	fi
	local mo mr ratio
	mo=$(printf '%s\n' "${ours[@]}" | hd_median)
	mr=$(printf '%s\n' "${raw[@]}" | hd_median)
	ratio=$(awk -v a="$mo" -v b="$mr" 'BEGIN { printf "%.3f", a / b }')
	echo "# ours (helperd on m1, container on m2, until done and the banner): ${ours[*]}"
	echo "# after it, not counted: a login from m1 (ssh USER@IP true) took $(printf '%s\n' "${logins[@]}" | hd_median) s (median)"
	echo "# raw (Incus through m1, on m2, until the banner):                ${raw[*]}"
	echo "# cluster-create-ready: median ours $mo s, raw $mr s; failed runs ours $fo, raw $fr"
	awk -v r="$ratio" 'BEGIN { printf "# goal: ratio <= 1.15 (%s)\n", r <= 1.15 ? "met" : "MISSED" }'
	printf 'BENCH cluster-create-ready ratio=%s ours=%.2f ref=%.2f unit=s failed_ours=%d/%d failed_ref=%d/%d\n' \
		"$ratio" "$mo" "$mr" "$fo" "$((${#ours[@]} + fo))" "$fr" "$((${#raw[@]} + fr))"
}

status=0
for name in "${names[@]}"; do
	case $name in
	cluster-converge) cluster_converge ;;
	cluster-create-ready) cluster_create_ready ;;
	*) echo "cluster bench: unknown benchmark $name (cluster-converge, cluster-create-ready)" >&2; false ;;
	esac || status=1
done
exit "$status"
