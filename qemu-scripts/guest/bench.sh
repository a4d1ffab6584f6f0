# SPDX-License-Identifier: GPL-2.0
#
# rvirtio.mode=bench: the C virtio_blk and the Rust rvirtio_blk driving the
# same virtio-blk device, in turns, under the same fio jobs; then the C
# virtio_net and the Rust rvirtio_net driving the same virtio-net NIC, in
# turns, under the same traffic (rvnet) to a peer NIC on the C driver, in a
# network namespace of its own.
#
# Both modules are loaded with the virtio bus's autoprobe off, so that no
# device binds by itself; the device is then moved from one driver to the
# other through sysfs unbind/bind, and only one of them ever holds it (its
# disk is vda either way). First the data is checked on a small RAM-backed
# disk (rvirtio-verify): what one driver writes the other must read back.
# Then, for each round, each driver in turn runs the jobs on the null-co disk
# (rvirtio-bench); the order alternates between rounds (C first, then Rust
# first, ...) so that drift in the host's load does not favour one driver.
#
# Output, one line each, for qemu-scripts/bench-report.py:
#
#   RVIRTIO-BENCH-ENV {...}        guest kernel, vCPUs, fio, parameters
#   RVIRTIO-BENCH-INFO {...}       the disk's queue settings per driver
#   RVIRTIO-BENCH {"driver":"c","round":1,"name":"...","value":N,"unit":"..."}
#   RVIRTIO-BENCH-ERROR <message>  anything that went wrong
#   RVIRTIO-BENCH-END              the end was reached
#
# Kernel command line: rvirtio.bench_rounds=N (default 5),
# rvirtio.bench_runtime=SECONDS (default 5), rvirtio.bench_ramp=SECONDS
# (default 2), each per fio job; rvirtio.bench_net_mib=N (default 32), the
# size of each TCP stream, rvirtio.bench_net_rr=N (default 2000), the
# transactions of each request/response row, and rvirtio.bench_net_pps=N
# (default 200000), the frames of each packet-rate row.
#
# rvirtio.bench_profile=N (qemu-scripts/profile.sh) runs no rounds: for each
# driver, C then Rust, N 4 KiB random reads at depth 1, then N at depth 32,
# each between two sync(2) calls, which the host's instruction counter
# (qemu-scripts/insn-profile.c) takes as phase marks. Phases: 0 boot,
# 1 C depth 1, 2 C depth 32, 3 switch, 4 Rust depth 1, 5 Rust depth 32,
# 6 network set-up and switch; then for each driver, C then Rust, N frames
# of 64 bytes sent by pktgen from the device under test to the peer, then N
# from the peer to it: phases 7 C sent, 8 C received, 9 switch, 10 Rust
# sent, 11 Rust received, 12 end. The modules' symbols follow as
# RVIRTIO-KSYM lines.

