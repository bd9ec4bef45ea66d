#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file git tracks names its licence in its first three lines
# (SPDX-License-Identifier: Apache-2.0; LICENSE has the text): C sources
# and headers, export maps, shell, Python, JavaScript, Terraform, Makefiles
# and every other script with a #! line.  Data is not source: debian/,
# fuzz corpora, test fixtures, man pages, Markdown, templates.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HERE/../lib/testlib.sh"
cd "$SRC" || exit 1
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip_all "not a git checkout: the files to check are the ones git tracks"
check "LICENSE is the Apache License 2.0" grep -q "Apache License" LICENSE
missing=
n=0
while IFS= read -r f; do
	[ -L "$f" ] && continue
	case $f in debian/* | fuzz/corpus/* | tests/host_setup/fixtures/*) continue ;; esac
	case $f in
	*.c | *.h | *.map | *.sh | *.py | *.js | *.tf | *.inc | Makefile | */Makefile) ;;
	*.*) continue ;;
	*) head -c 2 "$f" | grep -q '^#!' || continue ;;
	esac
	n=$((n + 1))
	head -n 3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' || missing="$missing $f"
done < <(git ls-files)
expect_eq "all $n source files carry the SPDX line" "" "${missing# }"
summary
