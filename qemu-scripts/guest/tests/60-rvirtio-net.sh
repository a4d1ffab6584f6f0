# SPDX-License-Identifier: GPL-2.0
#
# rvirtio_net on the VM's first virtio-net device (nic0, QEMU's user
# network: the gateway 10.0.2.2 answers ARP and ICMP echo): the interface
# appears with the device's address and MTU limits, carries traffic both
# ways, follows the link (QMP set_link), and goes away with its driver, under
# traffic too; a second binding works as the first. Every packet the device
# sent back is counted in the interface's statistics.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/net.sh

host() {
	echo "RVIRTIO-HOST $1"
}

dev=$(net_dev 1)

iface() {
	net_iface "$dev"
}

# up IFACE: up, with the address QEMU's user network gives the guest.
up() {
	ip link set "$1" up && ip addr add 10.0.2.15/24 dev "$1" 2>/dev/null
	wait_carrier "$1" 1
}

ktap_begin rvirtio_net
ktap_check insmod net_load
ktap_check binds_to_virtio_net sh -c \
	"[ \"\$(basename \"\$(readlink /sys/bus/virtio/devices/$dev/driver)\")\" = $NET_DRIVER ]"
i=$(iface)
ktap_check interface_created [ -n "$i" ]
i=${i:-eth0}
ktap_check ethernet_name sh -c "echo $i | grep -q '^eth[0-9]*$'"
# QEMU's first NIC has 52:54:00:12:34:56 unless told otherwise.
ktap_check address_from_device [ "$(cat /sys/class/net/$i/address)" = 52:54:00:12:34:56 ]
ktap_check mtu_1500 [ "$(cat /sys/class/net/$i/mtu)" = 1500 ]
ktap_check mtu_above_max_refused sh -c "! ip link set $i mtu 65536 2>/dev/null"
ktap_check mtu_below_min_refused sh -c "! ip link set $i mtu 67 2>/dev/null"
ktap_check mtu_change ip link set "$i" mtu 1400
ip link set "$i" mtu 1500
# ethtool, as virtio_net answers: the driver's name and version and the
# transport's name of the device (the PCI address, the virtio device's
# parent in sysfs), the ring sizes (QEMU's default 256, current and largest),
# one combined channel, and the link.
pci=$(basename "$(dirname "$(readlink -f /sys/bus/virtio/devices/$dev)")")
ktap_check ethtool_driver sh -c "ethtool -i $i | grep -qx 'driver: $NET_DRIVER'"
ktap_check ethtool_version sh -c "ethtool -i $i | grep -qx 'version: 1.0.0'"
ktap_check ethtool_bus_info sh -c "ethtool -i $i | grep -qx 'bus-info: $pci'"
ktap_check ethtool_rings sh -c "[ \$(ethtool -g $i | grep -Ec '^(RX|TX):[[:space:]]+256$') = 4 ]"
ktap_check ethtool_channels sh -c "[ \$(ethtool -l $i | grep -Ec '^Combined:[[:space:]]+1$') = 2 ]"
ktap_check link_up up "$i"
ktap_check ethtool_link_detected sh -c "ethtool $i | grep -q 'Link detected: yes'"
ktap_check operstate_up wait_operstate "$i" up

