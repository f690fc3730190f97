"""Memory: the peak of a step, each figure measured in a fresh process so that earlier runs leave
no trace, and what SegNet-Basic's decoders keep from the encoders (pooling indices, one byte
each) against FCN-Basic's (score maps)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import interop, models
from ..engine import backend
from ..engine.tensor import Tensor, no_grad
from .machine import thread_env
from .workloads import make_batch, make_workload

__all__ = ["memory_worker", "measure_memory", "storage_report"]


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


def _rss_peak(run: Callable[[], None], times: int = 2) -> dict[str, Any]:
    """Peak resident set size of this process while ``run()`` runs ``times`` times."""
    before = (_status_kib("VmRSS") or 0) * 1024
    exact = _reset_peak_rss()
    for _ in range(times):
        run()
    if exact:
        peak = (_status_kib("VmHWM") or 0) * 1024
    else:  # ru_maxrss: the peak over the process's whole life (KiB on Linux, bytes on macOS)
        import resource  # noqa: PLC0415 (Unix only)

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {
        "peak_bytes": peak,
        "start_bytes": before,
        "step_bytes": max(peak - before, 0),
        "what": "process RSS" + ("" if exact else " (lifetime peak)"),
    }


def _cupy_pool_peak(run: Callable[[], None], times: int = 2) -> dict[str, Any]:
    """Peak bytes in use in CuPy's memory pool while ``run()`` runs ``times`` times."""
    cupy = backend.get_xp()
    pool = cupy.get_default_memory_pool()
    start, peak = pool.used_bytes(), [pool.used_bytes()]

    def alloc(size: int) -> Any:  # CuPy has no peak counter: note the pool's use after each allocation
        mem = pool.malloc(size)
        peak[0] = max(peak[0], pool.used_bytes())
        return mem

    cupy.cuda.set_allocator(alloc)
    try:
        for _ in range(times):
            run()
    finally:
        cupy.cuda.set_allocator(pool.malloc)
    return {"peak_bytes": peak[0], "start_bytes": start, "step_bytes": peak[0] - start, "what": "CuPy memory pool"}


def memory_worker(framework: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """Peak memory of two ``mode`` runs in this (fresh) process: bytes, whole and above the start.

    Returns ``peak_bytes``, ``start_bytes``, ``step_bytes`` (peak minus start) and ``what`` was
    measured: the process's RSS on the CPU, the memory pool (CuPy's or PyTorch's) on the GPU.
    """
    x, labels = make_batch(args.batch_size, args.size, args.num_classes, args.seed)
    w = make_workload(framework, args.model, x, labels, args.num_classes, args.seed)
    if backend.name() != "cupy":
        return _rss_peak(lambda: w.run(mode))
    if framework == "torch":
        return interop.cuda_peak_memory(lambda: w.run(mode))
    return _cupy_pool_peak(lambda: w.run(mode))


def measure_memory(framework: str, mode: str, args: argparse.Namespace, model: str | None = None) -> dict[str, Any]:
    """Run :func:`memory_worker` in a fresh Python process (``--memory-worker``) and return its figures."""
    cmd = [
        sys.executable,
        "-m",
        "tinyseg.bench",
        "--memory-worker",
        framework,
        mode,
        "--model",
        model or args.model,
        "--size",
        f"{args.size[0]}x{args.size[1]}",
        "--batch-size",
        str(args.batch_size),
        "--backend",
        args.backend,
        "--threads",
        str(args.threads),
        "--num-classes",
        str(args.num_classes),
        "--seed",
        str(args.seed),
        "--host-malloc",
        args.host_malloc,
    ]
    env = dict(os.environ, **thread_env(args.threads))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench: the memory run of {framework} {mode} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def storage_report(args: argparse.Namespace) -> dict[str, Any]:
    """Bytes each decoder keeps from its encoder (SegNet-Basic: pooling indices; FCN-Basic: score
    maps), what full feature maps or PyTorch's int64 indices would take, and inference peak memory
    (unless ``args.no_memory``), for a batch x: (args.batch_size, 3, *args.size)."""
    x = Tensor(backend.to_device(make_batch(args.batch_size, args.size, args.num_classes, args.seed)[0]))
    segnet = models.create("segnet_basic", num_classes=args.num_classes)
    fcn = models.create("fcn_basic", num_classes=args.num_classes)
    segnet.eval()
    with no_grad():
        _, skips = segnet.encode(x)
    indices = sum(int(idx.data.nbytes) for idx, _ in skips)
    n_values = sum(int(idx.size) for idx, _ in skips)
    # the encoder's feature maps before pooling: what a decoder that kept whole maps would hold
    maps = sum(args.batch_size * 64 * h * w * 4 for _, (h, w) in skips)
    report = {
        "segnet_basic_decoder_bytes": models.decoder_storage_bytes(segnet, x),
        "fcn_basic_decoder_bytes": models.decoder_storage_bytes(fcn, x),
        "pool_indices_bytes": indices,
        "pool_indices_torch_int64_bytes": 8 * n_values,
        "feature_maps_before_pooling_bytes": maps,
    }
    if not args.no_memory:
        for name in ("segnet_basic", "fcn_basic"):
            report[f"{name}_inference_peak"] = measure_memory("tinyseg", "inference", args, model=name)
    return report
