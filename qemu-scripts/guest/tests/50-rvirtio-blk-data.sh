# SPDX-License-Identifier: GPL-2.0
#
# Data integrity through the block driver under test (rvirtio.blk_driver=,
# default rvirtio_blk; see blk.sh), end to end:
#
# - the host wrote a known pattern into the first 16 MiB of rvirtio-data
#   before the boot: it must read back exactly, with O_DIRECT and through
#   the page cache;
# - the guest writes a pattern of its own into [16 MiB, 20 MiB) of the same
#   disk, direct and buffered; after the VM has stopped, the host checks it
#   in the image (KTAP suite rvirtio_blk_host, blk-pattern.py);
# - fio writes and verifies (crc32c) mixed block sizes at random offsets on
#   the two-queue disk and the one-queue disk: sync, psync and io_uring
#   engines, queue depths 1, 16 and 64, one and two jobs, direct and
#   buffered;
# - ext4 on rvirtio-mq: a tree of files with checksums, a clean e2fsck, the
#   checksums again after a remount;
# - rmmod at the end, after which no disk may remain.
. /lib/rvirtio/ktap.sh
. /lib/rvirtio/blk.sh

MIB=1048576

ktap_begin rvirtio_blk_data
echo "# driver under test: $BLK_DRIVER ($BLK_MODULE)"
if ! out=$(blk_load 2>&1); then
	ktap_fail "load_$BLK_DRIVER" "$out"
	ktap_end
	exit 0
fi
ktap_ok "load_$BLK_DRIVER"

d0=$(blk_dev_by_serial rvirtio-disk0 2>&1) || { ktap_fail find_disk0 "$d0"; d0=; }
mq=$(blk_dev_by_serial rvirtio-mq 2>&1) || { ktap_fail find_mq "$mq"; mq=; }
pd=$(blk_dev_by_serial rvirtio-data 2>&1) || { ktap_fail find_data_disk "$pd"; pd=; }
[ -n "$pd" ] && { echo "# rvirtio-data is $pd"; ktap_ok find_data_disk; }
[ -n "$d0" ] && { echo "# rvirtio-disk0 is $d0"; ktap_ok find_disk0; }
[ -n "$mq" ] && { echo "# rvirtio-mq is $mq"; ktap_ok find_mq; }
if [ -n "$mq" ]; then
	ktap_check mq_has_two_queues \
		sh -c "[ \$(ls -d /sys/block/$mq/mq/* | wc -l) -eq 2 ]"
fi

# --- The host's pattern, and the guest's -------------------------------------

# read_cmp DEV EXPECTED BS SKIP COUNT [iflag=direct]: COUNT blocks of
# BS bytes at block SKIP of DEV must equal the start of EXPECTED.
read_cmp() {
	dd if="/dev/$1" bs="$3" skip="$4" count="$5" $6 2>/dev/null |
		cmp -n $(($3 * $5)) - "$2"
}

# The host's pattern is also the data of the file tree on ext4 below.
blk_pattern $BLK_HOST_SEED 0 32768 >/tmp/host.pat
if [ -n "$pd" ]; then
	blk_pattern $BLK_GUEST_SEED 32768 8192 >/tmp/guest.pat

	ktap_check host_pattern_direct_1m read_cmp "$pd" /tmp/host.pat $MIB 0 16 iflag=direct
	ktap_check host_pattern_direct_512 read_cmp "$pd" /tmp/host.pat 512 0 2048 iflag=direct
	ktap_check flush_page_cache blockdev --flushbufs "/dev/$pd"
	ktap_check host_pattern_buffered read_cmp "$pd" /tmp/host.pat 65536 0 256

	# The guest's region: the first half in 4 KiB O_DIRECT writes, the
	# second through the page cache and fsync.
	ktap_check guest_pattern_write_direct \
		dd if=/tmp/guest.pat of="/dev/$pd" bs=4096 count=512 seek=4096 oflag=direct conv=notrunc
	ktap_check guest_pattern_write_buffered \
		dd if=/tmp/guest.pat of="/dev/$pd" bs=65536 skip=32 count=32 seek=288 conv=notrunc,fsync
	ktap_check flush_page_cache_again blockdev --flushbufs "/dev/$pd"
	ktap_check guest_pattern_direct_read read_cmp "$pd" /tmp/guest.pat $MIB 16 4 iflag=direct
	ktap_check guest_pattern_buffered_read read_cmp "$pd" /tmp/guest.pat 65536 256 64
	rm -f /tmp/guest.pat
	sync
fi

# --- fio, verified with crc32c ------------------------------------------------

