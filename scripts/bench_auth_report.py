#!/usr/bin/env python3
"""Markdown table for scripts/bench-auth.sh: medians of auth-off and auth-on runs per operation
and concurrency, and the overhead of authorisation + audit (1 - on/off throughput)."""
import argparse
import json
import statistics
from collections import defaultdict


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--runs", type=int, default=0)
    p.add_argument("--duration", type=float, default=0)
    a = p.parse_args()
    cells = defaultdict(list)
    for line in open(a.results):
        line = line.strip()
        if line:
            r = json.loads(line)
            cells[(r["op"], r["concurrency"], r["label"])].append(r)
    print(f"Medians of {a.runs} runs x {a.duration:g} s; alternating auth-off / auth-on.\n")
    print("| op | clients | auth off ops/s | auth on ops/s | overhead | overhead per run pair: median (range) | p50 off (µs) | p50 on (µs) | errors on |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (op, c) in sorted({(k[0], k[1]) for k in cells}):
        off, on = cells.get((op, c, "auth-off"), []), cells.get((op, c, "auth-on"), [])
        if not off or not on:
            continue
        off_ops = statistics.median(r["ops_per_sec"] for r in off)
        on_ops = statistics.median(r["ops_per_sec"] for r in on)
        # Each auth-on run against the auth-off run just before it: the machine's drift between
        # runs then cancels out, and the range shows how far one pair can be trusted.
        pairs = [100 * (1 - b["ops_per_sec"] / a["ops_per_sec"]) for a, b in zip(off, on)]
        print(f"| {op} | {c} | {off_ops:.0f} | {on_ops:.0f} | {100 * (1 - on_ops / off_ops):.1f}% | "
              f"{statistics.median(pairs):.1f}% ({min(pairs):.1f} to {max(pairs):.1f}) | "
              f"{statistics.median(r['p50_us'] for r in off):.0f} | "
              f"{statistics.median(r['p50_us'] for r in on):.0f} | {sum(r['errors'] for r in on)} |")


    rows = [(k, v) for k, v in sorted(cells.items()) if all("fovea_cpu_us_per_op" in r for r in v)]
    if rows:
        print("\nCPU per request (µs, medians; the server under test and the whole PostgreSQL cluster):\n")
        print("| op | clients | Fovea off | Fovea on | PostgreSQL off | PostgreSQL on | total off | total on | CPU overhead |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for (op, c) in sorted({(k[0], k[1]) for k, _ in rows}):
            off, on = cells.get((op, c, "auth-off"), []), cells.get((op, c, "auth-on"), [])
            if not off or not on:
                continue
            med = lambda rs, key: statistics.median(r[key] for r in rs)
            f_off, f_on = med(off, "fovea_cpu_us_per_op"), med(on, "fovea_cpu_us_per_op")
            p_off, p_on = med(off, "postgres_cpu_us_per_op"), med(on, "postgres_cpu_us_per_op")
            t_off, t_on = f_off + p_off, f_on + p_on
            print(f"| {op} | {c} | {f_off:.1f} | {f_on:.1f} | {p_off:.1f} | {p_on:.1f} | {t_off:.1f} | "
                  f"{t_on:.1f} | {100 * (t_on / t_off - 1):.1f}% |")

    rows = [(k, v) for k, v in sorted(cells.items()) if all("wal_bytes_per_op" in r for r in v)]
    if rows:
        print("\nWAL per request (bytes, medians; what PostgreSQL logs, and fsyncs, for each):\n")
        print("| op | clients | WAL off | WAL on | extra |")
        print("|---|---:|---:|---:|---:|")
        for (op, c) in sorted({(k[0], k[1]) for k, _ in rows}):
            off, on = cells.get((op, c, "auth-off"), []), cells.get((op, c, "auth-on"), [])
            if not off or not on:
                continue
            w_off = statistics.median(r["wal_bytes_per_op"] for r in off)
            w_on = statistics.median(r["wal_bytes_per_op"] for r in on)
            print(f"| {op} | {c} | {w_off:.0f} | {w_on:.0f} | {w_on - w_off:+.0f} |")


if __name__ == "__main__":
    main()
