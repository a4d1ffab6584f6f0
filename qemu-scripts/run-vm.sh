#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots a kernel and initramfs in QEMU with the devices the tests use, with a
# time limit, and keeps the whole serial console in a log file.
#
#   qemu-scripts/run-vm.sh --kernel BZIMAGE --initrd CPIO --log FILE \
#       [--mode probe|run|check|bench] [--timeout SECONDS] [--interactive] \
#       [--quiet (progress lines only)] [--disk IMAGE] [--append ARGS]
#
# --mode bench gives the guest only the benchmark's devices: rvirtio-bench, a
# virtio-blk device on QEMU's null-co backend (reads return zeroes, writes
# are dropped, no host I/O: what is measured is the driver and the
# emulation), rvirtio-verify, a small image in RAM (--disk, default a file
# in /dev/shm removed at exit) on which the data is checked first, and two
# virtio-net NICs back to back on a QEMU hub (nicbench, the device under
# test, and nicpeer, the other end), so that both ends of the traffic run in
# the guest, in guest time (a hub passes no offloads: frames of the MTU).
#
# Exit status says how the VM ended:
#   0  the guest reached the end of its /init (isa-debug-exit wrote 33)
#   2  the guest stopped early: panic, reboot or power-off before the end
#   3  timeout: the VM hung or was too slow
#   4  QEMU failed to start
#
# Acceleration: RVIRTIO_ACCEL=tcg|kvm forces one; by default KVM is used
# only after a short probe boot with it has succeeded on this host (nested
# KVM can hang right after the firmware), and the result of the probe is
# cached. Otherwise TCG.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel= initrd= log= mode=check timeout=600 interactive=0 quiet=0 disk= append=
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift ;;
	--initrd) initrd=$2; shift ;;
	--log) log=$2; shift ;;
	--mode) mode=$2; shift ;;
	--timeout) timeout=$2; shift ;;
	--interactive) interactive=1 ;;
	--quiet) quiet=1 ;;
	--disk) disk=$2; shift ;;
	--append) append=$2; shift ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done
[ -f "$kernel" ] && [ -f "$initrd" ] && [ -n "$log" ] ||
	die "usage: $0 --kernel BZIMAGE --initrd CPIO --log FILE [...]"
mkdir -p "$(dirname "$log")"

qemu=qemu-system-x86_64
# kunit.enable=1 kunit.autorun=1: a kernel built without KUNIT_DEFAULT_ENABLED
# or KUNIT_AUTORUN_ENABLED (allnoconfig gives that) would run no suite.
# rng_core.default_quality=0: the hw_random core starts no thread that drains
# the (rate-limited) virtio-rng in the background, so tests read what they ask.
cmdline="console=ttyS0 panic=-1 kunit.enable=1 kunit.autorun=1 rng_core.default_quality=0"
cmdline="$cmdline rvirtio.mode=$mode $append"
[ $interactive = 1 ] && cmdline="$cmdline rvirtio.interactive=1"

# q35, not pc: the pc machine's ACPI _PRT is an AML loop that ACPICA, under
# TCG with KASAN, cannot finish within its 30 s loop timeout (three times
# per boot); q35's routing table is static.
# The check VM has 20 CPUs, so that per-CPU queues beyond 16 are seen
# (QEMU's hot-pluggable CPUs do not count as possible under TCG: Linux only
# trusts disabled MADT entries from a hypervisor it recognises).
smp=2
[ "$mode" != check ] || smp=20
base_args=(
	-M q35 -nodefaults -nographic -no-reboot -m 2G -smp "$smp"
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
)

devices=()
agent_args=()
tmpfiles=()
netns=0
if [ "$mode" = bench ]; then
	if [ -z "$disk" ]; then
		shm=/dev/shm
		[ -d $shm ] && [ -w $shm ] || shm=$(dirname "$log")
		disk=$(mktemp "$shm/rvirtio-verify.XXXXXX")
		tmpfiles+=("$disk")
		truncate -s 64M "$disk"
	fi
	devices+=(
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
		-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2
		-drive driver=null-co,read-zeroes=on,size=8G,if=none,id=nullb
		-device virtio-blk-pci,drive=nullb,num-queues=2,serial=rvirtio-bench,bus=rp1,id=blkbench
		-drive "file=$disk,format=raw,if=none,id=verify,cache=unsafe"
		-device virtio-blk-pci,drive=verify,serial=rvirtio-verify,bus=rp2,id=blkverify
		-device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3
		-device pcie-root-port,id=rp4,bus=pcie.0,chassis=4,slot=4
		-netdev hubport,id=netbench,hubid=1
		-device virtio-net-pci,netdev=netbench,mac=52:54:00:77:00:02,romfile=,bus=rp3,id=nicbench
		-netdev hubport,id=netpeer,hubid=1
		-device virtio-net-pci,netdev=netpeer,mac=52:54:00:77:00:01,romfile=,bus=rp4,id=nicpeer
	)
