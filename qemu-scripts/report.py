#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns a VM console log (and host-side KTAP files) into one test report.

Reads every KTAP document that the guest printed between
``RVIRTIO-KTAP-BEGIN <suite>`` and ``RVIRTIO-KTAP-END <suite>`` markers,
counts the leaf test cases, and adds as failures:

- a suite that was expected but never printed (not run, or the guest died
  before it), or that started and never ended (crashed mid-suite);
- a suite that ran no test case;
- every kernel splat anywhere in the log (oops, BUG, WARNING, panic, hung
  task, lockdep, KASAN, UBSAN, RCU stall, Rust panic), whatever the tests
  printed;
- a VM that did not reach the end of its /init (panic, timeout, QEMU error).

Skips are counted and named apart, never as passes. The last line printed is
``N passed, N failed[, N skipped]``; the exit status is 1 on any failure.
"""

import argparse
import json
import re
import sys

TIMESTAMP = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT = re.compile(r"^(\s*)(ok|not ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$")
BEGIN = re.compile(r"RVIRTIO-KTAP-BEGIN (\S+)")
END = re.compile(r"RVIRTIO-KTAP-END (\S+)")

# Kernel messages that mean something went wrong, wherever they appear.
SPLATS = [
    re.compile(p)
    for p in (
        r"\bBUG: ",  # KASAN, sleeping in atomic, soft lockup, bad page, ...
        r"\bWARNING: ",  # WARN_ON, lockdep, suspicious RCU usage
        r"kernel BUG at",
        r"\bOops\b",
        r"general protection fault",
        r"Kernel panic",
        r"INFO: task .* blocked for more than",  # hung task
        r"rcu: INFO: .* detected stalls?",
        r"\bUBSAN: ",
        r"panicked at ",  # Rust panic
        r"list_(add|del) corruption",
        r"unregister_netdevice: waiting for",
        r"Unable to handle kernel",
    )
]

VM_STATUS = {
    0: None,
    2: "VM stopped before the end of the tests (kernel panic, reboot or power-off)",
    3: "VM timed out (hung, or too slow for the time limit)",
    4: "QEMU failed to start or crashed",
}


class Report:
    def __init__(self):
        self.passed = []
        self.failed = []  # (name, [diagnostics])
        self.skipped = []  # (name, reason)
        self.suites_seen = []

    def fail(self, name, *diag):
        self.failed.append((name, list(diag)))


PLAN = re.compile(r"^(\s*)1\.\.(\d+)\s*$")
VERSION = re.compile(r"^(\s*)KTAP version \d+")


class Frame:
    """One level of a KTAP document: its plan and its results so far."""

    def __init__(self, indent):
        self.indent = indent
        self.plan = None
        self.subtest = None
        self.results = []  # (ok, name, directive, diagnostics, child Frame or None)


def parse_block(block, lines, report, finished=True):
    """Counts the leaf results of one KTAP document.

    Nesting follows indentation, as KUnit prints it: a result line that
    closes deeper-indented lines is a suite and its leaves are named
    ``<suite>.<case>``; leaves of a flat document belong to the block. A
    level whose plan (``1..N``) disagrees with the results it holds is a
    failure: a suite that says it has five cases and shows none did not run
    them. Returns the names of the suites seen.
    """
    stack = []
    diag = []

    def frame_at(indent):
        while stack and stack[-1].indent > indent:
            stack.pop()
        if not stack or stack[-1].indent < indent:
            stack.append(Frame(indent))
        return stack[-1]

    top = None
    for raw in lines:
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        m = VERSION.match(line)
        if m:
            frame_at(len(m.group(1)))
            top = top or stack[0]
            continue
        m = PLAN.match(line)
        if m:
            frame_at(len(m.group(1))).plan = int(m.group(2))
            top = top or stack[0]
            continue
        m = RESULT.match(line)
        if m:
            indent, status, _num, name, directive = m.groups()
            child = None
            while stack and stack[-1].indent > len(indent):
                child = stack.pop()
            frame = frame_at(len(indent))
            top = top or stack[0]
            frame.results.append((status == "ok", name.strip(), directive or "", diag, child))
            diag = []
        elif line.strip().startswith("# Subtest:"):
            frame_at(len(line) - len(line.lstrip())).subtest = line.split(":", 1)[1].strip()
            top = top or stack[0]
        elif line.strip().startswith("#"):
            diag.append(line.strip())
        elif diag and "ASSERTION FAILED" in diag[-1] or diag and diag[-1].startswith("  "):
            # The lines of an assertion message that follow its '#' line.
            diag.append("  " + line.strip())

    # Levels never closed by a result line: the document was cut short (the
    # caller fails the block for it). What did run still counts.
    while len(stack) > 1:
        child = stack.pop()
        stack[-1].results.append((True, child.subtest or block, "", [], child))

    seen = []

    def walk(frame, suite):
        if frame.plan is not None and frame.plan != len(frame.results):
            report.fail(suite, f"plan says {frame.plan} tests, {len(frame.results)} reported")
        for ok, name, directive, diags, child in frame.results:
            skip = directive.upper().startswith("SKIP")
            if child is not None:
                seen.append(name)
                failures = len(report.failed)
                walk(child, name)
                # A suite that failed with no failing case (suite init,
                # crash) is a failure of its own.
                if not ok and not skip and len(report.failed) == failures:
                    report.fail(name, "suite reported failure", *diags)
                continue
            if suite == block and block not in seen:
                seen.append(block)
            full = f"{suite}.{name}"
            if skip:
                report.skipped.append((full, directive[4:].strip()))
            elif ok:
                report.passed.append(full)
            else:
                report.fail(full, *diags)

    if top is None or not top.results:
        # An unfinished block is failed by the caller, for that reason.
        if finished:
            report.fail(block, "suite ran no test case")
        return [block]
    walk(top, block)
    return seen


def parse_log(path, report, line_offset=0):
    """Parses the marked KTAP blocks of a log and returns its lines."""
    with open(path, errors="replace") as f:
        lines = f.readlines()
    open_blocks = {}
    for n, raw in enumerate(lines):
        m = BEGIN.search(raw)
        if m:
            open_blocks[m.group(1)] = []
            continue
        m = END.search(raw)
        if m and m.group(1) in open_blocks:
            block = m.group(1)
            report.suites_seen.extend(parse_block(block, open_blocks.pop(block), report))
            continue
        if open_blocks:
            # Blocks nest: a line belongs to the innermost open one.
            open_blocks[next(reversed(open_blocks))].append(raw)
    for block, block_lines in open_blocks.items():
        # What did run counts; the block itself fails as crashed.
        report.suites_seen.extend(parse_block(block, block_lines, report, finished=False))
        report.fail(block, "started but never finished (crash or hang?)")
    return lines


def find_splats(lines, report, context=12):
    """Fails once per splat: the lines that follow a match (a Rust panic's
    BUG and Oops, a WARNING's trace) are the same event."""
    last = -context - 1
    for n, raw in enumerate(lines):
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        if "RVIRTIO-" in line:
            continue
        if any(pat.search(line) for pat in SPLATS):
            if n - last > context:
                snippet = [TIMESTAMP.sub("", l.rstrip("\n")) for l in lines[n : n + context]]
                report.fail(f"kernel splat at console line {n + 1}: {line.strip()}", *snippet)
            last = n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="VM console log")
    ap.add_argument("--host-ktap", action="append", default=[], help="host-side KTAP file")
    ap.add_argument("--expect", action="append", default=[], help="suite that must appear")
    ap.add_argument("--vm-status", type=int, default=0, help="exit status of run-vm.sh")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    report = Report()
    for path in args.host_ktap:
        parse_log(path, report)
    if args.log:
        lines = parse_log(args.log, report)
        find_splats(lines, report)
    for suite in args.expect:
        if suite not in report.suites_seen:
            report.fail(suite, "expected suite missing from the output (not run, or the VM died first)")
    vm = VM_STATUS.get(args.vm_status, f"runner failed with status {args.vm_status}")
    if vm:
        report.fail("vm", vm)
        if args.log:
            tail = [TIMESTAMP.sub("", l.rstrip("\n")) for l in lines[-15:]]
            report.failed[-1][1].extend(["last console lines:"] + tail)

    by_suite = {}
    for name in report.passed:
        by_suite.setdefault(name.split(".")[0], [0, 0, 0])[0] += 1
    for name, _ in report.failed:
        by_suite.setdefault(name.split(".")[0], [0, 0, 0])[1] += 1
    for name, _ in report.skipped:
        by_suite.setdefault(name.split(".")[0], [0, 0, 0])[2] += 1

    print("\n==> Results")
    for suite in report.suites_seen:
        p, f, s = by_suite.get(suite, [0, 0, 0])
        print(f"    {suite:32} {p} passed, {f} failed, {s} skipped")
    for name, diags in report.failed:
        print(f"FAIL: {name}")
        for d in diags:
            print(f"      {d}")
    for name, reason in report.skipped:
        print(f"SKIP: {name}: {reason}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "passed": report.passed,
                    "failed": [{"name": n, "diagnostics": d} for n, d in report.failed],
                    "skipped": [{"name": n, "reason": r} for n, r in report.skipped],
                },
                f,
                indent=2,
            )
    summary = f"{len(report.passed)} passed, {len(report.failed)} failed"
    if report.skipped:
        summary += f", {len(report.skipped)} skipped"
    print(summary)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
