# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the virtio-blk feature, removal and fault tests (sourced after
# ktap.sh), on top of blk.sh (the driver under test, loading it, finding
# disks).
#
# The disks are told apart by their serial (run-vm.sh): rvirtio-disk0,
# rvirtio-ro (read-only), rvirtio-mq (two queues, write-back cache, discard
# and write-zeroes), rvirtio-hot (hot-unplugged by the removal tests).

. /lib/rvirtio/blk.sh
BLK_KO=$BLK_MODULE
BLK_DRV=/sys/bus/virtio/drivers/$BLK_DRIVER

# blk_vdevs: every virtio-blk device on the virtio bus (virtioN).
blk_vdevs() {
	virtio_dev 0x0002
}

# blk_driver_of VDEV: the name of the driver VDEV is bound to, if any.
blk_driver_of() {
	local l
	l=$(readlink "/sys/bus/virtio/devices/$1/driver" 2>/dev/null) || return 0
	basename "$l"
}

# blk_disk_of VDEV: the disk (vdX) of a bound virtio-blk device.
blk_disk_of() {
	local b
	for b in /sys/bus/virtio/devices/"$1"/block/*; do
		[ -e "$b" ] && basename "$b"
	done
}

# blk_vdev_of_serial SERIAL: the virtio device whose disk has SERIAL (the
# device must be bound to a driver that shows the serial).
blk_vdev_of_serial() {
	local d b
	for d in $(blk_vdevs); do
		for b in /sys/bus/virtio/devices/"$d"/block/*; do
			[ -e "$b/serial" ] && [ "$(cat "$b/serial")" = "$1" ] && echo "$d"
		done
	done
}

# blk_disk_of_serial SERIAL: the disk (vdX) with SERIAL.
blk_disk_of_serial() {
	local b
	for b in /sys/block/vd*; do
		[ -e "$b/serial" ] && [ "$(cat "$b/serial")" = "$1" ] && basename "$b"
	done
}

# blk_wait COUNT COMMAND...: ktap_retry.
blk_wait() {
	ktap_retry "$@"
}

# blk_bind DRIVER VDEV / blk_unbind DRIVER VDEV, through sysfs.
blk_bind() {
	echo "$2" >"/sys/bus/virtio/drivers/$1/bind"
}
blk_unbind() {
	echo "$2" >"/sys/bus/virtio/drivers/$1/unbind"
}

# blk_stat DISK FIELD: one field of /sys/block/DISK/stat (1-based): 5 write
# I/Os, 12 discard I/Os, 16 flush I/Os (Documentation/block/stat.rst).
blk_stat() {
	awk -v f="$2" '{ print $f }' "/sys/block/$1/stat"
}

# blk_sha DEV OFFSET_MIB COUNT_MIB: sha256 of a range, read with O_DIRECT.
blk_sha() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# blk_zero_sha COUNT_MIB: sha256 of COUNT_MIB MiB of zeroes.
blk_zero_sha() {
	dd if=/dev/zero bs=1M count="$1" 2>/dev/null | sha256sum | cut -d' ' -f1
}

# blk_fill DEV OFFSET_MIB COUNT_MIB: random data into a range (O_DIRECT).
blk_fill() {
	dd if=/dev/urandom of="$1" bs=1M seek="$2" count="$3" oflag=direct 2>/dev/null
}

# blk_snapshot DISK: the disk's attributes and its queue's files, one
# `name=value` line each, for comparing drivers on the same device. Files
# only: queue/iosched/ holds the I/O scheduler's own tunables (whose
# default values do not depend on the driver; the scheduler itself is
# compared through queue/scheduler). queue/ has no counters (those are in
# /sys/block/DISK/stat and inflight, not compared).
blk_snapshot() {
	local d=/sys/block/$1 f
	for f in size ro removable range ext_range capability serial cache_type \
		alignment_offset discard_alignment hidden; do
		[ -e "$d/$f" ] && echo "disk/$f=$(cat "$d/$f" 2>&1)"
	done
	echo "disk/hw_queues=$(ls "$d/mq" 2>/dev/null | wc -l)"
	for f in "$d"/queue/*; do
		[ -f "$f" ] || continue
		# Only a driver with a timeout handler has io_timeout (C's
		# virtio_blk has none; rvirtio_blk_hostile tests it).
		[ "${f##*/}" != io_timeout ] || continue
		echo "queue/${f##*/}=$(cat "$f" 2>&1)"
	done
}

# blk_bail NAME DIAGNOSTIC: fails NAME and ends the suite there, when what
# follows cannot run (the driver did not load, a disk is missing). The
# driver modules are unloaded if possible, for the next suite.
blk_bail() {
	ktap_fail "$@"
	echo "# the rest of the suite cannot run"
	rmmod "$BLK_DRIVER" 2>/dev/null
	[ "$BLK_DRIVER" = virtio_blk ] || rmmod virtio_blk 2>/dev/null
	ktap_end
	exit 0
}
