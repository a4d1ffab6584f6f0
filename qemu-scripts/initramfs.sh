#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the test initramfs: busybox, the guest scripts, the project's
# modules, the C virtio modules of the same kernel (for comparison) and the
# userspace tools the tests use, each with its shared libraries.
#
#   qemu-scripts/initramfs.sh KDIR MO OUT.cpio
#
# The archive is uncompressed: the kernel then does not spend boot time
# (slow under TCG and KASAN) inflating it.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 3 ] || die "usage: $0 KDIR MO OUT.cpio"
kdir=$1 mo=$2 out=$3
guest=$RVIRTIO_TOP/qemu-scripts/guest

# Tools the guest tests run, besides busybox, each copied with its shared
# libraries. Mind the weight: the initramfs is unpacked at every boot, which
# under TCG with KASAN costs about 1.3 s per MB (Debian's fio alone pulls in
# 80 MB of libraries: fio.sh builds a static one of 2.6 MB instead).
TOOLS=(mkfs.ext4 e2fsck)
# util-linux's blkdiscard (-z: BLKZEROOUT) and fallocate (-z, -p on a block
# device), which busybox's applets lack; in /usr/bin, after busybox's on PATH.
TOOLS+=(blkdiscard fallocate)
# ethtool, for the network drivers' ethtool surface (busybox has none).
TOOLS+=(ethtool)
# The static fio: RVIRTIO_FIO if the caller has it already, else built or
# taken from the cache now.
fio=${RVIRTIO_FIO:-$("$RVIRTIO_TOP/qemu-scripts/fio.sh")}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,mnt,root,etc}
mkdir -p "$root"/lib/rvirtio "$root"/lib/modules/{rvirtio/kunit,rvirtio/tests,c} "$root"/tests

cp /bin/busybox "$root/bin/busybox"
install -m 755 "$guest/init" "$root/init"
cp "$guest/ktap.sh" "$guest/blk.sh" "$guest/blk-features.sh" "$guest/net.sh" "$guest/faults.sh" \
	"$guest/show.sh" "$guest/pktgen.sh" "$guest/hostile.sh" \
	"$root/lib/rvirtio/"
cp "$fio" "$root/usr/bin/fio"
# The network tests' traffic tool (static, about 1 MB).
cp "$(rvnet_binary)" "$root/usr/bin/rvnet"
# RVIRTIO_GUEST_TESTS="10 21 30": only the tests whose names begin with these
# numbers, from tests/ or from series/ (the series check runs the in-tree
# kernel and modules through a subset, and tests of its own).
if [ -n "${RVIRTIO_GUEST_TESTS:-}" ]; then
	for n in $RVIRTIO_GUEST_TESTS; do
		t=$(ls "$guest"/tests/"$n"-*.sh "$guest"/series/"$n"-*.sh 2>/dev/null || true)
		[ -n "$t" ] || die "no guest test $n-*.sh"
		cp $t "$root/tests/"
	done
else
	cp "$guest"/tests/*.sh "$root/tests/"
fi

# The project's modules: KUnit modules (*_kunit.ko, all inserted by the
# KUnit test), test drivers (the rest of kunit-tests/, inserted by their
# tests) and the drivers and samples (inserted by `make run`).
while IFS= read -r ko; do
	case "$ko" in
	*_kunit.ko) cp "$ko" "$root/lib/modules/rvirtio/kunit/" ;;
	*/kunit-tests/*) cp "$ko" "$root/lib/modules/rvirtio/tests/" ;;
	*) cp "$ko" "$root/lib/modules/rvirtio/" ;;
	esac
done < <(find "$mo" -name '*.ko')
[ -n "$(find "$root"/lib/modules/rvirtio -name '*.ko')" ] || die "no modules under $mo: build them first"
# Every test run inserts the KUnit modules, unless the suites are built in.
[ -n "${RVIRTIO_GUEST_TESTS:-}" ] || [ -n "$(ls "$root"/lib/modules/rvirtio/kunit/)" ] ||
	die "no KUnit modules under $mo: build them first"

# The benchmark's guest side (rvirtio.mode=bench, `make bench`).
cp "$guest/bench.sh" "$root/lib/rvirtio/"

# The C drivers and what they depend on, and the packet generator.
# Only those the kernel's configuration has as modules: a build directory
# may hold a stale .ko of an option now built in.
for m in VIRTIO_BLK:drivers/block/virtio_blk.ko VIRTIO_NET:drivers/net/virtio_net.ko \
	NET_FAILOVER:drivers/net/net_failover.ko FAILOVER:net/core/failover.ko \
	DIMLIB:lib/dim/dimlib.ko NET_PKTGEN:net/core/pktgen.ko; do
	if grep -qx "CONFIG_${m%%:*}=m" "$kdir/.config" && [ -f "$kdir/${m#*:}" ]; then
		cp "$kdir/${m#*:}" "$root/lib/modules/c/"
	fi
done

copy_with_libs() {
	local bin lib
	bin=$(command -v "$1" || true)
	[ -n "$bin" ] || die "$1 not found: run qemu-scripts/setup.sh"
	cp -L "$bin" "$root/usr/bin/"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -Ln "$lib" "$root$lib"
	done
}
for t in "${TOOLS[@]}"; do
	copy_with_libs "$t"
done
# Loader path for 64-bit binaries.
[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || {
	mkdir -p "$root/lib64"
	cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
}

tmp=$out.tmp.$$
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$tmp"
mv "$tmp" "$out"
say "initramfs: $out ($(du -h "$out" | cut -f1))"
