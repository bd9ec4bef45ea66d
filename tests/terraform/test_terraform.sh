#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# terraform/gce without terraform or a cloud: every .tf and .tfvars through
# HashiCorp's HCL parser (npm @cdktf/hcl2json, cached under
# $CTM_TEST_CACHE/npm so later runs are offline) and hclcheck.js's checks
# (references declared, examples set only declared variables with their
# types, templates use what is passed); the same checks on copies with a
# fault put in, each of which must fail; shellcheck on every script the
# deployment runs (and the host installer it calls); and every resource,
# data source and provider block against the real provider schemas
# (schemacheck.js; the .jsii of npm @cdktf/provider-google, -tls, -archive,
# cached the same way), with faults of that kind put in too.
# The faults put in below are Terraform text: its ${...} in single quotes
# is meant literally.
# shellcheck disable=SC2016
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
GCE=$SRC/terraform/gce
# The npm packages, pinned: HashiCorp's HCL parser, and the provider
# schemas as cdktf generates them (the .jsii of @cdktf/provider-google 16.12.1
# is hashicorp/google 6.50.0's schema, provider-tls 11.0.1 hashicorp/tls
# 4.1.0's, provider-archive 11.0.1 hashicorp/archive 2.7.1's).
NPM_PINS="@cdktf/hcl2json@0.21.0 @cdktf/provider-google@16.12.1 @cdktf/provider-tls@11.0.1 @cdktf/provider-archive@11.0.1"
PROVIDERS="google tls archive"
CACHE=${CTM_TEST_CACHE:-/var/cache/containarium-test}/npm
mk_scratch

for tool in node npm shellcheck python3; do
	command -v "$tool" >/dev/null || { fail "$tool is installed (tests/install-deps)"; summary; exit 1; }
done

# The pins not installed in the cache (name@version), none when all are.
missing_pins() {
	local pin have
	for pin in $NPM_PINS; do
		have=$(node -p "require('$CACHE/node_modules/${pin%@*}/package.json').version" 2>/dev/null)
		[ "$have" = "${pin##*@}" ] || printf '%s\n' "$pin"
	done
}

# Installed once, all in one npm run (npm drops what a later --no-save run
# does not name); the npm registry is reachable, later runs need nothing
# from the network. Peer dependencies (cdktf, constructs) are not needed:
# only the packages' .jsii files are read.
if [ -n "$(missing_pins)" ]; then
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	if [ -n "$(missing_pins)" ]; then
		# shellcheck disable=SC2086 # one word per pin
		npm install --prefix "$CACHE" --no-audit --no-fund --no-save --legacy-peer-deps --loglevel=error \
			$NPM_PINS >"$T_TMP/npm.log" 2>&1
	fi
	flock -u 9
fi
missing=$(missing_pins)
expect_eq "$NPM_PINS are installed in $CACHE" "" "$missing"
if [ -n "$missing" ]; then
	sed 's/^/#   /' "$T_TMP/npm.log" 2>/dev/null
	summary
	exit 1
fi
export NODE_PATH=$CACHE/node_modules
SCHEMAS=()
for p in $PROVIDERS; do SCHEMAS+=(--schema "$CACHE/node_modules/@cdktf/provider-$p/.jsii"); done

