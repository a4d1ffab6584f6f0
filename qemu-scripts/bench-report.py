#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the console log of a `make bench` VM into the benchmark's table.

Reads the lines qemu-scripts/guest/bench.sh printed (``RVIRTIO-BENCH``,
``-ENV``, ``-INFO``, ``-ERROR``, ``-END``) and the host's replies to its
QMP queries, takes the median over the rounds of every (driver, row), and
prints one table: row, C, Rust, Rust/C. The ratio is above 1 when Rust is
better: Rust/C for throughput, C/Rust for latency (rows in us). Two more
columns show the noise: the range of the per-round ratios (each round runs
both drivers back to back) and the larger spread, (max - min) / median, of
the two drivers' rounds.

Writes results.json (a list of {"name", "c", "rust", "ratio"}), rounds.json
(every value of every round) and env.json into --out, and replaces the
results section of --doc (reStructuredText, between the RESULTS markers).

Fails (exit status 1, nothing written) on a VM that did not finish, an error
the guest reported (a failed fio run, a driver that would not bind or
unbind), a kernel splat or I/O error in the log, or any missing or zero
value: the table never shows a number that was not measured.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

# No __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import SPLATS, TIMESTAMP  # noqa: E402

DRIVERS = ("c", "rust")
# The rows the guest must produce, in table order. Latency rows (unit us)
# are better when lower.
ROWS = [
    "randread_4k_qd1_1job_iops",
    "randread_4k_qd32_1job_iops",
    "randread_4k_qd1_2jobs_iops",
    "randread_4k_qd32_2jobs_iops",
    "seqread_128k_qd4_mibps",
    "seqwrite_128k_qd4_mibps",
    "randread_4k_qd1_lat_p50_us",
    "randread_4k_qd1_lat_p99_us",
    "randread_4k_qd1_totlat_p50_us",
    "randread_4k_qd1_totlat_p99_us",
    "net_tcp_stream_tx_mbps",
    "net_tcp_stream_rx_mbps",
    "net_tcp_rr_tps",
    "net_udp_rr_64b_tps",
    "net_udp_tx_64b_pps",
    "net_udp_rx_64b_pps",
]
EXTRA_FAILURES = [re.compile(r"I/O error"), re.compile(r"blk_update_request")]

BEGIN_MARK = ".. BEGIN BENCHMARK RESULTS"
END_MARK = ".. END BENCHMARK RESULTS"

VM_STATUS = {
    2: "the VM stopped before the end of its /init (kernel panic, reboot or power-off)",
    3: "the VM timed out (a hang, or too slow for the time limit)",
    4: "QEMU failed to start or crashed",
}


def lower_is_better(name):
    return name.endswith("_us")


def payload(line, marker):
    """The JSON after MARKER on LINE, or None."""
    i = line.find(marker)
    if i < 0:
        return None
    return line[i + len(marker) :].strip()


def parse(lines):
    data = {"values": {}, "env": None, "info": {}, "errors": [], "end": False, "host": {}}
    pending = []  # QMP requests waiting for their reply, in order
    for n, raw in enumerate(lines, 1):
        line = TIMESTAMP.sub("", raw.rstrip("\n"))
        for marker, kind in (
            ("RVIRTIO-BENCH ", "value"),
            ("RVIRTIO-BENCH-ENV ", "env"),
            ("RVIRTIO-BENCH-INFO ", "info"),
        ):
            p = payload(line, marker)
            if p is None:
                continue
            try:
                obj = json.loads(p)
            except ValueError:
                data["errors"].append(f"console line {n}: unreadable result line: {line.strip()}")
                continue
            if kind == "value":
                key = (obj["driver"], obj["name"], int(obj["round"]))
                data["values"][key] = (obj["value"], obj.get("unit", ""))
            elif kind == "env":
                data["env"] = obj
            else:
                data["info"][obj["driver"]] = obj
        p = payload(line, "RVIRTIO-BENCH-ERROR ")
        if p is not None:
            data["errors"].append(f"guest: {p}")
        if "RVIRTIO-BENCH-END" in line:
            data["end"] = True
        p = payload(line, "RVIRTIO-HOST ")
        if p is not None:
            try:
                pending.append(json.loads(p).get("execute"))
            except ValueError:
                pass
        p = payload(line, "rvirtio-host: ")
        if p is not None and pending:
            try:
                data["host"][pending.pop(0)] = json.loads(p)
            except ValueError:
                pass
        if "RVIRTIO-" not in line and (
            any(pat.search(line) for pat in SPLATS) or any(pat.search(line) for pat in EXTRA_FAILURES)
        ):
            data["errors"].append(f"kernel, console line {n}: {line.strip()}")
    return data


