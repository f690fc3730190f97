"""A strict CuPy double for running tinyseg's cupy backend on a CPU: tests only.

Importable as ``cupy`` when tests/cupy_double is on ``sys.path`` (tests/conftest.py puts it
there when TINYSEG_CUPY_DOUBLE=1). Arrays are NumPy memory behind CuPy's rules (see
``_double.py``): not a ``numpy.ndarray``, no implicit conversion, no NumPy operands. Only names
that real CuPy offers are here, so code that runs on the double does not call what CuPy lacks.
``cupy._double.counters`` counts host-to-device copies, blocking reads and kernel launches.

What the double cannot show: speed, cuBLAS rounding, TF32, the memory pool's behaviour, and
kernels that race. Those need a real GPU (scripts/gpu_check.sh).
"""

from typing import Any as _Any

import numpy as _np

from . import _double, cuda, lib, random  # noqa: F401
from ._double import ndarray

__version__ = "13.0.0+tinyseg.double"

# ---- dtypes and constants (CuPy re-exports NumPy's) ----------------------------------------------
from numpy import (  # noqa: E402, F401
    bool_, complex64, complex128, dtype, e, finfo, float16, float32, float64, iinfo, inf, int8, int16,
    int32, int64, intp, nan, newaxis, pi, uint8, uint16, uint32, uint64,
)


# ---- moving data ------------------------------------------------------------------------------------
def asarray(a: _Any, dtype: _Any = None, order: _Any = None) -> ndarray:
    """A device array: ``a`` itself when it is one already (cast if ``dtype`` differs), else a copy
    from the host."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == _np.dtype(dtype) else a.astype(dtype)
    return _double.from_host(a, dtype, what="cupy.asarray()")


def array(obj: _Any, dtype: _Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0) -> ndarray:
    """A new device array: a device copy of a device array, or a copy from the host."""
    if isinstance(obj, ndarray):
        return obj.astype(dtype or obj.dtype, copy=True) if copy else asarray(obj, dtype)
    return _double.from_host(obj, dtype, what="cupy.array()")


def asnumpy(a: _Any, stream: _Any = None, order: str = "C", out: _Any = None) -> _np.ndarray:
    """A NumPy copy of ``a`` (a blocking read when ``a`` is on the device)."""
    if isinstance(a, ndarray):
        return a.get(out=out)
    return _np.asarray(a, order=order)


def get_default_memory_pool() -> cuda.MemoryPool:
    """The device memory pool (the double's is empty: its arrays are NumPy's)."""
    return cuda._pool


def get_array_module(*args: _Any) -> _Any:
    """``cupy`` if any argument is a device array, else ``numpy``."""
    import cupy  # noqa: PLC0415

    return cupy if any(isinstance(a, ndarray) for a in args) else _np


# ---- everything else: NumPy's function on the device arrays, under CuPy's name -------------------
_FUNCTIONS = (
    # creation
    "empty", "empty_like", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like", "arange",
    "linspace", "eye", "identity", "ascontiguousarray",
    # shapes
    "reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
    "concatenate", "stack", "split", "flip", "pad", "tile", "repeat", "ravel", "roll",
    # picking
    "where", "take", "take_along_axis", "choose",
    # elementwise
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "negative",
    "abs", "absolute", "sign", "exp", "log", "log1p", "expm1", "sqrt", "square", "maximum",
    "minimum", "clip", "tanh", "sin", "cos", "floor", "ceil", "rint", "around", "round",
    "isfinite", "isnan", "isinf", "logical_and", "logical_or", "logical_not", "equal", "not_equal",
    "less", "less_equal", "greater", "greater_equal", "bitwise_and", "bitwise_or", "left_shift",
    "right_shift", "invert", "mod",
    # reductions and linear algebra
    "sum", "mean", "max", "amax", "min", "amin", "argmax", "argmin", "any", "all", "prod",
    "cumsum", "var", "std", "count_nonzero", "allclose", "isclose", "array_equal", "sort",
    "argsort", "matmul", "dot", "einsum", "tensordot", "shares_memory", "may_share_memory",
    # dtype questions (no device work)
    "result_type", "can_cast", "promote_types", "ndim", "shape",
)
_SYNCING = ("nonzero", "unique", "bincount", "argwhere", "flatnonzero")  # output sized by the data
_FREE = ("reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "broadcast_to",
         "result_type", "can_cast", "promote_types", "ndim", "shape", "shares_memory", "may_share_memory")

for _name in _FUNCTIONS:
    globals()[_name] = _double.device_function(getattr(_np, _name), _name, launches=_name not in _FREE)
for _name in _SYNCING:
    globals()[_name] = _double.device_function(getattr(_np, _name), _name, syncs=True)
del _name

_where = globals()["where"]


def where(condition: _Any, x: _Any = None, y: _Any = None) -> _Any:  # noqa: F811
    """``cupy.where``: with one argument it is ``nonzero``, which reads the count from the device."""
    if x is None and y is None:
        return globals()["nonzero"](condition)
    return _where(condition, x, y)
