"""Shared helpers of the bench scripts: interleaved timing with medians, and peak memory per contestant.

Peak memory is the process's resident high-water mark during one call, above the resident size just before
it (Linux: ``/proc/self/clear_refs`` resets the mark). It counts every allocator (numpy, Rust, BLAS).
"""
from __future__ import annotations

import gc
import os
import statistics
import time


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def peak_call(fn):
    """(result, seconds, peak bytes above the resident size before the call)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = _status("VmRSS")
    except OSError:  # pragma: no cover - not Linux
        before = None
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = (_status("VmHWM") - before) if before is not None else float("nan")
    return out, seconds, peak


def interleaved(contestants: dict, repeats: int, limit: float = 60.0):
    """Run every contestant once per round, A B C A B C …, ``repeats`` rounds (a contestant whose first run
    took more than ``limit`` s is not repeated). Returns {name: (median s, max peak bytes, last result)}."""
    times = {k: [] for k in contestants}
    peaks = {k: 0 for k in contestants}
    results = {}
    for r in range(repeats):
        for name, fn in contestants.items():
            if r and times[name] and times[name][0] > limit:
                continue
            out, sec, peak = peak_call(fn)
            times[name].append(sec)
            peaks[name] = max(peaks[name], peak)
            results[name] = out
    return {k: (statistics.median(v), peaks[k], results[k]) for k, v in times.items()}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def mb(n_bytes) -> str:
    return f"{n_bytes / 2 ** 20:7.0f} MB"
