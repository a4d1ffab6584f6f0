#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Deterministic data patterns for the block tests' disk image.

Every 512-byte sector holds eight 64-byte text records that name the
pattern's seed, the sector's number on the disk and the record's offset in
the sector:

    rvirtio-blk seed 72766230 sector 0000000000 byte 000 ..........\\n

A sector read from the wrong place, a torn or shifted transfer, stale data
or data from the other pattern cannot match. The guest generates the same
bytes with busybox awk (blk_pattern in qemu-scripts/guest/blk.sh); keep the
two generators identical.

    blk-pattern.py write IMAGE        the host pattern over its region
    blk-pattern.py check IMAGE        the host pattern is still intact
    blk-pattern.py verify-guest IMAGE KTAP
                                      the guest's pattern and the regions
                                      around it, as the KTAP suite
                                      rvirtio_blk_host

--seed, --first and --count override a subcommand's region (hex seed,
sectors).
"""

import argparse
import sys

SECTOR = 512
MIB = 1 << 20

# Keep in step with qemu-scripts/guest/blk.sh.
HOST_SEED = "72766230"  # sectors [0, 16 MiB) of rvirtio-data
HOST_FIRST, HOST_COUNT = 0, 16 * MIB // SECTOR
GUEST_SEED = "72766731"  # sectors [16 MiB, 20 MiB), written by the guest
GUEST_FIRST, GUEST_COUNT = 16 * MIB // SECTOR, 4 * MIB // SECTOR
# The guest writes nothing in [20 MiB, 32 MiB); fio uses [32 MiB, 64 MiB).
GAP_FIRST, GAP_COUNT = 20 * MIB // SECTOR, 12 * MIB // SECTOR


def sector(seed, n):
    return b"".join(
        b"rvirtio-blk seed %s sector %010d byte %03d ..........\n" % (seed.encode(), n, off)
        for off in range(0, SECTOR, 64)
    )


def pattern(seed, first, count):
    return b"".join(sector(seed, n) for n in range(first, first + count))


def read(image, first, count):
    with open(image, "rb") as f:
        f.seek(first * SECTOR)
        data = f.read(count * SECTOR)
    # A sparse image may be shorter than the region: what is missing reads
    # as zeroes from the guest too.
    return data + bytes(count * SECTOR - len(data))


def compare(image, seed, first, count):
    """None if the region holds the pattern (or zeroes, seed None), else a
    description of the first bad sector and how many are bad."""
    data = read(image, first, count)
    bad = []
    for i in range(count):
        got = data[i * SECTOR:(i + 1) * SECTOR]
        want = bytes(SECTOR) if seed is None else sector(seed, first + i)
        if got != want:
            bad.append(i)
    if not bad:
        return None
    i = bad[0]
    got = data[i * SECTOR:i * SECTOR + 48]
    return "%d of %d sectors differ; first: sector %d holds %r" % (len(bad), count, first + i, got)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["write", "check", "verify-guest"])
    ap.add_argument("image")
    ap.add_argument("ktap", nargs="?", help="verify-guest: KTAP output file")
    ap.add_argument("--seed")
    ap.add_argument("--first", type=int)
    ap.add_argument("--count", type=int)
    args = ap.parse_args()

    def region(seed, first, count):
        return (args.seed or seed, first if args.first is None else args.first,
                count if args.count is None else args.count)

    if args.cmd == "write":
        seed, first, count = region(HOST_SEED, HOST_FIRST, HOST_COUNT)
        with open(args.image, "r+b" if _exists(args.image) else "wb") as f:
            f.seek(first * SECTOR)
            f.write(pattern(seed, first, count))
        return 0

    if args.cmd == "check":
        err = compare(args.image, *region(HOST_SEED, HOST_FIRST, HOST_COUNT))
        if err:
            print("error: %s: %s" % (args.image, err), file=sys.stderr)
            return 1
        return 0

    # verify-guest: one KTAP suite, whatever happened.
    if not args.ktap:
        ap.error("verify-guest needs a KTAP output file")
    checks = [
        ("guest_pattern_reached_the_image", region(GUEST_SEED, GUEST_FIRST, GUEST_COUNT)),
        ("host_pattern_left_intact", (HOST_SEED, HOST_FIRST, HOST_COUNT)),
        ("nothing_written_past_the_guest_region", (None, GAP_FIRST, GAP_COUNT)),
    ]
    out = ["RVIRTIO-KTAP-BEGIN rvirtio_blk_host", "KTAP version 1", "# Subtest: rvirtio_blk_host"]
    failed = 0
    for n, (name, (seed, first, count)) in enumerate(checks, 1):
        try:
            err = compare(args.image, seed, first, count)
        except OSError as e:
            err = str(e)
        if err:
            failed += 1
            out += ["not ok %d %s" % (n, name), "# %s" % err]
        else:
            out.append("ok %d %s" % (n, name))
    out += ["1..%d" % len(checks), "RVIRTIO-KTAP-END rvirtio_blk_host"]
    with open(args.ktap, "w") as f:
        f.write("\n".join(out) + "\n")
    return 1 if failed else 0


def _exists(path):
    try:
        open(path, "rb").close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
