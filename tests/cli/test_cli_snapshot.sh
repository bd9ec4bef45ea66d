#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Snapshots and restore (issue 13 §2), through the CLI against a real
# helperd on real containers: scheduled snapshots (helperd.conf default,
# create flags, snapshot schedule), snapshot create|list|restore|delete
# (files come back, the account keeps today's uid, address, keys, NIC and
# schedule, and the published snapshots say so), and restore FILE from a
# delete --backup tarball (same uid and address when free, new ones said
# clearly when not, a clash refused losing nothing).
#
# Env: BUILD; CTM_HELPERD (another helperd binary).
. "$(dirname "$0")/../lib/testlib.sh"
need_root
CLI=$BUILD/cli/containarium
HELPERD=${CTM_HELPERD:-$BUILD/helperd/containarium-helperd}
MKSNAPSHOT=$BUILD/mksnapshot/containarium-mksnapshot
. "$SRC/tests/lxd/lxdlib.sh"
need_built "$CLI" "$HELPERD" "$MKSNAPSHOT"
for tool in jq ssh-keygen ssh unshare sha256sum $(ctm_backend_tools); do
	command -v "$tool" >/dev/null || skip_all "$tool is not installed (tests/install-deps)"
done
. "$SRC/tests/cli/clilib.sh"
mk_scratch

RND=$(tr -dc a-z0-9 </dev/urandom | head -c 5)
U1=snp${RND}a U2=snp${RND}b
cleanup() {
	local u
	for u in "$U1" "$U2"; do lxd_has "$u" && ctm_lxd_delete "$u-container"; done
	stop_helperd main
	ctm_lxd_release
	rm -rf "$T_TMP"
}
trap cleanup EXIT

K=$T_TMP/keys
mkdir -m 0755 "$K"
for n in 1 2; do ssh-keygen -q -t ed25519 -N '' -C "key$n@$U1" -f "$K/k$n" </dev/null; done
inst() { ctm_lxd_api "/1.0/instances/$1-container" | jq -c '.metadata'; }
in_ct() { ctm_lxc exec "$1-container" -- "${@:2}"; }
# login USER KEY IP: ssh into the container itself with KEY (its authorized_keys).
login() {
	ssh -i "$3" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o LogLevel=ERROR "$1@$2" true
}
dump_user() { "$MKSNAPSHOT" --dump --passwd-db "$T_TMP/main/state/passwd.db" --keys-db "$T_TMP/main/state/keys.db" |
	jq -c --arg u "$1" '[.users[] | select(.name == $u)]'; }

# ---- help and usage (nothing sent) --------------------------------------
cli_run --help
for cmd in "snapshot create" "snapshot list" "snapshot restore" "snapshot delete" "snapshot schedule" restore; do
	expect_match "--help lists $cmd" "^  $cmd " "$OUT"
done
cli_run snapshot --help
expect_match "snapshot --help lists its subcommands" "containarium snapshot restore USER NAME" "$OUT"
cli_run create --help
expect_match "create --help shows --snapshot-schedule" "--snapshot-schedule CRON" "$OUT"
cli_run -v --socket /nonexistent snapshot create alice '../x'
expect_rc "a snapshot name with '/' is a usage error" 2
expect_no_request "bad snapshot name"
cli_run -v --socket /nonexistent snapshot restore alice
expect_rc "restore without NAME is a usage error" 2
cli_run -v --socket /nonexistent snapshot schedule alice
expect_rc "schedule with nothing to change is a usage error" 2
expect_no_request "schedule without options"
if grep -q "snapshot restore" "$SRC/cli/containarium.1" && grep -q "^\.BI \"restore " "$SRC/cli/containarium.1"; then
	ok "containarium(1) documents snapshot and restore"
else fail "containarium(1) documents snapshot and restore"; fi

ctm_lxd_up || skip_all "the test backend did not come up"
start_helperd main "snapshot_schedule = 0 3 * * *" "snapshot_expiry = 7d" || { summary; exit 1; }
export CONTAINARIUM_SOCKET=$T_TMP/main/helperd.sock

