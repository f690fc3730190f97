"""Shape ops: reshape, permute and indexing (``a[index]``), each a Function with its backward
beside it. They move or select values without arithmetic, so each backward moves the gradient
back: reshape it, permute it by the inverse permutation, or scatter it into zeros.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor, as_tensor

__all__ = ["reshape", "permute"]


class Reshape(Function):
    """a.reshape(shape).  backward: g reshaped to a's shape"""

    @staticmethod
    def forward(ctx: Context, a: Any, shape: tuple[int, ...]) -> Any:
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view shape {tuple(a.shape)} as {tuple(shape)}") from None

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad.reshape(ctx.shape)


class Permute(Function):
    """a.transpose(axes).  backward: g transposed by the inverse permutation"""

    @staticmethod
    def forward(ctx: Context, a: Any, axes: tuple[int, ...]) -> Any:
        if sorted(ax % a.ndim for ax in axes) != list(range(a.ndim)):
            raise ValueError(f"permute: {tuple(axes)} is not a permutation of the {a.ndim} axes of {tuple(a.shape)}")
        ctx.axes = tuple(ax % a.ndim for ax in axes)
        return a.transpose(ctx.axes)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        inverse = [0] * len(ctx.axes)
        for i, ax in enumerate(ctx.axes):
            inverse[ax] = i
        return grad.transpose(inverse)


class GetItem(Function):
    """a[index].  backward: zeros of a's shape with g added at index (repeats add up)"""

    @staticmethod
    def forward(ctx: Context, a: Any, index: Any) -> Any:
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        out = backend.xp_of(grad).zeros(ctx.shape, dtype=ctx.dtype)
        backend.scatter_add(out, ctx.index, grad)
        return out


# ---- function-style spellings (torch.reshape, torch.permute) -------------------------------------


def reshape(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """a viewed as ``shape``."""
    return Reshape.apply(as_tensor(a), shape=tuple(shape))


def permute(a: Tensor, axes: tuple[int, ...]) -> Tensor:
    """a with its dimensions reordered."""
    return Permute.apply(as_tensor(a), axes=tuple(axes))
