# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while a driver probes: the device is bound through
# sysfs with /proc/self/fail-nth set to N, so that the N-th allocation (slab
# or page) made near the module's code fails (one of the 12 innermost frames
# in the module). N grows until a bind sees no failure. Every failure must
# unwind: the bind fails cleanly or succeeds, the device stays bindable,
# and the debug kernel reports no splat and kmemleak no leak.

FAULTS_DFS=/sys/kernel/debug

# faults_available: the kernel has the stack-trace filter and fail-nth.
faults_available() {
	[ -e /proc/self/fail-nth ] && [ -e $FAULTS_DFS/failslab/require-start ]
}

# faults_filter_module MODULE: failures only for allocations with a frame
# in MODULE's code: from its lowest .text section on, for the module's core
# size (text and data; an over-estimate of the text that stays within the
# module's own allocations, or near them). Shell arithmetic is signed
# 64-bit: the end is computed on the low 32 bits of the address. The IRQ
# core's /proc entries (kernel/irq/proc.c, from the first to the last of
# its registration functions) are best effort: not failed. Prints the
# range; fails if it cannot be computed.
faults_filter_module() {
	local m=$1 text size hi lo end syms rej_start rej_last rej_end fa
	text=$(for f in /sys/module/"$m"/sections/.text*; do
		case "$f" in */.text | */.text.*) cat "$f" ;; esac
	done | sort | head -n 1)
	size=$(cat "/sys/module/$m/coresize")
	[ -n "$text" ] && [ "$size" -gt 0 ] || return 1
	hi=${text%????????}
	lo=$((0x${text#${hi}}))
	[ $((lo + size)) -le $((0xffffffff)) ] || return 1
	end=$(printf '%s%08x' "$hi" $((lo + size)))
	syms=$(sort /proc/kallsyms)
	rej_start=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | head -1 | cut -d' ' -f1)
	rej_last=$(echo "$syms" | grep -E ' (register_irq_proc|register_handler_proc)$' | tail -1 | cut -d' ' -f3)
	rej_end=$(echo "$syms" | grep -A1 " $rej_last\$" | tail -1 | cut -d' ' -f1)
	for fa in $FAULTS_DFS/failslab $FAULTS_DFS/fail_page_alloc; do
		echo "$text" >$fa/require-start
		echo "$end" >$fa/require-end
		echo "0x$rej_start" >$fa/reject-start
		echo "0x$rej_end" >$fa/reject-end
		echo 12 >$fa/stacktrace-depth
		echo N >$fa/ignore-gfp-wait
		echo 0 >$fa/verbose
	done
	echo N >$FAULTS_DFS/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$FAULTS_DFS/fail_page_alloc/min-order
	echo "$text-$end (not failed: 0x$rej_start-0x$rej_end, IRQ /proc entries)"
}

# faults_filter_off: no filter range (and so no failure) any more.
faults_filter_off() {
	local fa
	for fa in $FAULTS_DFS/failslab $FAULTS_DFS/fail_page_alloc; do
		echo 0 >$fa/require-start
		echo 0xffffffffffffffff >$fa/require-end
		echo 0 >$fa/reject-start
		echo 0 >$fa/reject-end
	done
}

# faults_bind DEV DRVDIR N: binds DEV through DRVDIR/bind with the N-th
# filtered allocation failing; prints the bind's status and what is left of
# the count (non-zero: nothing was failed), read through a descriptor
# opened before the count was set.
faults_bind() {
	sh -c "exec 3</proc/self/fail-nth; echo $3 > /proc/self/fail-nth
		echo $1 > $2/bind 2>/dev/null; rc=\$?; read -r left <&3; echo \$rc \$left"
}

# faults_sweep DEV DRVDIR MAX: fails the 1st, 2nd, ... allocation of a bind
# of DEV through DRVDIR (at most MAX binds), unbinding after each bind that
# succeeded. Sets FAULTS_N (the binds that had a failure), FAULTS_FAILED
# (those that failed), FAULTS_CLEAN (1 if the sweep ended with a bind that
# saw no failure) and FAULTS_LAST_RC (that bind's status). Returns 1 if an
# unbind failed.
faults_sweep() {
	local dev=$1 drv=$2 max=$3 n=0 out left
	FAULTS_FAILED=0 FAULTS_CLEAN=0 FAULTS_LAST_RC=
	while [ $n -lt "$max" ]; do
		n=$((n + 1))
		out=$(faults_bind "$dev" "$drv" $n)
		FAULTS_LAST_RC=${out%% *}
		left=${out#* }
		[ "$FAULTS_LAST_RC" = 0 ] || FAULTS_FAILED=$((FAULTS_FAILED + 1))
		if [ "${left:-0}" != 0 ]; then
			FAULTS_CLEAN=1
			break
		fi
		if [ -e "/sys/bus/virtio/devices/$dev/driver" ]; then
			echo "$dev" >"$drv/unbind" || return 1
		fi
	done
	FAULTS_N=$((n - FAULTS_CLEAN))
}
