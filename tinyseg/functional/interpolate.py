"""Bilinear resizing of feature maps, as two small matrix products (and their transposes backward).

Bilinear interpolation is linear and separable: every output row mixes two neighbouring input
rows, every output column two neighbouring input columns. Written as matrices
``A_h (Ho, H)`` and ``A_w (Wo, W)``, resizing x (N, C, H, W) is ``y = A_h @ x @ A_w^T``, and its
gradient is the same product transposed, ``gx = A_h^T @ g @ A_w``. The evaluation of a model
trained on smaller images uses it to bring class scores up to the labels' own resolution.
"""

from __future__ import annotations

from typing import Any

from ..engine import backend
from ..engine.tensor import Context, Function, Tensor, as_tensor
from .window import pair

__all__ = ["interpolate"]


def bilinear_matrix(out_size: int, in_size: int, like: Any) -> Any:
    """A (out_size, in_size) of ``like``'s backend and dtype: row o weighs the inputs output o reads.

    PyTorch's ``align_corners=False``: output o samples source coordinate
    ``s = (o + 0.5) * in / out - 0.5`` (clamped at 0), between inputs floor(s) and floor(s) + 1
    (the last input repeats at the edge), with weights 1 - (s - floor(s)) and s - floor(s).
    """
    xp = backend.xp_of(like)
    s = xp.maximum((xp.arange(out_size, dtype=like.dtype) + 0.5) * (in_size / out_size) - 0.5, 0)
    i0 = xp.minimum(xp.floor(s).astype(xp.int64), in_size - 1)
    i1 = xp.minimum(i0 + 1, in_size - 1)
    lam = (s - i0)[:, None]
    cols = xp.arange(in_size)[None, :]
    return (1 - lam) * (cols == i0[:, None]) + lam * (cols == i1[:, None])


class Bilinear(Function):
    """y = A_h @ x @ A_w^T.  backward: gx = A_h^T @ g @ A_w"""

    @staticmethod
    def forward(ctx: Context, x: Any, size: tuple[int, int]) -> Any:
        a_h = bilinear_matrix(size[0], x.shape[2], x).astype(x.dtype, copy=False)
        a_w = bilinear_matrix(size[1], x.shape[3], x).astype(x.dtype, copy=False)
        ctx.save_for_backward(a_h, a_w)
        return a_h @ x @ a_w.T

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any]:
        a_h, a_w = ctx.saved_tensors
        return (a_h.T @ grad @ a_w,)


def interpolate(x: Tensor, size: int | tuple[int, int], mode: str = "bilinear", align_corners: bool = False) -> Tensor:
    """Resize x (N, C, H, W) to (N, C, *size) bilinearly, as PyTorch's
    ``F.interpolate(x, size, mode="bilinear", align_corners=False)`` (no antialiasing)."""
    if mode != "bilinear" or align_corners:
        raise ValueError(
            f"interpolate: only mode='bilinear' with align_corners=False is implemented, "
            f"got mode={mode!r}, align_corners={align_corners}"
        )
    x = as_tensor(x)
    size = pair(size, "size")
    if x.ndim != 4 or min(size) < 1:
        raise ValueError(f"interpolate: expected x (N, C, H, W) and a positive size, got x {x.shape}, size {size}")
    return Bilinear.apply(x, size=size)
