#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: builds what is missing (lean kernel, modules, initramfs), boots
# QEMU with a virtio-blk disk, a virtio-net NIC and a virtio-rng device,
# inserts the rvirtio modules and shows what they did. The console is shown
# and kept in build/logs/run-<time>/console.log.
#
# INTERACTIVE=1 leaves a shell in the guest afterwards (exit to power off).
# FLAVOUR=debug boots the debug kernel instead of the lean one.
# KDIR=<your build> boots your own kernel build instead.
# RVIRTIO_APPEND=<args> adds to the guest's kernel command line.

set -euo pipefail
. "$(dirname "$0")/lib.sh"
top=$RVIRTIO_TOP

"$top/qemu-scripts/setup.sh"
flavour=${FLAVOUR:-lean}
kdir=$(resolve_kdir "$flavour")
[ -z "${KDIR:-}" ] || RVIRTIO_USER_KDIR=1
mo=$top/build/$([ -n "${KDIR:-}" ] && echo custom || echo "$flavour")
logs=$(new_logs run)

build_modules "$kdir" "$mo"
RVIRTIO_FIO=$("$top/qemu-scripts/fio.sh") "$top/qemu-scripts/initramfs.sh" \
	"$kdir" "$mo" "$logs/initramfs.cpio"

args=(--mode run --kernel "$kdir/arch/x86/boot/bzImage" --initrd "$logs/initramfs.cpio"
	--log "$logs/console.log" --timeout "${RVIRTIO_VM_TIMEOUT:-600}"
	--append "${RVIRTIO_APPEND:-}")
[ "${INTERACTIVE:-0}" = 1 ] && args+=(--interactive)
rc=0
"$top/qemu-scripts/run-vm.sh" "${args[@]}" || rc=$?
rm -f "$logs/initramfs.cpio"
say "Console log: $logs/console.log"
exit $rc
