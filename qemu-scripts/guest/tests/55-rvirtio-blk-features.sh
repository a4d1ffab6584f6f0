# SPDX-License-Identifier: GPL-2.0
#
# What the virtio-blk driver shows of the device's features, on QEMU's four
# virtio-blk-pci disks: binding and naming, serial, read-only, write cache
# and flush, discard and write-zeroes, a resize by the host, the number of
# queues, the geometry, and every queue limit compared with the C
# virtio_blk bound to the same device.
#
# The driver comes from rvirtio.blk_driver= (blk-features.sh).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh

ktap_begin rvirtio_blk_features
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
dmesg -c >/dev/null
out=$(insmod "$BLK_KO" 2>&1) || blk_bail insmod "insmod $BLK_KO: $out"
ktap_ok insmod
ktap_check lsmod_lists_module sh -c "lsmod | grep -q '^$BLK_DRIVER '"

# --- Binding and naming -----------------------------------------------------
vdevs=$(blk_vdevs)
wrong=
for v in $vdevs; do
	[ "$(blk_driver_of "$v")" = "$BLK_DRIVER" ] || wrong="$wrong $v:$(blk_driver_of "$v")"
done
# run-vm.sh gives the VM five virtio-blk disks.
if [ "$(echo $vdevs | wc -w)" = 5 ] && [ -z "$wrong" ]; then
	ktap_ok binds_every_virtio_blk_device
else
	ktap_fail binds_every_virtio_blk_device "devices: $vdevs; not bound to $BLK_DRIVER:$wrong"
fi

