#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile`: where rvirtio_blk and rvirtio_net spend more (or fewer)
# instructions per request or frame than the C virtio_blk and virtio_net.
# One VM on the lean kernel, the benchmark's null-co disk and NICs,
# single-threaded TCG with a plugin (insn-profile.c) that counts the
# instructions of every translation block; the guest runs the same reads,
# and sends and receives the same frames (pktgen), on each driver between
# phase marks (see guest/bench.sh), and profile-report.py prints the
# instructions per request or frame of each driver, by function, with the
# kernel's functions that differ most. Not part of `make check`.
#
# The plugin is built against the qemu-plugin.h of the installed QEMU's
# Debian source package (fetched once, cached in $RVIRTIO_CACHE).
#
# Environment: PROFILE_IOS (20000 requests per driver and depth, and as
# many frames per driver and direction),
# PROFILE_TOP (20 rows per table), KDIR=<your build, non-KASLR>.

set -euo pipefail
. "$(dirname "$0")/lib.sh"
start=$(date +%s)
top=$RVIRTIO_TOP

ios=${PROFILE_IOS:-20000}
rows=${PROFILE_TOP:-20}
[[ $ios =~ ^[0-9]+$ ]] && [ "$ios" -ge 100 ] || die "PROFILE_IOS must be a number of at least 100"

"$top/qemu-scripts/setup.sh"

# The plugin header of the QEMU that runs the guest: its plugin API version
# must match.
srcver=$(dpkg-query -W -f='${source:Version}' qemu-system-x86 2>/dev/null) ||
	die "qemu-system-x86 is not installed as a Debian package: cannot find its plugin header"
hdir=$RVIRTIO_CACHE/qemu-plugin-$(echo "$srcver" | tr "~+:" "___")
mkdir -p "$RVIRTIO_CACHE"
exec 9>"$hdir.lock"
flock 9
if [ ! -f "$hdir/qemu-plugin.h" ]; then
	tmp=$(mktemp -d "$RVIRTIO_CACHE/.qemu-src.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	say "Fetching qemu-plugin.h from the qemu $srcver source package"
	(cd "$tmp" && apt-get source -q --download-only "qemu=$srcver") >"$tmp/apt.log" 2>&1 || true
	orig=$(ls "$tmp"/qemu_*.orig.tar.* 2>/dev/null | head -1)
	[ -f "$orig" ] || die "apt-get source qemu=$srcver downloaded no source (deb-src lines? run setup.sh): $(tail -n 3 "$tmp/apt.log")"
	tar -xf "$orig" -C "$tmp" --wildcards '*/include/qemu/qemu-plugin.h'
	mkdir -p "$hdir"
	mv "$(find "$tmp" -name qemu-plugin.h | head -1)" "$hdir/qemu-plugin.h.tmp"
	mv "$hdir/qemu-plugin.h.tmp" "$hdir/qemu-plugin.h"
	rm -rf "$tmp"
	trap - EXIT
fi
exec 9>&-

out=$top/build/profile/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
${CC:-gcc} -O2 -Wall -shared -fPIC -I"$hdir" -o "$out/insn-profile.so" \
	"$top/qemu-scripts/insn-profile.c"

kdir=$(resolve_kdir lean)
mo=$top/build/$([ -n "${KDIR:-}" ] && echo custom || echo lean)
grep -q '^CONFIG_RANDOMIZE_BASE=y' "$kdir/.config" &&
	say "KASLR is on in $kdir: booting with nokaslr"
marker=$(awk '$3 == "__x64_sys_sync" { print $1 }' "$kdir/System.map")
[ -n "$marker" ] || die "no __x64_sys_sync in $kdir/System.map: the phase marker"

build_modules "$kdir" "$mo"
"$top/qemu-scripts/initramfs.sh" "$kdir" "$mo" "$out/initramfs.cpio"

say "Profile: $ios reads per driver and depth, $ios frames per driver and direction"
rc=0
RVIRTIO_CLOCK=icount RVIRTIO_QEMU_PLUGIN="$out/insn-profile.so,marker=$marker,out=$out/blocks.txt" \
	"$top/qemu-scripts/run-vm.sh" --mode bench --quiet \
	--kernel "$kdir/arch/x86/boot/bzImage" --initrd "$out/initramfs.cpio" \
	--log "$out/console.log" --timeout "${RVIRTIO_VM_TIMEOUT:-900}" \
	--append "nokaslr rvirtio.bench_profile=$ios" || rc=$?
rm -f "$out/initramfs.cpio"
[ $rc = 0 ] || die "the VM failed (status $rc); console log: $out/console.log"
grep -q 'RVIRTIO-BENCH-END' "$out/console.log" ||
	die "the guest did not finish the profile; console log: $out/console.log"

"$top/qemu-scripts/profile-report.py" --blocks "$out/blocks.txt" --log "$out/console.log" \
	--system-map "$kdir/System.map" --ios "$ios" --top "$rows" | tee "$out/report.txt"
say "make profile: done in $(($(date +%s) - start))s; report: $out/report.txt"
