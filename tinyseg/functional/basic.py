"""Elementwise, matrix, shape and reduction ops, each a Function with its backward beside it.

Backward methods return gradients with the *broadcast* shape when inputs were broadcast;
the engine (``tensor._sum_to_shape``) sums them back to each input's shape.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor, as_tensor

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt", "abs",
    "reshape", "permute", "sum", "mean", "cast",
]


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


# ---- function-style spellings (torch.add, torch.exp, ...) ----------------------------



def add(a: Tensor, b: Tensor) -> Tensor:
    """a + b with broadcasting."""
    return as_tensor(a) + b


def sub(a: Tensor, b: Tensor) -> Tensor:
    """a - b with broadcasting."""
    return as_tensor(a) - b


def mul(a: Tensor, b: Tensor) -> Tensor:
    """a * b with broadcasting."""
    return as_tensor(a) * b


def div(a: Tensor, b: Tensor) -> Tensor:
    """a / b with broadcasting."""
    return as_tensor(a) / b


def pow(a: Tensor, b: Any) -> Tensor:  # noqa: A001 (torch.pow's name)
    """a ** b with broadcasting."""
    return as_tensor(a) ** b


def neg(a: Tensor) -> Tensor:
    """-a."""
    return -as_tensor(a)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a (..., n, k) @ b (..., k, m) -> (..., n, m)."""
    return as_tensor(a) @ b


def exp(a: Tensor) -> Tensor:
    """Elementwise e**a."""
    return Exp.apply(as_tensor(a))


def log(a: Tensor) -> Tensor:
    """Elementwise natural log."""
    return Log.apply(as_tensor(a))


def sqrt(a: Tensor) -> Tensor:
    """Elementwise square root."""
    return Sqrt.apply(as_tensor(a))


def abs(a: Tensor) -> Tensor:  # noqa: A001
    """Elementwise |a|."""
    return Abs.apply(as_tensor(a))


def cast(a: Tensor, dtype: Any) -> Tensor:
    """a converted to ``dtype``."""
    return Cast.apply(as_tensor(a), dtype=dtype)


def reshape(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """a viewed as ``shape``."""
    return Reshape.apply(as_tensor(a), shape=tuple(shape))


def permute(a: Tensor, axes: tuple[int, ...]) -> Tensor:
    """a with its dimensions reordered."""
    return Permute.apply(as_tensor(a), axes=tuple(axes))


def sum(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    return Sum.apply(as_tensor(a), axis=axis, keepdims=keepdims)


def mean(a: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes by default)."""
    return Mean.apply(as_tensor(a), axis=axis, keepdims=keepdims)


# ---- Tensor's operators and methods ----------------------------------------------------------
# tinyseg.tensor (the layer below) holds Tensor and the autograd engine; the operators are the
# Functions above, so they are given to Tensor here, when this module is imported (tinyseg's
# __init__ imports tinyseg.functional right after tinyseg.tensor). Each method below becomes
# ``Tensor.<name>``.


class _TensorMethods:
    def astype(self, dtype: Any) -> Tensor:
        """A copy with another dtype (gradient flows back, cast to the original dtype)."""
        return Cast.apply(self, dtype=dtype)

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, self._lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(self._lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, self._lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(self._lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, self._lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(self._lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, self._lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(self._lift(other), self)

    def __pow__(self, other: Any) -> Tensor:
        return Pow.apply(self, self._lift(other))

    def __rpow__(self, other: Any) -> Tensor:
        return Pow.apply(self._lift(other), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self._lift(other), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        def on_device(i: Any) -> Any:  # index arrays go where the data is (host arrays are copied over)
            i = i.data if isinstance(i, Tensor) else i
            return backend.to_device_of(i, self.data) if backend.is_array(i) else i

        index = tuple(map(on_device, index)) if isinstance(index, tuple) else on_device(index)
        return GetItem.apply(self, index=index)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in ``shape`` (one dimension may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def permute(self, *axes: Any) -> Tensor:
        """Reorder the dimensions: ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Permute.apply(self, axes=axes)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=axis, keepdims=keepdims)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)


for _name, _method in list(vars(_TensorMethods).items()):
    if callable(_method):
        _method.__qualname__ = f"Tensor.{_name}"
        setattr(Tensor, _name, _method)
del _name, _method