# Each fault, in its own copy of the module, must be found.  One hclcheck
# run checks the module and all the copies (loading the schemas takes most
# of its time).
MUTANTS=()
mutant() {
	local desc=$1 pattern=$2 dir=$T_TMP/m${#MUTANTS[@]}
	shift 2
	cp -r "$GCE" "$dir"
	if (cd "$dir" && "$@"); then MUTANTS+=("$dir|$pattern|$desc"); else fail "$desc: could not put the fault in"; fi
}
mutant "a reference to an undeclared variable" 'var.nope is not declared' \
	sed -i 's/"${local.server_names\[count.index\]}-ip"/"${local.server_names[count.index]}-${var.nope}-ip"/' spot-instance.tf
mutant "a reference to an undeclared local" 'local.tagz is not declared' \
	sed -i '0,/target_tags   = \[local.tag\]/s//target_tags   = [local.tagz]/' main.tf
mutant "a reference to an undeclared resource" 'google_compute_address.nope is not declared' \
	sed -i 's/google_compute_address.lb\[0\].address$/google_compute_address.nope[0].address/' horizontal-scaling.tf
mutant "an example setting an undeclared variable" 'jump_servers is not a declared variable' \
	sed -i 's/^jump_server_count /jump_servers /' examples/horizontal-scaling-3-servers.tfvars
mutant "an example value of the wrong type" 'use_spot_instance = "yes" is not of type' \
	sed -i 's/^use_spot_instance   = true/use_spot_instance   = "yes"/' examples/single-server-spot.tfvars
mutant "an example without a required variable" 'allowed_ssh_sources (no default) is not set' \
	sed -i '/^allowed_ssh_sources/d' examples/single-server-spot.tfvars
mutant "a validation using another variable" 'refers to var.data_disk_size_gb' \
	sed -i 's/condition     = var.snapshot_retention_days >= 1/condition     = var.snapshot_retention_days >= var.data_disk_size_gb/' variables.tf
mutant "a template using what is not passed" 'uses x, which templatefile() does not pass' \
	sed -i 's/^root=$/root=${x}/' scripts/startup.sh.tftpl
mutant "a template with an unescaped shell \${" 'is not ${NAME} or ${chomp(NAME)}' \
	sed -i 's/^root=$/root=${HOME:-}/' scripts/startup.sh.tftpl
mutant "a .tf file that does not parse" 'broken.tf: Error' \
	sh -c 'printf "resource \"x\" \"y\" {\n  a =\n}\n" >broken.tf'
# Schema faults (schemacheck.js): each names the file, the block, the path
# to the argument and the nearest known name.
G='hashicorp/google 6.50.0'
# misspelt DESC FILE WHERE OLD NEW [SCHEMA]: the first line of FILE that
# sets OLD sets NEW instead; the message names WHERE (the block and the
# path to the argument) and NEW, and suggests OLD.
misspelt() {
	local desc=$1 file=$2 where=$3 old=$4 new=$5 schema=${6:-$G}
	mutant "$desc" "$file: $where$new: no such argument or block in $schema; did you mean \"$old\"?" \
		sed -i "0,/^\( *\)$old /s//\1$new /" "$file"
}
misspelt "a misspelt resource argument" horizontal-scaling.tf \
	'google_compute_region_health_check.ssh: ' unhealthy_threshold unhealthy_treshold
misspelt "a misspelt argument three blocks deep" spot-instance.tf \
	'google_compute_resource_policy.daily_snapshot: snapshot_schedule_policy.schedule.daily_schedule.' days_in_cycle days_in_cycles
misspelt "a misspelt argument in a dynamic block's content" spot-instance.tf \
	'google_compute_per_instance_config.jump_server: preserved_state.disk.' mode modes
misspelt "a misspelt argument of another provider's resource" horizontal-scaling.tf \
	'tls_private_key.incus_cluster: ' ecdsa_curve ecdsa_curv 'hashicorp/tls 4.1.0'
misspelt "a misspelt provider argument" versions.tf 'provider "google": ' region regoin
mutant "a dynamic block of an unknown type" \
	"horizontal-scaling.tf: google_compute_region_backend_service.ssh: dynamic \"backends\": no such argument or block in $G; did you mean \"backend\"?" \
	sed -i 's/^  dynamic "backend" {$/  dynamic "backends" {/' horizontal-scaling.tf
mutant "an unknown resource type" \
	"spot-instance.tf: google_compute_instance_group_managers.jump_server: google_compute_instance_group_managers is not a resource type of $G; did you mean \"google_compute_instance_group_manager\"?" \
	sed -i 's/^resource "google_compute_instance_group_manager" "jump_server"/resource "google_compute_instance_group_managers" "jump_server"/' spot-instance.tf
# computed DESC FILE WHERE AFTER LINE: LINE is put in after FILE's line
# AFTER; the message names WHERE (block: path.attribute) as read-only.
computed() {
	local desc=$1 file=$2 where=$3 after=$4 line=$5
	mutant "$desc" "$file: $where is computed by the provider (read-only), not an argument" \
		sed -i "/^$after\$/a\\$line" "$file"
}
computed "a computed-only attribute set as an argument" horizontal-scaling.tf \
	'google_compute_address.lb: self_link' '  name   = "${var.name_prefix}-ssh-lb-ip"' '  self_link = "x"'
computed "a computed-only attribute set in a nested block" spot-instance.tf \
	'google_compute_instance_template.jump_server: network_interface.name' '    subnetwork = google_compute_subnetwork.jump.id' '    name = "nic0"'
computed "a data source's computed attribute set (another provider)" main.tf \
	'data.archive_file.containarium: output_sha256' '  type        = "zip"' '  output_sha256 = "x"'
mutant "a block written as an argument" \
	'horizontal-scaling.tf: google_compute_region_health_check.ssh: tcp_health_check is a block: write tcp_health_check { ... }' \
	sed -i 's/^  tcp_health_check {$/  tcp_health_check = {/' horizontal-scaling.tf
mutant "a version pin that excludes the schema's version" \
	'versions.tf: required_providers.google version ">= 7.0, < 8.0" does not admit 6.50.0' \
	sed -i 's/^      version = ">= 5.0, < 8.0"$/      version = ">= 7.0, < 8.0"/' versions.tf
mutant "a provider with no schema here" \
	'extra.tf: random_id.x: no provider schema for hashicorp/random' \
	sh -c 'printf "resource \"random_id\" \"x\" {\n  byte_length = 8\n}\n" >extra.tf'

hclcheck() { node "$HERE/hclcheck.js" "${SCHEMAS[@]}" "$@" 2>&1; }
got=$(hclcheck "$GCE" "${MUTANTS[@]%%|*}")
# The lines hclcheck printed for one module directory.
section() { awk -v d="# module $1" '$0 == d { on = 1; next } /^# module |^# [0-9]+ checks, / { on = 0 } on' <<<"$got"; }

# Its ok / not ok lines for the module itself count as ours.
out=$(section "$GCE")
while IFS= read -r line; do
	case $line in
	'ok '*) ok "${line#ok * - }" ;;
	'not ok '*) fail "${line#not ok * - }" ;;
	*) printf '# %s\n' "${line#\# }" ;;
	esac
