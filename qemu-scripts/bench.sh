#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the Rust rvirtio_blk against the C virtio_blk, and the Rust
# rvirtio_net against the C virtio_net, on the lean kernel (no KASAN or
# other checkers), in one VM with a virtio-blk device on QEMU's null-co
# backend and two virtio-net NICs back to back. The guest
# (qemu-scripts/guest/bench.sh) moves each device between the two drivers
# and runs the same fio jobs and the same traffic on each, for several
# rounds; qemu-scripts/bench-report.py takes the median per driver
# and job, prints the table, writes build/bench/<time>/results.json and
# updates Documentation/benchmark.rst. Not part of `make check`.
#
# Environment: BENCH_ROUNDS (5), BENCH_RUNTIME (5 s per job), BENCH_RAMP
# (2 s per job), BENCH_CLOCK=wall|icount (wall: host time; icount: guest
# time follows guest instructions, so rows compare instructions per I/O and
# a loaded host does not move them), KDIR=<your build>, RVIRTIO_ACCEL=tcg|kvm,
# BENCH_DOC=<file> (default Documentation/benchmark.rst; empty: none),
# BENCH_NET_MIB (32 MiB per TCP stream), BENCH_NET_RR (2000 transactions
# per request/response row), BENCH_NET_PPS (200000 frames per packet-rate
# row).

set -euo pipefail
. "$(dirname "$0")/lib.sh"
start=$(date +%s)
top=$RVIRTIO_TOP

rounds=${BENCH_ROUNDS:-5}
runtime=${BENCH_RUNTIME:-5}
ramp=${BENCH_RAMP:-2}
net_mib=${BENCH_NET_MIB:-32}
net_rr=${BENCH_NET_RR:-2000}
net_pps=${BENCH_NET_PPS:-200000}
clock=${BENCH_CLOCK:-wall}
case $clock in
wall | icount) ;;
*) die "BENCH_CLOCK must be wall or icount" ;;
esac
export RVIRTIO_CLOCK=$clock
for v in "$rounds" "$runtime" "$ramp" "$net_mib" "$net_rr" "$net_pps"; do
	[[ $v =~ ^[0-9]+$ ]] ||
		die "BENCH_ROUNDS, BENCH_RUNTIME, BENCH_RAMP and BENCH_NET_* must be whole numbers"
done
[ "$rounds" -ge 1 ] && [ "$runtime" -ge 1 ] || die "BENCH_ROUNDS and BENCH_RUNTIME must be at least 1"

"$top/qemu-scripts/setup.sh"
kdir=$(resolve_kdir lean)
[ -z "${KDIR:-}" ] || RVIRTIO_USER_KDIR=1
mo=$top/build/$([ -n "${KDIR:-}" ] && echo custom || echo lean)

out=$top/build/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

build_modules "$kdir" "$mo"
"$top/qemu-scripts/initramfs.sh" "$kdir" "$mo" "$out/initramfs.cpio"

# Six fio jobs per driver and round, two drivers, plus boot and the data
# check, and the traffic (about 30 s per driver and round at the
# defaults); a generous margin for a loaded host.
jobs_time=$((rounds * 2 * (6 * (runtime + ramp + 3) + 30 * net_mib / 32 + 10 * net_rr / 2000 + 10 * net_pps / 200000)))
timeout=${RVIRTIO_VM_TIMEOUT:-$((300 + jobs_time * 2))}
say "Benchmark ($clock clock): $rounds rounds, ${ramp}s ramp + ${runtime}s per fio job (about $(((jobs_time + 90) / 60)) minutes)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
vm_start=$(date +%s)
rc=0
"$top/qemu-scripts/run-vm.sh" --mode bench --quiet \
	--kernel "$kdir/arch/x86/boot/bzImage" --initrd "$out/initramfs.cpio" \
	--log "$out/console.log" --timeout "$timeout" \
	--append "rvirtio.bench_rounds=$rounds rvirtio.bench_runtime=$runtime rvirtio.bench_ramp=$ramp rvirtio.bench_net_mib=$net_mib rvirtio.bench_net_rr=$net_rr rvirtio.bench_net_pps=$net_pps" ||
	rc=$?
vm_time=$(($(date +%s) - vm_start))
rm -f "$out/initramfs.cpio"

doc=${BENCH_DOC-$top/Documentation/benchmark.rst}
"$top/qemu-scripts/bench-report.py" --log "$out/console.log" --vm-status $rc \
	--out "$out" ${doc:+--doc "$doc"} --vm-time $vm_time --clock "$clock" \
	--host-load "$load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
say "make bench: done in $(($(date +%s) - start))s (VM ${vm_time}s); console log: $out/console.log"
