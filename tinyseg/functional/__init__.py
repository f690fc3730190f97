"""tinyseg.functional: every op as a Function, named and ordered like torch.nn.functional."""

from .basic import (
    abs, add, amax, cast, div, exp, log, matmul, mean, mul, neg, permute, pow, reshape, sqrt, sub, sum,
)

__all__ = [
    "abs", "add", "amax", "cast", "div", "exp", "log", "matmul", "mean", "mul", "neg", "permute",
    "pow", "reshape", "sqrt", "sub", "sum",
]
