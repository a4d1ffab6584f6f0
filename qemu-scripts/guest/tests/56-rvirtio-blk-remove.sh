# SPDX-License-Identifier: GPL-2.0
#
# Taking the virtio-blk driver away from disks in use: rmmod while a disk is
# mounted or open (refused: the disk's block_device_operations pin the
# module), unbind through sysfs under I/O, and a surprise removal by the
# host (QMP device_del) under I/O. Nothing may hang or splat, I/O must end,
# and the other disks and the data written before must be unharmed.
#
# The driver comes from rvirtio.blk_driver= (blk-features.sh).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh

ktap_begin rvirtio_blk_remove
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
out=$(insmod "$BLK_KO" 2>&1) || blk_bail insmod "insmod $BLK_KO: $out"
ktap_ok insmod
# disk0 DESCRIPTION: finds rvirtio-disk0 again (after a reload or rebind).
disk0() {
	d0=$(blk_disk_of_serial rvirtio-disk0)
	v0=$(blk_vdev_of_serial rvirtio-disk0)
	[ -n "$d0" ] && [ -n "$v0" ] || blk_bail "disk0_$1" "no disk with serial rvirtio-disk0"
}

disk0 found
refcnt() {
	cat "/sys/module/$BLK_DRIVER/refcnt"
}

# --- rmmod while mounted ----------------------------------------------------
mkdir -p /mnt/blk
ktap_check mkfs_and_mount sh -c "mkfs.ext4 -q -F -E nodiscard /dev/$d0 && mount -t ext4 /dev/$d0 /mnt/blk"
dd if=/dev/urandom of=/mnt/blk/data bs=64k count=16 2>/dev/null
sync
sha_file=$(sha256sum </mnt/blk/data)
if out=$(rmmod "$BLK_DRIVER" 2>&1); then
	ktap_fail rmmod_refused_while_mounted "rmmod succeeded with /dev/$d0 mounted"
else
	ktap_ok rmmod_refused_while_mounted
	echo "# $out (refcnt $(refcnt))"
