#!/usr/bin/env python3
"""Turns workflow_bench JSON lines (scripts/bench-workflow.sh) into markdown tables.

Throughput: whole screening sessions from C concurrent clients against the same Task requests on
plain Tasks (no state machine, no effects), measured in the same run; each cell is the median
over runs. Latency: a completing PUT to the notification that the next step became ready
(task-status, status=ready), against a plain Task PUT to its Task-changed notification.
"""

from collections import defaultdict
from bench_report_common import fmt_num, machine_line, median, paired_ratio, read_jsonl, run_arguments

KINDS = ("start", "get", "claim", "output", "complete")
PER_SESSION = {"start": 1, "get": 5, "claim": 5, "output": 5, "complete": 5}


def ms(rows, key):
    rows = [r for r in rows if key in r]
    return fmt_num(median(rows, key), 1) if rows else "—"


def main():
    args = run_arguments("--gap-ms")

    tput = defaultdict(list)     # (mode, clients) -> rows
    latency = defaultdict(list)  # target -> rows
    for r in read_jsonl(args.results):
        if r.get("label") != "run":
            continue
        if r["mode"] == "latency":
            latency[r["target"]].append(r)
        else:
            tput[(r["mode"], r["clients"])].append(r)

    print(f"# Screening workflow benchmark ({args.commit})")
    print()
    print(f"Machine: {machine_line(args.pg_version)}. Client, Fovea and PostgreSQL share the "
          "machine; PostgreSQL with its default durability (fsync per commit); `fovea serve "
          f"--auth off`. Median over {args.runs} runs; {args.duration} s measured after "
          f"{args.warmup} s warm-up per throughput cell. Load average (1/5/15 min) before the "
          f"run: {args.load_before}; after: {args.load_after}.")
    print()
    print("## Sessions per second")
    print()
    print("Workflow: whole sessions ($start-screening; per step GET, claim PUT, outputs, "
          "completing PUT; the technician steps in parallel). Plain: per pseudo-session the same "
          "10 Task PUTs and 5 GETs on Tasks outside the screening-step system. Transitions = "
          "claims + completions answered 200.")
    print()
    print("| clients | workflow sessions/s | workflow transitions/s | plain sessions/s | plain Task updates/s "
          "| ratio | paired ratio | claim p50 ms wf / plain | complete p50 ms wf / plain | errors wf / plain "
          "| sessions stuck (doctor's step left draft) / completed | runs |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in sorted({k[1] for k in tput}):
        wf, pl = tput.get(("sessions", c), []), tput.get(("plain", c), [])
        wt, pt = median(wf, "transitions_per_s"), median(pl, "transitions_per_s")
        ratio = wt / pt if wt is not None and pt else None
        paired = paired_ratio(wf, pl, "transitions_per_s")
        print(f"| {c} | {fmt_num(median(wf, 'sessions_per_s'), 2)} | {fmt_num(wt, 1)} "
              f"| {fmt_num(median(pl, 'sessions_per_s'), 2)} | {fmt_num(pt, 1)} "
              f"| {fmt_num(ratio, 2)}x | {fmt_num(paired, 2)}x "
              f"| {ms(wf, 'claim_p50_ms')} / {ms(pl, 'claim_p50_ms')} "
              f"| {ms(wf, 'complete_p50_ms')} / {ms(pl, 'complete_p50_ms')} "
              f"| {sum(r['errors'] for r in wf)} / {sum(r['errors'] for r in pl)} "
              f"| {sum(r.get('stuck', 0) for r in wf)} of {sum(r['sessions'] for r in wf)} "
              f"| {len(wf)}/{len(pl)} |")
    print()
    print("Where a workflow session's time goes (median p50 per request × requests per session):")
    print()
    print("| clients | " + " | ".join(f"{k} ×{PER_SESSION[k]}" for k in KINDS) + " | sum ms | plain: get ×5 + claim ×5 + complete ×5 |")
    print("|---:|" + "---:|" * (len(KINDS) + 2))
    for c in sorted({k[1] for k in tput}):
        wf, pl = tput.get(("sessions", c), []), tput.get(("plain", c), [])
        cells, total = [], 0.0
        for k in KINDS:
            rows = [r for r in wf if f"{k}_p50_ms" in r]
            v = median(rows, f"{k}_p50_ms") if rows else None
            cells.append("—" if v is None else f"{v * PER_SESSION[k]:.1f}")
            total += 0 if v is None else v * PER_SESSION[k]
        plain_total = sum((median([r for r in pl if f"{k}_p50_ms" in r], f"{k}_p50_ms") or 0) * 5
                          for k in ("get", "claim", "complete")) if pl else None
        print(f"| {c} | " + " | ".join(cells) + f" | {total:.1f} | {fmt_num(plain_total, 1)} |")
    print()
    print("## Step completion to notification")
    print()
    print(f"One client and no other load from the benchmark, one write at a time, {args.gap_ms} ms pause "
          "before and after each timed write. Workflow: completing PUT sent -> the frame saying "
          "the next step is ready (task-status, `Task?status=ready`, id-only; check-in readies "
          "two steps, each counted). Plain: a plain Task's completing PUT sent -> its frame "
          "(Task-changed, `Task?status=completed`, id-only).")
    print()
    print("| path | notification p50 / p90 / p99 ms | write answered p50 / p99 ms | samples | lost | runs |")
    print("|---|---:|---:|---:|---:|---:|")
    for target in ("workflow", "plain"):
        rows = latency.get(target, [])
        if not rows:
            continue
        print(f"| {target} | {fmt_num(median(rows, 'p50_ms'), 1)} / {fmt_num(median(rows, 'p90_ms'), 1)} / "
              f"{fmt_num(median(rows, 'p99_ms'), 1)} | {fmt_num(median(rows, 'write_p50_ms'), 1)} / "
              f"{fmt_num(median(rows, 'write_p99_ms'), 1)} | {sum(r['samples'] for r in rows)} "
              f"| {sum(r['lost'] for r in rows)} | {len(rows)} |")
    wf, pl = latency.get("workflow", []), latency.get("plain", [])
    if wf and pl:
        print()
        print(f"Ratio workflow / plain: p50 {median(wf, 'p50_ms') / median(pl, 'p50_ms'):.2f}x, "
              f"p99 {median(wf, 'p99_ms') / median(pl, 'p99_ms'):.2f}x.")


if __name__ == "__main__":
    main()
