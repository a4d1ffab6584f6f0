# SPDX-License-Identifier: GPL-2.0
#
# `make run`: insert the project's modules and show what they did.

echo "--- virtio devices (before) ---"
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "$(basename "$d"): device $(cat "$d/device") vendor $(cat "$d/vendor") driver ${drv:-none}"
done

for ko in /lib/modules/rvirtio/*.ko /lib/modules/rvirtio/kunit/*.ko; do
	[ -e "$ko" ] || continue
	echo "--- insmod $(basename "$ko") ---"
	insmod "$ko" && echo "insmod: ok" || echo "insmod: failed ($?)"
done

echo "--- virtio devices (after) ---"
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	drv=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null)
	echo "$(basename "$d"): device $(cat "$d/device") driver ${drv:-none}"
done
if [ -e /sys/class/misc/hw_random/rng_current ]; then
	echo "--- hw_random: $(cat /sys/class/misc/hw_random/rng_current); 16 bytes from /dev/hwrng ---"
	dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1
fi
echo "--- lsmod ---"
cat /proc/modules
echo "--- block devices ---"
cat /proc/partitions
echo "--- network interfaces ---"
ls /sys/class/net
