"""Timing: seconds per run with the frameworks alternating, and one step profiled op by op."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..profiler import profile
from .workloads import Workload

__all__ = ["time_modes", "profile_step"]


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_modes(workloads: list[Workload], modes: tuple[str, ...], warmup: int,
               repeats: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per run, framework -> mode -> list of ``repeats``, after ``warmup`` untimed runs;
    the frameworks alternate run by run, so that a busy moment slows them all."""
    times: dict[str, dict[str, list[float]]] = {w.framework: {m: [] for m in modes} for w in workloads}
    for mode in modes:
        for _ in range(warmup):
            for w in workloads:
                w.run(mode)
        for _ in range(repeats):
            for w in workloads:
                times[w.framework][mode].append(_time(lambda w=w: w.run(mode)))
    return times


def profile_step(workload: Workload, mode: str = "training") -> tuple[list[dict[str, Any]], float]:
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
    rows = [{"op": op, "shape": shape, "calls": s.calls, "forward_s": s.forward_s, "backward_s": s.backward_s}
            for (op, shape), s in sorted(p.by_shape.items(), key=lambda item: -item[1].total_s)]
    if mode == "training":
        rows.append({"op": "SGD.step", "shape": "", "calls": 1, "forward_s": opt_time[0], "backward_s": 0.0})
    return rows, total
