# SPDX-License-Identifier: GPL-2.0
#
# pktgen.sh IFNAME DST_IP DST_MAC COUNT SIZE: COUNT UDP frames of SIZE bytes
# (without the FCS) sent from IFNAME by the kernel's packet generator
# (pktgen, on CPU 0's thread of the current network namespace), one new
# socket buffer each (clone_skb 0), as fast as the driver takes them.
#
# Prints one line, "pktgen: ok sent=N usec=T pps=P", and exits with 0; or
# "pktgen: FAILED <reason>" and exits with 1 (a command pktgen refused, a
# transmit error, fewer frames sent than asked).

[ $# = 5 ] || { echo "usage: pktgen.sh IFNAME DST_IP DST_MAC COUNT SIZE" >&2; exit 2; }
ifname=$1 dst=$2 mac=$3 count=$4 size=$5
pg=/proc/net/pktgen

fail() {
	echo "pktgen: FAILED $*"
	exit 1
}

[ -d $pg ] || modprobe pktgen 2>/dev/null || insmod /lib/modules/c/pktgen.ko 2>/dev/null
[ -w $pg/kpktgend_0 ] || fail "no pktgen thread for CPU 0 (is pktgen loaded?)"

# pg_set FILE COMMAND: one pktgen command, checked against its Result line.
pg_set() {
	echo "$2" >"$1" 2>/dev/null || fail "pktgen refused '$2'"
	case "$1" in
	*/pgctrl) return 0 ;;
	esac
	grep -q '^Result: OK' "$1" || fail "pktgen: '$2': $(grep '^Result' "$1")"
}

pg_set $pg/kpktgend_0 rem_device_all
pg_set $pg/kpktgend_0 "add_device $ifname"
for c in "count $count" "clone_skb 0" "pkt_size $size" "delay 0" "burst 1" \
	"dst $dst" "dst_mac $mac" "udp_src_min 9" "udp_src_max 9" \
	"udp_dst_min 9" "udp_dst_max 9"; do
	pg_set $pg/$ifname "$c"
done
# Returns when COUNT frames have been sent.
pg_set $pg/pgctrl start

# Result: OK: 1234(c1200+d34) usec, 100000 (60byte,0frags)
#   81037pps 38Mb/sec (38897760bps) errors: 0
res=$(sed -n '/^Result: OK:/,$p' $pg/$ifname | tr '\n' ' ')
pg_set $pg/kpktgend_0 rem_device_all
usec=$(echo "$res" | sed -n 's/^Result: OK: \([0-9]*\)(.*/\1/p')
sent=$(echo "$res" | sed -n 's/.* usec, \([0-9]*\) (.*/\1/p')
pps=$(echo "$res" | sed -n 's/.* \([0-9]*\)pps .*/\1/p')
errors=$(echo "$res" | sed -n 's/.*errors: \([0-9]*\).*/\1/p')
[ -n "$usec" ] && [ -n "$sent" ] && [ -n "$pps" ] && [ -n "$errors" ] ||
	fail "unreadable result: $res"
[ "$errors" = 0 ] || fail "$errors transmit errors: $res"
[ "$sent" = "$count" ] || fail "sent $sent of $count frames: $res"
echo "pktgen: ok sent=$sent usec=$usec pps=$pps"
