#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the compiler warnings of a kernel build log that are in files the
series touches (rustc and clippy: `warning: ...` then `--> path:line:col`;
C: `path:line:col: warning: ...`).

    warnings.py --touched FILES.txt BUILD.log
"""

import argparse
import re

RUST_LOC = re.compile(r"^\s*--> (\S+?):\d+:\d+")
C_WARN = re.compile(r"^(\S+?):\d+:\d+: warning:")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touched", required=True)
    ap.add_argument("log")
    args = ap.parse_args()
    touched = [l.strip() for l in open(args.touched) if l.strip()]

    def ours(path):
        return any(path == t or path.endswith("/" + t) for t in touched)

    lines = open(args.log, errors="replace").read().split("\n")
    for i, line in enumerate(lines):
        m = C_WARN.match(line)
        if m and ours(m.group(1)):
            print("\n".join(lines[i:i + 4]))
            continue
        if line.startswith("warning:") and not re.match(r"warning: \d+ warnings? emitted", line):
            for j in range(i + 1, min(i + 4, len(lines))):
                m = RUST_LOC.match(lines[j])
                if m:
                    if ours(m.group(1)):
                        print("\n".join(lines[i:i + 8]))
                    break


if __name__ == "__main__":
    main()