rounds=5
runtime=5
ramp=2
profile=
net_mib=32
net_rr=2000
net_pps=200000
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	rvirtio.bench_rounds=*) rounds=${arg#*=} ;;
	rvirtio.bench_runtime=*) runtime=${arg#*=} ;;
	rvirtio.bench_ramp=*) ramp=${arg#*=} ;;
	rvirtio.bench_profile=*) profile=${arg#*=} ;;
	rvirtio.bench_net_mib=*) net_mib=${arg#*=} ;;
	rvirtio.bench_net_rr=*) net_rr=${arg#*=} ;;
	rvirtio.bench_net_pps=*) net_pps=${arg#*=} ;;
	esac
done

. /lib/rvirtio/ktap.sh

VIRTIO=/sys/bus/virtio
DRV_c=virtio_blk
DRV_rust=rvirtio_blk
TMP=/tmp/bench
mkdir -p $TMP

# The ENV line's rows, in the order of the report's table. Latency rows
# (unit us) are better when lower, the others when higher.
ROWS="randread_4k_qd1_1job_iops randread_4k_qd32_1job_iops randread_4k_qd1_2jobs_iops"
ROWS="$ROWS randread_4k_qd32_2jobs_iops seqread_128k_qd4_mibps seqwrite_128k_qd4_mibps"
ROWS="$ROWS randread_4k_qd1_lat_p50_us randread_4k_qd1_lat_p99_us"
ROWS="$ROWS randread_4k_qd1_totlat_p50_us randread_4k_qd1_totlat_p99_us"
ROWS="$ROWS net_tcp_stream_tx_mbps net_tcp_stream_rx_mbps net_tcp_rr_tps net_udp_rr_64b_tps"
ROWS="$ROWS net_udp_tx_64b_pps net_udp_rx_64b_pps"

bench_error() {
	echo "RVIRTIO-BENCH-ERROR $*"
}

# Ends the benchmark early: what cannot be undone (a driver that does not
# let go of the device) makes the rest meaningless.
bench_abort() {
	bench_error "$@"
	echo "rvirtio: benchmark aborted"
	exit 1
}

# bound_to DEV: the driver DEV is bound to (empty if none).
bound_to() {
	local l
	l=$(readlink $VIRTIO/devices/$1/driver 2>/dev/null) && basename "$l"
}

# sysfs_write SECONDS FILE VALUE: the write must return within SECONDS; a
# driver that hangs in probe or remove is reported (with the blocked tasks'
# stacks) instead of hanging the VM until the host's time limit.
sysfs_write() {
	local secs=$1 file=$2 val=$3 pid n=0
	(echo "$val" >"$file") 2>$TMP/sysfs.err &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		n=$((n + 1))
		if [ $n -gt $((secs * 10)) ]; then
			echo w >/proc/sysrq-trigger
			bench_abort "writing $val to $file did not return within ${secs}s (driver hung?)"
		fi
		sleep 0.1
	done
	wait $pid || {
		bench_error "writing $val to $file failed: $(cat $TMP/sysfs.err)"
		return 1
	}
}

# blk_disks: the vd* disks that exist now.
blk_disks() {
	ls /sys/block 2>/dev/null | grep '^vd'
}

# switch_to DRIVER DEV: DEV bound to DRIVER (c or rust), nothing else bound
# to either driver, its disk is vda and /dev/vda is there.
switch_to() {
	local want cur n=0 bound
	eval want=\$DRV_$1
	cur=$(bound_to "$2")
	[ "$cur" = "$want" ] && return 0
	if [ -n "$cur" ]; then
		sysfs_write 60 $VIRTIO/drivers/$cur/unbind "$2" ||
			bench_abort "cannot unbind $2 from $cur"
	fi
	[ -z "$(bound_to "$2")" ] || bench_abort "$2 still bound to $(bound_to "$2") after unbind"
	[ -z "$(blk_disks)" ] || bench_abort "disks left with no device bound: $(blk_disks)"
	sysfs_write 60 $VIRTIO/drivers/$want/bind "$2" || bench_abort "cannot bind $2 to $want"
	[ "$(bound_to "$2")" = "$want" ] || bench_abort "$2 not bound to $want after bind"
	bound=$(ls -d $VIRTIO/drivers/$DRV_c/virtio* $VIRTIO/drivers/$DRV_rust/virtio* 2>/dev/null | wc -l)
	[ "$bound" = 1 ] || bench_abort "$bound devices bound to the block drivers, expected 1"
	while [ ! -b /dev/vda ] || [ ! -e $VIRTIO/devices/$2/block/vda ]; do
		n=$((n + 1))
		[ $n -le 100 ] || bench_abort "$want bound to $2 but no vda under it after 10s: $(blk_disks)"
		sleep 0.1
	done
	# Same I/O scheduler (none) for both, whatever the kernel's default.
	[ -w /sys/block/vda/queue/scheduler ] && echo none >/sys/block/vda/queue/scheduler 2>/dev/null
	return 0
}

# queue_info DRIVER: the settings that shape the numbers, compared by the
# report (both drivers should give the same).
queue_info() {
	local q=/sys/block/vda/queue
	printf 'RVIRTIO-BENCH-INFO {"driver":"%s","serial":"%s","hw_queues":%s,"nr_requests":%s,"max_sectors_kb":%s,"max_segments":%s,"logical_block_size":%s,"scheduler":"%s","write_cache":"%s","size_sectors":%s}\n' \
		"$1" "$(cat /sys/block/vda/serial 2>/dev/null)" "$(ls /sys/block/vda/mq | wc -l)" \
		"$(cat $q/nr_requests)" "$(cat $q/max_sectors_kb)" "$(cat $q/max_segments)" \
		"$(cat $q/logical_block_size)" "$(sed 's/.*\[\(.*\)\].*/\1/' $q/scheduler)" \
		"$(cat $q/write_cache)" "$(cat /sys/block/vda/size)"
}

# fio_json_values FILE: from fio's JSON output (one job, group_reporting),
# "key value" lines: error, read_iops, read_bw_bytes, read_ios, read_p50_ns
# and read_p99_ns (completion latency), read_totp50_ns and read_totp99_ns
# (total latency, with --lat_percentiles=1) and the same for write.
fio_json_values() {
	awk '
	function num(line) { sub(/^[^:]*: */, "", line); sub(/,? *$/, "", line); return line }
	/^ *"error" : / && !("error" in v) { v["error"] = num($0) }
	/^ *"(read|write)" : \{/ { sec = $0; gsub(/[^a-z]/, "", sec); sect = ""; next }
	/^ *"(trim|sync|job_user_ctx|usr_cpu|latency_ns)" : / { sec = ""; sect = "" }
	sec == "" { next }
	/^ *"(clat_ns|slat_ns|lat_ns)" : \{/ { sect = $0; gsub(/[^a-z_]/, "", sect) }
	/^ *"iops" : / && !((sec "_iops") in v) { v[sec "_iops"] = num($0) }
	/^ *"bw_bytes" : / && !((sec "_bw_bytes") in v) { v[sec "_bw_bytes"] = num($0) }
	/^ *"total_ios" : / && !((sec "_ios") in v) { v[sec "_ios"] = num($0) }
	sect == "clat_ns" && /^ *"50\.000000" : / { v[sec "_p50_ns"] = num($0) }
	sect == "clat_ns" && /^ *"99\.000000" : / { v[sec "_p99_ns"] = num($0) }
	sect == "lat_ns" && /^ *"50\.000000" : / { v[sec "_totp50_ns"] = num($0) }
	sect == "lat_ns" && /^ *"99\.000000" : / { v[sec "_totp99_ns"] = num($0) }
	END { for (k in v) print k, v[k] }
	' "$1"
}

# result DRIVER ROUND NAME VALUE UNIT
result() {
	printf 'RVIRTIO-BENCH {"driver":"%s","round":%s,"name":"%s","value":%s,"unit":"%s"}\n' "$@"
}

# fio_run DRIVER ROUND JOB FIO-ARGS...: runs one job on vda; its values are
# left in $TMP/values. Fails (with the reason printed) if fio fails, reports
# an error or did no I/O.
fio_run() {
	local drv=$1 round=$2 job=$3 dir
	shift 3
	rm -f $TMP/fio.json $TMP/values
	if ! fio --output-format=json --output=$TMP/fio.json --name="$job" \
		--filename=/dev/vda --direct=1 --ioengine=io_uring --thread \
		--time_based --runtime="$runtime" --ramp_time="$ramp" \
		--group_reporting --norandommap --randrepeat=0 "$@" >$TMP/fio.err 2>&1; then
		bench_error "fio $job failed ($drv, round $round): $(tail -n 3 $TMP/fio.err $TMP/fio.json 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	fio_json_values $TMP/fio.json >$TMP/values
	dir=read
	case " $* " in *" --rw=write "*) dir=write ;; esac
	if [ "$(value error)" != 0 ] || [ "$(value ${dir}_ios)" -le 0 ] 2>/dev/null ||
		[ -z "$(value ${dir}_ios)" ]; then
		bench_error "fio $job did no $dir I/O or reported an error ($drv, round $round): $(tr '\n' ' ' <$TMP/values)"
		return 1
	fi
}

# value KEY: a value from the last fio_run.
value() {
	awk -v k="$1" '$1 == k { print $2 }' $TMP/values
}

# run_jobs DRIVER ROUND: every job of one round on the disk the driver has.
run_jobs() {
	local d=$1 r=$2 qd jobs name
	for jobs in 1 2; do
		for qd in 1 32; do
			name=randread_4k_qd${qd}_${jobs}job
			[ $jobs = 1 ] || name=${name}s
			fio_run $d $r $name --rw=randread --bs=4k --iodepth=$qd --numjobs=$jobs \
				--lat_percentiles=1 || continue
			result $d $r ${name}_iops "$(value read_iops | awk '{ printf "%.0f", $1 }')" IOPS
			if [ $qd = 1 ] && [ $jobs = 1 ]; then
				result $d $r randread_4k_qd1_lat_p50_us "$(value read_p50_ns | awk '{ printf "%.1f", $1 / 1000 }')" us
				result $d $r randread_4k_qd1_lat_p99_us "$(value read_p99_ns | awk '{ printf "%.1f", $1 / 1000 }')" us
				result $d $r randread_4k_qd1_totlat_p50_us "$(value read_totp50_ns | awk '{ printf "%.1f", $1 / 1000 }')" us
				result $d $r randread_4k_qd1_totlat_p99_us "$(value read_totp99_ns | awk '{ printf "%.1f", $1 / 1000 }')" us
			fi
		done
	done
	for rw in read write; do
		fio_run $d $r seq${rw}_128k_qd4 --rw=$rw --bs=128k --iodepth=4 || continue
		result $d $r seq${rw}_128k_qd4_mibps "$(value ${rw}_bw_bytes | awk '{ printf "%.1f", $1 / 1048576 }')" MiB/s
	done
}

# verify DRIVER SEED write|check: on the verify disk, 4 KiB random writes
# (16 MiB) and 128 KiB sequential writes (32 MiB), each block with a crc32c
# header, read back and checked (write), or only read and checked against
# what an earlier write of the same SEED left (check).
verify() {
	local only=
	[ "$3" = check ] && only=--verify_only
	if ! fio --output=$TMP/verify.out --direct=1 --ioengine=io_uring --thread \
		--filename=/dev/vda --verify=crc32c --verify_fatal=1 --randseed="$2" $only \
		--name=rand4k --rw=randwrite --bs=4k --iodepth=16 --offset=0 --size=16M \
		--name=seq128k --rw=write --bs=128k --iodepth=4 --offset=16M --size=32M \
		>$TMP/verify.err 2>&1; then
		bench_error "data check failed: $1, seed $2, $3: $(tail -n 5 $TMP/verify.err $TMP/verify.out | tr '\n' ' ')"
		return 1
	fi
	echo "rvirtio: data check ok: $1, seed $2, $3"
}

# --- Set-up ------------------------------------------------------------------

echo "rvirtio: benchmark: $rounds rounds, ${ramp}s ramp + ${runtime}s per job"
command -v fio >/dev/null || bench_abort "no fio in the guest (/usr/bin/fio): the initramfs lacks it"
# What the host knows: the accelerator and QEMU's version (the replies land
# in the console log, where the report reads them).
echo 'RVIRTIO-HOST {"execute": "query-kvm"}'
echo 'RVIRTIO-HOST {"execute": "query-version"}'
printf 'RVIRTIO-BENCH-ENV {"kernel":"%s","vcpus":%s,"mem_kib":%s,"fio":"%s","rounds":%s,"runtime_s":%s,"ramp_s":%s,"rows":"%s"}\n' \
	"$(uname -r)" "$(nproc)" "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" \
	"$(fio --version)" "$rounds" "$runtime" "$ramp" "$ROWS"

echo 0 >$VIRTIO/drivers_autoprobe
insmod /lib/modules/c/virtio_blk.ko || bench_abort "insmod virtio_blk.ko failed"
insmod /lib/modules/rvirtio/rvirtio_blk.ko || bench_abort "insmod rvirtio_blk.ko failed"

# The two disks, told apart by their serial (read through the C driver).
bench_dev= verify_dev=
for dev in $(virtio_dev 0x0002); do
	switch_to c $dev
	case "$(cat /sys/block/vda/serial)" in
	rvirtio-bench) bench_dev=$dev ;;
	rvirtio-verify) verify_dev=$dev ;;
	esac
	sysfs_write 60 $VIRTIO/drivers/$DRV_c/unbind $dev || bench_abort "cannot unbind $dev"
