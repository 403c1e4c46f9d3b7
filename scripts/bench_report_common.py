"""Helpers shared by the benchmark report scripts (machine description, medians, numbers)."""

import argparse
import platform
import statistics


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def mem_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def median(rows, key):
    return statistics.median(r[key] for r in rows) if rows else None


def fmt_num(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def read_jsonl(path):
    """The JSON objects of a results file, one per non-empty line."""
    import json
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def machine_line(pg_version=""):
    """One line describing this machine: CPU, logical CPUs, RAM, kernel, PostgreSQL."""
    import os
    mem = mem_gib()
    return (f"{cpu_model()}, {os.cpu_count()} logical CPUs"
            + (f", {mem:.1f} GiB RAM" if mem else "")
            + f"; {platform.system()} {platform.release()}"
            + (f"; {pg_version}" if pg_version else ""))


def paired_ratio(rows_a, rows_b, key, pair_key="run"):
    """Median over runs of a's value over b's from the same run (rows paired by `pair_key`)."""
    by_run = {r[pair_key]: r for r in rows_b}
    ratios = [r[key] / by_run[r[pair_key]][key] for r in rows_a
              if r[pair_key] in by_run and by_run[r[pair_key]][key]]
    return statistics.median(ratios) if ratios else None


def run_arguments(*extra):
    """The arguments every bench-*.sh passes to its report (results file, PostgreSQL version,
    runs, commit, measured and warm-up seconds, load before and after), plus `extra` names
    ("--gap-ms") taken as strings defaulting to "?"."""
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--pg-version", default="")
    ap.add_argument("--commit", default="")
    for name in ("--runs", "--duration", "--warmup", "--load-before", "--load-after") + extra:
        ap.add_argument(name, default="?")
    return ap.parse_args()
