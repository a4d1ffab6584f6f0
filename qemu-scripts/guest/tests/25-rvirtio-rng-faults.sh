# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while the virtio-rng sample probes (faults.sh): with
# the module loaded and the device unbound, each allocation of a bind made
# near the module's code fails in turn. Every failure must unwind: the bind
# fails cleanly or succeeds, the device stays bindable, and the debug
# kernel reports no splat and kmemleak no leak.
#
# Allocations deep inside the kernel (the IRQ core's /proc entries, say)
# are left alone: some of those are best effort and warn when they are
# removed later, which says nothing about the driver.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/faults.sh

ko=/lib/modules/rvirtio/rvirtio_rng.ko
drv=/sys/bus/virtio/drivers/rvirtio_rng

ktap_begin rvirtio_rng_faults
if ! faults_available; then
	ktap_skip allocation_failures "kernel lacks FAULT_INJECTION_STACKTRACE_FILTER"
	ktap_end
	exit 0
fi
dev=$(virtio_dev 0x0004)
ktap_check insmod insmod "$ko"
ktap_check unbind sh -c "echo $dev > $drv/unbind"
range=$(faults_filter_module rvirtio_rng)
ktap_check module_text_range [ -n "$range" ]
echo "# failed only with a frame in $range"

faults_sweep "$dev" "$drv" 500
rc=$?
faults_filter_off
ktap_check unbind_after_each_bind [ $rc = 0 ]
sweep_ok() {
	[ "$FAULTS_CLEAN" = 1 ] && [ "$FAULTS_FAILED" -gt 0 ]
}
ktap_check "bind_unwinds_from_each_of_${FAULTS_N}_failing_allocations" sweep_ok
echo "# $FAULTS_FAILED of $FAULTS_N failing allocations made the bind fail"

# The last bind saw no failure: the device works.
ktap_check bound_after_sweep sh -c "[ -e /sys/bus/virtio/devices/$dev/driver ]"
ktap_check reads_after_failures sh -c '[ "$(dd if=/dev/hwrng bs=8 count=1 2>/dev/null | wc -c)" = 8 ]'
ktap_check rmmod_after_failures rmmod rvirtio_rng
ktap_end
