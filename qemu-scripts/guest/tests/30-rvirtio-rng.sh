# SPDX-License-Identifier: GPL-2.0
#
# The virtio-rng sample driver on QEMU's virtio-rng-pci, which the runner
# rate-limits (256 bytes per 2 s) so that a reader can be made to block.
. /lib/rvirtio/ktap.sh

ko=/lib/modules/rvirtio/rvirtio_rng.ko
drv=/sys/bus/virtio/drivers/rvirtio_rng

bound_to() { # DRIVER
	[ "$(basename "$(readlink "/sys/bus/virtio/devices/$dev/driver" 2>/dev/null)")" = "$1" ]
}

read16() {
	dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n'
}

ktap_begin rvirtio_rng
dev=$(virtio_dev 0x0004)
ktap_check insmod insmod "$ko"
ktap_check binds_to_virtio_rng_device bound_to rvirtio_rng
ktap_check is_current_hwrng grep -qx rvirtio_rng /sys/class/misc/hw_random/rng_current

a=$(read16)
b=$(read16)
if [ ${#a} -eq 32 ]; then
	ktap_ok read_returns_bytes
else
	ktap_fail read_returns_bytes "read 16 bytes from /dev/hwrng, got '$a'"
fi
if [ ${#a} -eq 32 ] && [ "$a" != "$b" ]; then
	ktap_ok two_reads_differ
else
	ktap_fail two_reads_differ "first '$a', second '$b'"
fi

ktap_check sysfs_unbind sh -c "echo $dev > $drv/unbind"
ktap_check unbound_device_has_no_driver sh -c '! bound_to rvirtio_rng'
ktap_check hwrng_gone_after_unbind sh -c '! grep -qx rvirtio_rng /sys/class/misc/hw_random/rng_current'
ktap_check sysfs_bind sh -c "echo $dev > $drv/bind"
ktap_check rebound bound_to rvirtio_rng
c=$(read16)
if [ ${#c} -eq 32 ]; then
	ktap_ok read_after_rebind
else
	ktap_fail read_after_rebind "got '$c'"
fi

# A reader that needs far more than the device's rate limit blocks; the
# module must unload under it and the reader must return.
dd if=/dev/hwrng of=/dev/null bs=4096 count=1 2>/tmp/dd.err &
reader=$!
sleep 1
if kill -0 $reader 2>/dev/null; then
	ktap_ok reader_blocks_on_rate_limited_device
else
	ktap_fail reader_blocks_on_rate_limited_device "reader ended early: $(cat /tmp/dd.err)"
fi
ktap_check rmmod_with_blocked_reader rmmod rvirtio_rng
gone=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	kill -0 $reader 2>/dev/null || { gone=1; break; }
	sleep 1
done
# The reader ends with an error, or with a short read if some bytes had been
# copied before the device went away (the hw_random core returns those).
status=0
wait $reader || status=$?
if [ $gone = 1 ] && { [ $status -ne 0 ] || grep -q '^0+1 records in' /tmp/dd.err; }; then
	ktap_ok blocked_reader_returns_early
else
	kill $reader 2>/dev/null
	ktap_fail blocked_reader_returns_early "reader still running or read everything: $(cat /tmp/dd.err)"
fi
ktap_check device_unbound_after_rmmod sh -c '! bound_to rvirtio_rng'

# Hot-unplug (QMP device_del) while a reader is blocked: the driver's remove
# runs from the PCI hotplug path; the reader must return, the device vanish.
ktap_check insmod_again insmod "$ko"
dd if=/dev/hwrng of=/dev/null bs=4096 count=1 2>/tmp/dd2.err &
reader=$!
sleep 1
echo 'RVIRTIO-HOST {"execute": "device_del", "arguments": {"id": "rngdev0"}}'
gone=0
for _ in $(seq 40); do
	[ -e "/sys/bus/virtio/devices/$dev" ] || { gone=1; break; }
	sleep 0.5
done
if [ $gone = 1 ]; then
	ktap_ok device_removed_by_hot_unplug
else
	ktap_fail device_removed_by_hot_unplug "/sys/bus/virtio/devices/$dev still there after 20 s"
fi
ended=0
for _ in $(seq 20); do
	kill -0 $reader 2>/dev/null || { ended=1; break; }
	sleep 0.5
done
if [ $ended = 1 ]; then
	ktap_ok reader_returns_after_hot_unplug
else
	kill $reader 2>/dev/null
	ktap_fail reader_returns_after_hot_unplug "reader still blocked: $(cat /tmp/dd2.err)"
fi
ktap_check rmmod_after_hot_unplug rmmod rvirtio_rng
ktap_end
