#!/usr/bin/env bash
# terraform/gce without terraform or a cloud: every .tf and .tfvars through
# HashiCorp's HCL parser (npm @cdktf/hcl2json, cached under
# $CTM_TEST_CACHE/npm so later runs are offline) and hclcheck.js's checks
# (references declared, examples set only declared variables with their
# types, templates use what is passed); the same checks on copies with a
# fault put in, each of which must fail; shellcheck on every script the
# deployment runs (and the host installer it calls).
# The faults put in below are Terraform text: its ${...} in single quotes
# is meant literally.
# shellcheck disable=SC2016
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../lib/testlib.sh"
GCE=$SRC/terraform/gce
HCL2JSON_VERSION=0.21.0
CACHE=${CTM_TEST_CACHE:-/var/cache/containarium-test}/npm
mk_scratch

for tool in node npm shellcheck python3; do
	command -v "$tool" >/dev/null || { fail "$tool is installed (tests/install-deps)"; summary; exit 1; }
done

# The parser, installed once (the npm registry is reachable; later runs
# need nothing from the network).
have=$(node -p "require('$CACHE/node_modules/@cdktf/hcl2json/package.json').version" 2>/dev/null)
if [ "$have" != "$HCL2JSON_VERSION" ]; then
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock 9
	npm install --prefix "$CACHE" --no-audit --no-fund --no-save --loglevel=error \
		"@cdktf/hcl2json@$HCL2JSON_VERSION" >"$T_TMP/npm.log" 2>&1
	flock -u 9
	have=$(node -p "require('$CACHE/node_modules/@cdktf/hcl2json/package.json').version" 2>/dev/null)
fi
expect_eq "@cdktf/hcl2json $HCL2JSON_VERSION is installed in $CACHE" "$HCL2JSON_VERSION" "$have"
if [ "$have" != "$HCL2JSON_VERSION" ]; then
	sed 's/^/#   /' "$T_TMP/npm.log" 2>/dev/null
	summary
	exit 1
fi
export NODE_PATH=$CACHE/node_modules

# hclcheck.js prints ok / not ok lines of its own: count them as ours.
hclcheck() { node "$HERE/hclcheck.js" "$@" 2>&1; }
out=$(hclcheck "$GCE")
while IFS= read -r line; do
	case $line in
	'ok '*) ok "${line#ok * - }" ;;
	'not ok '*) fail "${line#not ok * - }" ;;
	*) printf '# %s\n' "${line#\# }" ;;
	esac
done <<<"$out"
check "hclcheck.js ran its checks" grep -q 'checks, 0 failed' <<<"$out"

# Each fault, in its own copy of the module, must be found (one hclcheck
# run over all the copies).
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

got=$(hclcheck "${MUTANTS[@]%%|*}")
for m in "${MUTANTS[@]}"; do
	dir=${m%%|*} rest=${m#*|}
	pattern=${rest%%|*} desc=${rest#*|}
	section=$(awk -v d="# module $dir" '$0 == d { on = 1; next } /^# module / { on = 0 } on' <<<"$got")
	if grep -qF -- "$pattern" <<<"$section"; then ok "caught: $desc"; else
		fail "caught: $desc"; printf '%s\n' "$section" | grep '^not ok\|^#' | head -5 | sed 's/^/#   /'; fi
done

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
