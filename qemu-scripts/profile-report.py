#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instructions per request (or frame) of the C and the Rust virtio drivers, by function.

Reads the translation-block counts of qemu-scripts/insn-profile.c, the
kernel's System.map and the modules' symbols (RVIRTIO-KSYM lines of the
console log), and prints, for each run (block reads at each queue depth,
network frames sent and received), the total per request or frame of each
driver, the functions of each driver's module (with the kernel's own
Rust helpers), and the kernel functions whose counts differ most between
the two runs. The phases are those of qemu-scripts/guest/bench.sh.
"""

import argparse
import bisect
import collections
import re
import subprocess
import sys

# (name, unit, C phase, Rust phase, {module: driver}), as qemu-scripts/guest/bench.sh runs
# them. The network runs count the whole guest, the peer's C driver included: the same
# for both.
BLK = {"virtio_blk": "C", "rvirtio_blk": "Rust"}
NET = {"virtio_net": "C", "rvirtio_net": "Rust"}
RUNS = (
    ("4 KiB random reads, depth 1", "request", 1, 4, BLK),
    ("4 KiB random reads, depth 32", "request", 2, 5, BLK),
    ("64-byte frames sent (pktgen, to the peer)", "frame", 7, 10, NET),
    ("64-byte frames received (pktgen, from the peer)", "frame", 8, 11, NET),
)
PHASES = 13


def demangler(names):
    """Readable forms of Rust symbols (binutils' c++filt knows the v0 scheme), without crate
    hashes and the out-of-tree module path; other names unchanged."""
    names = sorted(set(names))
    out = {n: n for n in names}
    rust = [n for n in names if n.startswith("_R")]
    try:
        res = subprocess.run(["c++filt"], input="\n".join(rust), capture_output=True,
                             text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return out
    for n, d in zip(rust, res):
        d = re.sub(r"\[[0-9a-f]+\]", "", d)
        d = re.sub(r"\b\w+_main::rust_kernel::", "", d)
        d = re.sub(r"\b\w+_main::", "", d)
        out[n] = d
    return out


def load_symbols(system_map, log):
    syms = []
    for line in open(system_map):
        f = line.split()
        if len(f) >= 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16), f[2], "kernel"))
    seen = 0
    for line in open(log, errors="replace"):
        m = re.search(r"RVIRTIO-KSYM ([0-9a-f]+) [tTwW] (\S+)\s+\[(\w+)\]", line)
        if m:
            syms.append((int(m.group(1), 16), m.group(2), m.group(3)))
            seen += 1
    if not seen:
        sys.exit("profile-report: no module symbols (RVIRTIO-KSYM lines) in the console log")
    syms.sort()
    return syms


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--blocks", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--system-map", required=True)
    ap.add_argument("--ios", type=int, required=True)
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()

    syms = load_symbols(a.system_map, a.log)
    addrs = [s[0] for s in syms]
    counts = collections.defaultdict(collections.Counter)
    total = collections.Counter()
    phases = 0
    for line in open(a.blocks):
        if line.startswith("# phases"):
            phases = int(line.split()[2])
            continue
        f = line.split()
        vaddr, insns = int(f[0], 16), int(f[1])
        i = bisect.bisect_right(addrs, vaddr) - 1
        key = (syms[i][2], syms[i][1]) if i >= 0 else ("?", hex(vaddr))
        for p, n in enumerate(f[2:]):
            counts[p][key] += insns * int(n)
            total[p] += insns * int(n)
    if phases < PHASES:
        sys.exit(f"profile-report: {phases} phases counted, expected {PHASES} (did the guest finish?)")

    names = demangler(k[1] for p in counts.values() for k in p)
    n = a.ios
    for title, unit, pc, pr, modules in RUNS:
        c, r = total[pc] / n, total[pr] / n
        print(f"== {title}: instructions per {unit} (whole guest)")
        print(f"   C {c:.0f}   Rust {r:.0f}   Rust - C {r - c:+.0f}   C/Rust {c / r:.3f}")
        print()
        for mod, label in modules.items():
            phase = pc if label == "C" else pr
            rows = [
                (v, k[1])
                for k, v in counts[phase].items()
                if k[0] == mod or (label == "Rust" and k[1].startswith("rust_helper_"))
            ]
            rows.sort(reverse=True)
            own = sum(v for v, _ in rows) / n
            helpers = sum(v for v, name in rows if name.startswith("rust_helper_")) / n
            extra = f"; {helpers:.0f} of them in rust_helper_* calls" if label == "Rust" else ""
            print(f"   {label} driver's own functions ({own:.0f} per {unit}{extra}):")
            for v, name in rows[: a.top]:
                if v / n >= 0.5:
                    print(f"   {v / n:8.1f}  {names[name][:150]}")
            print()
        kernel = set(k for k in counts[pc] if k[0] == "kernel") | set(
            k for k in counts[pr] if k[0] == "kernel"
        )
        kernel = [k for k in kernel if not k[1].startswith("rust_helper_")]
        kernel.sort(key=lambda k: -abs(counts[pr][k] - counts[pc][k]))
        print(f"   kernel functions that differ most (C, Rust, Rust - C per {unit}):")
        for k in kernel[: a.top]:
            vc, vr = counts[pc][k] / n, counts[pr][k] / n
            print(f"   {vc:8.1f} {vr:8.1f} {vr - vc:+8.1f}  {names[k[1]][:150]}")
        print()


if __name__ == "__main__":
    main()
