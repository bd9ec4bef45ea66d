#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every C source and header git tracks is as clang-format writes it with
# the repo's .clang-format (issue 14): one check per file, and the first
# lines of what clang-format would change for one that is not.  `make
# format` rewrites them; `make format-check` runs this test.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
. "$HERE/../lib/testlib.sh"
command -v clang-format >/dev/null || skip_all "clang-format is not installed (tests/install-deps)"
cd "$SRC" || exit 1
[ -f .clang-format ] || { fail "the repo has a .clang-format"; summary; exit 1; }
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	skip_all "not a git checkout: the files to check are the ones git tracks"
fi
while IFS= read -r f; do
	if out=$(clang-format --style=file "$f" | diff -u "$f" - 2>&1); then
		ok "$f is formatted"
	else
		fail "$f is formatted (make format)"
		printf '%s\n' "$out" | sed -n '3,12s/^/#   /p'
	fi
done < <(git ls-files '*.c' '*.h')
summary
