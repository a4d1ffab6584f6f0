#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make series`: writes the upstream patch series to build/series/ (a cover
# letter and one patch per logical change, `git format-patch` files with a
# base-commit trailer) and prints its path.
#
# The patches are made by make-series.py in a scratch git tree of the cached
# Linux source ($RVIRTIO_CACHE/series/gen, hard-linked to the tree that
# base-tree.sh made). The cover letter's test figures come from the last
# `make check` (build/logs/latest/report.txt), if there is one.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

top=$RVIRTIO_TOP
base=$("$top/qemu-scripts/series/base-tree.sh")
tag=$(git -C "$base" describe --tags --exact-match)
gen=$RVIRTIO_CACHE/series/gen
# A scratch tree left from another base is made again.
if [ ! -d "$gen/.git" ] || [ "$(cat "$gen.base" 2>/dev/null)" != "$base" ]; then
	rm -rf "$gen"
	cp -al "$base" "$gen"
	echo "$base" >"$gen.base"
fi

# The drivers are formatted again after their imports are joined.
RUSTFMT=/usr/bin/rustfmt python3 "$top/qemu-scripts/series/make-series.py" --top "$top" --tree "$gen" \
	--out "$top/build/series" --base "$tag" --report "$top/build/logs/latest/report.txt"
