#!/usr/bin/env python3
"""Turns hl7v2_bench JSON lines (scripts/bench-hl7v2.sh) into a markdown table.

ADT^A04 messages per second through Fovea's MLLP listener with the application ACK, against the
same messages' transaction Bundles POSTed over HTTP and a raw MLLP echo with the same clients,
measured in the same run; each cell is the median over runs, paired ratios the median of
per-run ratios.
"""

from collections import defaultdict
from bench_report_common import fmt_num, machine_line, median, paired_ratio, read_jsonl, run_arguments


def main():
    args = run_arguments()

    cells = defaultdict(list)  # (mode, connections) -> rows
    for r in read_jsonl(args.results):
        if r.get("label") == "run":
            cells[(r["mode"], r["connections"])].append(r)

    print(f"# HL7 v2 over MLLP benchmark ({args.commit})")
    print()
    print(f"Machine: {machine_line(args.pg_version)}. Client, Fovea and PostgreSQL share the "
          "machine; PostgreSQL with its default durability (fsync per commit); `fovea serve "
          f"--auth off --mllp-port`. Median over {args.runs} runs; {args.duration} s measured after "
          f"{args.warmup} s warm-up per cell. Load average (1/5/15 min) before the run: "
          f"{args.load_before}; after: {args.load_after}.")
    print()
    print("Fovea: ADT^A04 (original mode) answered AA after the inbox commit and the FHIR "
          "transaction (Patient upsert, check-in Encounter, the session's six Tasks, "
          "MessageHeader; no audit trail with --auth off). HTTP: the same messages mapped in the "
          "client with Fovea's ADT mapping and POSTed as transaction Bundles (the FHIR write "
          "alone). Echo: a raw MLLP echo answering each frame with a fixed ACK.")
    print()
    print("| connections | MLLP messages/s | p50 / p99 ms | HTTP Bundles/s | p50 / p99 ms "
          "| MLLP / HTTP (paired) | echo messages/s | MLLP / echo | errors | runs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in sorted({k[1] for k in cells}):
        fv, hv, ec = cells.get(("fovea", c), []), cells.get(("http", c), []), cells.get(("echo", c), [])
        f, h, e = median(fv, "per_second"), median(hv, "per_second"), median(ec, "per_second")
        print(f"| {c} | {fmt_num(f, 1)} | {fmt_num(median(fv, 'p50_ms'), 2)} / {fmt_num(median(fv, 'p99_ms'), 2)} "
              f"| {fmt_num(h, 1)} | {fmt_num(median(hv, 'p50_ms'), 2)} / {fmt_num(median(hv, 'p99_ms'), 2)} "
              f"| {fmt_num(f / h if f is not None and h else None, 2)} ({fmt_num(paired_ratio(fv, hv, 'per_second'), 2)}) "
              f"| {fmt_num(e, 0)} | {fmt_num(f / e if f is not None and e else None, 4)} "
              f"| {sum(r['errors'] for r in fv + hv + ec)} | {len(fv)}/{len(hv)}/{len(ec)} |")


if __name__ == "__main__":
    main()