# Block major: dynamic, registered under the name "virtblk" as the C driver
# does; nodes named vd<letters>, one per device.
nodes_ok() {
	local v d dev major
	for v in $vdevs; do
		d=$(blk_disk_of "$v")
		case "$d" in
		vd[a-z] | vd[a-z][a-z]) ;;
		*) echo "$v: disk name '$d'"; return 1 ;;
		esac
		[ -b "/dev/$d" ] || { echo "/dev/$d is not a block device"; return 1; }
		dev=$(cat "/sys/block/$d/dev")
		major=${dev%:*}
		[ "$(stat -c '%t:%T' "/dev/$d")" = "$(printf '%x:%x' "$major" "${dev#*:}")" ] ||
			{ echo "/dev/$d is $(stat -c '%t:%T' "/dev/$d"), sysfs says $dev"; return 1; }
		sed -n '/^Block devices:/,$p' /proc/devices | grep -qx " *$major virtblk" ||
			{ echo "$d: major $major is not a 'virtblk' major in /proc/devices:"; cat /proc/devices; return 1; }
	done
}
ktap_check dev_nodes_with_virtblk_major nodes_ok

# --- Serial -----------------------------------------------------------------
for s in rvirtio-disk0 rvirtio-ro rvirtio-mq rvirtio-hot; do
	d=$(blk_disk_of_serial "$s")
	if [ -n "$d" ] && [ "$(echo $d | wc -w)" = 1 ]; then
		ktap_ok "serial_$(echo "$s" | tr - _)"
	else
		ktap_fail "serial_$(echo "$s" | tr - _)" "disks with serial $s: '$d'; serials:" \
			"$(for b in /sys/block/vd*; do echo "${b##*/}=$(cat "$b/serial" 2>&1)"; done)"
	fi
done
d0=$(blk_disk_of_serial rvirtio-disk0)
ro=$(blk_disk_of_serial rvirtio-ro)
mq=$(blk_disk_of_serial rvirtio-mq)
[ -n "$d0" ] && [ -n "$ro" ] && [ -n "$mq" ] ||
	blk_bail disks_found "disk0 '$d0', ro '$ro', mq '$mq'"

# --- Read-only disk ---------------------------------------------------------
ktap_check read_only_disk_is_ro sh -c "[ \"\$(cat /sys/block/$ro/ro)\" = 1 ] && [ \"\$(blockdev --getro /dev/$ro)\" = 1 ]"
ktap_check read_write_disk_is_not_ro sh -c "[ \"\$(cat /sys/block/$d0/ro)\" = 0 ]"
ktap_check read_only_disk_reads dd if="/dev/$ro" of=/dev/null bs=64k count=16 iflag=direct
if out=$(dd if=/dev/zero of="/dev/$ro" bs=4k count=1 oflag=direct 2>&1); then
	ktap_fail read_only_disk_refuses_writes "the write succeeded: $out"
else
	ktap_ok read_only_disk_refuses_writes
	echo "# $(echo "$out" | head -n 1)"
fi

# --- Write cache and flush --------------------------------------------------
q=/sys/block/$mq/queue
ktap_check mq_disk_write_back sh -c "grep -qx 'write back' $q/write_cache"
ktap_check mq_disk_cache_type_write_back sh -c "grep -qx 'write back' /sys/block/$mq/cache_type"
# An fsync after a write reaches the device as a flush (counted in stat).
flushes_after_fsync() { # DISK: prints how many flushes one fsync'ed write made
	local before
	before=$(blk_stat "$1" 16)
	dd if=/dev/urandom of="/dev/$1" bs=64k count=4 seek=8 conv=fsync 2>/dev/null || {
		echo "write+fsync failed"
		return
	}
	echo $(($(blk_stat "$1" 16) - before))
}
n=$(flushes_after_fsync "$mq")
if [ "$n" -gt 0 ] 2>/dev/null; then
	ktap_ok fsync_sends_flush
else
	ktap_fail fsync_sends_flush "flushes after write+fsync: $n"
fi
# cache_type (the C driver's attribute, writable when the device offers
# VIRTIO_BLK_F_CONFIG_WCE): write through turns the device's cache off,
# and the block layer stops sending flushes.
if echo "write through" >"/sys/block/$mq/cache_type" 2>/dev/null &&
	grep -qx 'write through' "/sys/block/$mq/cache_type" && grep -qx 'write through' $q/write_cache; then
	ktap_ok cache_type_write_through
else
	ktap_fail cache_type_write_through "cache_type '$(cat "/sys/block/$mq/cache_type" 2>&1)'," \
		"write_cache '$(cat $q/write_cache)'"
fi
n=$(flushes_after_fsync "$mq")
if [ "$n" = 0 ]; then
	ktap_ok write_through_sends_no_flush
else
	ktap_fail write_through_sends_no_flush "flushes after write+fsync: $n"
fi
echo "write back" >"/sys/block/$mq/cache_type" 2>/dev/null
ktap_check cache_type_write_back_again sh -c "grep -qx 'write back' /sys/block/$mq/cache_type && grep -qx 'write back' $q/write_cache"
# The block layer's own switch (queue/write_cache) works on the disk too.
echo "write through" >$q/write_cache 2>/dev/null
wt=$(cat $q/write_cache)
echo "write back" >$q/write_cache 2>/dev/null
if [ "$wt" = "write through" ] && grep -qx 'write back' $q/write_cache; then
	ktap_ok queue_write_cache_switch
else
	ktap_fail queue_write_cache_switch "after 'write through': '$wt', then '$(cat $q/write_cache)'"
fi

# --- Discard and write-zeroes ----------------------------------------------
dmax=$(cat $q/discard_max_bytes)
wzmax=$(cat $q/write_zeroes_max_bytes)
ktap_check mq_disk_discard_max_bytes_nonzero test "$dmax" -gt 0
ktap_check mq_disk_write_zeroes_max_bytes_nonzero test "$wzmax" -gt 0
zero1=$(blk_zero_sha 1)
# zeroed_by NAME OFFSET_MIB COMMAND...: a range of 1 MiB filled with random
# data reads back as zeroes after COMMAND.
zeroed_by() {
	local name=$1 off=$2 out sha
	shift 2
	if ! blk_fill "/dev/$mq" "$off" 1 || [ "$(blk_sha "/dev/$mq" "$off" 1)" = "$zero1" ]; then
		ktap_fail "$name" "could not fill the range at ${off} MiB"
		return
	fi
	if ! out=$("$@" 2>&1); then
		ktap_fail "$name" "command failed: $*" "$out"
	elif sha=$(blk_sha "/dev/$mq" "$off" 1) && [ "$sha" != "$zero1" ]; then
		ktap_fail "$name" "$* succeeded but the range does not read back as zeroes"
	else
		ktap_ok "$name"
	fi
}
before=$(blk_stat "$mq" 12)
zeroed_by blkdiscard_zeroes_range 4 blkdiscard -o $((4 << 20)) -l $((1 << 20)) "/dev/$mq"
n=$(($(blk_stat "$mq" 12) - before))
if [ "$n" -gt 0 ]; then
	ktap_ok discard_reaches_device
else
	ktap_fail discard_reaches_device "discard I/Os counted in stat: $n"
fi
# BLKZEROOUT (blkdiscard -z): write-zeroes, with fallback to writing zeroes.
zeroed_by blkzeroout_zeroes_range 8 /usr/bin/blkdiscard -f -z -o $((8 << 20)) -l $((1 << 20)) "/dev/$mq"
# fallocate on a block device: --zero-range may fall back to writing zeroes,
# --punch-hole may not (BLKDEV_ZERO_NOFALLBACK), so it needs write-zeroes.
zeroed_by fallocate_zero_range 12 /usr/bin/fallocate -z -o $((12 << 20)) -l $((1 << 20)) "/dev/$mq"
zeroed_by fallocate_punch_hole_uses_write_zeroes 16 \
	/usr/bin/fallocate -p -o $((16 << 20)) -l $((1 << 20)) "/dev/$mq"

# --- Multiqueue -------------------------------------------------------------
# One hardware queue per virtqueue: rvirtio-mq has num-queues=2,
# rvirtio-ro num-queues=1 (QEMU's default is one per vCPU).
ktap_check mq_disk_has_2_hw_queues sh -c "[ \$(ls /sys/block/$mq/mq | wc -l) = 2 ]"
ktap_check single_queue_disk_has_1_hw_queue sh -c "[ \$(ls /sys/block/$ro/mq | wc -l) = 1 ]"
# rvirtio-data has num-queues=64 and the check VM 20 CPUs: one hardware
# queue per CPU, as with C, whose limit is nr_cpu_ids (rvirtio_blk once had
# a table of 16 queue names).
data=$(blk_disk_of_serial rvirtio-data)
cpus=$(($(cut -d- -f2 /sys/devices/system/cpu/possible) + 1))
ktap_check guest_has_more_than_16_cpus sh -c "[ $cpus -gt 16 ]"
ktap_check disk_with_64_queues_has_a_hw_queue_per_cpu sh -c \
	"[ -n '$data' ] && [ \$(ls /sys/block/$data/mq | wc -l) = $((cpus < 64 ? cpus : 64)) ]"

# --- Geometry (HDIO_GETGEO) -------------------------------------------------
# QEMU offers VIRTIO_BLK_F_GEOMETRY; for a blank image it guesses 16 heads
# and 63 sectors per track. busybox fdisk prints the kernel's geometry, or
# 255 heads and 63 sectors when the ioctl fails.
geo() {
	fdisk -l "/dev/$1" 2>/dev/null | grep -o '[0-9]* heads, [0-9]* sectors/track'
}
g=$(geo "$d0")
if [ "$g" = "16 heads, 63 sectors/track" ]; then
	ktap_ok getgeo_reports_device_geometry
else
	ktap_fail getgeo_reports_device_geometry "fdisk -l /dev/$d0: '$g'" "$(fdisk -l "/dev/$d0" 2>&1 | head -n 4)"
fi

# --- Resize by the host -----------------------------------------------------
size0=$(cat "/sys/block/$mq/size")
size_is() {
	[ "$(cat "/sys/block/$mq/size")" = "$1" ]
}
dmesg -c >/dev/null
echo 'RVIRTIO-HOST {"execute": "block_resize", "arguments": {"device": "disk2", "size": 201326592}}'
ktap_check resize_grows_disk blk_wait 40 size_is 393216
ktap_check resize_logs_capacity_change blk_wait 10 sh -c \
	"dmesg | grep -q '$mq: detected capacity change from $size0 to 393216'"
ktap_check resized_disk_end_readable dd if="/dev/$mq" of=/dev/null bs=1M skip=191 count=1 iflag=direct
echo "RVIRTIO-HOST {\"execute\": \"block_resize\", \"arguments\": {\"device\": \"disk2\", \"size\": $((size0 * 512))}}"
ktap_check resize_back blk_wait 40 size_is "$size0"

# --- Limits: the same as the C driver's on the same device ------------------
# Each disk but the hot-plug one is bound to the C virtio_blk, its
# attributes recorded, then bound to the driver under test and compared.
# With rvirtio.blk_driver=virtio_blk this compares the C driver with itself.
c_loaded_before=0
blk_loaded virtio_blk && c_loaded_before=1
ktap_check insmod_c_virtio_blk_alongside blk_load virtio_blk
rebind_snapshot() { # DRIVER VDEV OUT: binds VDEV to DRIVER, records it
	local cur d
	cur=$(blk_driver_of "$2")
	[ -z "$cur" ] || blk_unbind "$cur" "$2" || return 1
	blk_bind "$1" "$2" || return 1
	[ "$(blk_driver_of "$2")" = "$1" ] || return 1
	d=$(blk_disk_of "$2")
	[ -n "$d" ] || return 1
	{
		blk_snapshot "$d"
		echo "geometry=$(geo "$d")"
	} >"$3"
}
# Each module names its disks from an index of its own (the first is vda in
# both), so only the disk being compared is bound while the drivers swap it:
# the others are unbound first and bound back to the driver under test after.
compared=
for s in rvirtio-disk0 rvirtio-ro rvirtio-mq; do
	compared="$compared $s:$(blk_vdev_of_serial "$s")"
done
bound=
for v in $(blk_vdevs); do
	cur=$(blk_driver_of "$v")
	[ -n "$cur" ] && blk_unbind "$cur" "$v" && bound="$bound $v"
done
for sv in $compared; do
	s=${sv%%:*}
	v=${sv#*:}
	name="limits_match_c_$(echo "${s#rvirtio-}" | tr - _)"
	if [ -z "$v" ]; then
		ktap_fail "$name" "no device with serial $s"
	elif ! rebind_snapshot virtio_blk "$v" /tmp/limits.c; then
		ktap_fail "$name" "could not bind $v to virtio_blk"
	elif ! rebind_snapshot "$BLK_DRIVER" "$v" /tmp/limits.t; then
		ktap_fail "$name" "could not bind $v back to $BLK_DRIVER"
	elif diff=$(diff /tmp/limits.c /tmp/limits.t); then
		ktap_ok "$name"
		echo "# $v: $(wc -l </tmp/limits.c) attributes equal"
	else
		ktap_fail "$name" "$v: '-' virtio_blk, '+' $BLK_DRIVER:" "$(echo "$diff" | grep '^[-+][^-+]')"
	fi
	[ -z "$v" ] || [ -z "$(blk_driver_of "$v")" ] || blk_unbind "$(blk_driver_of "$v")" "$v"
done
for v in $bound; do
	blk_bind "$BLK_DRIVER" "$v"
done
ktap_check disks_bound_again_after_comparison sh -c \
	"for v in $bound; do [ \"\$(basename \"\$(readlink /sys/bus/virtio/devices/\$v/driver)\")\" = $BLK_DRIVER ] || exit 1; done"
[ $c_loaded_before = 1 ] || [ "$BLK_DRIVER" = virtio_blk ] || rmmod virtio_blk

# --- Unload -----------------------------------------------------------------
ktap_check rmmod rmmod "$BLK_DRIVER"
ktap_check devices_unbound_after_rmmod sh -c "! ls /sys/bus/virtio/devices/*/block >/dev/null 2>&1"
ktap_end
