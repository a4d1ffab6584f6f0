# SPDX-License-Identifier: GPL-2.0
#
# Devices that lie (rvdev, qemu-scripts/vdev), hot-plugged one after the
# other into the VM's two spare PCIe root ports: each breaks one promise of
# the virtio specification, in its used ring, in its configuration space or
# by going away, and the driver must neither crash, hang nor report as done
# what the device did not do. Lies on reads and writes start at sector 4096
# (rvdev --from-sector), so that the driver's own reads while it probes are
# served correctly; a request timeout of 2 s stands for the default 30 s
# except where the lie starts during probe.
#
# C's virtio_blk has no timeout handler: under it, the lies that leave a
# request in flight for ever are skipped (the request, and whatever waits
# for it, would never end). Documentation/testing.rst compares the two.
#
# The driver comes from rvirtio.blk_driver= (blk.sh).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk-features.sh
. /lib/rvirtio/hostile.sh

HOSTILE_ID=hb

TRAP=4096

ktap_begin rvirtio_blk_hostile
echo "# driver under test: $BLK_DRIVER ($BLK_KO)"
out=$(blk_load 2>&1) || blk_bail insmod "$out"
ktap_ok insmod

# wait_disk: the plugged device's disk appears.
wait_disk() {
	if blk_wait 60 new_entry /sys/block "$DISKS" >/dev/null; then
		DISK=$(new_entry /sys/block "$DISKS")
		echo "# $NAME: $DISK"
		ktap_ok "${NAME}_plugged"
		return 0
	fi
	ktap_fail "${NAME}_plugged" "no disk 30 s after the plug request"
	return 1
}


# no_new_disk: the plugged device has no disk.
no_new_disk() {
	! new_entry /sys/block "$DISKS" >/dev/null
}

# reads_pattern BS SKIP COUNT: COUNT blocks of BS bytes from block SKIP
# (direct) hold the device's initial data.
reads_pattern() {
	dd if="/dev/$DISK" of=/tmp/hostile.got bs="$1" skip="$2" count="$3" iflag=direct \
		2>/dev/null &&
		blk_pattern 72766230 $(($1 * $2 / 512)) $(($1 * $3 / 512)) | cmp - /tmp/hostile.got
}

# unbound: the plugged device has no driver.
unbound() {
	[ ! -e "/sys/bus/virtio/devices/$VDEV/driver" ]
}

# read_at SECTOR [COUNT]: reads COUNT (1) 4-KiB blocks at SECTOR, direct.
read_at() {
	dd if="/dev/$DISK" of=/tmp/hostile.got bs=4096 skip=$(($1 / 8)) count="${2:-1}" \
		iflag=direct 2>&1
}

# fails_with_eio COMMAND...: COMMAND fails with "Input/output error".
fails_with_eio() {
	local out
	if out=$("$@" 2>&1); then
		echo "succeeded, but the device did not do what it said: $out"
		return 1
	fi
	echo "$out" | grep -q "Input/output error" || { echo "not EIO: $out"; return 1; }
}

# matches_pattern SECTOR COUNT: /tmp/hostile.got holds the device's initial
# data (blk-pattern.py's host pattern) for COUNT sectors from SECTOR.
matches_pattern() {
	blk_pattern 72766230 "$1" "$2" | cmp - /tmp/hostile.got
}

# read_ok SECTOR: a read at SECTOR returns the device's data.
read_ok() {
	read_at "$1" && matches_pattern "$1" 8
}

# last_rc_eio: the background command failed with EIO.
last_rc_eio() {
	[ "$(cat /tmp/hostile.rc)" != 0 ] && grep -q "Input/output error" /tmp/hostile.out || {
		echo "status $(cat /tmp/hostile.rc): $(cat /tmp/hostile.out)"
		return 1
	}
}

# last_rc_offline: the background command failed as on a device that is
# offline (ENODEV, BLK_STS_OFFLINE): the driver failed the device.
last_rc_offline() {
	[ "$(cat /tmp/hostile.rc)" != 0 ] && grep -q "No such device" /tmp/hostile.out || {
		echo "status $(cat /tmp/hostile.rc): $(cat /tmp/hostile.out)"
		return 1
	}
}

