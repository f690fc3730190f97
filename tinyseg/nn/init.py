"""Weight initialisation, drawn on the host with a NumPy generator and then moved to the
active backend, so that NumPy and CuPy runs start from the same numbers.

    >>> tinyseg.manual_seed(0)                 # the same model, weight for weight, every run
    >>> conv = tinyseg.nn.Conv2d(3, 64, 7)     # He normal weights, zero bias

The generator lives in tinyseg/engine/random.py, the one home of tinyseg's random state
(``tinyseg.manual_seed`` seeds it; ``tinyseg.random.init_generator()`` is the generator).

SegNet's Caffe model fills its convolutions with the "msra" filler: He et al. (2015) normal,
std = sqrt(2 / fan_in), which keeps the variance of activations steady through ReLUs.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import backend
from ..engine.random import init_generator
from ..engine.tensor import Tensor

__all__ = ["fan_in", "kaiming_normal_", "constant_", "zeros_", "ones_"]


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs feeding one output unit: shape[1] * kernel area (PyTorch's and Caffe's convention).

    Conv2d weight (O, C, kh, kw): C*kh*kw. ConvTranspose2d weight (C_in, C_out, kh, kw): C_out*kh*kw.
    """
    return int(shape[1] * math.prod(shape[2:]))


def _fill(t: Tensor, values: np.ndarray) -> Tensor:
    t.data = backend.to_device(values.astype(t.dtype))
    return t


def kaiming_normal_(t: Tensor, rng: np.random.Generator | None = None) -> Tensor:
    """Fill ``t`` with N(0, 2 / fan_in) (He / MSRA init for layers followed by ReLU); returns t."""
    rng = rng if rng is not None else init_generator()
    std = math.sqrt(2.0 / fan_in(t.shape))
    return _fill(t, rng.standard_normal(t.shape) * std)


def constant_(t: Tensor, value: float) -> Tensor:
    """Fill ``t`` with ``value``; returns t."""
    return _fill(t, np.full(t.shape, value))


def zeros_(t: Tensor) -> Tensor:
    """Fill ``t`` with 0; returns t."""
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    """Fill ``t`` with 1; returns t."""
    return constant_(t, 1.0)
