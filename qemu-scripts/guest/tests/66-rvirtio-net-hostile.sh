# SPDX-License-Identifier: GPL-2.0
#
# Network devices that lie: a vhost-user NIC served by rvdev (rvdev net,
# qemu-scripts/vdev/src/net.rs), hot-plugged into a spare PCIe root port,
# behind which one peer (10.0.99.1) answers ARP and ICMP echo. First a
# correct device carries pings; then one device per lie breaks the first
# three echo replies it gives the guest (a used length that does not cover
# the header or goes beyond the buffer, num_buffers of 0 or more than the
# device filled, a segmentation or checksum request the frame cannot
# carry) and is correct afterwards: the driver must drop exactly those
# three, count them as dropped and as errors (not as received bytes), and
# receive the three replies that follow. Last, devices that return an id
# beyond a ring, which breaks it: the driver resets the device.
#
# The driver comes from rvirtio.net_driver= (net.sh).
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/net.sh
. /lib/rvirtio/hostile.sh

HOSTILE_ID=hn

GUEST_IP=10.0.99.2
PEER_IP=10.0.99.1
PEER_MAC=52:54:00:77:00:01
PLUG_EXTRA='"mac": "52:54:00:77:00:02"'
# An echo reply of ping's 56-byte payload: Ethernet, IPv4, ICMP.
REPLY_BYTES=98

ktap_begin rvirtio_net_hostile
echo "# driver under test: $NET_DRIVER"
if ! grep -q "^$NET_DRIVER " /proc/modules; then
	out=$(net_load 2>&1) || {
		ktap_fail insmod "$out"
		ktap_end
		exit 0
	}
fi
ktap_ok insmod

# iface_of_vdev: the interface of the plugged device, once it exists.
IFACE=
find_iface() {
	IFACE=$(net_iface "$VDEV")
	[ -n "$IFACE" ]
}

# up NAME: the plugged device's interface comes up with the guest's address
# and a permanent neighbour entry for the peer (so that every frame the
# device gives the guest is an echo reply).
up() {
	ktap_retry 60 find_iface || {
		ktap_fail "${1}_interface" "no interface for $VDEV"
		return 1
	}
	ip addr add $GUEST_IP/24 dev "$IFACE" &&
		ip link set "$IFACE" up &&
		arp -i "$IFACE" -s $PEER_IP $PEER_MAC || {
		ktap_fail "${1}_interface" "setting $IFACE up failed"
		return 1
	}
	ktap_ok "${1}_interface"
	echo "# $1: $IFACE"
}

# pings COUNT: COUNT echo requests to the peer, one at a time; prints how
# many replies came back.
pings() {
	ping -c "$1" -i 0.3 -W 2 $PEER_IP 2>/dev/null |
		sed -n 's/.* \([0-9]*\) packets received.*/\1/p'
}

# counter NAME: a statistics counter of the plugged device's interface.
counter() {
	cat "/sys/class/net/$IFACE/statistics/$1"
}

# --- A correct device ---------------------------------------------------------
if plug net peer; then
	if up peer; then
		ktap_check peer_bound_to_driver_under_test sh -c \
			"[ \$(basename \$(readlink /sys/bus/virtio/devices/$VDEV/driver)) = $NET_DRIVER ]"
		got=$(pings 3)
		ktap_check peer_answers [ "$got" = 3 ]
	fi
	unplug
fi

# good_frames_counted RX0 BYTES0: since the counters read RX0 packets and
# BYTES0 bytes, the interface received 3 frames of REPLY_BYTES (the frames
# dropped are not counted as received).
good_frames_counted() {
	local rx=$(($(counter rx_packets) - $1)) bytes=$(($(counter rx_bytes) - $2))
	[ $rx = 3 ] && [ $bytes = $((3 * REPLY_BYTES)) ] || {
		echo "$rx frames, $bytes bytes received since the lie (3, $((3 * REPLY_BYTES)) expected)"
		return 1
	}
}

# lie NAME RVDEV_LIE: the device breaks the first 3 replies, then no more.
lie() {
	local name=$1 rx0 b0 d0 e0 got
	plug net "$name" --lie "$2" --after 0 --count 3 || return
	up "$name" || {
		unplug
		return
	}
	rx0=$(counter rx_packets) b0=$(counter rx_bytes)
	d0=$(counter rx_dropped)
	e0=$(($(counter rx_errors) + $(counter rx_length_errors) + $(counter rx_frame_errors)))
	got=$(pings 6)
	ktap_check "${name}_later_replies_received" [ "$got" = 3 ]
	ktap_check "${name}_bad_frames_dropped" sh -c \
		"[ \$((\$(cat /sys/class/net/$IFACE/statistics/rx_dropped) - $d0)) -ge 3 ]"
	ktap_check "${name}_bad_frames_counted_as_errors" sh -c "[ \$((\
		\$(cat /sys/class/net/$IFACE/statistics/rx_errors) + \
		\$(cat /sys/class/net/$IFACE/statistics/rx_length_errors) + \
		\$(cat /sys/class/net/$IFACE/statistics/rx_frame_errors) - $e0)) -ge 3 ]"
	ktap_check "${name}_only_good_frames_counted" good_frames_counted "$rx0" "$b0"
	unplug
}

lie len_short len-short
lie len_beyond len-beyond
lie num_buffers_zero num-buffers-zero
lie num_buffers_many num-buffers-many
lie gso_not_negotiated gso-not-negotiated
lie csum_beyond csum-beyond

# breaks NAME RVDEV_LIE: the device returns an id beyond the ring (of a
# receive buffer, or a transmit completion for a frame never sent): the
# virtio core marks the ring broken, the driver resets the device (logged),
# pings end without replies rather than hang, and unplug completes.
breaks() {
	plug net "$1" --lie "$2" --after 0 --count 1 || return
	if up "$1"; then
		pings 2 >/dev/null
		ktap_check "${1}_device_failed" ktap_retry 40 logged "device failed"
		ktap_check "${1}_pings_end" ends_within 20 ping -c 2 -W 1 $PEER_IP
	fi
	unplug
}

breaks rx_id_out_of_range id-out-of-range
breaks tx_id_out_of_range tx-id-out-of-range

ktap_check no_splat sh -c "! dmesg | grep -E 'BUG|WARNING|Oops|KASAN|refcount_t|hung_task'"
ktap_end
