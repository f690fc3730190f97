"""Peak memory of a step, each figure measured in a fresh process so that earlier runs leave no trace."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import backend
from .threads import thread_env
from .workloads import Workload, make_batch, make_workload

__all__ = ["memory_worker", "measure_memory"]


def _status_kib(field: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset Linux's peak-RSS counter (VmHWM) to the current RSS; False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_worker(framework: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of two ``mode`` runs in this (fresh) process: bytes, whole and above the start.

    Returns ``peak_bytes``, ``start_bytes``, ``step_bytes`` (peak minus start) and ``what`` was
    measured: the process's RSS on the CPU, the memory pool on the GPU.
    """
    x, labels = make_batch(args.batch_size, args.size, args.num_classes, args.seed)
    w = make_workload(framework, args.model, x, labels, args.num_classes, args.seed)
    if backend.name() == "cupy":
        if framework == "torch":
            from .baseline import gpu_memory  # noqa: PLC0415 (PyTorch is optional)

            return gpu_memory(w, mode)  # type: ignore[arg-type]
        return _cupy_pool_memory(w, mode)
    before = (_status_kib("VmRSS") or 0) * 1024
    exact = _reset_peak_rss()
    for _ in range(2):
        w.run(mode)
    if exact:
        peak = (_status_kib("VmHWM") or 0) * 1024
    else:  # ru_maxrss: the peak over the process's whole life (KiB on Linux, bytes on macOS)
        import resource  # noqa: PLC0415

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"peak_bytes": peak, "start_bytes": before, "step_bytes": max(peak - before, 0),
            "what": "process RSS" + ("" if exact else " (lifetime peak)")}


def _cupy_pool_memory(w: Workload, mode: str) -> dict[str, Any]:
    """Peak bytes in use in CuPy's memory pool during two ``mode`` runs."""
    cupy = backend.get_xp()
    pool = cupy.get_default_memory_pool()
    start, peak = pool.used_bytes(), [pool.used_bytes()]

    def alloc(size: int) -> Any:  # CuPy has no peak counter: note the pool's use after each allocation
        mem = pool.malloc(size)
        peak[0] = max(peak[0], pool.used_bytes())
        return mem

    cupy.cuda.set_allocator(alloc)
    try:
        for _ in range(2):
            w.run(mode)
    finally:
        cupy.cuda.set_allocator(pool.malloc)
    return {"peak_bytes": peak[0], "start_bytes": start, "step_bytes": peak[0] - start, "what": "CuPy memory pool"}


def measure_memory(framework: str, mode: str, args: argparse.Namespace, model: str | None = None) -> dict[str, Any]:
    """Run :func:`memory_worker` in a fresh Python process (``--memory-worker``) and return its figures."""
    cmd = [sys.executable, "-m", "tinyseg.bench", "--memory-worker", framework, mode,
           "--model", model or args.model, "--size", f"{args.size[0]}x{args.size[1]}",
           "--batch-size", str(args.batch_size), "--backend", args.backend, "--threads", str(args.threads),
           "--num-classes", str(args.num_classes), "--seed", str(args.seed), "--host-malloc", args.host_malloc]
    env = dict(os.environ, **thread_env(args.threads))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench: the memory run of {framework} {mode} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
