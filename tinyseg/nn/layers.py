"""Layers: each one holds its weights and settings and calls one op of tinyseg.functional."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor
from ..functional.activation import dropout, relu
from ..functional.conv import conv2d, conv_transpose2d
from ..functional.norm import batch_norm, batch_norm_relu, local_response_norm
from ..functional.pool import max_pool2d, max_unpool2d
from ..functional.window import pair
from . import init
from .module import Module, Parameter

__all__ = [
    "Conv2d",
    "ConvTranspose2d",
    "BatchNorm2d",
    "ReLU",
    "MaxPool2d",
    "MaxUnpool2d",
    "LocalResponseNorm",
    "Dropout",
]


def _empty(*shape: int) -> Parameter:
    """A float32 Parameter of ``shape``, to be filled by an initialiser."""
    return Parameter(backend.get_xp().zeros(shape, dtype="float32"))


class Conv2d(Module):
    """2-D convolution, x (N, C_in, H, W) -> (N, C_out, H', W').

    weight (C_out, C_in, kh, kw): He normal, std sqrt(2 / (C_in kh kw)); bias (C_out,): zeros.
    rng: the NumPy generator to draw from (default: ``tinyseg.random.init_generator()``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = pair(kernel_size), pair(stride), pair(padding)
        self.weight = init.kaiming_normal_(_empty(out_channels, in_channels, *self.kernel_size), rng)
        self.bias = init.zeros_(_empty(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}" + ("" if self.bias is not None else ", bias=False")
        )


class ConvTranspose2d(Module):
    """Transposed convolution (the gradient of conv2d as a layer), x (N, C_in, H, W) -> (N, C_out, H', W').

    weight (C_in, C_out, kh, kw) as in PyTorch: He normal with fan_in = C_out kh kw (PyTorch's and
    Caffe's convention for this layout); bias (C_out,): zeros.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        output_padding: int | tuple[int, int] = 0,
        bias: bool = True,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = pair(kernel_size), pair(stride), pair(padding)
        self.output_padding = pair(output_padding)
        self.weight = init.kaiming_normal_(_empty(in_channels, out_channels, *self.kernel_size), rng)
        self.bias = init.zeros_(_empty(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return conv_transpose2d(
            x, self.weight, self.bias, stride=self.stride, padding=self.padding, output_padding=self.output_padding
        )

    def extra_repr(self) -> str:
        out_pad = f", output_padding={self.output_padding}" if self.output_padding != (0, 0) else ""
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}{out_pad}" + ("" if self.bias is not None else ", bias=False")
        )


class BatchNorm2d(Module):
    """Batch normalisation per channel of x (N, C, H, W).

    weight (C,) = 1 and bias (C,) = 0 are trained; running_mean (C,) = 0 and running_var (C,) = 1
    are buffers, updated in training mode and used in eval mode. ``bn(x, relu=True)`` is
    relu(bn(x)) as one fused op (:func:`~tinyseg.functional.batch_norm_relu`), same parameters.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = init.ones_(_empty(num_features))
        self.bias = init.zeros_(_empty(num_features))
        xp = backend.get_xp()
        self.register_buffer("running_mean", xp.zeros(num_features, dtype="float32"))
        self.register_buffer("running_var", xp.ones(num_features, dtype="float32"))

    def forward(self, x: Tensor, relu: bool = False) -> Tensor:
        if x.ndim != 4:
            raise ValueError(f"BatchNorm2d: expected input (N, C, H, W), got shape {x.shape}")
        op = batch_norm_relu if relu else batch_norm
        return op(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class ReLU(Module):
    """max(x, 0) elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class MaxPool2d(Module):
    """Max pooling, as PyTorch's: forward(x) -> out, or (out, indices) with ``return_indices=True``.

    indices (N, C, H', W'), uint8: the position of the maximum within its window (SegNet's
    pooling indices, fed to MaxUnpool2d in the decoder).
    """

    def __init__(self, kernel_size: int = 2, stride: int | None = None, return_indices: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.return_indices = return_indices

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return max_pool2d(x, self.kernel_size, self.stride, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        indices = ", return_indices=True" if self.return_indices else ""
        return f"kernel_size={self.kernel_size}, stride={self.stride}{indices}"


class MaxUnpool2d(Module):
    """Put each value back where MaxPool2d found its maximum, zeros elsewhere.

    forward(x, indices, output_size=None): output_size (H, W) restores odd sizes that pooling floored.
    """

    def __init__(self, kernel_size: int = 2, stride: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size

    def forward(self, x: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return max_unpool2d(x, indices, self.kernel_size, self.stride, output_size=output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class LocalResponseNorm(Module):
    """Normalise by the squares of ``size`` neighbouring channels (SegNet-Basic's input LRN)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: Tensor) -> Tensor:
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class Dropout(Module):
    """Zero values with probability p in training (scaling the rest by 1 / (1 - p)); identity in eval.

    Masks come from ``tinyseg.random`` (seed with ``tinyseg.manual_seed``; scope a stream with
    ``with tinyseg.random.fork_rng(seed):``). Bayesian SegNet keeps dropout on at test time with
    ``module.train()`` (see ``models.mc_predict``).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
