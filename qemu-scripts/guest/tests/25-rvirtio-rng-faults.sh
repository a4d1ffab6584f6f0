# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while the virtio-rng sample probes. With the module
# loaded and the device unbound, the device is bound again through sysfs
# with /proc/self/fail-nth set to N: the N-th allocation (slab or page) made
# near the module's code fails (the stack-trace filter requires one of the
# innermost frames to be in the module). N grows until a bind sees no
# failure. Every failure must unwind: the bind fails cleanly or succeeds,
# the device stays bindable, and the debug kernel reports no splat and
# kmemleak no leak.
#
# Allocations deep inside the kernel (the IRQ core's /proc entries, say)
# are left alone: some of those are best effort and warn when they are
# removed later, which says nothing about the driver.
. /lib/rvirtio/ktap.sh

ko=/lib/modules/rvirtio/rvirtio_rng.ko
drv=/sys/bus/virtio/drivers/rvirtio_rng
dfs=/sys/kernel/debug

ktap_begin rvirtio_rng_faults
if [ ! -e /proc/self/fail-nth ] || [ ! -e $dfs/failslab/require-start ]; then
	ktap_skip allocation_failures "kernel lacks FAULT_INJECTION_STACKTRACE_FILTER"
	ktap_end
	exit 0
fi
dev=$(virtio_dev 0x0004)
ktap_check insmod insmod "$ko"
ktap_check unbind sh -c "echo $dev > $drv/unbind"

# The module's code: from its .text to the end of the x86-64 module area
# (no other module is loaded now). Shell arithmetic is signed 64-bit, so
# the addresses are passed on as text.
start=$(cat /sys/module/rvirtio_rng/sections/.text)
# The IRQ core's /proc entries (kernel/irq/proc.c, from the first to the
# last of its registration functions) are best effort: not failed here.
syms=$(sort /proc/kallsyms)
rej_start=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | head -1 | cut -d' ' -f1)
rej_last=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | tail -1 | cut -d' ' -f3)
rej_end=$(echo "$syms" | grep -A1 " $rej_last\$" | tail -1 | cut -d' ' -f1)
for fa in $dfs/failslab $dfs/fail_page_alloc; do
	echo "$start" >$fa/require-start
	echo 0xffffffffff000000 >$fa/require-end
	echo "0x$rej_start" >$fa/reject-start
	echo "0x$rej_end" >$fa/reject-end
	echo 12 >$fa/stacktrace-depth
	echo N >$fa/ignore-gfp-wait
	echo 0 >$fa/verbose
done
echo N >$dfs/fail_page_alloc/ignore-gfp-highmem
echo 0 >$dfs/fail_page_alloc/min-order

n=0
failed_binds=0
clean=0
while [ $n -lt 500 ]; do
	n=$((n + 1))
	# One task sets its fail-nth and does the bind, then prints the bind's
	# status and what is left of the count (non-zero: nothing was failed),
	# read through a descriptor opened before the count was set.
	left=$(sh -c "exec 3</proc/self/fail-nth; echo $n > /proc/self/fail-nth
		echo $dev > $drv/bind 2>/dev/null; rc=\$?; read -r left <&3; echo \$rc \$left")
	set -- $left
	[ "$1" = 0 ] || failed_binds=$((failed_binds + 1))
	if [ "${2:-0}" != 0 ]; then
		clean=1
		break
	fi
	if [ -e "/sys/bus/virtio/devices/$dev/driver" ] && ! echo "$dev" >$drv/unbind; then
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

if [ $clean = 1 ] && [ $failed_binds -gt 0 ]; then
	ktap_ok "bind_unwinds_from_each_of_$((n - 1))_failing_allocations"
else
	ktap_fail failing_allocation_sweep "n $n, failed binds $failed_binds, clean $clean"
fi
echo "# $failed_binds of $((n - 1)) failing allocations made the bind fail"
echo "# not failed: 0x$rej_start-0x$rej_end (IRQ /proc entries)"

# The last bind saw no failure: the device works.
ktap_check bound_after_sweep sh -c "[ -e /sys/bus/virtio/devices/$dev/driver ]"
ktap_check reads_after_failures sh -c '[ "$(dd if=/dev/hwrng bs=8 count=1 2>/dev/null | wc -c)" = 8 ]'
ktap_check rmmod_after_failures rmmod rvirtio_rng
ktap_end