short_timeout() {
	echo 2000 >"/sys/block/$DISK/queue/io_timeout"
}

in_c() {
	[ "$BLK_DRIVER" = virtio_blk ]
}

NO_TIMEOUT="C virtio_blk has no timeout handler: the request never ends"

# --- Used lengths -------------------------------------------------------------
# A read whose used length is 0: the device does not say it wrote the data.
if plug blk used_len_zero --lie used-len-zero --from-sector $TRAP && wait_disk; then
	if in_c; then
		ktap_skip io_timeout_30s "C virtio_blk has no timeout handler (no io_timeout)"
	else
		ktap_check io_timeout_30s sh -c "[ \$(cat /sys/block/$DISK/queue/io_timeout) = 30000 ]"
	fi
	ktap_check used_len_zero_read_fails fails_with_eio read_at $TRAP
	ktap_check used_len_zero_second_read_fails fails_with_eio read_at $((TRAP + 8))
	ktap_check used_len_zero_logged_once logged_once "bytes written for 4096 bytes of data"
	# A write has no data to cover: its status decides.
	ktap_check used_len_zero_write_succeeds sh -c \
		"dd if=/dev/zero of=/dev/$DISK bs=4096 seek=$((TRAP / 8 + 4)) count=1 oflag=direct"
	ktap_check used_len_zero_reads_before_lie read_ok 0
	unplug
fi

# A read that fills half of the buffer and says so (used length).
if plug blk partial_read --lie partial-read --from-sector $TRAP && wait_disk; then
	ktap_check partial_read_fails fails_with_eio read_at $TRAP 2
	ktap_check partial_read_reads_before_lie read_ok 8
	unplug
fi

# Used lengths beyond what the driver lent: the device cannot have written
# them (C ignores the length and reports the read).
for lie in used-len-max used-len-beyond; do
	name=$(echo $lie | tr - _)
	if plug blk $name --lie $lie --from-sector $TRAP && wait_disk; then
		ktap_check ${name}_read_fails fails_with_eio read_at $TRAP
		ktap_check ${name}_reads_before_lie read_ok 0
		unplug
	fi
done

# Lies mixed at random (rvdev --lie random: a third of the requests get one
# of the lies above, from a fixed seed): every read of 128 blocks either
# fails or returns the device's data; some of each.
random_reads() {
	local i good=0 failed=0 wrong=0
	for i in $(seq 0 127); do
		if read_at $((TRAP + i * 8)) >/dev/null 2>&1; then
			if matches_pattern $((TRAP + i * 8)) 8 >/dev/null 2>&1; then
				good=$((good + 1))
			else
				wrong=$((wrong + 1))
			fi
		else
			failed=$((failed + 1))
		fi
	done
	echo "# $good reads right, $failed failed, $wrong returned wrong data"
	RANDOM_RESULT="$good $failed $wrong"
}
if in_c; then
	ktap_skip random_lies "C reports reads that the device says it did not fill"
elif plug blk random_lies --lie random --seed 7 --rate 33 --from-sector $TRAP && wait_disk; then
	random_reads
	set -- $RANDOM_RESULT
	ktap_check random_lies_no_wrong_data [ "$3" = 0 ]
	ktap_check random_lies_some_reads_failed [ "$2" -gt 0 ]
	ktap_check random_lies_some_reads_right [ "$1" -gt 0 ]
	ktap_check random_lies_reads_before_lie read_ok 0
	unplug
fi

# Every status byte garbage (also during probe).
if plug blk status_garbage --lie status-garbage && wait_disk; then
	ktap_check status_garbage_read_fails fails_with_eio read_at 0
	ktap_check status_garbage_write_fails sh -c \
		"! dd if=/dev/zero of=/dev/$DISK bs=4096 count=1 oflag=direct 2>/dev/null"
	unplug
fi

