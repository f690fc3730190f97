"""The basic Functions that Tensor's operators run: arithmetic, reductions and shape ops, each
with its backward beside it and the math in one docstring line.

    a + b, a - b, a * b, a / b, a ** b, -a   Add Sub Mul Div Pow Neg
    a.exp(), .log(), .sqrt(), .abs()         Exp Log Sqrt Abs
    a.astype(dtype)                          Cast
    a @ b                                    MatMul
    a.sum(dim), .mean(dim), .max(dim)        Sum Mean Max
    a.reshape(...), .permute(...), a[i]      Reshape Permute GetItem

Binary ops broadcast like NumPy. Their backward returns gradients of the *broadcast* shape; the
engine (``function.sum_to_shape``) sums them back to each input's shape, once, for every op.
The backward of a reduction puts the reduced axes back (size 1) and broadcasts the gradient over
them; shape ops move the gradient back without arithmetic.

They sit in the engine, below tensor.py, so that Tensor can name them in its own methods;
tinyseg.functional spells them as functions (``F.add``, ``F.sum``, ``F.reshape``). Why this file
is a little over 300 lines: it is the whole list of the operators a Tensor has, read as one.
"""

from __future__ import annotations

from typing import Any

from . import backend
from .function import Context, Function

__all__ = [
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Neg",
    "Exp",
    "Log",
    "Sqrt",
    "Abs",
    "Cast",
    "MatMul",
    "Sum",
    "Mean",
    "Max",
    "Reshape",
    "Permute",
    "GetItem",
]


# ---- elementwise ---------------------------------------------------------------------------------


class Add(Function):
    """a + b.  backward: (g, g)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, grad


class Sub(Function):
    """a - b.  backward: (g, -g)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        return grad, -grad


class Mul(Function):
    """a * b.  backward: (g b, g a)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        return grad * b, grad * a


class Div(Function):
    """a / b.  backward: (g / b, -g a / b^2)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        ga = grad / b
        gb = -ga * a / b if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b.  backward: (g b a^(b-1), g a^b log a)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> Any:
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        a, b, out = ctx.saved_tensors
        ga = grad * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        gb = grad * out * backend.xp_of(a).log(a) if ctx.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """-a.  backward: -g"""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        return -a

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return -grad


class Exp(Function):
    """exp(a).  backward: g exp(a)"""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = backend.xp_of(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """log(a).  backward: g / a"""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.save_for_backward(a)
        return backend.xp_of(a).log(a)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    """sqrt(a).  backward: g / (2 sqrt(a))"""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        out = backend.xp_of(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    """|a|.  backward: g sign(a)"""

    @staticmethod
    def forward(ctx: Context, a: Any) -> Any:
        ctx.save_for_backward(a)
        return backend.xp_of(a).abs(a)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (a,) = ctx.saved_tensors
        return grad * backend.xp_of(a).sign(a)


class Cast(Function):
    """a.astype(dtype).  backward: g cast back to a's dtype"""

    @staticmethod
    def forward(ctx: Context, a: Any, dtype: Any) -> Any:
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad.astype(ctx.dtype)


# ---- reductions (and matmul: multiply, then sum over the shared axis) -------------------------


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
    for ax in sorted(a % len(shape) for a in axes):
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


# ---- shape: move or select values, no arithmetic -------------------------------------------------


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
