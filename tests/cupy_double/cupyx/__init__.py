"""The double's ``cupyx``: ``scatter_add``, with CuPy's dtype limits (CUDA atomicAdd)."""

from __future__ import annotations

from typing import Any

import numpy

from cupy._double import _index, counters, ndarray, unwrap

# CuPy's own test of scatter_add runs these (dtype codes 'iILQefd'); int64 has no atomicAdd
_ATOMIC_ADD = tuple(numpy.dtype(t) for t in ("int32", "uint32", "uint64", "float16", "float32", "float64"))


def scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    """``a[slices] += value`` in place, adding every repeated index (``numpy.add.at``)."""
    if not isinstance(a, ndarray):
        raise TypeError(f"Unsupported type {type(a)}")
    if a.dtype not in _ATOMIC_ADD:
        raise TypeError(f"scatter_add only supports {', '.join(t.name for t in _ATOMIC_ADD)} (CUDA atomicAdd), "
                        f"got {a.dtype}")
    index, _ = _index(slices)
    counters.launches += 1
    numpy.add.at(a._a, index, unwrap(value))
