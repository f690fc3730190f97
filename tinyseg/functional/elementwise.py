"""Elementwise ops: arithmetic (+ - * / ** and negation), exp, log, sqrt, abs and dtype casts,
each a Function with its backward beside it.

Binary ops broadcast like NumPy. Their backward returns gradients of the *broadcast* shape; the
engine (``tensor._sum_to_shape``) sums them back to each input's shape, once, for every op.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor, as_tensor

__all__ = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "cast"]


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


# ---- function-style spellings (torch.add, torch.exp, ...) ----------------------------------------


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
