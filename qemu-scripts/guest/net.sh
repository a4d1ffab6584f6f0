# SPDX-License-Identifier: GPL-2.0
#
# What the network tests share. The VM has two virtio-net devices: nic0 on
# QEMU's user network (the gateway 10.0.2.2 answers ARP and ICMP echo; no
# offloads, no frame above 1500 bytes) and nic1 (52:54:00:99:00:02) on a tap
# device with virtio-net headers, whose host side (10.99.0.1, fd00:99::1)
# runs `rvnet serve` on port 7000 (qemu-scripts/netns.sh). In PCI order,
# nic0 is the first virtio-net device and nic1 the second.

# The driver under test: rvirtio.net_driver=virtio_net on the kernel command
# line runs the same tests on the C driver (`RVIRTIO_APPEND=... make check`).
NET_DRIVER=rvirtio_net
for _arg in $(cat /proc/cmdline); do
	case "$_arg" in
	rvirtio.net_driver=*) NET_DRIVER=${_arg#rvirtio.net_driver=} ;;
	esac
done

# net_dev N: the virtio device of the Nth virtio-net device (1: nic0, 2: nic1).
net_dev() {
	virtio_dev 0x0001 | sed -n "${1}p"
}

# net_load: inserts the driver under test (the C one after the modules it
# needs).
net_load() {
	case "$NET_DRIVER" in
	virtio_net)
		# Those the kernel has as modules (dimlib is built in when
		# ETHTOOL_NETLINK is).
		for m in dimlib failover net_failover; do
			[ -e /lib/modules/c/$m.ko ] || continue
			grep -q "^$m " /proc/modules || insmod /lib/modules/c/$m.ko || return 1
		done
		insmod /lib/modules/c/virtio_net.ko
		;;
	*) insmod /lib/modules/rvirtio/$NET_DRIVER.ko ;;
	esac
}

# net_iface DEV: the interface of virtio device DEV (empty if none).
net_iface() {
	ls /sys/bus/virtio/devices/$1/net 2>/dev/null | head -1
}

# wait_attr IFACE ATTR VALUE: up to 10 s for /sys/class/net/IFACE/ATTR to
# read VALUE.
wait_attr() {
	for _ in $(seq 40); do
		[ "$(cat /sys/class/net/$1/$2 2>/dev/null)" = "$3" ] && return 0
		sleep 0.25
	done
	return 1
}

# wait_carrier IFACE 0|1: the carrier.
wait_carrier() {
	wait_attr "$1" carrier "$2"
}

# wait_operstate IFACE STATE: the operational state, set by the link watcher
# up to a second after the carrier.
wait_operstate() {
	wait_attr "$1" operstate "$2"
}

# stat IFACE NAME: a counter of the interface's statistics.
stat() {
	cat /sys/class/net/$1/statistics/$2
}

# surfaces IFACE: what userspace sees of an interface, the driver's name
# apart, minus the lines matching KNOWN_DIFFERENCES (an extended regular
# expression; what rvirtio_net does not have yet).
surfaces() {
	local i=$1
	[ -n "$i" ] || return 1
	{
		ethtool -k "$i" | grep -v '^Features for'
		ethtool -g "$i" | grep -v '^Ring parameters for'
		ethtool -l "$i" | grep -v '^Channel parameters for'
		ethtool -i "$i" | grep -v '^driver:'
		ethtool "$i" | grep -E '^[[:space:]]+(Speed|Duplex|Port|Link detected):'
		for a in address mtu type addr_len tx_queue_len flags carrier; do
			echo "$a: $(cat /sys/class/net/$i/$a 2>&1)"
		done
	} | grep -Ev "${KNOWN_DIFFERENCES:-^$}"
}
