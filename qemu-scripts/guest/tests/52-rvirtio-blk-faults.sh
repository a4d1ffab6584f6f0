# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while the virtio-blk driver probes, as
# 25-rvirtio-rng-faults.sh does for the rng sample: with the module loaded
# and rvirtio-disk0's device unbound, the device is bound again through
# sysfs with /proc/self/fail-nth set to N, so that the N-th allocation
# (slab or page) made near the module's code fails (one of the 12 innermost
# frames in the module). N grows until a bind sees no failure. Every
# failure must unwind: the bind fails cleanly or succeeds, the device stays
# bindable, and the debug kernel reports no splat and kmemleak no leak.
#
# The driver comes from rvirtio.blk_driver= (blk-features.sh); the filter
# is on that module's code.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh

dfs=/sys/kernel/debug

ktap_begin rvirtio_blk_faults
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
out=$(insmod "$BLK_KO" 2>&1) || blk_bail insmod "insmod $BLK_KO: $out"
ktap_ok insmod
if [ ! -e /proc/self/fail-nth ] || [ ! -e $dfs/failslab/require-start ]; then
	ktap_skip allocation_failures "kernel lacks FAULT_INJECTION_STACKTRACE_FILTER"
	rmmod "$BLK_DRIVER"
	ktap_end
	exit 0
fi
dev=$(blk_vdev_of_serial rvirtio-disk0)
[ -n "$dev" ] || blk_bail disk0_found "no disk with serial rvirtio-disk0"
ktap_check unbind blk_unbind "$BLK_DRIVER" "$dev"

# The module's code: from its lowest .text section on, for the module's
# core size (text and data; an over-estimate of the text that stays within
# the module's own allocations, or near them). Shell arithmetic is signed
# 64-bit: the end is computed on the low 32 bits of the address.
text=$(for f in /sys/module/"$BLK_DRIVER"/sections/.text*; do
	case "$f" in */.text | */.text.*) cat "$f" ;; esac
done | sort | head -n 1)
size=$(cat "/sys/module/$BLK_DRIVER/coresize")
hi=${text%????????}
lo=$((0x${text#${hi}}))
end=$(printf '%s%08x' "$hi" $((lo + size)))
if [ $((lo + size)) -gt $((0xffffffff)) ] || [ -z "$text" ] || [ "$size" -le 0 ]; then
	ktap_fail module_text_range "text '$text', size '$size'"
fi
echo "# $BLK_DRIVER: allocations failed only with a frame in $text-$end"
# The IRQ core's /proc entries (kernel/irq/proc.c, from the first to the
# last of its registration functions) are best effort: not failed here.
syms=$(sort /proc/kallsyms)
rej_start=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | head -1 | cut -d' ' -f1)
rej_last=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | tail -1 | cut -d' ' -f3)
rej_end=$(echo "$syms" | grep -A1 " $rej_last\$" | tail -1 | cut -d' ' -f1)
for fa in $dfs/failslab $dfs/fail_page_alloc; do
	echo "$text" >$fa/require-start
	echo "$end" >$fa/require-end
	echo "0x$rej_start" >$fa/reject-start
	echo "0x$rej_end" >$fa/reject-end
	echo 12 >$fa/stacktrace-depth
	echo N >$fa/ignore-gfp-wait
	echo 0 >$fa/verbose
done
echo N >$dfs/fail_page_alloc/ignore-gfp-highmem
echo 0 >$dfs/fail_page_alloc/min-order

# How many allocations the filter sees in a bind with no failure: fail-nth
# counts down only for those.
total=$(sh -c "exec 3</proc/self/fail-nth; echo 100000 > /proc/self/fail-nth
	echo $dev > $BLK_DRV/bind 2>/dev/null; read -r left <&3; echo \$((100000 - left))")
echo "# a bind makes $total allocations near $BLK_DRIVER's code"
[ -n "$(blk_driver_of "$dev")" ] && blk_unbind "$BLK_DRIVER" "$dev"

n=0
failed_binds=0
clean=0
t0=$(date +%s)
while [ $n -lt $((total + 10)) ]; do
	n=$((n + 1))
	# One task sets its fail-nth and does the bind, then prints the bind's
	# status and what is left of the count (non-zero: nothing was failed),
	# read through a descriptor opened before the count was set.
	left=$(sh -c "exec 3</proc/self/fail-nth; echo $n > /proc/self/fail-nth
		echo $dev > $BLK_DRV/bind 2>/dev/null; rc=\$?; read -r left <&3; echo \$rc \$left")
	set -- $left
	last_rc=$1
	[ "$1" = 0 ] || failed_binds=$((failed_binds + 1))
	if [ "${2:-0}" != 0 ]; then
		clean=1
		break
	fi
	if [ -n "$(blk_driver_of "$dev")" ] && ! blk_unbind "$BLK_DRIVER" "$dev"; then
		ktap_fail "unbind_after_failing_allocation_$n"
		break
	fi
done
for fa in $dfs/failslab $dfs/fail_page_alloc; do
	echo 0 >$fa/require-start
	echo 0xffffffffffffffff >$fa/require-end
	echo 0 >$fa/reject-start
	echo 0 >$fa/reject-end
done

echo "# $failed_binds of $((n - 1)) failing allocations made the bind fail ($(($(date +%s) - t0)) s)"
echo "# not failed: 0x$rej_start-0x$rej_end (IRQ /proc entries)"
# The sweep ends with a bind in which no allocation failed: that one must
# succeed, or an earlier failure left something behind.
if [ $clean = 1 ] && [ $failed_binds -gt 0 ] && [ "$last_rc" = 0 ]; then
	ktap_ok "bind_unwinds_from_each_of_$((n - 1))_failing_allocations"
else
	ktap_fail failing_allocation_sweep "n $n, failed binds $failed_binds, clean $clean," \
		"last bind (no allocation failed) status $last_rc"
fi

# The last bind saw no failure: the disk works.
ktap_check bound_after_sweep sh -c "[ \"\$(basename \"\$(readlink /sys/bus/virtio/devices/$dev/driver)\")\" = $BLK_DRIVER ]"
if [ -z "$(blk_driver_of "$dev")" ]; then
	# A device left unusable (say with its virtqueues still enabled: a
	# failed probe must reset it) is reset for the next tests by removing
	# its PCI function and rescanning the bus.
	pci=$(dirname "$(readlink -f "/sys/bus/virtio/devices/$dev")")
	echo "# recovering $dev: PCI remove and rescan of ${pci##*/}"
	echo 1 >"$pci/remove"
	echo 1 >/sys/bus/pci/rescan
	blk_wait 20 sh -c '[ -n "$(ls /sys/block/*/serial 2>/dev/null | xargs grep -l rvirtio-disk0)" ]'
	dev=$(blk_vdev_of_serial rvirtio-disk0)
fi
d=$(blk_disk_of "$dev")
ktap_check io_after_failures sh -c "dd if=/dev/urandom of=/dev/$d bs=64k count=16 oflag=direct 2>/dev/null &&
	dd if=/dev/$d of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null"
ktap_check rmmod_after_failures rmmod "$BLK_DRIVER"
ktap_end
