# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures while the network driver probes nic0 (faults.sh):
# each allocation of a bind made near the module's code fails in turn; the
# bind fails cleanly or succeeds, nothing is left behind (kmemleak, the
# netdev reference tracker), the device binds again and carries traffic.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/net.sh
. /lib/rvirtio/faults.sh

ktap_begin rvirtio_net_faults
echo "# driver under test: $NET_DRIVER"
if ! faults_available; then
	ktap_skip allocation_failures "kernel lacks FAULT_INJECTION_STACKTRACE_FILTER"
	ktap_end
	exit 0
fi
dev=$(net_dev 1)
drv=/sys/bus/virtio/drivers/$NET_DRIVER
ktap_check insmod net_load
ktap_check unbind sh -c "echo $dev > $drv/unbind"
range=$(faults_filter_module "$NET_DRIVER")
ktap_check module_text_range [ -n "$range" ]
echo "# failed only with a frame in $range"

# How many allocations the filter sees in a bind with no failure.
out=$(faults_bind "$dev" "$drv" 100000)
total=$((100000 - ${out#* }))
echo "# a bind makes $total allocations near $NET_DRIVER's code"
[ -e "/sys/bus/virtio/devices/$dev/driver" ] && echo "$dev" >"$drv/unbind"

t0=$(date +%s)
faults_sweep "$dev" "$drv" $((total + 10))
rc=$?
faults_filter_off
echo "# $FAULTS_FAILED of $FAULTS_N failing allocations made the bind fail ($(($(date +%s) - t0)) s)"
ktap_check unbind_after_each_bind [ $rc = 0 ]
# The sweep ends with a bind in which no allocation failed: that one must
# succeed, or an earlier failure left something behind.
sweep_ok() {
	[ "$FAULTS_CLEAN" = 1 ] && [ "$FAULTS_FAILED" -gt 0 ] && [ "$FAULTS_LAST_RC" = 0 ]
}
ktap_check "bind_unwinds_from_each_of_${FAULTS_N}_failing_allocations" sweep_ok
ktap_check bound_after_sweep [ -e "/sys/bus/virtio/devices/$dev/driver" ]
i=$(net_iface "$dev")
ktap_check traffic_after_failures sh -c "ip link set $i up && ip addr add 10.0.2.15/24 dev $i &&
	sleep 1 && ping -c 2 -W 5 10.0.2.2"
ktap_check rmmod_after_failures rmmod "$NET_DRIVER"
ktap_check no_splat sh -c "! dmesg | grep -E 'BUG|WARNING|Oops|KASAN|refcount_t|hung_task'"
ktap_end