done
[ -n "$bench_dev" ] || bench_abort "no virtio-blk device with serial rvirtio-bench"

# --- Network -----------------------------------------------------------------

NET_c=virtio_net
NET_rust=rvirtio_net
PEER=10.77.0.1
PEER_MAC=52:54:00:77:00:01
# pktgen's destination: an address on the subnet that neither side has, so
# that the receiver's driver and IP layer count each frame and drop it.
PKTGEN_DST=10.77.0.9

# net_switch_to DRIVER DEV: DEV bound to DRIVER (c or rust), up, with its
# address, and the peer reachable.
net_switch_to() {
	local want cur i n=0
	eval want=\$NET_$1
	cur=$(bound_to "$2")
	[ "$cur" = "$want" ] && return 0
	if [ -n "$cur" ]; then
		sysfs_write 60 $VIRTIO/drivers/$cur/unbind "$2" || bench_abort "cannot unbind $2 from $cur"
	fi
	[ -n "$(bound_to "$2")" ] ||
		sysfs_write 60 $VIRTIO/drivers/$want/bind "$2" || bench_abort "cannot bind $2 to $want"
	[ "$(bound_to "$2")" = "$want" ] || bench_abort "$2 not bound to $want after bind"
	i=$(ls $VIRTIO/devices/$2/net)
	ip link set "$i" up && ip addr add 10.77.0.2/24 dev "$i" ||
		bench_abort "cannot bring $i ($want) up"
	until ping -c 1 -W 1 $PEER >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -le 20 ] || bench_abort "the peer does not answer through $i ($want)"
	done
}

