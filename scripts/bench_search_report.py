#!/usr/bin/env python3
"""Turns search_bench JSON lines (scripts/bench-search.sh) into markdown tables.

Query ratios are Fovea over the hand-written SQL's median latency (target: at most 2x); the
create rate is the median over runs.
"""

import argparse
import json
import statistics
import sys

TARGET_RATIO = 2.0


def ms(us):
    return f"{us / 1000:.2f}"


def ratio(a, b):
    return a / b if b else float("inf")


def floor_cell(q):
    """The HTTP floor (GET /healthz: a request, SELECT 1, a response) and its ratio to the hand
    SQL: at or above 1x, no HTTP answer can come within 2x of that query (older runs: absent)."""
    floor = q.get("http_floor_p50_us")
    if not floor:
        return "— | —"
    return f"{ms(floor)} | {ratio(floor, q['hand_sql_p50_us']):.2f}x"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--pg-version", default="")
    ap.add_argument("--commit", default="")
    args = ap.parse_args()

    lines = []
    with open(args.jsonl) as f:
        for raw in f:
            raw = raw.strip()
            if raw:
                lines.append(json.loads(raw))
    loads = [l for l in lines if l["kind"] == "load"]
    total = next((l for l in lines if l["kind"] == "load_total"), None)
    queries = [l for l in lines if l["kind"] == "query"]
    creates = [l for l in lines if l["kind"] == "create"]
    fb = [l for l in lines if l["kind"] == "fovea_bench"]

    print(f"# Search benchmark ({args.commit}; {args.pg_version})")
    print()
    print("## Load (HTTP PUT, Prefer: return=minimal)")
    print()
    print("| resource | loaded | errors | seconds | resources/s | connections |")
    print("|---|---:|---:|---:|---:|---:|")
    loaded = seconds = 0
    for l in loads:
        print(f"| {l['type']} | {l['loaded']:,} of {l['requested']:,} | {l['errors']} | "
              f"{l['seconds']:.1f} | {l['per_sec']:,.0f} | {l['concurrency']} |")
        loaded += l["loaded"]
        seconds += l["seconds"]
    if seconds:
        print(f"| **all** | {loaded:,} | | {seconds:.1f} | **{loaded / seconds:,.0f}** | |")
    if total:
        rows = total["rows"]
        mib = {k: v / 2**20 for k, v in total["bytes"].items()}
        print()
        print(f"Complete: {total['complete']}. VACUUM (ANALYZE) after the load: "
              f"{total['vacuum_analyze_seconds']:.1f} s. Index rows: "
              + ", ".join(f"{k} {v:,}" for k, v in rows.items()) + ".")
        print("Sizes (table + indexes, MiB): "
              + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(mib.items())) + ".")

    print()
    print("## Queries (median / p95 ms; one keep-alive client; ratio = median over the "
          "hand-written SQL's)")
    print()
    print("| query | rows | Fovea HTTP | Fovea SQL (libpq) | hand SQL (libpq) | HTTP / hand | "
          "Fovea SQL / hand | ≤2x | HTTP floor (median) | floor / hand | seq scan of sp_* (Fovea / hand plans) | type-only index walk "
          "(Fovea / hand plans) | id mismatches |")
    print("|---|---:|---:|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---:|")
    for q in queries:
        r_http = ratio(q["http_p50_us"], q["hand_sql_p50_us"])
        r_sql = ratio(q["fovea_sql_p50_us"], q["hand_sql_p50_us"])
        ok = "yes" if r_http <= TARGET_RATIO else "**no**"
        n = q["iterations"]
        print(f"| {q['name']} | {q['avg_rows']:.1f} | {ms(q['http_p50_us'])} / {ms(q['http_p95_us'])} | "
              f"{ms(q['fovea_sql_p50_us'])} / {ms(q['fovea_sql_p95_us'])} | "
              f"{ms(q['hand_sql_p50_us'])} / {ms(q['hand_sql_p95_us'])} | "
              f"{r_http:.2f}x | {r_sql:.2f}x | {ok} | "
              f"{floor_cell(q)} | "
              f"{q['fovea_seqscan_sp_plans']}/{n} / {q['hand_seqscan_sp_plans']}/{n} | "
              f"{q.get('fovea_type_only_walk_plans', 0)}/{n} / {q.get('hand_type_only_walk_plans', 0)}/{n} | "
              f"{q['mismatches']}{' (HTTP errors ' + str(q['http_errors']) + ')' if q['http_errors'] else ''} |")
    print()
    print("Queries:")
    print()
    for q in queries:
        print(f"- **{q['name']}**: `{q['what']}`")
        if q.get("first_mismatch"):
            print(f"  - first mismatch: {q['first_mismatch']}")
    print()
    print("## Access paths (union over every measured iteration's plan)")
    print()
    print("| query | Fovea's SQL | hand-written SQL |")
    print("|---|---|---|")
    for q in queries:
        print(f"| {q['name']} | {q['fovea_access']} | {q['hand_access']} |")
    print()
    print("idx = Index Scan, ios = Index Only Scan, bitmap = Bitmap Index Scan. A type-only index "
          "walk is an index scan whose only bound is the resource type: it reads every row of the "
          "type in index order (no sequential scan, but no selectivity).")

    if creates or fb:
        print()
        print("## Create throughput with search indexing (POST Observation)")
        print()
        print("| client | concurrency | runs | median ops/s | p50 / p99 ms (median run) | errors |")
        print("|---|---:|---:|---:|---:|---:|")

        def row(label, results):
            if not results:
                return
            results = sorted(results, key=lambda r: r["ops_per_sec"])
            med = results[len(results) // 2]
            print(f"| {label} | {med['concurrency']} | {len(results)} | "
                  f"**{statistics.median(r['ops_per_sec'] for r in results):,.0f}** | "
                  f"{ms(med['p50_us'])} / {ms(med['p99_us'])} | "
                  f"{sum(r['errors'] for r in results)} |")

        row("search_bench: vision-screening Observation, HTTP, loaded database", creates)
        row("fovea_bench: heart-rate Observation, HTTP, loaded database",
            [l["result"] for l in fb if l["result"]["mode"] == "http"])
        row("fovea_bench: same write statement over raw libpq (baseline)",
            [l["result"] for l in fb if l["result"]["mode"] == "libpq"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
