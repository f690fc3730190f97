"""FLOPs: the convolutions' multiply-adds, counted from their shapes by an op hook while a step runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..functional.conv import Conv2d, ConvTranspose2d
from ..tensor import Context, op_hook

__all__ = ["count_conv_flops", "conv_macs"]


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
    is wanted).
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
