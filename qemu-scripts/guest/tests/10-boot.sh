# SPDX-License-Identifier: GPL-2.0
#
# The VM the other tests rely on: the virtio devices QEMU was given are on
# the virtio bus, and the C drivers are present as modules but not loaded.
. /lib/rvirtio/ktap.sh

has_virtio_id() {
	grep -qx "$1" /sys/bus/virtio/devices/*/device 2>/dev/null
}

ktap_begin rvirtio_boot
ktap_check virtio_blk_device_present has_virtio_id 0x0002
ktap_check virtio_net_device_present has_virtio_id 0x0001
ktap_check virtio_rng_device_present has_virtio_id 0x0004
ktap_check c_virtio_blk_built_not_loaded \
	sh -c '[ -f /lib/modules/c/virtio_blk.ko ] && ! grep -q "^virtio_blk " /proc/modules'
ktap_check c_virtio_net_built_not_loaded \
	sh -c '[ -f /lib/modules/c/virtio_net.ko ] && ! grep -q "^virtio_net " /proc/modules'
ktap_end