# --- Devices that stop answering ------------------------------------------------
# hangs NAME: the steady-state check of a device that stops answering from
# sector $TRAP on: a read there ends with EIO within 30 s (2 s timeout),
# the device is reset, later requests fail at once (the device is offline),
# unplug completes.
hangs() {
	short_timeout
	ktap_check "${1}_read_ends" ends_within 30 read_at $TRAP
	ktap_check "${1}_read_fails_with_eio" last_rc_eio
	ktap_check "${1}_device_reset" logged "timed out: device reset"
	ktap_check "${1}_next_read_ends_at_once" ends_within 5 read_at 0
	ktap_check "${1}_next_read_finds_device_offline" last_rc_offline
}

# stops NAME RING_MESSAGE: the device's used ring breaks (the ring reports
# RING_MESSAGE and stops) at the read at $TRAP: that read and the next end
# within 30 s, and the next fails (the ring refuses new requests with EIO;
# a request that was in flight when it broke times out, and the device is
# reset: offline).
stops() {
	short_timeout
	ktap_check "${1}_read_ends" ends_within 30 read_at $TRAP
	ktap_check "${1}_next_read_ends" ends_within 30 read_at $((TRAP + 8))
	ktap_check "${1}_next_read_fails" sh -c "[ \$(cat /tmp/hostile.rc) != 0 ]"
	ktap_check "${1}_ring_broken" logged "$2"
}

if in_c; then
	ktap_skip used_id_out_of_range "$NO_TIMEOUT"
	ktap_skip used_id_repeated "$NO_TIMEOUT"
	ktap_skip used_idx_jump "$NO_TIMEOUT"
	ktap_skip never_complete "$NO_TIMEOUT"
	ktap_skip unplug_while_stuck "$NO_TIMEOUT (nor does the unplug)"
	ktap_skip backend_dies "$NO_TIMEOUT"
	ktap_skip bus_master_off "$NO_TIMEOUT"
	ktap_skip never_complete_in_probe "$NO_TIMEOUT (probe never returns)"
else
	if plug blk used_id_out_of_range --lie used-id-out-of-range --from-sector $TRAP &&
		wait_disk; then
		stops used_id_out_of_range "id [0-9]+ out of range"
		# The read was in flight when the ring broke.
		ktap_check used_id_out_of_range_device_reset logged "timed out: device reset"
		unplug
	fi
	if plug blk used_id_repeated --lie used-id-repeated --from-sector $TRAP && wait_disk; then
		stops used_id_repeated "id [0-9]+ is not a head"
		unplug
	fi
	if plug blk used_idx_jump --lie used-idx-jump --from-sector $TRAP && wait_disk; then
		stops used_idx_jump "is not a head|out of range"
		unplug
	fi

	if plug blk never_complete --lie never-complete --from-sector $TRAP && wait_disk; then
		hangs never_complete
		unplug
	fi

	# Unplugged while a request waits on a device that will never answer:
	# removal deletes the disk, which waits for the request; the timeout
	# resets the device and ends it, then removal completes.
	if plug blk unplug_while_stuck --lie never-complete --from-sector $TRAP && wait_disk; then
		echo 4000 >"/sys/block/$DISK/queue/io_timeout"
		rm -f /tmp/hostile.rc
		( read_at $TRAP >/tmp/hostile.out 2>&1; echo $? >/tmp/hostile.rc ) &
		sleep 1
		unplug
		ktap_check unplug_while_stuck_read_ended ktap_retry 20 test -e /tmp/hostile.rc
		ktap_check unplug_while_stuck_read_failed sh -c "[ \$(cat /tmp/hostile.rc) != 0 ]"
		wait
	fi

	if plug blk backend_dies --lie dies --from-sector $TRAP && wait_disk; then
		hangs backend_dies
		unplug
	fi

	# A correct device whose PCI bus mastering is switched off: QEMU drops
	# DRIVER_OK and serves nothing more.
	if plug blk bus_master_off && wait_disk; then
		short_timeout
		bdf=$(basename "$(readlink -f "/sys/bus/virtio/devices/$VDEV/..")")
		cmd=$(dd if="/sys/bus/pci/devices/$bdf/config" bs=1 skip=4 count=1 2>/dev/null |
			od -An -tu1 | tr -d ' ')
		printf "\\$(printf %o $((cmd & ~4)))" |
			dd of="/sys/bus/pci/devices/$bdf/config" bs=1 seek=4 count=1 conv=notrunc 2>/dev/null
		ktap_check bus_master_off_read_ends ends_within 30 read_at $TRAP
		ktap_check bus_master_off_read_fails_with_eio last_rc_eio
		ktap_check bus_master_off_device_reset logged "timed out: device reset"
		unplug
	fi

	# Nothing is ever answered, from the first request of probe on: the
	# partition read times out (default 30 s), the device is reset and the
	# probe gives up.
	if plug blk never_complete_in_probe --lie never-complete; then
		ktap_check never_complete_in_probe_gives_up blk_wait 120 logged "device failed during probe"
		ktap_check never_complete_in_probe_unbound blk_wait 20 unbound
		ktap_check never_complete_in_probe_no_disk no_new_disk
		unplug
	fi