# fio_verify NAME DEV OFFSET SIZE ENGINE IODEPTH NUMJOBS DIRECT: random
# writes of mixed sizes (512 B to 128 KiB) over SIZE per job (each job a
# region of its own from OFFSET on), then every block read back and checked
# (fio syncs and drops the page cache first, so buffered reads reach the
# device too). fio's status and any verification error fail the test.
fio_verify() {
	local log=/tmp/fio-$1.log rc
	fio --name="$1" --filename="/dev/$2" --offset="$3" --size="$4" --offset_increment="$4" \
		--ioengine="$5" --iodepth="$6" --numjobs="$7" --direct="$8" --thread \
		--rw=randwrite --bssplit=512/10:4k/30:8k/15:16k/15:64k/20:128k/10 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 --randseed=1234 \
		--group_reporting >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || grep -qiE 'verify.*(fail|bad|mismatch)|bad (magic|header)|err= *[1-9]' "$log"; then
		echo "fio status $rc"
		grep -iE 'verify|bad|err' "$log" | head -n 8
		tail -n 3 "$log"
		return 1
	fi
	rm -f "$log"
}

# Regions: rvirtio-mq is reformatted below; on rvirtio-disk0, fio stays in
# [32 MiB, 64 MiB), past the pattern regions.
if [ -n "$mq" ]; then
	ktap_check fio_mq_sync_qd1_buffered fio_verify mq_sync "$mq" 0 1M sync 1 1 0
	ktap_check fio_mq_psync_qd1_direct fio_verify mq_psync "$mq" 4M 2M psync 1 1 1
	ktap_check fio_mq_io_uring_qd16_direct_2jobs fio_verify mq_uring16 "$mq" 8M 2M io_uring 16 2 1
	ktap_check fio_mq_io_uring_qd64_direct_2jobs fio_verify mq_uring64 "$mq" 16M 2M io_uring 64 2 1
	ktap_check fio_mq_io_uring_qd64_buffered_2jobs fio_verify mq_uring64b "$mq" 24M 2M io_uring 64 2 0
fi
if [ -n "$d0" ]; then
	ktap_check fio_disk0_psync_qd1_direct_2jobs fio_verify d0_psync "$d0" 32M 2M psync 1 2 1
	ktap_check fio_disk0_io_uring_qd64_direct_2jobs fio_verify d0_uring64 "$d0" 40M 2M io_uring 64 2 1
	ktap_check fio_disk0_io_uring_qd16_buffered fio_verify d0_uring16b "$d0" 48M 2M io_uring 16 1 0
fi

# --- ext4 ---------------------------------------------------------------------

# make_tree DIR: files of varied sizes (empty, odd, sector- and page-sized,
# a few MiB) in nested directories, their checksums in /tmp/tree.sha256.
# Their data is cut at a different offset of the host's pattern for each
# file, so that no two blocks of the tree are alike.
cut_pattern() { # OFFSET LENGTH FILE
	dd if=/tmp/host.pat of="$3" bs=65536 skip="$1" count="$2" \
		iflag=skip_bytes,count_bytes 2>/dev/null &&
		[ "$(stat -c %s "$3")" -eq "$2" ]
}

make_tree() {
	local i s d
	mkdir -p "$1/a/b/c" "$1/d" || return 1
	i=0
	for s in 0 1 511 512 513 4095 4096 4097 65536 131073; do
		for d in "$1" "$1/a" "$1/a/b/c" "$1/d"; do
			i=$((i + 1))
			cut_pattern $((i * 200003)) "$s" "$d/f$i-$s" || return 1
		done
	done
	cut_pattern $((9 * MIB + 7)) $((2 * MIB + 3)) "$1/a/b/big" || return 1
	# Many small files in one directory (a directory of several blocks).
	for i in $(seq 200); do
		echo "file $i" >"$1/d/small-$i" || return 1
	done
	(cd "$1" && find . -type f | sort | xargs sha256sum) >/tmp/tree.sha256
}

check_tree() { # DIR
	(cd "$1" && sha256sum -c -s /tmp/tree.sha256) &&
		[ "$(cd "$1" && find . -type f | wc -l)" -eq "$(wc -l </tmp/tree.sha256)" ]
}

if [ -n "$mq" ]; then
	ktap_check mkfs_ext4 mkfs.ext4 -q -F "/dev/$mq"
	ktap_check mount_ext4 mount -t ext4 "/dev/$mq" /mnt
	ktap_check write_file_tree make_tree /mnt/tree
	ktap_check umount_ext4 umount /mnt
	ktap_check e2fsck_clean e2fsck -f -n "/dev/$mq"
	ktap_check remount_ext4 mount -t ext4 -o ro "/dev/$mq" /mnt
	ktap_check file_tree_checksums check_tree /mnt/tree
	ktap_check umount_ext4_again umount /mnt
	rm -f /tmp/tree.sha256
fi
rm -f /tmp/host.pat

# --- Removal ------------------------------------------------------------------

grep -q " /mnt " /proc/mounts && umount /mnt
ktap_check "rmmod_$BLK_DRIVER" blk_unload
ktap_check no_disk_left sh -c '! ls -d /sys/block/vd* 2>/dev/null'
ktap_end
