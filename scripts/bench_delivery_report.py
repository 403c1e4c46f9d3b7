#!/usr/bin/env python3
"""Turns delivery_bench JSON lines (scripts/bench-delivery.sh) into markdown tables.

Latency: for every (socket, event) pair, write sent -> frame received on that socket; each cell
is the median over runs of that run's percentile. Fan-out: per event, the time until the last
socket had it. The baseline is the LISTEN relay measured in the same run with the same client.
Memory: the server's RSS growth per idle bound socket.
"""

import argparse
import statistics
import sys
from collections import defaultdict
from bench_report_common import fmt_num, machine_line, median, read_jsonl

# Issue 6: p99 at most 3x the baseline's; under 20 KB per idle bound socket.
TARGET_P99_RATIO = 3.0
TARGET_KB_PER_SOCKET = 20.0


def pair(rows, a, b, digits=1):
    if not rows:
        return "n/a"
    return f"{fmt_num(median(rows, a), digits)} / {fmt_num(median(rows, b), digits)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--pg-version", default="")
    ap.add_argument("--runs", default="?")
    ap.add_argument("--gap-ms", default="?")
    ap.add_argument("--warmup", default="?")
    ap.add_argument("--fd-limit", default="?", help="the Fovea process's open-file limit")
    ap.add_argument("--commit", default="")
    args = ap.parse_args()

    latency = defaultdict(list)  # (sockets, target, shape) -> rows
    memory = defaultdict(list)   # (target, shape) -> rows
    failures = []
    for r in read_jsonl(args.results):
        if r.get("label") != "run":
            continue
        if "error" in r:
            failures.append(r)
            continue
        if r["mode"] == "latency":
            latency[(r["sockets"], r["target"], r["shape"])].append(r)
        elif r["mode"] == "memory":
            memory[(r["target"], r["shape"])].append(r)

    print(f"# Subscription delivery benchmark ({args.commit})")
    print()
    print(f"Machine: {machine_line(args.pg_version)}. Client, Fovea, the relay and PostgreSQL "
          "share the machine; PostgreSQL with its default durability (fsync per commit); "
          f"`fovea serve --auth off`. Median over {args.runs} runs; {args.warmup} warm-up events "
          f"per run not counted; {args.gap_ms} ms between one event's last frame and the next "
          "write.")
    print()
    print("## Commit-to-frame latency")
    print()
    print("Per (socket, event) pair: the write sent -> its frame received on that socket "
          "(p50 / p99, ms). Fan-out: per event, until the last socket has it. Fovea's write is "
          "`PUT Task` over HTTP; the baseline's an INSERT whose trigger NOTIFYs, over libpq.")
    print()
    print(f"| sockets | Fovea subscriptions | baseline p50 / p99 | Fovea p50 / p99 | p99 ratio "
          f"| ≤{TARGET_P99_RATIO:g}x | baseline fan-out p50 / p99 | Fovea fan-out p50 / p99 "
          "| Fovea first frame p50 | write ack p50 base / Fovea | pairs lost (base/Fovea) | runs |")
    print("|---:|---|---:|---:|---:|:-:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for n in sorted({k[0] for k in latency}):
        base = latency.get((n, "relay", "relay"), [])
        for shape in ("per-socket", "shared"):
            fovea = latency.get((n, "fovea", shape), [])
            if not fovea:
                continue
            b99, f99 = median(base, "p99_ms"), median(fovea, "p99_ms")
            ratio = f99 / b99 if b99 and f99 is not None else None
            met = "n/a" if ratio is None else ("yes" if ratio <= TARGET_P99_RATIO else "**no**")
            if ratio is not None:
                verdicts.append((n, shape, ratio))
            subs = f"{n:,} (one each)" if shape == "per-socket" else "1 (on every socket)"
            lost = f"{sum(r['lost'] for r in base)}/{sum(r['lost'] for r in fovea)}"
            print(f"| {n:,} | {subs} | {pair(base, 'p50_ms', 'p99_ms')} | "
                  f"{pair(fovea, 'p50_ms', 'p99_ms')} | "
                  f"{fmt_num(ratio, 1) + 'x' if ratio is not None else 'n/a'} | {met} | "
                  f"{pair(base, 'fanout_p50_ms', 'fanout_p99_ms')} | "
                  f"{pair(fovea, 'fanout_p50_ms', 'fanout_p99_ms')} | "
                  f"{fmt_num(median(fovea, 'first_p50_ms'), 1)} | "
                  f"{fmt_num(median(base, 'write_p50_ms'), 2) if base else 'n/a'} / "
                  f"{fmt_num(median(fovea, 'write_p50_ms'), 2)} | {lost} | "
                  f"{len(base)}/{len(fovea)} |")
    print()
    print("Every run's p99 (ms), baseline then Fovea:")
    print()
    for key in sorted(latency, key=lambda k: (k[0], k[1] != "relay", k[2])):
        rows = latency[key]
        name = "baseline" if key[1] == "relay" else f"Fovea ({key[2]})"
        print(f"- {key[0]:,} sockets, {name}: "
              + ", ".join(f"{r['p99_ms']:.1f}" for r in rows))
    # Where the time goes: before the first frame, then from the first socket to the last; and
    # the CPU each side spends per event (runs from before these fields have none).
    stages = [(k, rs) for k, rs in sorted(latency.items(), key=lambda kv: (kv[0][0], kv[0][1] != "relay", kv[0][2]))
              if all("spread_p50_ms" in r for r in rs)]
    if stages:
        print()
        print("Per event (medians over runs): the first frame, the spread from the first socket to "
              "the last, and CPU per event of the server (Fovea or the relay) and of PostgreSQL:")
        print()
        print("| sockets | server | first frame p50 / p99 | spread p50 / p99 | server CPU ms/event "
              "| PostgreSQL CPU ms/event |")
        print("|---:|---|---:|---:|---:|---:|")
        for key, rows in stages:
            name = "baseline relay" if key[1] == "relay" else f"Fovea ({key[2]})"
            cpu = lambda field: (fmt_num(median(rows, field), 2)
                                 if all(field in r for r in rows) else "n/a")
            print(f"| {key[0]:,} | {name} | {pair(rows, 'first_p50_ms', 'first_p99_ms')} | "
                  f"{pair(rows, 'spread_p50_ms', 'spread_p99_ms')} | {cpu('server_cpu_ms_per_event')} | "
                  f"{cpu('postgres_cpu_ms_per_event')} |")
    frame = [r["frame_bytes"] for k, rs in latency.items() if k[1] == "fovea" for r in rs]
    if frame:
        print()
        print(f"Frames: Fovea's id-only event-notification Bundles are "
              f"{statistics.median(frame):,.0f} bytes; the relay's payloads are padded to the "
              "same size.")

    if memory:
        print()
        print("## Memory per idle bound socket")
        print()
        print(f"RSS of the server process (VmRSS) after a warm-up, then with every socket bound "
              f"and idle; (after - before) / sockets, and the slope between 1,000 sockets and "
              f"all of them. Fovea's open-file limit: {args.fd_limit}.")
        print()
        print(f"| server | subscriptions | sockets bound | RSS before MB | RSS after MB "
              f"| KB per socket | slope KB | <{TARGET_KB_PER_SOCKET:g} KB | bind time s | runs |")
        print("|---|---|---:|---:|---:|---:|---:|:-:|---:|---:|")
        for key in sorted(memory, key=lambda k: (k[0] != "relay", k[1])):
            rows = memory[key]
            target, shape = key
            kb = median(rows, "per_socket_kb")
            met = "" if target == "relay" else ("yes" if kb < TARGET_KB_PER_SOCKET else "**no**")
            subs = {"relay": "none (relay)", "shared": "1 (on every socket)",
                    "per-socket": "one per socket"}[shape]
            name = "baseline relay" if target == "relay" else "Fovea"
            bound = min(r["still_bound"] for r in rows)
            print(f"| {name} | {subs} | {bound:,} of {rows[0]['sockets']:,} | "
                  f"{median(rows, 'rss_before_kb') / 1024:,.1f} | "
                  f"{median(rows, 'rss_after_kb') / 1024:,.1f} | {kb:.2f} | "
                  f"{median(rows, 'slope_kb'):.2f} | {met} | "
                  f"{median(rows, 'bind_seconds'):.1f} | {len(rows)} |")
            for r in rows:
                if r.get("first_error"):
                    print(f"  - run {r['run']}: {r['first_error']}")

    print()
    if failures:
        print("Failed runs:")
        for r in failures:
            print(f"- {r.get('mode')} {r.get('target')} n={r.get('sockets')} run {r.get('run')}: "
                  f"{r['error']}")
        print()
    if verdicts:
        bad = [f"{n:,} sockets ({shape}): {ratio:.1f}x" for n, shape, ratio in verdicts
               if ratio > TARGET_P99_RATIO]
        print(f"- target p99 ≤ {TARGET_P99_RATIO:g}x the baseline's: "
              + ("met everywhere" if not bad else "**NOT met** at " + "; ".join(bad)))
    fovea_mem = [median(rs, "per_socket_kb") for (t, _), rs in memory.items() if t == "fovea"]
    if fovea_mem:
        print(f"- target < {TARGET_KB_PER_SOCKET:g} KB per idle bound socket: "
              + ("met" if all(k < TARGET_KB_PER_SOCKET for k in fovea_mem) else "**NOT met**"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
