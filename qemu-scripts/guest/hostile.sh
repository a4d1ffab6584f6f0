# SPDX-License-Identifier: GPL-2.0
#
# What the suites of devices that lie share: plugging one rvdev device at a
# time into the VM's two spare PCIe root ports (console-agent.py starts it),
# finding it, reading the kernel's messages since, unplugging it.

# Each suite names its devices HOSTILE_ID1, HOSTILE_ID2, ... (the host's
# QMP ids must not repeat within a boot).
N=0
PORT=rp10

# vdev_gone VDEV: the virtio device left.
vdev_gone() {
	[ ! -e "/sys/bus/virtio/devices/$1" ]
}

# new_entry DIR LIST: an entry of DIR that LIST does not name.
new_entry() {
	local e
	for e in "$1"/*; do
		[ -e "$e" ] || continue
		echo "$2" | grep -qx "${e##*/}" || { echo "${e##*/}"; return 0; }
	done
	return 1
}

# plug KIND NAME ARGS...: hot-plugs a device (rvdev KIND ARGS) for the lie
# NAME, into the port not used last (the host may still be finishing the
# last unplug there); waits for its virtio device (VDEV). Names are reused
# once free, so the last device must be gone. $PLUG_EXTRA is added to the
# request (a net device's "mac").
plug() {
	local kind=$1 name=$2 args="" a
	shift 2
	[ "$PORT" = rp9 ] && PORT=rp10 || PORT=rp9
	for a in "$@"; do
		args="$args${args:+, }\"$a\""
	done
	N=$((N + 1))
	VID=$HOSTILE_ID$N
	NAME=$name
	VDEVS=$(ls /sys/bus/virtio/devices)
	DISKS=$(ls /sys/block)
	# No marker in the kernel's log: its console output would land inside
	# the request line that follows.
	SINCE=$(cut -d' ' -f1 /proc/uptime)
	echo "RVIRTIO-VDEV {\"id\": \"$VID\", \"kind\": \"$kind\", \"bus\": \"$PORT\",${PLUG_EXTRA:+ $PLUG_EXTRA,} \"args\": [$args]}"
	VDEV= DISK=
	if ! ktap_retry 60 new_entry /sys/bus/virtio/devices "$VDEVS" >/dev/null; then
		ktap_fail "${name}_plugged" "no new virtio device 30 s after the plug request"
		return 1
	fi
	VDEV=$(new_entry /sys/bus/virtio/devices "$VDEVS")
	echo "# $name: $VDEV"
}

# unplug: the host unplugs the device last plugged, and it goes.
unplug() {
	echo "RVIRTIO-HOST {\"execute\": \"device_del\", \"arguments\": {\"id\": \"$VID\"}}"
	ktap_check "${NAME}_unplugged" ktap_retry 60 vdev_gone "$VDEV"
}

# kmsg_since_plug: the kernel's messages since the device was plugged.
kmsg_since_plug() {
	dmesg | awk -v since="$SINCE" '{
		t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
		if (t + 0 >= since + 0) print
	}'
}

# logged PATTERN: a message since the plug matches PATTERN (ERE).
logged() {
	kmsg_since_plug | grep -E -q "$1" || {
		echo "no kernel message matching '$1' since the plug; last messages:"
		kmsg_since_plug | tail -n 5
		return 1
	}
}

# logged_once PATTERN: exactly one message since the plug matches PATTERN.
logged_once() {
	local n
	n=$(kmsg_since_plug | grep -E -c "$1")
	[ "$n" = 1 ] || { echo "$n messages match '$1'"; return 1; }
}

# ends_within SECONDS COMMAND...: COMMAND, run in the background, ends
# within SECONDS (its output in /tmp/hostile.out, its status in
# /tmp/hostile.rc, for last_rc_eio).
ends_within() {
	local limit=$1 pid t=0
	shift
	rm -f /tmp/hostile.rc
	( "$@" >/tmp/hostile.out 2>&1; echo $? >/tmp/hostile.rc ) &
	pid=$!
	while [ ! -e /tmp/hostile.rc ]; do
		if [ $t -ge $((limit * 2)) ]; then
			echo "still running after $limit s: $*"
			return 1
		fi
		sleep 0.5
		t=$((t + 1))
	done
	wait $pid
	echo "# ended after about $((t / 2)) s"
}