fi
ktap_check module_still_loaded blk_loaded "$BLK_DRIVER"
ktap_check mounted_disk_still_works sh -c "grep -q ' /mnt/blk ' /proc/mounts &&
	dd if=/dev/urandom of=/mnt/blk/more bs=64k count=4 2>/dev/null &&
	sync && echo 3 >/proc/sys/vm/drop_caches && [ \"\$(sha256sum </mnt/blk/data)\" = '$sha_file' ]"
ktap_check umount umount /mnt/blk
ktap_check rmmod_after_umount rmmod "$BLK_DRIVER"
ktap_check disks_gone_after_rmmod sh -c '! ls /dev/vd* /sys/block/vd* >/dev/null 2>&1'
ktap_check insmod_again insmod "$BLK_KO"
disk0 after_reload
ktap_check data_intact_after_reload sh -c "mount -t ext4 /dev/$d0 /mnt/blk &&
	[ \"\$(sha256sum </mnt/blk/data)\" = '$sha_file' ] && umount /mnt/blk"

# --- rmmod while a raw device is open under dd -------------------------------
# dd reads with O_DIRECT into a pipe whose reader waits for /tmp/blk-go: dd
# is running, with the device open, until the reader drains the pipe.
rm -f /tmp/blk-go /tmp/blk-dd.rc
{
	dd if="/dev/$d0" bs=64k count=256 iflag=direct 2>/tmp/blk-dd.err
	echo $? >/tmp/blk-dd.rc
} | {
	while [ ! -e /tmp/blk-go ]; do sleep 0.2; done
	cat >/dev/null
} &
pipeline=$!
sleep 1
if [ -e /tmp/blk-dd.rc ]; then
	ktap_fail rmmod_refused_while_open "dd ended early: $(cat /tmp/blk-dd.err)"
elif out=$(rmmod "$BLK_DRIVER" 2>&1); then
	ktap_fail rmmod_refused_while_open "rmmod succeeded while dd had /dev/$d0 open"
else
	ktap_ok rmmod_refused_while_open
	echo "# $out (refcnt $(refcnt))"
fi
touch /tmp/blk-go
ended() {
	! kill -0 $pipeline 2>/dev/null
}
if blk_wait 60 ended && [ "$(cat /tmp/blk-dd.rc 2>/dev/null)" = 0 ]; then
	ktap_ok dd_completes_after_refused_rmmod
else
	kill $pipeline 2>/dev/null
	ktap_fail dd_completes_after_refused_rmmod "dd status '$(cat /tmp/blk-dd.rc 2>/dev/null)': $(cat /tmp/blk-dd.err)"
fi
wait $pipeline 2>/dev/null
ktap_check rmmod_after_dd rmmod "$BLK_DRIVER"
ktap_check insmod_after_dd insmod "$BLK_KO"

# --- Unbind through sysfs under I/O -----------------------------------------
# Data at 32 MiB is written first and must survive; a writer loops on the
# first 8 MiB (O_DIRECT) until its I/O fails. After the unbind it must end,
# and the rebound disk must hold the data.
disk0 after_second_reload
blk_fill "/dev/$d0" 32 4
sha_before=$(blk_sha "/dev/$d0" 32 4)
sh -c "while dd if=/dev/urandom of=/dev/$d0 bs=64k count=128 oflag=direct 2>/dev/null; do :; done" &
writer=$!
sleep 2
if kill -0 $writer 2>/dev/null; then
	ktap_ok io_running_on_disk0
else
	ktap_fail io_running_on_disk0 "the writer on /dev/$d0 ended before the unbind"
fi
t0=$(date +%s)
if blk_unbind "$BLK_DRIVER" "$v0" && [ -z "$(blk_driver_of "$v0")" ]; then
	ktap_ok unbind_under_io
else
	ktap_fail unbind_under_io "$v0 still bound to '$(blk_driver_of "$v0")'"
fi
writer_ended() {
	! kill -0 $writer 2>/dev/null
}
if blk_wait 60 writer_ended; then
	ktap_ok io_ends_after_unbind
	echo "# unbind and end of I/O took $(($(date +%s) - t0)) s"
else
	kill $writer 2>/dev/null
	ktap_fail io_ends_after_unbind "writer still running 30 s after the unbind"
fi
ktap_check disk_gone_after_unbind sh -c "[ ! -e /sys/block/$d0 ] && [ ! -e /dev/$d0 ]"
ktap_check rebind blk_bind "$BLK_DRIVER" "$v0"
d0=$(blk_disk_of "$v0")
sha_after=$(blk_sha "/dev/$d0" 32 4)
if [ -n "$d0" ] && [ "$sha_after" = "$sha_before" ]; then
	ktap_ok data_intact_after_rebind
else
	ktap_fail data_intact_after_rebind "disk '$d0', sha256 before $sha_before, after $sha_after"
fi

# --- A disk's index stays taken while the disk is open ------------------------
# An open disk outlives the binding of its device: its name and minors are
# released when it is closed (free_disk), not at unbind, so the disk of the
# device bound again meanwhile gets another name; once closed, the name is
# free again.
old=$d0
exec 7<"/dev/$old"
ktap_check unbind_with_disk_open blk_unbind "$BLK_DRIVER" "$v0"
ktap_check rebind_with_old_disk_open blk_bind "$BLK_DRIVER" "$v0"
new=$(blk_disk_of "$v0")
if [ -n "$new" ] && [ "$new" != "$old" ]; then
	ktap_ok index_kept_while_old_disk_open
else
	ktap_fail index_kept_while_old_disk_open "old disk $old still open, new disk '$new'"
fi
exec 7<&-
# The closed disk is released after an RCU grace period (its block device
# inode is freed from an RCU callback): try a few times.
rebind_old_name() {
	{ [ -z "$(blk_driver_of "$v0")" ] || blk_unbind "$BLK_DRIVER" "$v0"; } &&
		blk_bind "$BLK_DRIVER" "$v0" && [ "$(blk_disk_of "$v0")" = "$old" ]
}
if blk_wait 10 rebind_old_name; then
	ktap_ok index_free_again_after_close
else
	ktap_fail index_free_again_after_close "expected $old again, got '$(blk_disk_of "$v0")'"
fi
d0=$(blk_disk_of "$v0")

# --- Surprise removal by the host under I/O ----------------------------------
# A reader-writer loop on rvirtio-hot with O_DIRECT, until its I/O fails;
# then QMP device_del. The PCI hotplug driver removes the device (after the
# attention button's 5 s), the driver's remove runs under the I/O.
hot=$(blk_disk_of_serial rvirtio-hot)
vhot=$(blk_vdev_of_serial rvirtio-hot)
[ -n "$hot" ] && [ -n "$vhot" ] || blk_bail hot_disk_found "no disk with serial rvirtio-hot"
sh -c "while dd if=/dev/urandom of=/dev/$hot bs=64k count=64 oflag=direct 2>/dev/null &&
	dd if=/dev/$hot of=/dev/null bs=64k count=64 iflag=direct 2>/dev/null; do :; done" &
io=$!
sleep 2
if kill -0 $io 2>/dev/null; then
	ktap_ok io_running_on_hot_disk
else
	ktap_fail io_running_on_hot_disk "the I/O loop on /dev/$hot ended before the removal"
fi
t0=$(date +%s)
echo 'RVIRTIO-HOST {"execute": "device_del", "arguments": {"id": "blk3"}}'
gone() {
	[ ! -e "/sys/bus/virtio/devices/$vhot" ] && [ ! -e "/sys/block/$hot" ]
}
if [ -n "$vhot" ] && blk_wait 60 gone; then
	ktap_ok hot_disk_removed
	echo "# removed after $(($(date +%s) - t0)) s"
else
	ktap_fail hot_disk_removed "$vhot ($hot) still there 30 s after device_del"
fi
io_ended() {
	! kill -0 $io 2>/dev/null
}
if blk_wait 60 io_ended; then
	ktap_ok io_ends_after_surprise_removal
	echo "# I/O ended $(($(date +%s) - t0)) s after device_del"
else
	kill $io 2>/dev/null
	ktap_fail io_ends_after_surprise_removal "the I/O loop still runs 30 s after device_del"
fi
ktap_check hot_dev_node_gone sh -c "[ ! -e /dev/$hot ]"

# The other disks still work.
disk0 after_removal
mq=$(blk_disk_of_serial rvirtio-mq)
ro=$(blk_disk_of_serial rvirtio-ro)
others_work() {
	[ -n "$mq" ] && [ -n "$ro" ] || return 1
	blk_fill "/dev/$d0" 40 1 && blk_fill "/dev/$mq" 40 1 &&
		dd if="/dev/$ro" of=/dev/null bs=64k count=16 iflag=direct 2>/dev/null &&
		[ "$(blk_sha "/dev/$d0" 32 4)" = "$sha_before" ]
}
ktap_check other_disks_work_after_removal others_work
ktap_check rmmod_at_end rmmod "$BLK_DRIVER"
ktap_end
