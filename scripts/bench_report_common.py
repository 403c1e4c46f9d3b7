"""Helpers shared by the benchmark report scripts (machine description, medians, numbers)."""

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