fi

# --- Configuration space ------------------------------------------------------
# refused NAME PATTERN ARGS...: a device whose configuration has a value
# the driver cannot use: probe fails with a message matching PATTERN.
refused() {
	local name=$1 pattern=$2
	shift 2
	plug blk "$name" "$@" || return
	ktap_check "${name}_refused" blk_wait 60 logged "$pattern"
	ktap_check "${name}_unbound" blk_wait 20 unbound
	unplug
}

refused capacity_max "capacity of 18446744073709551615 sectors out of range" \
	--config capacity=18446744073709551615
refused blk_size_0 "invalid block size 0" --config blk_size=0
refused blk_size_1000 "invalid block size 1000" --config blk_size=1000
refused blk_size_128k "invalid block size 131072" --config blk_size=131072
refused size_max_512 "segment size limit 512 below" --config size_max=512
refused physical_block_exp_31 "physical block exponent out of range" \
	--config physical_block_exp=31
refused opt_io_size_overflow "optimal I/O size out of range" \
	--config opt_io_size=4294967295
refused discard_alignment_overflow "discard alignment 4294967295 out of range" \
	--config discard_sector_alignment=4294967295

# A disk of no sectors is useless but harmless: it reads nothing.
if plug blk capacity_0 --config capacity=0 && wait_disk; then
	ktap_check capacity_0_size_0 sh -c "[ \$(cat /sys/block/$DISK/size) = 0 ]"
	ktap_check capacity_0_reads_nothing sh -c \
		"[ \$(dd if=/dev/$DISK bs=4096 count=1 iflag=direct 2>/dev/null | wc -c) = 0 ]"
	unplug
fi

# 1001 sectors of 4-KiB blocks: the last, partial block is left out.
if plug blk capacity_partial_block --config capacity=1001 --config blk_size=4096 && wait_disk; then
	ktap_check capacity_partial_block_rounded_down sh -c \
		"[ \$(cat /sys/block/$DISK/size) = 1000 ]"
	ktap_check capacity_partial_block_logged logged "not a whole number of 4096-byte blocks"
	ktap_check capacity_partial_block_last_block_reads read_ok 992
	unplug
fi

# Limits of 0 where 0 means "use the default" (seg_max 0: one segment;
# size_max 0: the block layer's default): the data still reads back right
# through many small segments. Then 4-KiB logical blocks.
if plug blk zero_limits --config seg_max=0 --config size_max=0 \
	--config max_discard_sectors=0 --config max_write_zeroes_sectors=0 && wait_disk; then
	ktap_check zero_limits_one_segment sh -c "[ \$(cat /sys/block/$DISK/queue/max_segments) = 1 ]"
	ktap_check zero_limits_large_read reads_pattern 65536 1 1
	ktap_check zero_limits_discard sh -c "blkdiscard -o 1048576 -l 65536 /dev/$DISK"
	unplug
fi
if plug blk blk_size_4k --config blk_size=4096 && wait_disk; then
	ktap_check blk_size_4k_logical_block sh -c \
		"[ \$(cat /sys/block/$DISK/queue/logical_block_size) = 4096 ]"
	ktap_check blk_size_4k_reads reads_pattern 4096 3 2
	unplug
fi

ktap_check rmmod rmmod "$BLK_DRIVER"
ktap_check no_splat sh -c "! dmesg | grep -E 'BUG|WARNING|Oops|KASAN|refcount_t|hung_task'"
ktap_end
