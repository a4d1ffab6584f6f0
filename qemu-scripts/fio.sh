#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds (or reuses) a static fio for the test initramfs and prints its path.
#
#   qemu-scripts/fio.sh
#
# Debian's fio binary pulls in about 80 MB of shared libraries (RDMA, Ceph,
# gluster, ...). The initramfs is unpacked at every boot, which under TCG
# with KASAN costs about 1.3 s per MB: that fio made the boot ~107 s longer.
# This one is built from Debian's fio source package (bookworm; setup.sh adds
# the deb-src line), statically, without the optional engines, and stripped:
# about 3 MB. It keeps what the tests use: the sync, psync and io_uring
# engines (io_uring needs no liburing), crc32c verification and threads.
#
# The build is cached in $RVIRTIO_CACHE/fio-<version>-<key>/, where the key
# hashes the source version, the configure flags, the compiler and RECIPE
# (bump RECIPE when this script changes what it builds). A build is used only
# once its completion stamp exists; builds of one key are serialised with a
# lock, as in build-kernel.sh.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

RECIPE=1
# --disable-native: the guest's CPU (TCG's "max") need not have the host's
# instruction set extensions. --disable-shm: the test kernel has no SysV IPC,
# so fio runs its jobs as threads.
FLAGS=(--build-static --disable-native --disable-shm --disable-numa
	--disable-rdma --disable-rados --disable-rbd --disable-http --disable-gfapi
	--disable-libnfs --disable-lex --disable-pmem --disable-xnvme
	--disable-libzbc --disable-tcmalloc --disable-dfs)
# Found by configure whenever their -dev packages are installed, with no
# option to turn them off: removed after configure, so that the binary does
# not depend on what else the host has installed.
STRIP_FEATURES=(ZLIB LIBAIO)

cc=${CC:-gcc}
ver=$(apt-cache showsrc fio 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -1)
if [ -z "$ver" ]; then
	# No deb-src lists (offline?): the newest build already in the cache.
	have=$(ls -d "$RVIRTIO_CACHE"/fio-*/.rvirtio-complete 2>/dev/null | sort -V | tail -1 || true)
	[ -n "$have" ] && { echo "$(dirname "$have")/fio"; exit 0; }
	die "apt knows no fio source package: run qemu-scripts/setup.sh (it adds a deb-src line)"
fi

key=$(printf '%s\n' "$ver" "${FLAGS[*]}" "${STRIP_FEATURES[*]}" "RECIPE=$RECIPE" \
	"$($cc --version | head -1)" | sha256sum | cut -c1-12)
dir=$RVIRTIO_CACHE/fio-$(echo "$ver" | tr "~+:" "___")-$key

mkdir -p "$RVIRTIO_CACHE"
exec 9>"$dir.lock"
if ! flock -n 9; then
	say "Waiting for another build of $(basename "$dir")"
	flock 9
fi
if [ -f "$dir/.rvirtio-complete" ]; then
	echo "$dir/fio"
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir"
tmp=$(mktemp -d "$RVIRTIO_CACHE/.fio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "Downloading the fio $ver source package"
(cd "$tmp" && apt-get source -q --download-only "fio=$ver" >&2) 2>&1 |
	grep -v "unsandboxed as root" >&2 || true
dsc=$(ls "$tmp"/fio_*.dsc 2>/dev/null | head -1)
[ -f "$dsc" ] || die "apt-get source fio=$ver downloaded no .dsc"
# dpkg-source checks the signature and checksums and applies Debian's patches.
dpkg-source -q -x "$dsc" "$tmp/src" >&2

build() {
	cd "$tmp/src"
	./configure --cc="$cc" "${FLAGS[@]}"
	local f
	for f in "${STRIP_FEATURES[@]}"; do
		sed -i "/^CONFIG_$f=/d" config-host.mak
		sed -i "/^#define CONFIG_$f\$/d" config-host.h
	done
	sed -i -E 's/(^|[ =])-l(z|aio)( |$)/\1/g' config-host.mak
	make -j"$(nproc_jobs)" fio
	strip -o fio.stripped fio
}
run_logged "$dir/build.log" "Building a static fio $ver (about a minute)" build

fio=$tmp/src/fio.stripped
file "$fio" | grep -q 'statically linked' || die "$fio is not statically linked"
engines=$("$fio" --enghelp)
for e in sync psync io_uring; do
	grep -qx "[[:space:]]*$e" <<<"$engines" || die "fio $ver was built without the $e engine"
done
# A verified write on the host: the crc32c verification works.
"$fio" --name=selftest --thread --filename="$tmp/selftest" --size=1M --bs=4k \
	--rw=randwrite --ioengine=psync --verify=crc32c --verify_state_save=0 \
	>"$dir/selftest.log" 2>&1 ||
	die "fio $ver failed its self-test: $dir/selftest.log"
mv "$fio" "$dir/fio"
touch "$dir/.rvirtio-complete"
say "fio $ver: $dir/fio ($(du -h "$dir/fio" | cut -f1))"
echo "$dir/fio"
