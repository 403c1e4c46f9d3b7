#!/usr/bin/env python3
"""Markdown table for scripts/bench-auth.sh: medians of auth-off and auth-on runs per operation
and concurrency, and the overhead of authorisation + audit (1 - on/off throughput)."""
import argparse
import json
import statistics
from collections import defaultdict


def off_on_cells(cells, key=None):
    """(op, clients, auth-off runs, auth-on runs) for each operation and concurrency measured
    both ways, in order; with `key`, only those where every run reported it."""
    out = []
    for (op, c) in sorted({(k[0], k[1]) for k in cells}):
        off, on = cells.get((op, c, "auth-off"), []), cells.get((op, c, "auth-on"), [])
        if off and on and (key is None or all(key in r for r in off + on)):
            out.append((op, c, off, on))
    return out


def median(runs, key):
    return statistics.median(r[key] for r in runs)


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
    print(f"Medians of {a.runs} runs x {a.duration:g} s; auth-off and auth-on alternating in ABBA order.\n")
    print("| op | clients | auth off ops/s | auth on ops/s | overhead | overhead per run pair: median (range) | p50 off (µs) | p50 on (µs) | errors on |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for op, c, off, on in off_on_cells(cells):
        off_ops, on_ops = median(off, "ops_per_sec"), median(on, "ops_per_sec")
        # Each auth-on run against the auth-off run next to it (the same pair; bench-auth.sh
        # alternates which goes first): the machine's drift between runs then cancels out, and
        # the range shows how far one pair can be trusted.
        pairs = [100 * (1 - b["ops_per_sec"] / a["ops_per_sec"]) for a, b in zip(off, on)]
        print(f"| {op} | {c} | {off_ops:.0f} | {on_ops:.0f} | {100 * (1 - on_ops / off_ops):.1f}% | "
              f"{statistics.median(pairs):.1f}% ({min(pairs):.1f} to {max(pairs):.1f}) | "
              f"{median(off, 'p50_us'):.0f} | {median(on, 'p50_us'):.0f} | {sum(r['errors'] for r in on)} |")

    rows = off_on_cells(cells, "fovea_cpu_us_per_op")
    if rows:
        print("\nCPU per request (µs, medians; the server under test and the whole PostgreSQL cluster):\n")
        print("| op | clients | Fovea off | Fovea on | PostgreSQL off | PostgreSQL on | total off | total on | CPU overhead |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for op, c, off, on in rows:
            f_off, f_on = median(off, "fovea_cpu_us_per_op"), median(on, "fovea_cpu_us_per_op")
            p_off, p_on = median(off, "postgres_cpu_us_per_op"), median(on, "postgres_cpu_us_per_op")
            t_off, t_on = f_off + p_off, f_on + p_on
            print(f"| {op} | {c} | {f_off:.1f} | {f_on:.1f} | {p_off:.1f} | {p_on:.1f} | {t_off:.1f} | "
                  f"{t_on:.1f} | {100 * (t_on / t_off - 1):.1f}% |")

    rows = off_on_cells(cells, "wal_bytes_per_op")
    if rows:
        print("\nWAL per request (bytes, medians; what PostgreSQL logs, and fsyncs, for each):\n")
        print("| op | clients | WAL off | WAL on | extra |")
        print("|---|---:|---:|---:|---:|")
        for op, c, off, on in rows:
            w_off, w_on = median(off, "wal_bytes_per_op"), median(on, "wal_bytes_per_op")
            print(f"| {op} | {c} | {w_off:.0f} | {w_on:.0f} | {w_on - w_off:+.0f} |")


if __name__ == "__main__":
    main()
