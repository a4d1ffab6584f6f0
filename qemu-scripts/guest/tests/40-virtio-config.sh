# SPDX-License-Identifier: GPL-2.0
#
# Configuration changes reach a virtio driver in process context: the host
# takes the virtio-net link down and up (QMP set_link), and the test driver
# logs each change with the link status it reads from config space. The
# driver fills the receive ring; removal must return every buffer.
. /lib/rvirtio/ktap.sh

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
dev=$(virtio_dev 0x0001)
dmesg -c >/dev/null
ktap_check insmod_test_driver insmod /lib/modules/rvirtio/tests/rvirtio_cfgtest.ko
ktap_check binds_to_virtio_net sh -c \
	"[ \"\$(basename \"\$(readlink /sys/bus/virtio/devices/$dev/driver)\")\" = rvirtio_cfgtest ]"
ktap_check status_feature_negotiated wait_for "rvirtio_cfgtest.*link status feature negotiated"
ktap_check feature_cleared_by_validate_not_negotiated wait_for "rvirtio_cfgtest.*MAC feature cleared"
ktap_check full_ring_gives_buffer_back wait_for "ring of 256 filled with 256 buffers; the next was given back with ENOSPC"

host '{"execute": "set_link", "arguments": {"name": "nic0", "up": false}}'
ktap_check link_down_reported wait_for "config change 1: status 0x0"
host '{"execute": "set_link", "arguments": {"name": "nic0", "up": true}}'
ktap_check link_up_reported wait_for "config change 2: status 0x1"

ktap_check rmmod_test_driver rmmod rvirtio_cfgtest
ktap_check device_unbound sh -c "[ ! -e /sys/bus/virtio/devices/$dev/driver ]"
# The receive buffers the device still held were returned at removal.
ktap_check held_buffers_returned_at_removal wait_for "all 256 receive buffers returned and dropped"
ktap_end