# rvnet_field OUTPUT KEY: a value of rvnet's "ok" line.
rvnet_field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# net_rx_packets IFNAME [COMMAND...]: the frames IFNAME has received, from
# /proc/net/dev as COMMAND (nsenter into the peer's namespace) sees it.
net_rx_packets() {
	local i=$1
	shift
	"$@" cat /proc/net/dev | awk -v i="$i:" '{ sub(/^ */, "") }
		index($0, i) == 1 { sub(/^[^:]*:/, ""); split($0, f); print f[2] }'
}

# uptime_cs: the guest's uptime in hundredths of a second.
uptime_cs() {
	awk '{ printf "%d\n", $1 * 100 }' /proc/uptime
}

# net_pktgen DRIVER ROUND ROW SIDE RX_IF RX_NS SENDER...: SENDER (pktgen.sh,
# in the sender's namespace) sends net_pps 64-byte frames (60 and the FCS) to
# the other NIC, whose interface RX_IF is in RX_NS ("" or the peer's
# namespace). QEMU's hub does not hold a fast sender back: what the receiver
# cannot take in time is queued, then dropped. SIDE says which side's rate is
# the row: "tx", pktgen's rate (the device under test sends); "rx", the
# frames RX_IF received per second from the start until its count stops
# growing (the device under test receives). Frames lost on the way are
# reported, not a failure.
net_pktgen() {
	local d=$1 r=$2 row=$3 side=$4 rx_if=$5 rx_ns=$6 before after last n=0 t0 t1 out got
	shift 6
	before=$(net_rx_packets $rx_if $rx_ns)
	t0=$(uptime_cs)
	if ! out=$("$@" $net_pps 60); then
		bench_error "$row ($d, round $r): $out"
		return
	fi
	# The receiver takes what is queued for it; its count stops growing when
	# it is done.
	last=$before
	t1=$(uptime_cs)
	while :; do
		sleep 0.02
		after=$(net_rx_packets $rx_if $rx_ns)
		if [ "$after" != "$last" ]; then
			last=$after n=0 t1=$(uptime_cs)
		else
			n=$((n + 1))
			[ $n -lt 10 ] || break
		fi
	done
	got=$((last - before))
	[ $got -ge $net_pps ] ||
		echo "rvirtio: $row ($d, round $r): $rx_if received $got of $net_pps frames;" \
			"its drop counters:" $($rx_ns ethtool -S $rx_if 2>/dev/null | grep -i drop | tr -s ' \n' ' ')
	# The device still carries traffic (a receive queue that stopped would not).
	ping -c 1 -W 5 $PEER >/dev/null 2>&1 ||
		bench_error "$row ($d, round $r): no answer from the peer after the frames"
	if [ $got -le 0 ]; then
		bench_error "$row ($d, round $r): $rx_if received nothing"
	elif [ $side = tx ]; then
		result $d $r $row "$(rvnet_field "$out" pps)" pps
	elif [ $t1 -le $t0 ]; then
		bench_error "$row ($d, round $r): no time measured"
	else
		result $d $r $row $((got * 100 / (t1 - t0))) pps
	fi
}