# ---- schedules ------------------------------------------------------------
cli_run create "$U2" --ssh-key "$K/k1.pub" --snapshot-schedule 'every day' 
expect_rc "create with a bad --snapshot-schedule is refused" 2
expect_match "... with a sentence naming the cron form" "not a cron line of five fields" "$ERR"
check "... and makes no container" lxd_absent "$U2"

cli_run --json create "$U1" --ssh-key "$K/k1.pub"
expect_rc "create $U1 (helperd.conf's schedule)" 0
I=$(inst "$U1")
jq_eq "helperd.conf's snapshot_schedule is on the container" '.config["snapshots.schedule"]' "0 3 * * *" "$I"
jq_eq "helperd.conf's snapshot_expiry is on the container" '.config["snapshots.expiry"]' "7d" "$I"
UID1=$(printf '%s' "$OUT" | jq -r .uid) IP1=$(printf '%s' "$OUT" | jq -r .ipv4)

cli_run --json snapshot schedule "$U1" --schedule @hourly --expiry '1w 2d'
expect_rc "snapshot schedule $U1 --schedule @hourly --expiry '1w 2d'" 0
jq_eq "... answers with the new schedule" '.snapshot_schedule + "|" + .snapshot_expiry' "@hourly|1w 2d" "$OUT"
jq_eq "... and Incus has it" '.config["snapshots.schedule"] + "|" + .config["snapshots.expiry"]' "@hourly|1w 2d" "$(inst "$U1")"
cli_run snapshot schedule "$U1" --expiry 3x
expect_rc "a bad --expiry is refused" 2
expect_match "... saying what a duration looks like" "not a duration such as 7d" "$ERR"
jq_eq "... and changes nothing" '.config["snapshots.expiry"]' "1w 2d" "$(inst "$U1")"

# ---- snapshot create / list ----------------------------------------------
in_ct "$U1" sh -c 'echo before > /root/marker'
cli_run --json snapshot create "$U1" s1
expect_rc "snapshot create $U1 s1" 0
jq_eq "... named s1, kept until deleted" '.name + "|" + .expires_at' "s1|" "$OUT"
cli_run snapshot create "$U1" s1
expect_rc "a second s1 is a conflict" 4
expect_match "... in a sentence" "has a snapshot named s1 already" "$ERR"
cli_run snapshot list "$U1"
expect_rc "snapshot list" 0
expect_match "... shows the schedule" "^Schedule: @hourly \(kept 1w 2d\)" "$OUT"
expect_match "... and s1, never expiring" "^s1 +[0-9T:.-]+Z? +never" "$OUT"
cli_run --json snapshot list "$U1"
jq_eq "snapshot list --json" '[.snapshots[].name] | join(",")' "s1" "$OUT"
cli_run snapshot list nosuch${RND}
expect_rc "snapshot list of an unknown user" 3
expect_match "... says so in a sentence" "user nosuch${RND} has no container" "$ERR"

# ---- restore: files back, today's account kept --------------------------
in_ct "$U1" sh -c 'echo after > /root/marker'
cli_run key add "$U1" --ssh-key "$K/k2.pub"
expect_rc "key add k2 after the snapshot" 0
BEFORE=$(inst "$U1")
cli_run snapshot restore "$U1" nosuch
expect_rc "restore of an unknown snapshot" 3
expect_match "... says so in a sentence" "has no snapshot named nosuch" "$ERR"
cli_run snapshot restore "$U1" s1
expect_rc "snapshot restore $U1 s1" 0
expect_match "... with numbered steps" '^\[3/5\] Restoring snapshot' "$OUT"
expect_eq "the container's files are back" "before" "$(in_ct "$U1" cat /root/marker)"
AFTER=$(inst "$U1")
for k in user.containarium.uid user.containarium.ipv4 user.containarium.keys user.containarium.state \
	snapshots.schedule snapshots.expiry limits.memory; do
	expect_eq "config $k is today's, not the snapshot's" "$(printf '%s' "$BEFORE" | jq -r --arg k "$k" '.config[$k]')" \
		"$(printf '%s' "$AFTER" | jq -r --arg k "$k" '.config[$k]')"
done
expect_eq "the NIC (pinned address, isolation options) is today's" "$(printf '%s' "$BEFORE" | jq -cS .devices)" \
	"$(printf '%s' "$AFTER" | jq -cS .devices)"