def environment(data, args):
    env = {}
    kvm = data["host"].get("query-kvm", {}).get("return")
    env["accel"] = ("KVM" if kvm.get("enabled") else "TCG") if kvm else "unknown"
    ver = data["host"].get("query-version", {}).get("return")
    if ver:
        q = ver["qemu"]
        env["qemu"] = f"{q['major']}.{q['minor']}.{q['micro']} ({ver.get('package', '').strip()})"
    else:
        out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True)
        env["qemu"] = out.stdout.splitlines()[0] if out.stdout else "unknown"
    g = data["env"] or {}
    env["guest_kernel"] = g.get("kernel", "unknown")
    env["vcpus"] = g.get("vcpus", "unknown")
    env["guest_mem_mib"] = int(g["mem_kib"]) // 1024 if "mem_kib" in g else "unknown"
    env["fio"] = g.get("fio", "unknown")
    env["rounds"] = g.get("rounds")
    env["runtime_s"] = g.get("runtime_s")
    env["ramp_s"] = g.get("ramp_s")
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    env["host_cpu"] = f"{cpu}, {os.cpu_count()} CPUs"
    env["host_kernel"] = platform.release()
    env["host_load"] = args.host_load or "unknown"
    env["clock"] = args.clock
    env["vm_time_s"] = args.vm_time
    env["date"] = datetime.datetime.fromtimestamp(os.path.getmtime(args.log)).strftime("%Y-%m-%d %H:%M")
    return env


def fmt(v, name):
    return f"{v:.0f}" if name.endswith("_iops") else f"{v:.1f}"


def compute(data, rounds):
    rows, raw = [], {}
    for name in ROWS:
        per = {d: [data["values"][(d, name, r)][0] for r in range(1, rounds + 1)] for d in DRIVERS}
        c, rust = statistics.median(per["c"]), statistics.median(per["rust"])
        if lower_is_better(name):
            ratio = c / rust
            per_round = [a / b for a, b in zip(per["c"], per["rust"])]
        else:
            ratio = rust / c
            per_round = [b / a for a, b in zip(per["c"], per["rust"])]
        spread = max((max(v) - min(v)) / statistics.median(v) for v in per.values())
        rows.append(
            {
                "name": name,
                "c": c,
                "rust": rust,
                "ratio": round(ratio, 3),
                "round_ratio_min": min(per_round),
                "round_ratio_max": max(per_round),
                "rounds_behind": sum(x < 1 for x in per_round),
                "spread": spread,
            }
        )
        raw[name] = per
    return rows, raw


def table(rows):
    head = ["row", "C", "Rust", "Rust/C", "per round", "spread"]
    body = [
        [
            r["name"],
            fmt(r["c"], r["name"]),
            fmt(r["rust"], r["name"]),
            f"{r['ratio']:.2f}",
            f"{r['round_ratio_min']:.2f}-{r['round_ratio_max']:.2f}",
            f"{100 * r['spread']:.0f}%",
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    return head, body, widths


def text_table(rows):
    head, body, w = table(rows)
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells)
    )
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(b) for b in body])


def rst_table(rows):
    head, body, w = table(rows)
    rule = "  ".join("=" * x for x in w)
    line = lambda cells: "  ".join(  # noqa: E731
        c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(cells)
    ).rstrip()
    return "\n".join([rule, line(head), rule] + [line(b) for b in body] + [rule])


def notes(rows, info, rounds, clock="wall"):
    out = []
    for r in rows:
        if r["ratio"] >= 1.0:
            continue
        lo, hi = r["round_ratio_min"], r["round_ratio_max"]
        if rounds < 2:
            noise = "one round: noise unknown"
        elif hi < 1.0:
            noise = f"behind in every round, per-round ratios {lo:.2f}-{hi:.2f}"
        else:
            noise = f"behind in {r['rounds_behind']} of {rounds} rounds, per-round ratios {lo:.2f}-{hi:.2f}"
        if rounds >= 2 and r["spread"] > 1 - r["ratio"]:
            noise += f"; the rounds spread {100 * r['spread']:.0f}%, more than the difference"
        out.append(f"{r['name']}: Rust {100 * (1 - r['ratio']):.1f}% behind C ({noise})")
    noisy = [r for r in rows if r["spread"] > 0.2]
    if rounds >= 2 and noisy and clock == "icount":
        out.append(
            f"{len(noisy)} of {len(rows)} rows spread more than 20% between rounds ("
            + ", ".join(r["name"] for r in noisy)
            + "): under icount with sleep=off an idle vCPU jumps to its next timer, so rows "
            "that wait (p99 latencies, one job at depth 1) show the tick, not the driver"
        )
    elif rounds >= 2 and noisy:
        out.append(
            f"{len(noisy)} of {len(rows)} rows spread more than 20% between rounds: the host "
            "was not quiet enough to tell small differences; run more rounds or longer jobs "
            "(BENCH_ROUNDS, BENCH_RUNTIME) on an idle host"
        )
    if "c" in info and "rust" in info:
        skip = {"driver"}
        diff = [
            f"{k} C {info['c'].get(k)} / Rust {info['rust'].get(k)}"
            for k in sorted(set(info["c"]) | set(info["rust"]))
            if k not in skip and info["c"].get(k) != info["rust"].get(k)
        ]
        if diff:
            out.append("queue settings differ: " + "; ".join(diff))
    return out


