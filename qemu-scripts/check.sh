#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test layer, on the debug kernel.
#
#  1. installs what is missing, builds (or reuses) the debug kernel;
#  2. builds the modules with warnings as errors;
#  3. on the host: lint (rustfmt, clippy, no `unsafe`/`bindings::` in
#     drivers/ and samples/) and a self-test of the report's verdicts;
#  4. boots QEMU with virtio-blk, virtio-net and virtio-rng devices and runs
#     the guest tests (KUnit suites and shell tests, all in KTAP), then a
#     kmemleak scan;
#  5. report.py reads everything and prints `N passed, N failed` last.
#
# Logs: build/logs/check-<time>/ (build/logs/latest points at the last run).
# Environment: KDIR=<your build> to test against your own kernel build,
# RVIRTIO_VM_TIMEOUT=<seconds> (default 1800), RVIRTIO_ACCEL=tcg|kvm,
# RVIRTIO_APPEND=<args> for the guest's kernel command line (e.g.
# rvirtio.blk_driver=virtio_blk runs the block tests on the C driver).

set -euo pipefail
. "$(dirname "$0")/lib.sh"
start=$(date +%s)
top=$RVIRTIO_TOP

"$top/qemu-scripts/setup.sh"
kdir=$(resolve_kdir debug)
[ -z "${KDIR:-}" ] || RVIRTIO_USER_KDIR=1
mo=$top/build/$([ -n "${KDIR:-}" ] && echo custom || echo debug)

logs=$(new_logs check latest)

build_modules "$kdir" "$mo" RVIRTIO_WERROR=1

# --- Lint (host side, KTAP like the rest) -----------------------------------
lint=$logs/lint.ktap
lint_n=0
{
	echo "RVIRTIO-KTAP-BEGIN rvirtio_lint"
	echo "KTAP version 1"
} >"$lint"
lint_result() { # STATUS NAME [DIAGNOSTIC FILE]
	lint_n=$((lint_n + 1))
	echo "$1 $lint_n $2" >>"$lint"
	[ -z "${3:-}" ] || sed 's/^/# /' "$3" | head -n 40 >>"$lint"
}

mapfile -t rs_files < <(cd "$top" && find rust kunit-tests drivers samples -name '*.rs' 2>/dev/null | sort)
say "Lint: rustfmt (kernel .rustfmt.toml) on ${#rs_files[@]} files"
if (cd "$top" && /usr/bin/rustfmt --edition 2021 --config-path "$kdir/source/.rustfmt.toml" \
	--check "${rs_files[@]}") >"$logs/rustfmt.log" 2>&1; then
	lint_result ok rustfmt
else
	lint_result "not ok" rustfmt "$logs/rustfmt.log"
fi

say "Lint: clippy (CLIPPY=1, warnings are errors)"
if build_modules "$kdir" "$mo-clippy" CLIPPY=1 RVIRTIO_WERROR=1 2>"$logs/clippy-progress.log"; then
	lint_result ok clippy
else
	lint_result "not ok" clippy "$mo-clippy/build.log"
fi

say "Module aliases: virtio ID tables reach modpost (udev/modprobe autoload)"
if /sbin/modinfo -F alias "$mo/samples/rust/rvirtio_rng.ko" 2>&1 | tee "$logs/alias.log" |
	grep -qx 'virtio:d00000004v\*'; then
	lint_result ok rvirtio_rng_has_virtio_alias
else
	lint_result "not ok" rvirtio_rng_has_virtio_alias "$logs/alias.log"
fi

say "Lint: no unsafe code and no C bindings in drivers/ and samples/"
mapfile -t leaf_files < <(cd "$top" && find drivers samples -name '*.rs' 2>/dev/null | sort)
if [ ${#leaf_files[@]} -eq 0 ]; then
	echo "ok $((lint_n += 1)) drivers_have_no_unsafe # SKIP no driver or sample sources yet" >>"$lint"
elif (cd "$top" && grep -nE '\bunsafe\b|bindings::' "${leaf_files[@]}") >"$logs/unsafe.log"; then
	lint_result "not ok" drivers_have_no_unsafe "$logs/unsafe.log"
else
	lint_result ok drivers_have_no_unsafe
fi
{
	echo "1..$lint_n"
	echo "RVIRTIO-KTAP-END rvirtio_lint"
} >>"$lint"

# --- Compile-fail checks: misuses of the abstractions the compiler must refuse --
"$top/qemu-scripts/compile-fail.sh" "$kdir" "$mo-compile-fail" "$logs/compile-fail.ktap" ||
	printf '%s\n' "RVIRTIO-KTAP-BEGIN rvirtio_compile_fail" "KTAP version 1" "1..1" \
		"# qemu-scripts/compile-fail.sh itself failed" "not ok 1 compile_fail_script" \
		"RVIRTIO-KTAP-END rvirtio_compile_fail" >"$logs/compile-fail.ktap"

say "Harness self-test: report.py on made-up logs"
"$top/qemu-scripts/report_selftest.py" >"$logs/harness.ktap" || true

# --- VM ------------------------------------------------------------------------
# The block tests' known data: the host's pattern in the first 16 MiB of
# rvirtio-data, which the guest reads back (50-rvirtio-blk-data.sh).
truncate -s 64M "$logs/blk-data.img"
"$top/qemu-scripts/blk-pattern.py" write "$logs/blk-data.img"

RVIRTIO_FIO=$("$top/qemu-scripts/fio.sh") "$top/qemu-scripts/initramfs.sh" \
	"$kdir" "$mo" "$logs/initramfs.cpio"

vm_rc=0
"$top/qemu-scripts/run-vm.sh" --mode check --quiet \
	--kernel "$kdir/arch/x86/boot/bzImage" --initrd "$logs/initramfs.cpio" \
	--log "$logs/console.log" --timeout "${RVIRTIO_VM_TIMEOUT:-1800}" \
	--append "${RVIRTIO_APPEND:-}" || vm_rc=$?
# What the guest wrote, checked in the image (KTAP suite rvirtio_blk_host).
: >"$logs/blk-host.ktap"
"$top/qemu-scripts/blk-pattern.py" verify-guest "$logs/blk-data.img" "$logs/blk-host.ktap" || true
rm -f "$logs/initramfs.cpio" "$logs/disk.img" "$logs"/blk-*.img

# Every suite the sources define must show up in the output.
expect=(rvirtio_lint rvirtio_compile_fail rvirtio_harness rvirtio_blk_host kmemleak)
mapfile -t -O ${#expect[@]} expect < <(
	cd "$top" && {
		grep -rhoE '#\[kunit_tests\([a-z0-9_]+\)\]' rust kunit-tests drivers samples 2>/dev/null |
			sed -E 's/.*\(([a-z0-9_]+)\).*/\1/'
		grep -hoE '^ktap_begin [a-z0-9_]+' qemu-scripts/guest/tests/*.sh | cut -d' ' -f2
	} | sort -u
)

rc=0
"$top/qemu-scripts/report.py" --log "$logs/console.log" --host-ktap "$lint" --host-ktap "$logs/compile-fail.ktap" --host-ktap "$logs/harness.ktap" \
	--host-ktap "$logs/blk-host.ktap" \
	--vm-status "$vm_rc" --json "$logs/results.json" \
	$(printf -- '--expect %s ' "${expect[@]}") >"$logs/report.txt" || rc=$?
echo "Logs: $logs (console.log, results.json, report.txt); took $(($(date +%s) - start))s"
cat "$logs/report.txt"
exit $rc
