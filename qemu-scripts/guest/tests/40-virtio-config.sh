# SPDX-License-Identifier: GPL-2.0
#
# Configuration changes reach a virtio driver in process context: the host
# takes the virtio-net link down and up (QMP set_link), and the test driver
# logs each change with the link status it reads from config space. The
# driver fills the receive ring; removal must return every buffer. It also
# uses a queue of each kind a network driver has (receive with a context and
# a late-bound callback, transmit polled, control busy-polled).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/net.sh

host() {
	echo "RVIRTIO-HOST $1"
}

# wait_for PATTERN: up to 15 s for PATTERN in the kernel log.
wait_for() {
	for _ in $(seq 30); do
		dmesg | grep -q "$1" && return 0
		sleep 0.5
	done
	return 1
}

ktap_begin rvirtio_config
# nic0, the NIC whose link the host flaps (the test driver binds both).
dev=$(net_dev 1)
dmesg -c >/dev/null
ktap_check insmod_test_driver insmod /lib/modules/rvirtio/tests/rvirtio_cfgtest.ko
ktap_check binds_to_virtio_net sh -c \
	"[ \"\$(basename \"\$(readlink /sys/bus/virtio/devices/$dev/driver)\")\" = rvirtio_cfgtest ]"
ktap_check status_feature_negotiated wait_for "rvirtio_cfgtest.*link status feature negotiated"
ktap_check feature_cleared_by_validate_not_negotiated wait_for "rvirtio_cfgtest.*MAC feature cleared"
ktap_check transport_features_not_clearable wait_for "transport features cannot be cleared by the driver"
ktap_check full_ring_gives_buffer_back wait_for "ring of 256 filled with 256 buffers; the next was given back with ENOSPC"
ktap_check full_ring_has_no_free_descriptor wait_for "a full ring has no free descriptor"
ktap_check context_refused_on_queue_without_one wait_for "a context is refused on a queue created without one"
ktap_check queue_affinity_set_in_probe wait_for "the receive queue's interrupt may go to any CPU"
ktap_check no_queues_once_ready wait_for "no queues can be created once the device is ready"
# A polled queue without callback (the control queue), a queue polled the NAPI way
# (transmit), and a receive queue whose callback was bound after the queues existed, each
# with its own buffer type.
ktap_check control_queue_command_acknowledged wait_for "control command acknowledged by the device"
ktap_check transmit_completion_seen_by_poll wait_for "transmitted frame returned by the device, seen by poll"
ktap_check receive_callback_bound_late wait_for "receive callback: buffer [0-9]* came back with a [0-9]*-byte frame"
ktap_check no_queue_errors sh -c "! dmesg | grep -E 'rvirtio_cfgtest.*(failed|bad buffer|unexpected|without context took|on a ready device)'"

host '{"execute": "set_link", "arguments": {"name": "nic0", "up": false}}'
ktap_check link_down_reported wait_for "config change 1: status 0x0"
host '{"execute": "set_link", "arguments": {"name": "nic0", "up": true}}'
ktap_check link_up_reported wait_for "config change 2: status 0x1"

ktap_check rmmod_test_driver rmmod rvirtio_cfgtest
ktap_check device_unbound sh -c "[ ! -e /sys/bus/virtio/devices/$dev/driver ]"
# The receive buffers the device still held were returned at removal.
ktap_check held_buffers_returned_at_removal wait_for "all 256 receive buffers returned and dropped"
# The driver data, dropped after the teardown, still holds the queue's handle.
ktap_check handle_after_teardown_refuses_operations wait_for "after teardown the queue refuses every operation"
ktap_check handle_after_teardown_no_error sh -c "! dmesg | grep -q 'reached the device after teardown'"
ktap_end
