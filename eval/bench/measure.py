"""Measuring helpers for ``committee-qa bench``: percentiles, interleaved timing, memory.

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    >>> latency([0.001, 0.003])["p50_ms"]
    2.0
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

WARMUP = 3  # untimed calls per function before timing


def percentile(values, q: float) -> float:
    """The ``q``-th percentile (0–100), linear between closest ranks as NumPy's default."""
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds of per-call times given in seconds."""
    ms = [s * 1000.0 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(sum(ms) / len(ms), 3),
        "n": len(ms),
    }


def round_robin(
    fns: dict[str, Callable[[Any], Any]], items: list, repeats: int = 1, warmup: int = WARMUP
) -> tuple[dict[str, dict], dict[str, str]]:
    """Time every function on every item, interleaved item by item, so a burst of load from
    elsewhere on a shared machine hits them all alike. Returns wall-clock latency per
    function with the p50 of process CPU time (all threads) per call, and the errors of
    functions that failed while warming up (those are left out)."""
    errors: dict[str, str] = {}
    live: dict[str, Callable] = {}
    for name, fn in fns.items():
        try:
            for item in items[:warmup]:
                fn(item)
            live[name] = fn
        except Exception as err:  # reported, not fatal: one missing piece shouldn't void a run
            errors[name] = f"{type(err).__name__}: {err}"
    gc.collect()
    wall: dict[str, list[float]] = {n: [] for n in live}
    cpu: dict[str, list[float]] = {n: [] for n in live}
    for _ in range(repeats):
        for item in items:
            for name, fn in live.items():
                c0, t0 = time.process_time(), time.perf_counter()
                fn(item)
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
    out = {}
    for name in live:
        out[name] = latency(wall[name])
        out[name]["cpu_p50_ms"] = round(percentile(cpu[name], 50) * 1000, 3)
    return out, errors


def _proc_status_mb(field_name: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return round(int(line.split()[1]) / 1024.0, 1)  # kB -> MB
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss where /proc is missing)."""
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / 2**20 if sys.platform == "darwin" else rss / 1024.0, 1)


def current_rss_mb() -> float | None:
    return _proc_status_mb("VmRSS")


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0) so a later peak is this phase's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def folder_bytes(path: Path) -> dict[str, int]:
    """Bytes per file (relative name) under ``path``."""
    return {str(f.relative_to(path)): f.stat().st_size for f in sorted(path.rglob("*")) if f.is_file()}


def load_avg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


@contextmanager
def faiss_threads(n: int):
    """FAISS's OpenMP threads set to ``n`` for a block, then restored: raw FAISS calls are
    timed on 1 thread, as ``qa.retrieve`` searches (``_one_faiss_thread``); builds use every
    core, as ingest does."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """CPU, memory and library versions, for the report's header."""
    from importlib.metadata import PackageNotFoundError, version

    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            mem = next((line.split()[1] for line in f if line.startswith("MemTotal")), None)
        info["ram_gb"] = round(int(mem) / 2**20, 1) if mem else None
    except OSError:
        pass
    for dist in ("numpy", "faiss-cpu", "bm25s", "torch", "sentence-transformers", "rank-bm25"):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return info
