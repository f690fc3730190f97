"""The basic ops as functions, as ``torch.add``, ``torch.sum``, ``torch.reshape`` spell them.

Each is one of Tensor's operators: ``add(a, b)`` is ``a + b``, ``sum(a, dim)`` is ``a.sum(dim)``.
Their Functions (forward and backward side by side) live in tinyseg/engine/ops.py, below the
Tensor class that names them; here they accept plain arrays as well as Tensors.
"""

from __future__ import annotations

from typing import Any

from ..engine.tensor import Tensor, as_tensor

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "neg",
    "exp",
    "log",
    "sqrt",
    "abs",
    "cast",
    "matmul",
    "sum",
    "mean",
    "reshape",
    "permute",
]


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
    return as_tensor(a).exp()


def log(a: Tensor) -> Tensor:
    """Elementwise natural log."""
    return as_tensor(a).log()


def sqrt(a: Tensor) -> Tensor:
    """Elementwise square root."""
    return as_tensor(a).sqrt()


def abs(a: Tensor) -> Tensor:  # noqa: A001
    """Elementwise |a|."""
    return as_tensor(a).abs()


def cast(a: Tensor, dtype: Any) -> Tensor:
    """a converted to ``dtype``."""
    return as_tensor(a).astype(dtype)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """a (..., n, k) @ b (..., k, m) -> (..., n, m)."""
    return as_tensor(a) @ b


def sum(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or None: all), as ``torch.sum``."""
    return as_tensor(a).sum(dim, keepdim)


def mean(a: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` (an int, a tuple, or None: all), as ``torch.mean``."""
    return as_tensor(a).mean(dim, keepdim)


def reshape(a: Tensor, shape: tuple[int, ...]) -> Tensor:
    """a viewed as ``shape``."""
    return as_tensor(a).reshape(tuple(shape))


def permute(a: Tensor, dims: tuple[int, ...]) -> Tensor:
    """a with its dimensions reordered (``torch.permute(a, dims)``)."""
    return as_tensor(a).permute(tuple(dims))