elif [ "$mode" != probe ]; then
	imgdir=$(dirname "$log")
	if [ -z "$disk" ]; then
		disk=$imgdir/disk.img
		[ -e "$disk" ] || truncate -s 64M "$disk"
	fi
	# The block tests' disks, told apart in the guest by their serial:
	# rvirtio-disk0 (one queue where QEMU's default is one per vCPU, so
	# that data is checked on one queue and on several), rvirtio-ro
	# (read-only, one queue), rvirtio-mq (two queues, discard and
	# write-zeroes reach the image), rvirtio-hot (removed under I/O),
	# rvirtio-data (the host's and the guest's known data, which no other
	# test writes: check.sh writes and checks blk-data.img).
	for img in ro:32M mq:128M hot:48M data:64M; do
		f=$imgdir/blk-${img%%:*}.img
		[ -e "$f" ] || truncate -s "${img#*:}" "$f"
	done
	# Two NICs: nic0 on QEMU's user network (no host privileges, no
	# offloads), nic1 on a tap device with virtio-net headers in a network
	# namespace of the VM's own, where the host side of the network tests
	# runs (netns.sh).
	netns=1
	# Each device behind a PCIe root port of its own, so that it can be
	# hot-unplugged (QMP device_del).
	devices+=(
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
		-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2
		-device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3
		-device pcie-root-port,id=rp4,bus=pcie.0,chassis=4,slot=4
		-device pcie-root-port,id=rp5,bus=pcie.0,chassis=5,slot=5
		-device pcie-root-port,id=rp6,bus=pcie.0,chassis=6,slot=6
		-device pcie-root-port,id=rp7,bus=pcie.0,chassis=7,slot=7
		-device pcie-root-port,id=rp8,bus=pcie.0,chassis=8,slot=8
		-drive "file=$disk,format=raw,if=none,id=disk0,cache=unsafe"
		-device virtio-blk-pci,drive=disk0,serial=rvirtio-disk0,num-queues=1,bus=rp1,id=blk0
		-drive "file=$imgdir/blk-ro.img,format=raw,if=none,id=disk1,readonly=on"
		-device virtio-blk-pci,drive=disk1,serial=rvirtio-ro,num-queues=1,bus=rp4,id=blk1
		-drive "file=$imgdir/blk-mq.img,format=raw,if=none,id=disk2,cache=writeback,discard=unmap,detect-zeroes=unmap"
		-device virtio-blk-pci,drive=disk2,serial=rvirtio-mq,num-queues=2,bus=rp5,id=blk2
		-drive "file=$imgdir/blk-hot.img,format=raw,if=none,id=disk3,cache=unsafe"
		-device virtio-blk-pci,drive=disk3,serial=rvirtio-hot,bus=rp6,id=blk3
		-drive "file=$imgdir/blk-data.img,format=raw,if=none,id=disk4,cache=unsafe"
		-device virtio-blk-pci,drive=disk4,serial=rvirtio-data,num-queues=64,bus=rp7,id=blk4
		-netdev user,id=net0
		-device virtio-net-pci,netdev=net0,romfile=,bus=rp2,id=nic0
		-netdev tap,id=net1,ifname=rvtap0,script=no,downscript=no,vnet_hdr=on
		-device virtio-net-pci,netdev=net1,mac=52:54:00:99:00:02,romfile=,bus=rp8,id=nic1
		-object rng-random,id=rng0,filename=/dev/urandom
		-device virtio-rng-pci,rng=rng0,max-bytes=256,period=2000,bus=rp3,id=rngdev0
		-device pcie-root-port,id=rp9,bus=pcie.0,chassis=9,slot=9
		-device pcie-root-port,id=rp10,bus=pcie.0,chassis=10,slot=10
	)
	# Devices served by a host process (vhost-user: qemu-scripts/vdev), which
	# tests plug into rp9 and rp10 when they need them (console-agent.py): the
	# process reaches guest memory only if it is shared.
	base_args+=(-object memory-backend-memfd,id=mem,size=2G,share=on -machine memory-backend=mem)
	agent_args+=(--rvdev "$(rvdev_binary)")
fi

# RVIRTIO_CLOCK=icount: guest time follows guest instructions (TCG only,
# single-threaded): timings then count instructions per operation, whatever
# the host's load, instead of host time (see Documentation/benchmark.rst).
clock=${RVIRTIO_CLOCK:-wall}
case $clock in
wall | icount) ;;
*) die "RVIRTIO_CLOCK must be wall or icount, not $clock" ;;
esac

accel_args() {
	case "$1" in
	kvm) echo "-accel kvm -cpu host" ;;
	# la57=off: 4-level paging, as on most hardware; with 5-level paging
	# KASAN reported wild accesses from interrupts during early boot.
	tcg)
		if [ "$clock" = icount ]; then
			echo "-accel tcg,thread=single -cpu max,la57=off -icount shift=2,sleep=off,align=off"
		else
			echo "-accel tcg,thread=multi -cpu max,la57=off"
		fi
		;;
	esac
}