expect_eq "the reservations (profiles) are today's" "$(printf '%s' "$BEFORE" | jq -c .profiles)" \
	"$(printf '%s' "$AFTER" | jq -c .profiles)"
jq_eq "the container runs again" '.status' "Running" "$AFTER"
cli_run --json info "$U1"
jq_eq "info: same uid, address, both keys" '"\(.uid) \(.ipv4) \(.ssh_keys | length)"' "$UID1 $IP1 2" "$OUT"
jq_eq "the published keys.db has both keys and the address" '.[0] | "\(.uid) \(.ipv4) \(.keys | length)"' \
	"$UID1 $IP1 2" "$(dump_user "$U1")"
check "the key added after the snapshot logs in to the restored container" login "$U1" "$IP1" "$K/k2"

cli_run --json snapshot delete "$U1" s1
expect_rc "snapshot delete $U1 s1" 0
cli_run --json snapshot list "$U1"
jq_eq "... and it is gone" '.snapshots | length' "0" "$OUT"
cli_run snapshot delete "$U1" s1
expect_rc "deleting it again" 3

# ---- restore FILE ----------------------------------------------------------
cli_run --json delete "$U1" --force --backup
expect_rc "delete $U1 --backup" 0
FILE=$(printf '%s' "$OUT" | jq -r .backup)
SUM=$(sha256sum <"$FILE")
cli_run restore "$T_TMP/nowhere/x.tar.gz"
expect_rc "restore of a file outside backup_dir" 2
cli_run restore nosuch.tar.gz
expect_rc "restore of a missing backup" 3
cli_run --json restore "$(basename "$FILE")"
expect_rc "restore $(basename "$FILE")" 0
jq_eq "... same uid and address (both free)" '"\(.uid) \(.ipv4) \(.uid_kept) \(.ipv4_kept)"' "$UID1 $IP1 true true" "$OUT"
jq_eq "... both keys" '.ssh_keys | length' "2" "$OUT"
expect_eq "... the files are the backup's" "before" "$(in_ct "$U1" cat /root/marker)"
jq_eq "... published" '.[0] | "\(.uid) \(.ipv4) \(.keys | length)"' "$UID1 $IP1 2" "$(dump_user "$U1")"
check "... and the user logs in to it" login "$U1" "$IP1" "$K/k1"
cli_run restore "$FILE"
expect_rc "restoring while $U1 exists is a conflict" 4
expect_match "... that says nothing changed" "exists already.*nothing was changed" "$ERR"
expect_eq "... the backup is untouched" "$SUM" "$(sha256sum <"$FILE")"
jq_eq "... and $U1 is as it was" '.config["user.containarium.uid"]' "$UID1" "$(inst "$U1")"

# U2 takes U1's uid and address while U1 is gone: the restore gives U1 new ones, and says so.
cli_run delete "$U1" --force
expect_rc "delete $U1" 0
cli_run --json create "$U2" --ssh-key "$K/k1.pub"
expect_rc "create $U2" 0
jq_eq "$U2 got $U1's old uid and address" '"\(.uid) \(.ipv4)"' "$UID1 $IP1" "$OUT"
cli_run restore "$FILE"
expect_rc "restore $U1 while $U2 holds its uid and address" 0
expect_match "... says the uid changed" "Note: its uid $UID1 belongs to $U2 now, so it has uid " "$OUT"
expect_match "... says the address changed" "Note: its address $IP1 is (pinned by another container|reserved by another account) now" "$OUT"
cli_run --json info "$U1"
NEWIP=$(printf '%s' "$OUT" | jq -r .ipv4)
jq_eq "... with another uid and address" '(.uid != '"$UID1"') and (.ipv4 != "'"$IP1"'")' "true" "$OUT"
jq_eq "the published snapshot has both users, apart" \
	'[.users[] | select(.name == "'"$U1"'" or .name == "'"$U2"'") | .uid] | unique | length' "2" \
	"$("$MKSNAPSHOT" --dump --passwd-db "$T_TMP/main/state/passwd.db" --keys-db "$T_TMP/main/state/keys.db")"
check "... and $U1 logs in at its new address" login "$U1" "$NEWIP" "$K/k1"
check "helperd is still running" helperd_alive main

summary
