"""tinyseg.functional: every op as a Function, named and ordered like torch.nn.functional."""

from . import basic  # noqa: F401  (gives Tensor its operators: a + b, a @ b, a.sum(), ...)
from .activation import dropout, log_softmax, relu, softmax
from .conv import conv2d, conv_impl, conv_transpose2d
from .elementwise import abs, add, cast, div, exp, log, mul, neg, pow, sqrt, sub
from .interpolate import interpolate
from .loss import cross_entropy
from .norm import batch_norm, batch_norm_relu, local_response_norm
from .pool import indices_from_torch, indices_to_torch, max_pool2d, max_pool2d_with_indices, max_unpool2d
from .reduce import matmul, mean, sum
from .shape import permute, reshape

__all__ = [
    "abs", "add", "cast", "div", "exp", "log", "matmul", "mean", "mul", "neg", "permute",
    "pow", "reshape", "sqrt", "sub", "sum",
    "conv2d", "conv_transpose2d", "conv_impl", "interpolate", "max_pool2d", "max_pool2d_with_indices", "max_unpool2d", "indices_to_torch", "indices_from_torch",
    "relu", "softmax", "log_softmax", "dropout", "batch_norm", "batch_norm_relu", "local_response_norm", "cross_entropy",
]
