# SPDX-License-Identifier: GPL-2.0
#
# Back-pressure and memory pressure: no request may be lost, failed or
# hung when the ring is full or an allocation fails.
#
# - The driver is loaded with a queue depth four times the ring size
#   (queue_depth=1024 for 256 descriptors), and fio keeps 1024 writes in
#   flight: the ring fills, the driver stops the hardware queue, completions
#   restart it. fio verifies every block (crc32c).
# - Atomic allocations made from the driver's code (the scatterlist chain of
#   requests with more than two segments, the ranges of a discard) fail at
#   random while fio and blkdiscard run: the block layer retries them
#   (BLK_STS_RESOURCE), and the data must still verify.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk.sh

dfs=/sys/kernel/debug
fs=$dfs/failslab

fio_verify() { # DEV NAME FIO-ARGS...
	local dev=$1 name=$2
	shift 2
	fio --name="$name" --filename="/dev/$dev" --direct=1 --ioengine=io_uring \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --group_reporting \
		--output=/tmp/fio-$name.log "$@" || {
		tail -n 20 /tmp/fio-$name.log
		return 1
	}
	grep -q "err= 0" /tmp/fio-$name.log
}

ktap_begin rvirtio_blk_pressure
ktap_check insmod_queue_depth_1024 insmod "$BLK_MODULE" queue_depth=1024
dev=$(blk_dev_by_serial rvirtio-mq) || dev=
ktap_check disk_found [ -n "$dev" ]
ktap_check depth_beyond_ring sh -c "[ \$(cat /sys/block/$dev/queue/nr_requests) -ge 512 ]"
ktap_check full_ring_loses_nothing fio_verify "$dev" full --rw=randwrite --bs=4k \
	--iodepth=512 --numjobs=2 --size=4M --offset_increment=8M

# Atomic allocations from the module's code fail half the time, 200 times.
start=$(cat /sys/module/$BLK_DRIVER/sections/.text)
echo "$start" >$fs/require-start
echo 0xffffffffff000000 >$fs/require-end
echo 16 >$fs/stacktrace-depth
echo Y >$fs/ignore-gfp-wait
echo 50 >$fs/probability
echo 1 >$fs/interval
echo 200 >$fs/times
echo 1 >$fs/verbose
echo N >$fs/task-filter
dmesg -c >/dev/null
ktap_check failing_allocations_lose_nothing fio_verify "$dev" nomem --rw=randwrite \
	--bssplit=64k/40:128k/30:256k/30 --iodepth=32 --numjobs=2 --size=8M --offset=64M --offset_increment=16M
ktap_check discard_with_failing_allocations sh -c "blkdiscard -o 33554432 -l 8388608 /dev/$dev"
injected=$(dmesg | grep -c "FAULT_INJECTION: forcing a failure")
echo 0 >$fs/probability
echo 0 >$fs/times
echo 0 >$fs/verbose
echo 0 >$fs/require-start
echo 0xffffffffffffffff >$fs/require-end
echo "# $injected allocations failed"
ktap_check allocations_were_failed [ "$injected" -gt 0 ]
# What the full ring wrote is still there, read back after the pressure.
ktap_check full_ring_data_reads_back fio_verify "$dev" full --rw=randwrite --bs=4k \
	--iodepth=16 --numjobs=2 --size=4M --offset_increment=8M --verify_only
ktap_check rmmod rmmod "$BLK_DRIVER"
ktap_end
