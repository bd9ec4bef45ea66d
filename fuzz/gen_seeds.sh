#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate the snapshot seeds of fuzz_snapshot_passwd and fuzz_snapshot_keys
# from the JSON seeds users-{0,1,5}.json of fuzz_mksnapshot_json, with the
# real writer: containarium-mksnapshot (make fuzz-seeds builds it and runs
# this).  Besides each valid pair it writes damaged variants that exercise
# the reader's refusals: truncated inside the header, truncated after it,
# one flipped record byte, and the other kind's file.
#
#   fuzz/gen_seeds.sh PATH/TO/containarium-mksnapshot
set -eu
mk=${1:?usage: fuzz/gen_seeds.sh PATH/TO/containarium-mksnapshot}
src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

pw_dir=$src/corpus/fuzz_snapshot_passwd
kd_dir=$src/corpus/fuzz_snapshot_keys
mkdir -p "$pw_dir" "$kd_dir"
rm -f "$pw_dir"/users-* "$kd_dir"/users-*

# Copy $1 to $2 with the byte at offset $3 inverted.
flip() {
	cp "$1" "$2"
	b=$(od -An -tu1 -j "$3" -N1 "$1" | tr -d ' ')
	printf '%b' "\\0$(printf '%o' $((255 - b)))" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

for n in 0 1 5; do
	"$mk" --passwd-db "$tmp/passwd.db" --keys-db "$tmp/keys.db" \
		"$src/corpus/fuzz_mksnapshot_json/users-$n.json"
	"$mk" --verify --passwd-db "$tmp/passwd.db" --keys-db "$tmp/keys.db" >/dev/null
	for kind in passwd keys; do
		f=$tmp/$kind.db
		if [ "$kind" = passwd ]; then d=$pw_dir; else d=$kd_dir; fi
		cp "$f" "$d/users-$n.db"
		size=$(wc -c <"$f")
		head -c 100 "$f" >"$d/users-$n-cut-header.db"
		head -c $((size - 4)) "$f" >"$d/users-$n-cut-end.db"
		if [ "$n" != 0 ]; then
			# Byte 8 of the first record (uid or state): its CRC no longer matches.
			records=$(od -An -tu4 -j 72 -N 4 "$f" | tr -d ' ')
			flip "$f" "$d/users-$n-flipped-record.db" $((records + 8))
		fi
	done
	cp "$tmp/keys.db" "$pw_dir/users-$n-keys-kind.db"
	cp "$tmp/passwd.db" "$kd_dir/users-$n-passwd-kind.db"
done
chmod 0644 "$pw_dir"/* "$kd_dir"/*
echo "fuzz/gen_seeds.sh: wrote $(find "$pw_dir" -type f | wc -l) passwd and $(find "$kd_dir" -type f | wc -l) keys seeds"
