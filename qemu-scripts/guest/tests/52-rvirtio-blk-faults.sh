# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while the virtio-blk driver probes (faults.sh): with
# the module loaded and rvirtio-disk0's device unbound, each allocation of
# a bind made near the module's code fails in turn. Every failure must
# unwind: the bind fails cleanly or succeeds, the device stays bindable,
# and the debug kernel reports no splat and kmemleak no leak.
#
# The driver comes from rvirtio.blk_driver= (blk-features.sh); the filter
# is on that module's code.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh
. /lib/rvirtio/faults.sh

ktap_begin rvirtio_blk_faults
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
out=$(insmod "$BLK_KO" 2>&1) || blk_bail insmod "insmod $BLK_KO: $out"
ktap_ok insmod
if ! faults_available; then
	ktap_skip allocation_failures "kernel lacks FAULT_INJECTION_STACKTRACE_FILTER"
	rmmod "$BLK_DRIVER"
	ktap_end
	exit 0
fi
dev=$(blk_vdev_of_serial rvirtio-disk0)
[ -n "$dev" ] || blk_bail disk0_found "no disk with serial rvirtio-disk0"
ktap_check unbind blk_unbind "$BLK_DRIVER" "$dev"

range=$(faults_filter_module "$BLK_DRIVER")
[ -n "$range" ] || ktap_fail module_text_range "no text range for $BLK_DRIVER"
echo "# $BLK_DRIVER: allocations failed only with a frame in $range"

# How many allocations the filter sees in a bind with no failure: fail-nth
# counts down only for those.
out=$(faults_bind "$dev" "$BLK_DRV" 100000)
total=$((100000 - ${out#* }))
echo "# a bind makes $total allocations near $BLK_DRIVER's code"
[ -n "$(blk_driver_of "$dev")" ] && blk_unbind "$BLK_DRIVER" "$dev"

t0=$(date +%s)
faults_sweep "$dev" "$BLK_DRV" $((total + 10)) ||
	ktap_fail unbind_after_failing_allocation "unbind failed after bind $FAULTS_N"
faults_filter_off
n=$((FAULTS_N + 1))
failed_binds=$FAULTS_FAILED
clean=$FAULTS_CLEAN
last_rc=$FAULTS_LAST_RC
echo "# $failed_binds of $((n - 1)) failing allocations made the bind fail ($(($(date +%s) - t0)) s)"
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
