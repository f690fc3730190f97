"""The double's ``cupy.lib.stride_tricks.as_strided``: a view, no device work."""

from __future__ import annotations

from typing import Any

import numpy

from .._double import ndarray, unwrap, wrap


def as_strided(x: ndarray, shape: Any = None, strides: Any = None) -> ndarray:
    """A view of ``x`` with the given shape and strides (bytes), as ``numpy.lib.stride_tricks.as_strided``."""
    if not isinstance(x, ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    return wrap(numpy.lib.stride_tricks.as_strided(unwrap(x), shape=shape, strides=strides))