# Picks the accelerator: forced, cached probe result, or a fresh probe.
choose_accel() {
	if [ -n "${RVIRTIO_ACCEL:-}" ]; then
		echo "$RVIRTIO_ACCEL"
		return
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	local stamp rc
	stamp=$RVIRTIO_CACHE/kvm-probe-$($qemu --version | head -1 | tr -cd '0-9.')-$(uname -r)
	if [ -f "$stamp" ]; then
		cat "$stamp"
		return
	fi
	mkdir -p "$RVIRTIO_CACHE"
	rc=0
	# shellcheck disable=SC2046
	timeout -k 5 30 $qemu "${base_args[@]/rvirtio.mode=$mode/rvirtio.mode=probe}" \
		$(accel_args kvm) -serial null </dev/null >/dev/null 2>&1 || rc=$?
	if [ $rc -eq 33 ]; then echo kvm; else echo tcg; fi | tee "$stamp"
}

# QEMU in a network namespace of its own, with the tap device and the peer
# of the network tests (netns.sh); a user without CAP_NET_ADMIN gets it in a
# user namespace (`unshare -rn`), where tap devices need /dev/net/tun to be
# accessible.
wrap=()
if [ $netns = 1 ]; then
	command -v unshare >/dev/null && command -v ip >/dev/null ||
		die "the network tests need unshare (util-linux) and ip (iproute2): run qemu-scripts/setup.sh"
	[ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
		die "the network tests need /dev/net/tun (tap devices) readable and writable"
	userns=()
	[ "$(id -u)" = 0 ] || userns=(-r)
	unshare "${userns[@]}" -n true 2>/dev/null ||
		die "cannot create a network namespace (unshare ${userns[*]} -n) for the network tests"
	wrap=(unshare "${userns[@]}" -n "$RVIRTIO_TOP/qemu-scripts/netns.sh" "$(rvnet_binary)")
fi

accel=$(choose_accel)
# Counting instructions needs TCG.
[ "$clock" = wall ] || accel=tcg

# RVIRTIO_QEMU_PLUGIN=<plugin,args>: a TCG plugin (qemu-scripts/profile.sh).
plugin=()
if [ -n "${RVIRTIO_QEMU_PLUGIN:-}" ]; then
	[ "$accel" = tcg ] || die "a TCG plugin needs TCG, not $accel"
	plugin=(-plugin "$RVIRTIO_QEMU_PLUGIN")
fi

# QMP, for the guest's requests to the host (see console-agent.py). Unix
# socket paths are short: keep it out of the log directory.
qmp=$(mktemp -u /tmp/rvirtio-qmp.XXXXXX)
trap 'rm -f "$qmp" "${tmpfiles[@]}"' EXIT
[ $quiet = 1 ] || say "Booting QEMU ($accel, timeout ${timeout}s); console log: $log"

# QEMU's status is the first of the pipeline's: no errexit or pipefail here.
set +e +o pipefail
if [ $interactive = 1 ]; then
	# shellcheck disable=SC2046
	"${wrap[@]}" $qemu "${base_args[@]}" "${devices[@]}" $(accel_args "$accel") \
		-serial mon:stdio 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
else
	# QEMU 7.2's multi-threaded TCG sometimes dies of a segmentation fault
	# in memory_region_dispatch_write() while the guest enumerates PCI, long
	# before anything of the project runs. A QEMU that crashed before the
	# first test began is started once more; the first console log is kept
	# next to the second (<log>.qemu-crash) and the second says so. A crash
	# later, or a second one, is the run's result.
	for attempt in 1 2; do
		rm -f "$qmp"
		# shellcheck disable=SC2046
		timeout -k 10 "$timeout" "${wrap[@]}" $qemu "${base_args[@]}" "${devices[@]}" "${plugin[@]}" \
			$(accel_args "$accel") -serial stdio -qmp "unix:$qmp,server=on,wait=off" \
			</dev/null 2>&1 |
			"$RVIRTIO_TOP/qemu-scripts/console-agent.py" --log "$log" --qmp "$qmp" \
				"${agent_args[@]}" $([ $quiet = 1 ] && echo --progress)
		rc=${PIPESTATUS[0]}
		[ $attempt = 1 ] && [ $rc = 139 ] && ! grep -aq 'RVIRTIO-KTAP-BEGIN' "$log" || break
		mv "$log" "$log.qemu-crash"
		say "QEMU crashed (status 139) during the boot, before any test; starting it again (first log: $log.qemu-crash)"
		echo "rvirtio: QEMU crashed (status 139) during the boot, before any test; started again (first log: $log.qemu-crash)" >"$log.retry-note"
	done
	if [ -f "$log.retry-note" ]; then
		cat "$log.retry-note" >>"$log"
		rm -f "$log.retry-note"
	fi
fi
set -e -o pipefail

case $rc in
33) exit 0 ;;
124 | 137) echo "rvirtio: VM TIMEOUT after ${timeout}s" >>"$log"; exit 3 ;;
0) echo "rvirtio: VM STOPPED EARLY (panic, reboot or power-off)" >>"$log"; exit 2 ;;
*) echo "rvirtio: QEMU FAILED with status $rc" >>"$log"; exit 4 ;;
esac
