"""Hypothesis strategies shared by the op tests: small shapes and well-behaved float64 values."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyseg


def shapes(min_dims: int = 1, max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    """Small array shapes, every side at least 1."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def broadcast_pairs(max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Two shapes that broadcast together (sides of 1 and missing leading axes included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda s: tuple(s.input_shapes))


@st.composite
def arrays(draw, shape, low: float = -2.0, high: float = 2.0, away_from: float | None = None,
           margin: float = 0.1, distinct: bool = False) -> np.ndarray:
    """A float64 array of ``shape``: values in [low, high], at least ``margin`` from
    ``away_from`` (a kink such as ReLU's 0), or all distinct (so a max has one winner)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = tuple(shape)
    if distinct:
        n = int(np.prod(shape))
        values = (rng.permutation(n) - n / 2) * 0.1 + rng.uniform(-0.02, 0.02, n)
        return values.reshape(shape)
    x = rng.uniform(low, high, size=shape)
    if away_from is not None:
        near = np.abs(x - away_from) < margin
        x[near] = away_from + np.where(x[near] >= away_from, margin, -margin) * (1 + rng.uniform(0, 1, near.sum()))
    return x


def tensors(shape, requires_grad: bool = True, **kw) -> st.SearchStrategy[tinyseg.Tensor]:
    """A float64 Tensor on the active backend, drawn by :func:`arrays`."""
    return arrays(shape, **kw).map(lambda a: tinyseg.tensor(a, requires_grad=requires_grad))


# ---- convolution and pooling (tests/test_conv.py, tests/test_pool.py) -------------------


@st.composite
def conv_configs(draw, max_side: int = 6, max_channels: int = 3, max_kernel: int = 3,
                 max_stride: int = 3, max_padding: int = 3) -> dict:
    """conv2d arguments: N, C (in), O (out), H, W, kernel (kh, kw), stride, padding, all (h, w)
    pairs, non-square included, padding possibly larger than the kernel; at least one output pixel."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
    h = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), max_side))
    w = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), max_side))
    return dict(N=draw(st.integers(1, 2)), C=draw(st.integers(1, max_channels)),
                O=draw(st.integers(1, max_channels)), H=h, W=w,
                kernel=kernel, stride=stride, padding=padding)


@st.composite
def conv_transpose_configs(draw, max_side: int = 4, max_channels: int = 3, max_kernel: int = 3,
                           max_stride: int = 3) -> dict:
    """conv_transpose2d arguments as :func:`conv_configs` plus output_padding (< stride), with a
    non-empty output: (H - 1) sh - 2 ph + kh + oph >= 1."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    output_padding = (draw(st.integers(0, stride[0] - 1)), draw(st.integers(0, stride[1] - 1)))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    full = ((h - 1) * stride[0] + kernel[0] + output_padding[0], (w - 1) * stride[1] + kernel[1] + output_padding[1])
    padding = (draw(st.integers(0, (full[0] - 1) // 2)), draw(st.integers(0, (full[1] - 1) // 2)))
    return dict(N=draw(st.integers(1, 2)), C=draw(st.integers(1, max_channels)),
                O=draw(st.integers(1, max_channels)), H=h, W=w, kernel=kernel, stride=stride,
                padding=padding, output_padding=output_padding)


@st.composite
def pool_configs(draw, max_side: int = 7, max_kernel: int = 3, max_stride: int = 3) -> dict:
    """max_pool2d arguments: shape (N, C, H, W) with H >= kh, W >= kw (odd sizes included),
    kernel (kh, kw) and stride (sh, sw), non-square and overlapping (stride < kernel) included."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)),
             draw(st.integers(kernel[0], max_side)), draw(st.integers(kernel[1], max_side)))
    return dict(shape=shape, kernel=kernel, stride=stride)
