#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs helperd's benchmarks (bench/README.md, "helperd"); `make bench` runs
# it after bench/run.sh.
#
#   bench/helperd_bench.sh BUILD [NAME...]     default: all of them, in this order
#     publish-10k       bench/helperd_publish (in-process, scratch dir on disk)
#     helperd-rss-10k   bench/helperd_rss_10k.sh (fake Incus server)
#     create-ready      bench/helperd_create_ready.sh (the test Incus, btrfs pool)
#     create-ready-dir  the same on the test LXD 5.0 and its dir pool
#     cluster           cluster-converge and cluster-create-ready on a real
#                       3-member Incus cluster (bench/cluster_bench.sh)
#     hostcert-create-cost  what SSH host certificates add to a create: two
#                       helperds on the test Incus, with and without a host
#                       CA (bench/hostcert_create_cost.sh)
#
# Each prints comment lines, "# goal: ... (met|MISSED)" and its BENCH line
# last.  Every benchmark runs even when an earlier one fails; the exit
# status is non-zero when any measurement failed (never for a missed goal).
set -uo pipefail

SELF=$(readlink -f "$0")
SRC=$(cd "$(dirname "$SELF")/.." && pwd)
B=${1:?usage: bench/helperd_bench.sh BUILD [NAME...]}
shift
case $B in /*) ;; *) B=$SRC/$B ;; esac
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(publish-10k helperd-rss-10k create-ready create-ready-dir cluster hostcert-create-cost)

publish_10k() {
	local dir rc
	[ -x "$B/bench/helperd_publish" ] || { echo "helperd bench: $B/bench/helperd_publish missing: make BUILD=... bench" >&2; return 1; }
	# On the disk, like /var/lib/containarium: the fsyncs are part of it.
	dir=$(mktemp -d /var/tmp/ctm-hdbench.XXXXXX) || return 1
	"$B/bench/helperd_publish" "$dir" --users 10000 --runs "${HD_PUBLISH_RUNS:-21}"
	rc=$?
	rm -rf "$dir"
	return "$rc"
}

echo "# helperd benchmarks: $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for name in "${names[@]}"; do
	case $name in
	publish-10k) publish_10k ;;
	helperd-rss-10k) "$SRC/bench/helperd_rss_10k.sh" "$B" ;;
	create-ready) CTM_BACKEND=incus "$SRC/bench/helperd_create_ready.sh" "$B" ;;
	create-ready-dir) CTM_BACKEND=lxd "$SRC/bench/helperd_create_ready.sh" "$B" ;;
	cluster) "$SRC/bench/cluster_bench.sh" "$B" ;;
	hostcert-create-cost) CTM_BACKEND=incus "$SRC/bench/hostcert_create_cost.sh" "$B" ;;
	*) echo "helperd bench: unknown benchmark $name (publish-10k, helperd-rss-10k, create-ready, create-ready-dir, cluster, hostcert-create-cost)" >&2; false ;;
	esac || { echo "# $name: the measurement FAILED" >&2; status=1; }
done
exit "$status"