rx0=$(stat "$i" rx_packets)
tx0=$(stat "$i" tx_packets)
ktap_check ping_gateway ping -c 3 -W 5 10.0.2.2
ktap_check ping_gateway_large ping -c 3 -W 5 -s 1400 10.0.2.2
ktap_check ping_burst ping -c 50 -i 0.01 -W 5 -q 10.0.2.2
# With mergeable receive buffers (QEMU's default) the MTU may exceed a page.
# QEMU's user network takes no frame above 1500 bytes, so large datagrams
# are fragmented both ways.
ktap_check mtu_jumbo ip link set "$i" mtu 9000
ip link set "$i" mtu 1500
ktap_check ping_gateway_fragmented ping -c 3 -W 5 -s 8000 10.0.2.2
ktap_check rx_counted sh -c "[ $(stat "$i" rx_packets) -ge \$(($rx0 + 59)) ]"
ktap_check tx_counted sh -c "[ $(stat "$i" tx_packets) -ge \$(($tx0 + 59)) ]"
ktap_check rx_bytes_counted [ "$(stat "$i" rx_bytes)" -gt 0 ]
ktap_check no_drops [ "$(stat "$i" rx_dropped)" = 0 ]
# Per-queue counters, named as virtio_net names them (rx0_*, tx0_*), seen by
# ethtool; no receive drop.
ktap_check ethtool_queue_stats sh -c "ethtool -S $i | grep -Eq '^ +rx0_drops: 0$' &&
	ethtool -S $i | grep -Eq '^ +tx0_[a-z_]+: [0-9]+$'"

host '{"execute": "set_link", "arguments": {"name": "nic0", "up": false}}'
ktap_check link_down_follows wait_carrier "$i" 0
ktap_check operstate_down wait_operstate "$i" down
host '{"execute": "set_link", "arguments": {"name": "nic0", "up": true}}'
ktap_check link_up_follows wait_carrier "$i" 1
ktap_check ping_after_link_flap ping -c 2 -W 5 10.0.2.2

ktap_check down_and_up sh -c "ip link set $i down && ip link set $i up"
ip addr add 10.0.2.15/24 dev "$i" 2>/dev/null
ktap_check ping_after_down_up sh -c "sleep 1; ping -c 2 -W 5 10.0.2.2"

# Removal while the interface is up.
ktap_check rmmod_while_up rmmod "$NET_DRIVER"
ktap_check interface_gone [ -z "$(iface)" ]
ktap_check device_unbound sh -c "[ ! -e /sys/bus/virtio/devices/$dev/driver ]"

# Bound again, then unbound under traffic.
ktap_check insmod_again net_load
i=$(iface)
i=${i:-eth0}
ktap_check link_up_again up "$i"
ktap_check ping_again ping -c 2 -W 5 10.0.2.2
ping -i 0.01 -s 1000 -c 500 10.0.2.2 >/dev/null 2>&1 &
pid=$!
sleep 1
ktap_check unbind_under_traffic sh -c "echo $dev > /sys/bus/virtio/drivers/$NET_DRIVER/unbind"
wait $pid 2>/dev/null
ktap_check interface_gone_after_unbind [ -z "$(iface)" ]
ktap_check rmmod_after_unbind rmmod "$NET_DRIVER"
# The same device under the C driver and under rvirtio_net, one after the
# other in this boot: what userspace sees must be the same, the driver's
# name apart, and apart from what rvirtio_net does not have yet, each line
# of KNOWN_DIFFERENCES: VLAN filtering (it needs the control queue).
KNOWN_DIFFERENCES='^(rx-vlan-filter):'
if [ "$NET_DRIVER" = rvirtio_net ]; then
	c_surfaces() {
		NET_DRIVER=virtio_net net_load || return 1
		sleep 1
		surfaces "$(iface)" >/tmp/net-c.txt
		rmmod virtio_net
	}
	ktap_check c_driver_surfaces c_surfaces
	ktap_check insmod_after_c net_load
	sleep 1
	surfaces "$(iface)" >/tmp/net-rust.txt
	ktap_check same_surfaces_as_c diff -u /tmp/net-c.txt /tmp/net-rust.txt
	# The whole difference, as diagnostics.
	diff -u /tmp/net-c.txt /tmp/net-rust.txt | sed 's/^/# /'
	ktap_check rmmod_after_compare rmmod "$NET_DRIVER"
fi
ktap_check no_splat sh -c "! dmesg | grep -E 'BUG|WARNING|Oops|KASAN|refcount_t'"
ktap_end
