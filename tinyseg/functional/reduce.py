"""Reductions: sum, mean and max over axes, and matmul, which multiplies and then sums over the
shared axis (tinygrad builds it exactly so). Each a Function with its backward beside it.

The backward of a reduction puts the reduced axes back (size 1) and broadcasts the gradient
over them: every input element that was summed receives the output's gradient.
"""

from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor, as_tensor

__all__ = ["sum", "mean", "matmul"]


class MatMul(Function):
    """a @ b for a (..., n, k), b (..., k, m) -> (..., n, m).  backward: (g b^T, a^T g)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit "
                "(need (..., n, k) @ (..., k, m); reshape vectors to matrices first)"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        ga = grad @ b.swapaxes(-1, -2) if ctx.needs_input_grad[0] else None
        gb = a.swapaxes(-1, -2) @ grad if ctx.needs_input_grad[1] else None
        return ga, gb


def _expand_reduced(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put back the reduced axes of ``grad`` as size 1 so it broadcasts against the input."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    if keepdims:
        return grad
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = sorted(ax % len(shape) for ax in axes)
    for ax in axes:
        grad = backend.xp_of(grad).expand_dims(grad, ax)
    return grad


class Sum(Function):
    """a.sum(axis).  backward: g broadcast back over the summed axes"""

    @staticmethod
    def forward(ctx: Context, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return a.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return backend.xp_of(g).broadcast_to(g, ctx.shape)


class Mean(Function):
    """a.mean(axis).  backward: g / (number of averaged elements), broadcast back"""

    @staticmethod
    def forward(ctx: Context, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        out = a.mean(axis=axis, keepdims=keepdims)
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        ctx.count = a.size // max(out.size, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims) / ctx.count
        return backend.xp_of(g).broadcast_to(g, ctx.shape)


class Max(Function):
    """a.max(axis).  backward: g to the maximal elements (shared equally between ties)"""

    @staticmethod
    def forward(ctx: Context, a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        out = a.max(axis=axis, keepdims=True)
        mask = a == out
        ctx.weights = mask / mask.sum(axis=axis, keepdims=True)
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        if keepdims:
            return out
        return out.reshape(()) if axis is None else backend.xp_of(a).squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return g * ctx.weights


# ---- function-style spellings (torch.sum, torch.matmul, ...) -------------------------------------


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a (..., n, k) @ b (..., k, m) -> (..., n, m)."""
    return as_tensor(a) @ b


def dims(op: str, dim: Any, keepdim: bool, axis: Any = None, keepdims: bool | None = None) -> tuple[Any, bool]:
    """PyTorch's ``(dim, keepdim)`` of a reduction; NumPy's spelling ``(axis, keepdims)`` is still
    accepted for now, with a DeprecationWarning."""
    if axis is not None or keepdims is not None:
        warnings.warn(f"{op}(axis=, keepdims=) is deprecated: tinyseg follows PyTorch, {op}(dim=, keepdim=)",
                      DeprecationWarning, stacklevel=3)
        dim = axis if axis is not None else dim
        keepdim = keepdims if keepdims is not None else keepdim
    return dim, keepdim


def sum(a: Tensor, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or None: all), as ``torch.sum``."""
    dim, keepdim = dims("sum", dim, keepdim, **numpy_names)
    return Sum.apply(as_tensor(a), axis=dim, keepdims=keepdim)


def mean(a: Tensor, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
    """Mean over ``dim`` (an int, a tuple, or None: all), as ``torch.mean``."""
    dim, keepdim = dims("mean", dim, keepdim, **numpy_names)
    return Mean.apply(as_tensor(a), axis=dim, keepdims=keepdim)
