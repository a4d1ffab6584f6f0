# SPDX-License-Identifier: GPL-2.0
#
# A virtio-blk device served by a host process over vhost-user (rvdev,
# qemu-scripts/vdev), hot-plugged for this suite into the VM's spare PCIe
# root port (console-agent.py starts it): the driver reads the device's
# known data (blk-pattern.py's host pattern over the whole disk), reads back
# what it wrote without touching the sectors around it, and lets the device
# go when the host unplugs it. Then a second device whose every status byte
# is garbage (rvdev --lie status-garbage): reads and writes must fail with
# an I/O error, never succeed, and the device must still go when unplugged.
#
# The driver comes from rvirtio.blk_driver= (blk.sh).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh

SERIAL=rvdev-blk
SIZE=$((64 << 20))

ktap_begin rvirtio_blk_vhost_user
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
out=$(blk_load 2>&1) || blk_bail insmod "$out"
ktap_ok insmod

echo "RVIRTIO-VDEV {\"id\": \"vdblk0\", \"kind\": \"blk\", \"bus\": \"rp9\", \"args\": [\"--size\", \"$SIZE\"]}"
has_disk() {
	[ -n "$(blk_disk_of_serial $SERIAL)" ]
}
blk_wait 60 has_disk || blk_bail plugged "no disk with serial $SERIAL 30 s after the plug request"
d=$(blk_disk_of_serial $SERIAL)
v=$(blk_vdev_of_serial $SERIAL)
ktap_ok plugged
echo "# $SERIAL is $d ($v)"
ktap_check bound_to_driver_under_test sh -c "[ '$(blk_driver_of "$v")' = '$BLK_DRIVER' ]"
ktap_check capacity_from_device sh -c "[ \$(cat /sys/block/$d/size) = $((SIZE / 512)) ]"

# check_pattern SEED FIRST COUNT: COUNT sectors from FIRST hold the pattern.
check_pattern() {
	blk_pattern "$1" "$2" "$3" >/tmp/vdev.want
	dd if="/dev/$d" bs=512 skip="$2" count="$3" iflag=direct 2>/dev/null >/tmp/vdev.got &&
		cmp /tmp/vdev.want /tmp/vdev.got
}
ktap_check reads_device_data check_pattern 72766230 0 8192
ktap_check reads_last_sectors check_pattern 72766230 $((SIZE / 512 - 64)) 64
write_pattern() {
	blk_pattern 72766731 "$1" "$2" | dd of="/dev/$d" bs=4096 seek=$(($1 / 8)) oflag=direct 2>/dev/null
}
ktap_check writes write_pattern 16384 2048
ktap_check reads_back_what_it_wrote check_pattern 72766731 16384 2048
around_intact() {
	check_pattern 72766230 16320 64 && check_pattern 72766230 18432 64
}
ktap_check data_around_the_write_intact around_intact
ktap_check flush sh -c "sync && blockdev --flushbufs /dev/$d"

echo 'RVIRTIO-HOST {"execute": "device_del", "arguments": {"id": "vdblk0"}}'
gone() {
	[ ! -e "/sys/bus/virtio/devices/$v" ] && ! has_disk
}
ktap_check unplugged blk_wait 60 gone

# --- A device that lies: every status byte is garbage ------------------------
# The driver must report each request as failed (EIO), never as read, and
# neither hang nor splat; the host can still unplug the device.
before=$(ls /sys/block)
echo 'RVIRTIO-VDEV {"id": "vdblk1", "kind": "blk", "bus": "rp10", "args": ["--lie", "status-garbage"]}'
new_disk() {
	local b
	for b in /sys/block/vd*; do
		echo "$before" | grep -qx "${b##*/}" || { echo "${b##*/}"; return 0; }
	done
	return 1
}
blk_wait 60 new_disk >/dev/null || blk_bail lying_device_plugged "no new disk 30 s after the plug request"
d=$(new_disk)
ktap_ok lying_device_plugged
echo "# the lying device is $d"
read_fails() {
	local out
	if out=$(dd if="/dev/$d" of=/dev/null bs=4096 count=1 iflag=direct 2>&1); then
		echo "a read succeeded on a device whose status is garbage: $out"
		return 1
	fi
	echo "$out" | grep -q "Input/output error" || { echo "not an I/O error (EIO): $out"; return 1; }
}
ktap_check garbage_status_fails_the_read read_fails
write_fails() {
	! dd if=/dev/zero of="/dev/$d" bs=4096 count=1 oflag=direct 2>/dev/null
}
ktap_check garbage_status_fails_the_write write_fails
echo 'RVIRTIO-HOST {"execute": "device_del", "arguments": {"id": "vdblk1"}}'
lying_gone() {
	[ ! -e "/sys/block/$d" ]
}
ktap_check lying_device_unplugged blk_wait 60 lying_gone
ktap_check rmmod rmmod "$BLK_DRIVER"
ktap_check no_splat sh -c "! dmesg | grep -E 'BUG|WARNING|Oops|KASAN|refcount_t|hung_task'"
ktap_end
