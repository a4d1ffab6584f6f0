#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs QEMU with the network tests' host side, in the network namespace that
# run-vm.sh creates for it (`unshare -n`, or `unshare -rn` for a user without
# CAP_NET_ADMIN): nothing of it is seen outside, and it ends with QEMU.
#
#   unshare -n qemu-scripts/netns.sh RVNET QEMU ARGS...
#
# The namespace has a tap device, rvtap0, with virtio-net headers
# (vnet_hdr: the guest's checksum and segmentation offloads reach the host
# stack as they are), MTU 9000, addresses 10.99.0.1/24 and fd00:99::1/64;
# QEMU attaches the VM's second NIC (nic1) to it. The peer, `rvnet serve`
# (qemu-scripts/rvnet.c), answers the guest on port 7000 and counts the
# frames that arrive from the guest.

set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 RVNET QEMU ARGS..." >&2; exit 4; }
rvnet=$1
shift

ip link set lo up
ip tuntap add dev rvtap0 mode tap vnet_hdr
ip link set rvtap0 mtu 9000 up
ip addr add 10.99.0.1/24 dev rvtap0
ip -6 addr add fd00:99::1/64 dev rvtap0 nodad
# The peer dies with its parent: this shell, which becomes QEMU.
"$rvnet" serve -i rvtap0 -d 2>/dev/null &
exec "$@"