done <<<"$out"
check "hclcheck.js ran to the end" grep -q '^# [0-9]* checks, [0-9]* failed$' <<<"$got"
check "hclcheck.js checked the provider schemas" grep -q "^ok .* of their provider's schema" <<<"$out"

for m in "${MUTANTS[@]}"; do
	dir=${m%%|*} rest=${m#*|}
	pattern=${rest%%|*} desc=${rest#*|}
	section=$(section "$dir")
	if grep -qF -- "$pattern" <<<"$section"; then ok "caught: $desc"; else
		fail "caught: $desc"; printf '%s\n' "$section" | grep '^not ok\|^#' | head -5 | sed 's/^/#   /'; fi
done

# The settings Terraform writes into deploy.conf (spot-instance.tf) are
# exactly those containarium-startup reads (its SETTINGS): one missing on
# either side would stop every boot ("setting ... is missing" / "unknown").
tf_keys=$(grep -oE '^ *CTM_[A-Z0-9_]+ *=' "$GCE/spot-instance.tf" | tr -d ' =' | sort -u | xargs)
sh_keys=$(sed -n '/^SETTINGS=(/,/^)/p' "$GCE/scripts/containarium-startup" | grep -oE 'CTM_[A-Z0-9_]+' | sort -u | xargs)
expect_eq "the settings spot-instance.tf writes are those containarium-startup reads ($(wc -w <<<"$sh_keys"))" \
	"$sh_keys" "$tf_keys"

# Shellcheck the scripts the deployment runs, the rendered startup script,
# the host installer it calls, and these tests.
python3 "$HERE/render_startup.py" "$GCE/scripts/startup.sh.tftpl" settings=/dev/null \
	main="$GCE/scripts/containarium-startup" fabric="$GCE/scripts/containarium-fabric" >"$T_TMP/startup.sh"
for f in "$GCE/scripts/containarium-startup" "$GCE/scripts/containarium-fabric" "$T_TMP/startup.sh" \
	"$SRC/host_setup/containarium-host-setup" "$HERE"/*.sh; do
	[ -f "$f" ] || { fail "shellcheck: $f exists"; continue; }
	name=${f#"$SRC"/}
	[ "$f" != "$T_TMP/startup.sh" ] || name="startup.sh.tftpl (rendered)"
	if out=$(shellcheck -x -P "$(dirname "$f")" "$f" 2>&1); then ok "shellcheck $name"; else
		fail "shellcheck $name"; printf '%s\n' "$out" | head -30 | sed 's/^/#   /'; fi
done
summary
