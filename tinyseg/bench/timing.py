"""Timing: seconds per step with the frameworks alternating, one step profiled op by op, the
convolutions' FLOPs counted from their shapes, and the GEMM ceiling those FLOPs run against.

The GEMM ceiling: a convolution in tinyseg is nearly all matrix products
(tinyseg/functional/conv_fast.py), so the speed of those products, measured in the same process
as the model, bounds the model's: a step of F FLOPs cannot take less than F / (their GFLOP/s).
Three shapes:

- ``square``: 2048 x 2048 x 2048, the BLAS's best case;
- ``forward tile``: R (P, kw*C) @ W (kw*C, kh*O), one row tile of the model's largest
  64-to-64 convolution (its forward, and its input gradient, which is a convolution too);
- ``weight-gradient tile``: kh products R.T (kw*C, P) @ G_i (P, O), batched, for the same tile.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..engine import backend
from ..engine.profiler import profile
from ..engine.tensor import Context, op_hook
from ..functional import conv_fast
from ..functional.conv import Conv2d, ConvTranspose2d
from .workloads import TinysegWorkload, Workload

__all__ = ["time_modes", "profile_step", "conv_macs", "count_conv_flops", "count_flops", "gemm_ceiling"]


def _time(fn: Callable[[], None]) -> float:
    """Seconds that ``fn()`` takes (wall clock)."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_modes(
    workloads: Sequence[Workload], modes: tuple[str, ...], warmup: int, repeats: int
) -> dict[str, dict[str, list[float]]]:
    """Seconds per run, framework -> mode -> list of ``repeats``, after ``warmup`` untimed runs;
    the frameworks alternate run by run, so that a busy moment slows them all."""
    times: dict[str, dict[str, list[float]]] = {w.framework: {m: [] for m in modes} for w in workloads}
    for mode in modes:
        for _ in range(warmup):
            for w in workloads:
                w.run(mode)
        for _ in range(repeats):
            for w in workloads:
                times[w.framework][mode].append(_time(functools.partial(w.run, mode)))
    return times


def profile_step(workload: TinysegWorkload, mode: str = "training") -> tuple[list[dict[str, Any]], float]:
    """Run one ``mode`` step of a tinyseg workload under ``tinyseg.profile()``.

    Returns (rows, total seconds): one row per (op, shape of its first input) with ``calls``,
    ``forward_s`` and ``backward_s``, most expensive first; the optimizer's update is a row of
    its own. On the GPU each op waits for the device, so the per-op times add up (and the step
    runs a little slower than timed).
    """
    opt = workload.opt
    step, opt_time = opt.step, [0.0]

    def timed_step() -> None:  # the update is not a Function: time it here, on this object only
        workload.sync()
        start = time.perf_counter()
        step()
        workload.sync()
        opt_time[0] += time.perf_counter() - start

    opt.step = timed_step  # type: ignore[method-assign]
    try:
        with profile() as p:
            total = _time(lambda: workload.run(mode))
    finally:
        del opt.step
    rows = [
        {"op": op, "shape": shape, "calls": s.calls, "forward_s": s.forward_s, "backward_s": s.backward_s}
        for (op, shape), s in sorted(p.by_shape.items(), key=lambda item: -item[1].total_s)
    ]
    if mode == "training":
        rows.append({"op": "SGD.step", "shape": "", "calls": 1, "forward_s": opt_time[0], "backward_s": 0.0})
    return rows, total


def conv_macs(fn: type, x: Any, weight: Any, out: Any) -> int:
    """Multiply-adds of one conv2d / conv_transpose2d: every pixel on the side where one pixel
    meets the whole kernel (the output of a conv2d, the input of a transposed one) times the
    kernel's size. x: (N, C, H, W), weight: (O, C, kh, kw) or (C, O, kh, kw), out: (N, O, Ho, Wo)."""
    pixels = x if fn is ConvTranspose2d else out
    size = 1
    for n in weight.shape:
        size *= int(n)
    return int(pixels.shape[0]) * int(pixels.shape[2]) * int(pixels.shape[3]) * size


