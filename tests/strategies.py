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