# net_jobs DRIVER ROUND: the traffic of one round; rvnet checks every byte.
net_jobs() {
	local d=$1 r=$2 out dut_if
	if out=$(rvnet send $PEER $((net_mib * 1048576)) -s $r); then
		result $d $r net_tcp_stream_tx_mbps "$(rvnet_field "$out" mbit)" Mbit/s
	else
		bench_error "TCP stream to the peer ($d, round $r): $out"
	fi
	if out=$(rvnet recv $PEER $((net_mib * 1048576)) -s $r); then
		result $d $r net_tcp_stream_rx_mbps "$(rvnet_field "$out" mbit)" Mbit/s
	else
		bench_error "TCP stream from the peer ($d, round $r): $out"
	fi
	if out=$(rvnet rr $PEER $net_rr); then
		result $d $r net_tcp_rr_tps "$(rvnet_field "$out" tps)" tps
	else
		bench_error "TCP request/response ($d, round $r): $out"
	fi
	if out=$(rvnet udp $PEER $net_rr 64); then
		result $d $r net_udp_rr_64b_tps \
			"$(echo "$out" | awk -v n=$net_rr '{ for (i = 1; i <= NF; i++) if ($i ~ /^seconds=/) { sub(/seconds=/, "", $i); printf "%.1f", n / $i } }')" tps
	else
		bench_error "UDP request/response ($d, round $r): $out"
	fi
	dut_if=$(ls $VIRTIO/devices/$net_dev/net)
	net_pktgen $d $r net_udp_tx_64b_pps tx $peer_if "nsenter -t $netns -n" \
		sh /lib/rvirtio/pktgen.sh $dut_if $PKTGEN_DST $PEER_MAC
	net_pktgen $d $r net_udp_rx_64b_pps rx $dut_if "" \
		nsenter -t $netns -n sh /lib/rvirtio/pktgen.sh $peer_if $PKTGEN_DST \
		"$(cat /sys/class/net/$dut_if/address)"
}