@contextmanager
def count_conv_flops() -> Iterator[dict[str, int]]:
    """Count, while active, the FLOPs (2 per multiply-add) of every conv2d / conv_transpose2d run.

    Yields a dict filled in as ops run: ``forward``; ``backward`` (a weight gradient costs as much
    as the forward, an input gradient too, each counted, at the forward, only when that gradient
    is wanted). The count is an op hook (tinyseg.engine.tensor.op_hook): nothing is patched.
    """
    counts = {"forward": 0, "backward": 0}

    def count(fn: type, phase: str, ctx: Context, args: tuple[Any, ...], run: Callable[[], Any]) -> Any:
        out = run()
        if phase == "forward" and fn in (Conv2d, ConvTranspose2d):
            macs = conv_macs(fn, args[0], args[1], out)
            needs = ctx.needs_input_grad
            counts["forward"] += 2 * macs
            counts["backward"] += 2 * macs * (int(needs[0]) + int(needs[1]))
        return out

    with op_hook(count):
        yield counts


def count_flops(workload: TinysegWorkload, modes: tuple[str, ...]) -> dict[str, int]:
    """The convolutions' FLOPs of an "inference" and a "training" step, counted in one run of each
    of ``modes`` (a warm-up as well); a mode not run is estimated from the other (training: 3x)."""
    flops: dict[str, int] = {}
    counted = {"forward": 0, "backward": 0}
    for mode in modes:
        with count_conv_flops() as counted:  # noqa: F811 (the zeros above stand when modes is empty)
            workload.run(mode)
        flops[mode] = counted["forward"] + (counted["backward"] if mode == "training" else 0)
    flops.setdefault("inference", counted["forward"])
    flops.setdefault("training", 3 * counted["forward"])  # an estimate: forward + both gradients
    return flops


def _rate(a: Any, b: Any, repeats: int) -> float:
    """GFLOP/s of ``a @ b`` (batched when 3-d), the best of ``repeats`` timed runs after one warm-up."""
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    flops = 2.0 * a.shape[-2] * a.shape[-1] * b.shape[-1] * batch

    def product() -> None:
        a @ b
        backend.synchronize()

    product()
    return flops / min(_time(product) for _ in range(repeats)) / 1e9


def gemm_ceiling(
    size: tuple[int, int], batch: int, channels: int = 64, kernel: int = 7, repeats: int = 3, seed: int = 0
) -> list[dict[str, Any]]:
    """GFLOP/s of the three products above on the active backend, for images of ``size`` (H, W).

    Returns ``[{"name", "shape" (M, K, N[, batch]), "gflops"}]``.
    """
    xp = backend.get_xp()
    rng = backend.default_rng(seed)
    h, w = size
    pad = kernel // 2
    x_shape, w_shape = (batch, channels, h, w), (channels, channels, kernel, kernel)
    r0, r1 = conv_fast.tile_plan(x_shape, w_shape, (1, 1), ((pad, pad), (pad, pad)))[0]
    p = (r1 - r0) * w  # pixels in one tile
    k, n = kernel * channels, kernel * channels

    def rand(*shape: int) -> Any:
        return xp.asarray(rng.random(shape, dtype=xp.float32))

    cases = [
        ("square", rand(2048, 2048), rand(2048, 2048)),
        ("forward tile", rand(p, k), rand(k, n)),
        ("weight-gradient tile", rand(k, p), rand(kernel, p, channels)),
    ]
    out = []
    for name, a, b in cases:
        shape = (a.shape[-2], a.shape[-1], b.shape[-1]) + ((b.shape[0],) if b.ndim == 3 else ())
        out.append({"name": name, "shape": list(shape), "gflops": _rate(a, b, repeats)})
    return out
