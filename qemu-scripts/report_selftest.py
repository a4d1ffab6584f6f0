#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of report.py, the harness's judge, on made-up console logs.

Each case feeds report.py a log that a real run could produce and checks the
verdict: a harness that passed a crashed kernel or a missing suite would make
every other test worthless. Prints KTAP between rvirtio markers, like the
other host-side suites.
"""

import os
import subprocess
import sys
import tempfile

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.py")

GOOD_SUITE = """RVIRTIO-KTAP-BEGIN demo
KTAP version 1
    # Subtest: demo
    # module: rvirtio_kunit
    1..2
    ok 1 first
    ok 2 second
# demo: pass:2 fail:0 skip:0 total:2
ok 1 demo
RVIRTIO-KTAP-END demo
"""

# Two KUnit suites of one module, as the console shows them during insmod.
KUNIT_CONSOLE = """RVIRTIO-KTAP-BEGIN modules
KTAP version 1
RVIRTIO-KTAP-BEGIN kunit_mod
[    9.100000] KTAP version 1
[    9.100001] 1..2
[    9.100002]     KTAP version 1
[    9.100003]     # Subtest: suite_a
[    9.100004]     1..2
[    9.100005]     ok 1 a_one
[    9.100006]     ok 2 a_two
[    9.100007] # suite_a: pass:2 fail:0 skip:0 total:2
[    9.100008] ok 1 suite_a
[    9.100009]     KTAP version 1
[    9.100010]     # Subtest: suite_b
[    9.100011]     1..1
[    9.100012]     # b_one: ASSERTION FAILED at x.rs:1
[    9.100013]     not ok 1 b_one
[    9.100014] not ok 2 suite_b
RVIRTIO-KTAP-END kunit_mod
ok 1 insmod_mod
1..1
RVIRTIO-KTAP-END modules
"""

CASES = [
    (
        "kunit_console_suites_are_named_and_counted",
        KUNIT_CONSOLE,
        ["--expect", "suite_a", "--expect", "suite_b", "--expect", "modules"],
        1,
        "3 passed, 1 failed",
    ),
    # name, log, extra args, expected exit status, expected last line
    ("all_pass_is_green", GOOD_SUITE, ["--expect", "demo"], 0, "2 passed, 0 failed"),
    (
        "failed_case_fails",
        GOOD_SUITE.replace("    ok 2 second", "    # second: ASSERTION FAILED\n    not ok 2 second"),
        ["--expect", "demo"],
        1,
        "1 passed, 1 failed",
    ),
    (
        "skip_is_not_a_pass",
        GOOD_SUITE.replace("ok 2 second", "ok 2 second # SKIP no device"),
        ["--expect", "demo"],
        0,
        "1 passed, 0 failed, 1 skipped",
    ),
    ("missing_suite_fails", GOOD_SUITE, ["--expect", "demo", "--expect", "other"], 1, "2 passed, 1 failed"),
    (
        "crash_mid_suite_fails",
        "RVIRTIO-KTAP-BEGIN demo\nKTAP version 1\n    ok 1 first\n",
        ["--expect", "demo"],
        1,
        "1 passed, 1 failed",
    ),
    (
        "oops_fails_even_if_tests_pass",
        GOOD_SUITE + "[   12.000000] Oops: general protection fault, probably for non-canonical address\n",
        ["--expect", "demo"],
        1,
        "2 passed, 1 failed",
    ),
    (
        "kasan_report_fails",
        "[    3.1] BUG: KASAN: slab-use-after-free in foo+0x1/0x2\n" + GOOD_SUITE,
        ["--expect", "demo"],
        1,
        "2 passed, 1 failed",
    ),
    (
        "lockdep_warning_fails",
        GOOD_SUITE + "WARNING: possible circular locking dependency detected\n",
        [],
        1,
        "2 passed, 1 failed",
    ),
    (
        "hung_task_fails",
        GOOD_SUITE + "INFO: task insmod:80 blocked for more than 60 seconds.\n",
        [],
        1,
        "2 passed, 1 failed",
    ),
    (
        "rust_panic_fails",
        GOOD_SUITE + "rust_kernel: panicked at drivers/x.rs:1:1:\n",
        [],
        1,
        "2 passed, 1 failed",
    ),
    (
        "suite_registered_but_not_run_fails",
        "RVIRTIO-KTAP-BEGIN demo\nKTAP version 1\n1..1\n    KTAP version 1\n"
        "    # Subtest: demo\n    1..5\nok 1 demo\nRVIRTIO-KTAP-END demo\n",
        ["--expect", "demo"],
        1,
        "0 passed, 1 failed",
    ),
    (
        "one_crash_is_one_failure",
        GOOD_SUITE
        + "rust_kernel: panicked at x.rs:1:1:\nindex out of bounds\n"
        + "kernel BUG at rust/helpers/bug.c:7!\nOops: invalid opcode: 0000 [#1] SMP KASAN\n",
        [],
        1,
        "2 passed, 1 failed",
    ),
    ("vm_timeout_fails", GOOD_SUITE, ["--vm-status", "3"], 1, "2 passed, 1 failed"),
    ("vm_panic_fails", GOOD_SUITE, ["--vm-status", "2"], 1, "2 passed, 1 failed"),
    (
        "empty_suite_fails",
        "RVIRTIO-KTAP-BEGIN demo\nKTAP version 1\n1..0\nRVIRTIO-KTAP-END demo\n",
        [],
        1,
        "0 passed, 1 failed",
    ),
    (
        "printk_interleaved_with_ktap_is_tolerated",
        GOOD_SUITE.replace("    ok 2 second", "[    5.5] virtio_net virtio1: something\n    ok 2 second"),
        ["--expect", "demo"],
        0,
        "2 passed, 0 failed",
    ),
]


def run_case(log, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(log)
        path = f.name
    try:
        p = subprocess.run(
            [sys.executable, REPORT, "--log", path] + extra, capture_output=True, text=True
        )
    finally:
        os.unlink(path)
    lines = p.stdout.strip().splitlines()
    return p.returncode, lines[-1] if lines else ""


def main():
    print("RVIRTIO-KTAP-BEGIN rvirtio_harness")
    print("KTAP version 1")
    failed = 0
    for n, (name, log, extra, want_rc, want_last) in enumerate(CASES, 1):
        rc, last = run_case(log, extra)
        if rc == want_rc and last == want_last:
            print(f"ok {n} {name}")
        else:
            failed += 1
            print(f"not ok {n} {name}")
            print(f"# wanted status {want_rc} and '{want_last}', got {rc} and '{last}'")
    print(f"1..{len(CASES)}")
    print("RVIRTIO-KTAP-END rvirtio_harness")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
