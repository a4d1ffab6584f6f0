#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the path of a git repository holding the cached Linux source tree
# (qemu-scripts/fetch-kernel.sh) as one commit tagged with its version, the
# base the series is applied to. Made once, under $RVIRTIO_CACHE/series/;
# the working tree is hard-linked to the unpacked source (git replaces a
# file it changes, it never writes into it), so it costs the objects only.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/lib.sh"

src=$("$here/fetch-kernel.sh")
ver=$(make -s -C "$src" kernelversion)
tag=v$ver
base=$RVIRTIO_CACHE/series/$(basename "$src").git-base

if [ -f "$base/.git/rvirtio-complete" ]; then
	echo "$base"
	exit 0
fi

rm -rf "$base" "$base.tmp"
mkdir -p "$RVIRTIO_CACHE/series"
# Hard links where the source is on the cache's file system (KSRC= may not be).
cp -al "$src" "$base.tmp" 2>/dev/null || { rm -rf "$base.tmp"; cp -a "$src" "$base.tmp"; }
# A source that is a git repository of its own (KSRC=) gets a history of one
# commit here all the same.
rm -rf "$base.tmp/.git"
(
	cd "$base.tmp"
	export GIT_AUTHOR_NAME="Linux $ver" GIT_AUTHOR_EMAIL="linux@localhost"
	export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
	export GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z"
	git init -q -b master .
	# Reflogs are appended to in place: they would write through the
	# hard links of a copy of this tree.
	git config core.logAllRefUpdates false
	git config gc.auto 0
	# A copy (cp -al) shares the inodes but not the change times.
	git config core.trustctime false
	git add -A -f .
	git commit -q -m "Linux $ver" >&2
	git tag "$tag"
	# Written in place by the next commit of a copy.
	rm -f .git/COMMIT_EDITMSG
) >&2
touch "$base.tmp/.git/rvirtio-complete"
mv "$base.tmp" "$base"
echo "$base"
