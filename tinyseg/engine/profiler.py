"""``with tinyseg.profile() as p:``: time every op's forward and backward, around any model.

    >>> import tinyseg
    >>> x = tinyseg.tensor([[1.0, 2.0]], requires_grad=True)
    >>> with tinyseg.profile() as p:
    ...     (x * x).sum().backward()
    >>> p.stats["Mul"].calls, p.stats["Mul"].backward_calls
    (1, 1)
    >>> print(p.table())  # doctest: +SKIP
    op                         calls   forward s  backward s   share
    Mul                            1       0.000       0.000    4.1%
    ...

It is an op hook (``tinyseg.engine.function.op_hook``): the engine calls it around each Function's
``forward`` and ``backward``, so every op is seen, whoever wrote the model, and nothing is
patched. Each run is timed on its own; on the GPU the device is synchronised before and after
it, so the times add up (and the profiled code runs a little slower than it would).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import backend
from .function import Context, op_hook

__all__ = ["profile", "Profile", "OpStats"]


@dataclass
class OpStats:
    """What one op (or one op on one input shape) cost while a profile was active."""

    calls: int = 0  # forward runs
    backward_calls: int = 0
    forward_s: float = 0.0
    backward_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s

    def add(self, other: OpStats) -> None:
        self.calls += other.calls
        self.backward_calls += other.backward_calls
        self.forward_s += other.forward_s
        self.backward_s += other.backward_s


def shape_of(args: tuple[Any, ...]) -> str:
    """The shape of the first array among ``args`` as '1x64x32x48' ('' when there is none)."""
    first = next((a for a in args if hasattr(a, "shape")), None)
    return "x".join(str(int(s)) for s in first.shape) if first is not None else ""


class Profile:
    """The figures of one ``with tinyseg.profile() as p:`` block, filled in as ops run.

    ``p.stats``: op name -> :class:`OpStats`, most expensive first. ``p.by_shape``: the same per
    (op name, shape of the op's first input), the backward counted under its forward's shape.
    ``p.wall_s``: seconds the block took (set on exit). ``p.table()``: a summary to print.
    """

    def __init__(self) -> None:
        self.by_shape: dict[tuple[str, str], OpStats] = {}
        self.wall_s = 0.0
        self._keys: dict[int, tuple[str, str]] = {}  # id(ctx) -> its forward's key, for the backward

    def _hook(self, fn: type, phase: str, ctx: Context, args: tuple[Any, ...], run: Callable[[], Any]) -> Any:
        """The op hook: time ``run()``, device work included, and book it under the op's key."""
        if phase == "forward":
            key = self._keys[id(ctx)] = (fn.__name__, shape_of(args))
        else:
            key = self._keys.get(id(ctx), (fn.__name__, ""))  # "": forward ran before the profile
        backend.synchronize()  # work queued before this op is not its cost
        start = time.perf_counter()
        out = run()
        backend.synchronize()
        seconds = time.perf_counter() - start
        stats = self.by_shape.setdefault(key, OpStats())
        if phase == "forward":
            stats.calls += 1
            stats.forward_s += seconds
        else:
            stats.backward_calls += 1
            stats.backward_s += seconds
        return out

    @property
    def stats(self) -> dict[str, OpStats]:
        """Op name -> its calls and seconds, summed over input shapes, most expensive first."""
        merged: dict[str, OpStats] = {}
        for (name, _), s in self.by_shape.items():
            merged.setdefault(name, OpStats()).add(s)
        return dict(sorted(merged.items(), key=lambda item: -item[1].total_s))

    def table(self, by_shape: bool = False) -> str:
        """One line per op (per op and input shape with ``by_shape``), most expensive first; share
        is of the block's wall time, and the last line is what ran outside any op."""
        if by_shape:
            rows = sorted(self.by_shape.items(), key=lambda item: -item[1].total_s)
        else:
            rows = [((name, ""), s) for name, s in self.stats.items()]
        width = 20 if by_shape else 0
        wall = self.wall_s or sum(s.total_s for _, s in rows) or 1.0
        lines = [
            f"{'op':22}{'input shape' if by_shape else '':>{width}}{'calls':>8}{'forward s':>12}"
            f"{'backward s':>12}{'share':>8}"
        ]
        for (name, shape), s in rows:
            lines.append(
                f"{name:22}{shape:>{width}}{s.calls:>8}{s.forward_s:>12.3f}{s.backward_s:>12.3f}"
                f"{s.total_s / wall:>8.1%}"
            )
        if self.wall_s:
            rest = self.wall_s - sum(s.total_s for _, s in rows)
            lines.append(f"{'(outside ops)':22}{'':>{width}}{'':>8}{rest:>24.3f}{rest / wall:>8.1%}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


@contextlib.contextmanager
def profile() -> Iterator[Profile]:
    """Time every Function's forward and backward run inside the block.

    Put it around anything: a forward pass, a training step, a whole epoch. Profiles nest
    (each sees every op; an outer one also pays for the inner one's bookkeeping). Nothing is
    recorded outside the block, and the hook is removed on exit, exceptions included.
    """
    p = Profile()
    start = time.perf_counter()
    try:
        with op_hook(p._hook):
            yield p
    finally:
        backend.synchronize()
        p.wall_s = time.perf_counter() - start
        p._keys.clear()
