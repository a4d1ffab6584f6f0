# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the guest's block tests. Sourced after ktap.sh.
#
# The driver under test comes from the kernel command line:
#
#   rvirtio.blk_driver=rvirtio_blk   the Rust driver (the default)
#   rvirtio.blk_driver=virtio_blk    the C driver, to check the tests
#
# (`RVIRTIO_APPEND=rvirtio.blk_driver=virtio_blk make check`). A driver
# whose module is missing fails the tests that need it; it is never a skip.

BLK_DRIVER=rvirtio_blk
for _arg in $(cat /proc/cmdline); do
	case "$_arg" in
	rvirtio.blk_driver=*) BLK_DRIVER=${_arg#rvirtio.blk_driver=} ;;
	esac
done
unset _arg

# The module file of a block driver.
blk_module() { # NAME
	case "$1" in
	virtio_blk) echo /lib/modules/c/virtio_blk.ko ;;
	*) echo "/lib/modules/rvirtio/$1.ko" ;;
	esac
}
BLK_MODULE=$(blk_module "$BLK_DRIVER")

# blk_loaded NAME: module NAME is loaded.
blk_loaded() {
	grep -q "^$1 " /proc/modules
}

# blk_load [NAME]: inserts block driver NAME, by default the driver under
# test (nothing to do if it is loaded already).
blk_load() {
	local name=${1:-$BLK_DRIVER} ko
	blk_loaded "$name" && return 0
	ko=$(blk_module "$name")
	if [ ! -f "$ko" ]; then
		echo "no module $ko for block driver $name"
		return 1
	fi
	insmod "$ko"
}

# blk_unload: removes it again.
blk_unload() {
	rmmod "$BLK_DRIVER"
}

# blk_dev_by_serial SERIAL: prints the disk (vdX) whose virtio-blk serial is
# SERIAL, waiting up to 10 s for it to appear; fails if there is none or it
# is not bound to the driver under test.
blk_dev_by_serial() {
	local i d drv
	for i in $(seq 20); do
		for d in /sys/block/vd*; do
			[ -e "$d/serial" ] && [ "$(cat "$d/serial")" = "$1" ] || continue
			drv=$(basename "$(readlink "$d/device/driver")")
			if [ "$drv" != "$BLK_DRIVER" ]; then
				echo "${d##*/} (serial $1) is bound to '$drv', not $BLK_DRIVER" >&2
				return 1
			fi
			echo "${d##*/}"
			return 0
		done
		sleep 0.5
	done
	echo "no disk with serial $1 (driver $BLK_DRIVER)" >&2
	return 1
}

# Deterministic data, the same bytes as qemu-scripts/blk-pattern.py makes on
# the host (keep the two in step): every 512-byte sector is eight 64-byte
# records naming the seed, the sector's number on the disk and the record's
# offset in the sector.
BLK_HOST_SEED=72766230        # sectors [0, 16 MiB) of rvirtio-data, written by the host
BLK_GUEST_SEED=72766731       # sectors [16 MiB, 20 MiB), written by the guest
blk_pattern() { # SEED FIRST_SECTOR COUNT
	# One sector per sprintf and one write per 8 sectors: system calls
	# are what costs most under TCG with KASAN.
	awk -v seed="$1" -v first="$2" -v n="$3" 'BEGIN {
		for (o = 0; o < 512; o += 64)
			f = f sprintf("rvirtio-blk seed %s sector %%010d byte %03d ..........\n", seed, o)
		for (s = first; s < first + n; s++) {
			buf = buf sprintf(f, s, s, s, s, s, s, s, s)
			if ((s - first) % 8 == 7) {
				printf "%s", buf
				buf = ""
			}
		}
		printf "%s", buf
	}'
}
