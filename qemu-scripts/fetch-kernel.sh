#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the path of a Linux $KERNEL_SERIES source tree, fetching it first if
# needed.
#
# With KSRC=<dir> set, that tree is checked and used as it is. Otherwise
# Debian's linux-source-$KERNEL_SERIES package is downloaded (never installed)
# and its tarball unpacked under $RVIRTIO_CACHE/src/linux-<package version>.
# Unpacking goes to a temporary directory that is renamed into place only when
# complete, so an interrupted fetch is never mistaken for a tree.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

check_tree() {
	local dir=$1 v
	[ -f "$dir/Makefile" ] && [ -d "$dir/rust/kernel" ] ||
		die "$dir is not a kernel source tree with Rust support"
	v=$(make -s -C "$dir" kernelversion 2>/dev/null) ||
		die "cannot read the kernel version of $dir"
	case "$v" in
	"$KERNEL_SERIES" | "$KERNEL_SERIES".*) ;;
	*) die "$dir is Linux $v; rvirtio targets $KERNEL_SERIES.y" ;;
	esac
}

if [ -n "${KSRC:-}" ]; then
	KSRC=$(cd "$KSRC" && pwd)
	check_tree "$KSRC"
	echo "$KSRC"
	exit 0
fi

pkg=linux-source-$KERNEL_SERIES
ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	# Fall back to the newest tree already unpacked, so that a machine
	# without its apt lists (or offline) still builds.
	have=$(ls -d "$RVIRTIO_CACHE"/src/linux-"$KERNEL_SERIES".* 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$have" ] && { echo "$have"; exit 0; }
	die "apt knows no $pkg: run qemu-scripts/setup.sh (it adds the suite that has it)"
fi

dest=$RVIRTIO_CACHE/src/linux-$(echo "$ver" | tr "~+:" "___")
if [ -f "$dest/.rvirtio-unpacked" ]; then
	echo "$dest"
	exit 0
fi

mkdir -p "$RVIRTIO_CACHE/src"
tmp=$(mktemp -d "$RVIRTIO_CACHE/src/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "Downloading $pkg $ver (the .deb is unpacked, not installed)"
(cd "$tmp" && apt-get download -q "$pkg=$ver" >&2)
dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/deb"
tarball=$(ls "$tmp"/deb/usr/src/"$pkg".tar.* | head -1)
[ -f "$tarball" ] || die "no source tarball in $pkg $ver"

say "Unpacking $(basename "$tarball")"
mkdir "$tmp/tree"
tar -xf "$tarball" -C "$tmp/tree" --strip-components=1
check_tree "$tmp/tree"
touch "$tmp/tree/.rvirtio-unpacked"
rm -rf "$dest"
mv "$tmp/tree" "$dest"
echo "$dest"
