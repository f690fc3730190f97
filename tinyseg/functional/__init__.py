"""tinyseg.functional: every op as a Function, named and ordered like torch.nn.functional.

The basic ops (add, sum, reshape, ...) are Tensor's operators as functions (basic.py); their
Functions live in the engine (tinyseg/engine/ops.py), below Tensor, which names them."""

from .activation import dropout, log_softmax, relu, softmax
from .basic import abs, add, cast, div, exp, log, matmul, mean, mul, neg, permute, pow, reshape, sqrt, sub, sum  # noqa: A004 (torch's names)
from .conv import conv2d, conv_impl, conv_transpose2d
from .interpolate import interpolate
from .loss import cross_entropy
from .norm import batch_norm, batch_norm_relu, local_response_norm
from .pool import indices_from_torch, indices_to_torch, max_pool2d, max_pool2d_with_indices, max_unpool2d

__all__ = [
    "abs",
    "add",
    "cast",
    "div",
    "exp",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "permute",
    "pow",
    "reshape",
    "sqrt",
    "sub",
    "sum",
    "conv2d",
    "conv_transpose2d",
    "conv_impl",
    "interpolate",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_unpool2d",
    "indices_to_torch",
    "indices_from_torch",
    "relu",
    "softmax",
    "log_softmax",
    "dropout",
    "batch_norm",
    "batch_norm_relu",
    "local_response_norm",
    "cross_entropy",
]