# net_setup: both network drivers loaded, the peer NIC bound to the C driver
# in a network namespace of its own with rvnet serving; sets net_dev (the
# device under test), peer_dev, peer_if and netns.
net_setup() {
	for m in dimlib failover net_failover pktgen; do
		[ -e /lib/modules/c/$m.ko ] && { insmod /lib/modules/c/$m.ko || bench_abort "insmod $m.ko failed"; }
	done
	insmod /lib/modules/c/virtio_net.ko || bench_abort "insmod virtio_net.ko failed"
	insmod /lib/modules/rvirtio/rvirtio_net.ko || bench_abort "insmod rvirtio_net.ko failed"
	# In PCI order: the device under test (nicbench), then the peer (nicpeer).
	set -- $(virtio_dev 0x0001)
	[ $# = 2 ] || bench_abort "expected two virtio-net devices, found: $*"
	net_dev=$1 peer_dev=$2
	sysfs_write 60 $VIRTIO/drivers/$NET_c/bind $peer_dev || bench_abort "cannot bind the peer NIC"
	peer_if=$(ls $VIRTIO/devices/$peer_dev/net)
	[ "$(cat /sys/class/net/$peer_if/address)" = $PEER_MAC ] ||
		bench_abort "the second virtio-net device is not nicpeer"
	# The peer in a network namespace of its own, held by a sleeping process:
	# the traffic crosses the hub instead of the loopback.
	unshare -n sleep 1000000 &
	netns=$!
	sleep 0.5
	ip link set "$peer_if" netns $netns || bench_abort "cannot move $peer_if to the peer's namespace"
	nsenter -t $netns -n sh -c "ip link set lo up && ip link set $peer_if up &&
		ip addr add $PEER/24 dev $peer_if && (rvnet serve >/dev/null 2>&1 &)" ||
		bench_abort "cannot set up the peer"
}

# --- Instruction profile -----------------------------------------------------

# profile_reads DEPTH COUNT: COUNT reads of 4 KiB at random offsets.
profile_reads() {
	fio --name=profile --filename=/dev/vda --direct=1 --ioengine=io_uring --thread \
		--rw=randread --bs=4k --iodepth="$1" --number_ios="$2" --norandommap \
		--randrepeat=0 --output=$TMP/profile.out >$TMP/profile.err 2>&1 ||
		bench_abort "fio failed while profiling: $(tail -n 3 $TMP/profile.err)"
}

# profile_frames IFNAME NSENTER DST_MAC COUNT: COUNT 64-byte frames from
# IFNAME (in the namespace NSENTER enters) to DST_MAC.
profile_frames() {
	local out
	out=$($2 sh /lib/rvirtio/pktgen.sh $1 $PKTGEN_DST $3 $4 60) ||
		bench_abort "pktgen failed while profiling: $out"
}

if [ -n "$profile" ]; then
	for d in c rust; do
		switch_to $d $bench_dev
		# Not counted: brings fio and the queue's first requests into memory.
		profile_reads 32 1000
		sync
		profile_reads 1 "$profile"
		sync
		profile_reads 32 "$profile"
		sync
	done
	sysfs_write 60 $VIRTIO/drivers/$(bound_to $bench_dev)/unbind $bench_dev ||
		bench_abort "cannot unbind $bench_dev at the end"
	net_setup
	for d in c rust; do
		net_switch_to $d $net_dev
		dut_if=$(ls $VIRTIO/devices/$net_dev/net)
		dut_mac=$(cat /sys/class/net/$dut_if/address)
		# Not counted: the first frames of each direction.
		profile_frames $dut_if "" $PEER_MAC 1000
		profile_frames $peer_if "nsenter -t $netns -n" $dut_mac 1000
		sync
		profile_frames $dut_if "" $PEER_MAC "$profile"
		sync
		profile_frames $peer_if "nsenter -t $netns -n" $dut_mac "$profile"
		sync
	done
	grep -E "\[($DRV_c|$DRV_rust|$NET_c|$NET_rust)\]\$" /proc/kallsyms | sed 's/^/RVIRTIO-KSYM /'
	sysfs_write 60 $VIRTIO/drivers/$(bound_to $net_dev)/unbind $net_dev ||
		bench_abort "cannot unbind $net_dev at the end"
	echo "RVIRTIO-BENCH-END"
	exit 0
fi

# --- Data check --------------------------------------------------------------

if [ -n "$verify_dev" ]; then
	switch_to c $verify_dev && verify c 1 write
	switch_to rust $verify_dev && verify rust 1 check
	switch_to rust $verify_dev && verify rust 2 write
	switch_to c $verify_dev && verify c 2 check
	sysfs_write 60 $VIRTIO/drivers/$(bound_to $verify_dev)/unbind $verify_dev ||
		bench_abort "cannot unbind $verify_dev"
else
	echo "rvirtio: no rvirtio-verify disk: data not checked"
fi

# --- Rounds ------------------------------------------------------------------

# round_order ROUND: the drivers in ROUND's order, C first in odd rounds, so
# that a drift in the host's load does not always favour the same driver.
round_order() {
	if [ $(($1 % 2)) = 0 ]; then echo "rust c"; else echo "c rust"; fi
}

for r in $(seq "$rounds"); do
	for d in $(round_order $r); do
		echo "rvirtio: bench round $r/$rounds: $d"
		switch_to $d $bench_dev
		[ $r = 1 ] && queue_info $d
		run_jobs $d $r
	done
done
sysfs_write 60 $VIRTIO/drivers/$(bound_to $bench_dev)/unbind $bench_dev ||
	bench_abort "cannot unbind $bench_dev at the end"
rmmod rvirtio_blk || bench_error "rmmod rvirtio_blk failed"
rmmod virtio_blk || bench_error "rmmod virtio_blk failed"

# --- Network rounds ----------------------------------------------------------

net_setup
for r in $(seq "$rounds"); do
	for d in $(round_order $r); do
		echo "rvirtio: bench round $r/$rounds: network, $d"
		net_switch_to $d $net_dev
		net_jobs $d $r
	done
done
sysfs_write 60 $VIRTIO/drivers/$(bound_to $net_dev)/unbind $net_dev ||
	bench_abort "cannot unbind $net_dev at the end"
rmmod rvirtio_net || bench_error "rmmod rvirtio_net failed"
echo "RVIRTIO-BENCH-END"
