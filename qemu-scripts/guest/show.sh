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
for d in /sys/bus/virtio/drivers/rvirtio_net/virtio*; do
	[ -d "$d/net" ] || continue
	i=$(ls "$d/net" | head -1)
	echo "--- $i (rvirtio_net): up, ethtool, 3 pings to QEMU's user-network gateway ---"
	ip link set "$i" up && ip addr add 10.0.2.15/24 dev "$i"
	sleep 1
	ip link show "$i"
	echo "packets received $(cat /sys/class/net/$i/statistics/rx_packets), sent $(cat /sys/class/net/$i/statistics/tx_packets)"
	ethtool -i "$i"
	ethtool "$i" | grep "Link detected"
	ping -c 3 -W 5 10.0.2.2
done