def env_lines(env):
    return [
        f"accelerator: {env['accel']}, {env['vcpus']} vCPUs, {env['guest_mem_mib']} MiB, "
        + ("guest time follows guest instructions (-icount shift=2,sleep=off,align=off, "
           "single-threaded TCG)" if env.get("clock") == "icount" else "guest time is host time"),
        f"QEMU {env['qemu']}",
        f"guest kernel {env['guest_kernel']} (lean flavour), {env['fio']}",
        f"host: {env['host_cpu']}, Linux {env['host_kernel']}, "
        f"load average before / after: {env['host_load']}",
        f"{env['rounds']} rounds, {env['ramp_s']} s ramp + {env['runtime_s']} s per job, "
        f"VM time {env['vm_time_s']} s; run of {env['date']}",
    ]


def update_doc(path, rows, env, note):
    with open(path) as f:
        text = f.read()
    begin, end = BEGIN_MARK, END_MARK
    if env.get("clock") == "icount":
        begin, end = f"{BEGIN_MARK} (icount)", f"{END_MARK} (icount)"
    if begin not in text or end not in text:
        raise SystemExit(f"error: {path} has no '{begin}' / '{end}' markers")
    before, rest = text.split(begin + "\n", 1)
    _, after = rest.split(end, 1)
    section = [begin, "", "Environment:", ""]
    section += [f"- {x}" for x in env_lines(env)]
    section += ["", rst_table(rows), ""]
    if note:
        section += [f"- {x}" for x in note] + [""]
    section.append(end)
    with open(path, "w") as f:
        f.write(before + "\n".join(section) + after)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", required=True, help="console log of the bench VM")
    ap.add_argument("--vm-status", type=int, default=0, help="exit status of run-vm.sh")
    ap.add_argument("--out", help="directory for results.json, rounds.json, env.json")
    ap.add_argument("--doc", help="reStructuredText file whose results section is replaced")
    ap.add_argument("--vm-time", type=int, help="seconds the VM ran")
    ap.add_argument("--host-load", help="host load average, for the record")
    ap.add_argument("--clock", choices=["wall", "icount"], default="wall",
                    help="what guest time followed: the host's clock, or guest instructions")
    args = ap.parse_args()

    with open(args.log, errors="replace") as f:
        lines = f.readlines()
    data = parse(lines)
    problems = list(data["errors"])
    if args.vm_status in VM_STATUS:
        problems.append(VM_STATUS[args.vm_status])
    elif args.vm_status != 0:
        problems.append(f"run-vm.sh failed with status {args.vm_status}")
    if data["env"] is None:
        problems.append("the guest printed no RVIRTIO-BENCH-ENV line (benchmark not started)")
    elif not data["end"]:
        problems.append("the guest did not reach the end of the benchmark (no RVIRTIO-BENCH-END)")

    if data["env"] is not None and data["env"].get("rows", "").split() != ROWS:
        problems.append("the guest's rows differ from the report's: bench.sh and bench-report.py disagree")
    rounds = int((data["env"] or {}).get("rounds", 0))
    missing = [
        f"{d} {name} round {r}"
        for name in ROWS
        for d in DRIVERS
        for r in range(1, rounds + 1)
        if (d, name, r) not in data["values"]
    ]
    if missing:
        problems.append(f"{len(missing)} missing values: " + ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else ""))
    zero = [f"{d} {n} round {r}" for (d, n, r), (v, _) in data["values"].items() if not v > 0]
    if zero:
        problems.append("zero or negative values: " + ", ".join(zero))
    if rounds < 1 and data["env"] is not None:
        problems.append("the guest ran no round")

    if problems:
        print("make bench: FAILED", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        tail = [TIMESTAMP.sub("", l.rstrip("\n")) for l in lines[-15:]]
        print("  last console lines:\n" + "\n".join("    " + t for t in tail), file=sys.stderr)
        print(f"  console log: {args.log}", file=sys.stderr)
        return 1

    rows, raw = compute(data, rounds)
    env = environment(data, args)
    note = notes(rows, data["info"], rounds, args.clock)

    print()
    for x in env_lines(env):
        print(x)
    print()
    print(text_table(rows))
    print()
    print("Rust/C > 1: Rust better (throughput Rust/C, latency C/Rust); per round: range of the")
    print("per-round ratios; spread: (max - min) / median over the rounds, worse of the two drivers")
    for x in note:
        print(f"note: {x}")

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        results = [{k: r[k] for k in ("name", "c", "rust", "ratio")} for r in rows]
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        with open(os.path.join(args.out, "rounds.json"), "w") as f:
            json.dump({"rows": raw, "stats": rows, "queue_info": data["info"]}, f, indent=2)
            f.write("\n")
        with open(os.path.join(args.out, "env.json"), "w") as f:
            json.dump(env, f, indent=2)
            f.write("\n")
        print(f"\nresults: {os.path.join(args.out, 'results.json')}")
    if args.doc:
        update_doc(args.doc, rows, env, note)
        print(f"table and environment written to {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
