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
	ip link set "$i" up
	if [ "$(cat /sys/class/net/$i/address)" = 52:54:00:99:00:02 ]; then
		# nic1: the tap device in the VM's network namespace on the host,
		# with the host's peer on 10.99.0.1 (qemu-scripts/netns.sh).
		echo "--- $i (rvirtio_net, tap): offloads, 8 MiB each way to the host, checked ---"
		ip addr add 10.99.0.2/24 dev "$i"
		sleep 1
		ip link show "$i"
		ethtool -i "$i"
		ethtool -k "$i" | grep -E '^(tx-checksumming|scatter-gather|tcp-segmentation-offload|rx-checksumming|rx-gro-hw|generic-receive-offload):'
		rvnet send 10.99.0.1 8388608
		rvnet recv 10.99.0.1 8388608
	else
		echo "--- $i (rvirtio_net, user network): 3 pings to QEMU's gateway ---"
		ip addr add 10.0.2.15/24 dev "$i"
		sleep 1
		ip link show "$i"
		ethtool "$i" | grep "Link detected"
		ping -c 3 -W 5 10.0.2.2
	fi
	echo "packets received $(cat /sys/class/net/$i/statistics/rx_packets), sent $(cat /sys/class/net/$i/statistics/tx_packets)"
done
