# SPDX-License-Identifier: GPL-2.0
#
# The KUnit suites built into the kernel ran at boot. In the kernel tree the
# abstractions' suites (CONFIG_RUST_VIRTIO_KUNIT_TEST) and the kernel crate's
# doctests (CONFIG_RUST_KERNEL_DOCTESTS) are built in: their results, as
# KUnit keeps them in debugfs, each between markers of its own. The series
# check (qemu-scripts/series/check.sh) expects each suite by name, so a suite
# that did not run fails there. Not part of `make check`: only the series
# check puts it in its initramfs.
. /lib/rvirtio/ktap.sh

[ -d /sys/kernel/debug/kunit ] || mount -t debugfs none /sys/kernel/debug
for d in /sys/kernel/debug/kunit/rust_*; do
	[ -e "$d/results" ] || continue
	name=$(basename "$d")
	echo "RVIRTIO-KTAP-BEGIN kunit_builtin_$name"
	cat "$d/results"
	echo "RVIRTIO-KTAP-END kunit_builtin_$name"
done
