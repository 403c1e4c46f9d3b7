#!/usr/bin/env python3
"""Turns fovea_bench JSON lines into the markdown table for docs/PERFORMANCE.md.

Each cell is the median over runs; the ratio is Fovea (http) over the raw libpq baseline.
"""

import argparse
import json
import os
import platform
import statistics
import sys
from collections import defaultdict
from bench_report_common import cpu_model, fmt_num, median, mem_gib

# The targets at concurrency 8.
TARGETS = {"create": 0.6, "read": 0.5}
TARGET_CONCURRENCY = 8


def fmt_latency(rows):
    if not rows:
        return "n/a"
    return f"{median(rows, 'p50_us') / 1000:.2f} / {median(rows, 'p99_us') / 1000:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--pg-version", default="")
    ap.add_argument("--runs", default="?")
    ap.add_argument("--duration", default="?")
    args = ap.parse_args()

    cells = defaultdict(list)
    with open(args.results) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                cells[(r["op"], r["concurrency"], r["mode"])].append(r)

    mem = mem_gib()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs"
          + (f", {mem:.1f} GiB RAM" if mem else "")
          + f"; {platform.system()} {platform.release()}; {args.pg_version}".rstrip("; "))
    print(f"Median of {args.runs} runs of {args.duration} s each (after warm-up); "
          "client, server and PostgreSQL on the same machine.")
    print()
    print("| op | concurrency | baseline ops/s (libpq) | Fovea ops/s (HTTP) | ratio "
          "| baseline p50/p99 ms | Fovea p50/p99 ms | errors (base/Fovea) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ops = sorted({k[0] for k in cells}, key=lambda o: (o != "create", o))
    verdicts = []
    for op in ops:
        for c in sorted({k[1] for k in cells if k[0] == op}):
            base = cells.get((op, c, "libpq"), [])
            fovea = cells.get((op, c, "http"), [])
            b, v = median(base, "ops_per_sec"), median(fovea, "ops_per_sec")
            ratio = v / b if b and v is not None else None
            errors = (f"{sum(r['errors'] for r in base)}/"
                      f"{sum(r['errors'] for r in fovea)}")
            print(f"| {op} | {c} | {fmt_num(b)} | {fmt_num(v)} | "
                  f"{fmt_num(ratio, 2) + 'x' if ratio is not None else 'n/a'} | "
                  f"{fmt_latency(base)} | {fmt_latency(fovea)} | {errors} |")
            if c == TARGET_CONCURRENCY and op in TARGETS and ratio is not None:
                met = "met" if ratio >= TARGETS[op] else "NOT met"
                verdicts.append(f"{op} at concurrency {c}: {ratio:.2f}x, "
                                f"target {TARGETS[op]}x: {met}")
    if verdicts:
        print()
        for line in verdicts:
            print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
