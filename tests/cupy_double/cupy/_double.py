"""The double's core: a device array that is *not* a NumPy array, and the counters.

``ndarray`` holds a NumPy array but hides it the way a GPU hides its memory: no implicit
conversion (``__array__`` raises TypeError with CuPy's message), no NumPy operands, and every
crossing between host and device is counted in :data:`counters`:

    copies     host-to-device copies (``cupy.asarray`` / ``cupy.array`` of host data, ``set``),
               as (where, bytes)
    reads      blocking waits for the device: ``get()``, ``asnumpy``, ``float()`` / ``int()`` /
               ``bool()`` / ``item()`` / ``tolist()`` / ``repr``, boolean-mask indexing, and the
               functions that size their output from the data (``nonzero``, ``unique``,
               ``bincount``, one-argument ``where``), stream and device synchronisation
    launches   kernel launches, counted as one per op call (views such as ``reshape`` are free)

Each entry names its callers outside the double (file:line < file:line), so a test failure says
where.
"""

from __future__ import annotations

import operator
import os
import sys
from typing import Any

import numpy

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/cupy_double


class Counters:
    """What crossed between host and device since the last ``reset()``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.copies: list[tuple[str, int]] = []
        self.reads: list[str] = []
        self.launches = 0

    def copy(self, what: str, nbytes: int) -> None:
        self.copies.append((f"{what} at {_caller()}", int(nbytes)))

    def read(self, what: str) -> None:
        self.reads.append(f"{what} at {_caller()}")


counters = Counters()


def _caller(depth: int = 2) -> str:
    """file:line of the ``depth`` innermost frames outside the double, innermost first, joined by " < "."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    places = []
    while frame is not None and len(places) < depth:
        places.append(f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(places) or "?"


def _refuse(x: Any) -> TypeError:
    return TypeError(f"Unsupported type {type(x)}")


# ---- crossing the boundary ------------------------------------------------------------------
def unwrap(x: Any) -> Any:
    """The NumPy array inside a device array (recursing into lists and tuples); refuses NumPy arrays."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, numpy.ndarray):
        raise _refuse(x)
    if isinstance(x, (list, tuple)):
        return type(x)(unwrap(v) for v in x)
    return x


def wrap(r: Any) -> Any:
    """Results back onto the device: NumPy arrays and scalars become device arrays (CuPy returns
    0-d arrays where NumPy returns scalars)."""
    if isinstance(r, numpy.ndarray):
        return _make(r)
    if isinstance(r, numpy.generic):
        return _make(numpy.asarray(r))
    if isinstance(r, tuple):
        return tuple(wrap(v) for v in r)
    if isinstance(r, list):
        return [wrap(v) for v in r]
    return r


def _make(a: numpy.ndarray) -> ndarray:
    arr = object.__new__(ndarray)
    arr._a = a
    return arr


def _holds_device_array(obj: Any) -> bool:
    if isinstance(obj, ndarray):
        return True
    return isinstance(obj, (list, tuple)) and any(_holds_device_array(v) for v in obj)


def from_host(obj: Any, dtype: Any = None, copy: bool = True, what: str = "asarray") -> ndarray:
    """A device array from host data (a NumPy array, list or scalar): one counted copy."""
    if _holds_device_array(obj):  # e.g. cupy.array([a, b]) of device arrays: a device-side stack
        counters.launches += 1
        return _make(numpy.array(unwrap(obj), dtype=dtype))
    host = numpy.array(obj, dtype=dtype, copy=True)
    counters.copy(what, host.nbytes)
    counters.launches += 1
    return _make(host)


def to_host(arr: ndarray, what: str) -> numpy.ndarray:
    counters.read(what)
    return arr._a.copy()


# ---- functions and methods ----------------------------------------------------------------------
def device_function(np_func: Any, name: str, syncs: bool = False, launches: bool = True) -> Any:
    """``np_func`` on device arrays: refuses NumPy arrays, returns device arrays, counts a launch.

    ``syncs``: the real function reads from the device to size its output (a blocking read).
    """

    def function(*args: Any, **kwargs: Any) -> Any:
        if launches:
            counters.launches += 1
        if syncs:
            counters.read(f"cupy.{name}()")
        out = kwargs.get("out")
        result = np_func(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        if isinstance(out, ndarray):
            return out
        return wrap(result)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"cupy.{name} (the double runs numpy.{getattr(np_func, '__name__', name)})."
    return function


def _method(name: str, launches: bool = True, syncs: bool = False) -> Any:
    def method(self: ndarray, *args: Any, **kwargs: Any) -> Any:
        if launches:
            counters.launches += 1
        if syncs:
            counters.read(f"ndarray.{name}()")
        result = getattr(self._a, name)(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        return self if result is self._a else wrap(result)

    method.__name__ = method.__qualname__ = name
    return method


def _binary(op: Any, reflected: bool = False) -> Any:
    def method(self: ndarray, other: Any) -> Any:
        if isinstance(other, ndarray):
            b = other._a
        elif isinstance(other, numpy.ndarray):
            raise _refuse(other)
        elif isinstance(other, (bool, int, float, complex, numpy.generic)):
            b = other
        else:  # a Tensor or anything with a higher __array_priority__ answers itself
            return NotImplemented
        counters.launches += 1
        return wrap(op(b, self._a) if reflected else op(self._a, b))

    return method


def _inplace(op: Any) -> Any:
    def method(self: ndarray, other: Any) -> ndarray:
        if isinstance(other, numpy.ndarray):
            raise _refuse(other)
        counters.launches += 1
        op(self._a, unwrap(other))
        return self

    return method


def _unary(op: Any) -> Any:
    def method(self: ndarray) -> ndarray:
        counters.launches += 1
        return wrap(op(self._a))

    return method


def _index(index: Any) -> tuple[Any, bool]:
    """The NumPy index for ``index`` and whether it holds a boolean mask (CuPy syncs on those)."""
    parts = index if isinstance(index, tuple) else (index,)
    mask = False
    out = []
    for p in parts:
        if isinstance(p, numpy.ndarray):
            raise TypeError(f"Unsupported type {type(p)} as an index: move it with cupy.asarray first")
        if isinstance(p, ndarray):
            mask |= p.dtype == numpy.bool_ and p.ndim > 0
            p = p._a
        elif isinstance(p, list):
            counters.copy("list index", numpy.asarray(p).nbytes)
            mask |= numpy.asarray(p).dtype == numpy.bool_
        out.append(p)
    return (tuple(out) if isinstance(index, tuple) else out[0]), mask


class ndarray:  # noqa: N801 (CuPy's name)
    """A device array of the double: NumPy memory behind CuPy's rules (see the module docstring)."""

    __slots__ = ("_a",)
    __array_priority__ = 100  # CuPy's: a Tensor (1000) gets the reflected operators
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, memptr: Any = None, strides: Any = None,
                 order: str = "C") -> None:
        counters.launches += 1
        self._a = numpy.empty(shape, dtype=dtype, order=order)

    # ---- facts (no device work) ---------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: _make(self._a.T))

    @property
    def device(self) -> Any:
        from .cuda import Device  # noqa: PLC0415

        return Device(0)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (_make(row) for row in self._a)

    # ---- crossing to the host: each one is a blocking read -----------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> numpy.ndarray:
        host = to_host(self, "ndarray.get()")
        if out is not None:
            out[...] = host
            return out
        return host

    def set(self, arr: numpy.ndarray, stream: Any = None) -> None:
        if not isinstance(arr, numpy.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        counters.copy("ndarray.set()", arr.nbytes)
        self._a[...] = arr

    def item(self) -> Any:
        counters.read("ndarray.item()")
        return self._a.item()

    def tolist(self) -> Any:
        counters.read("ndarray.tolist()")
        return self._a.tolist()

    def tobytes(self, order: str = "C") -> bytes:
        counters.read("ndarray.tobytes()")
        return self._a.tobytes(order)

    def __bool__(self) -> bool:
        counters.read("bool()")
        return bool(self._a)

    def __float__(self) -> float:
        counters.read("float()")
        return float(self._a)

    def __int__(self) -> int:
        counters.read("int()")
        return int(self._a)

    def __complex__(self) -> complex:
        counters.read("complex()")
        return complex(self._a)

    def __repr__(self) -> str:
        counters.read("repr()")
        return repr(self._a)

    def __str__(self) -> str:
        counters.read("str()")
        return str(self._a)

    def __format__(self, spec: str) -> str:
        counters.read("format()")
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    # ---- NumPy's protocols: CuPy answers them for device arrays only ------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        import cupy  # noqa: PLC0415

        fn = getattr(cupy, ufunc.__name__, None)
        if method != "__call__" or fn is None:
            return NotImplemented
        return fn(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        import cupy  # noqa: PLC0415

        fn = getattr(cupy, func.__name__, None)
        if fn is None or not callable(fn):  # a NumPy function that CuPy lacks
            return NotImplemented
        return fn(*args, **kwargs)

    # ---- indexing -------------------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> ndarray:
        index, mask = _index(index)
        if mask:
            counters.read("boolean-mask indexing")
        counters.launches += 1
        return wrap(self._a[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        index, _ = _index(index)
        if isinstance(value, numpy.ndarray):
            raise _refuse(value)
        counters.launches += 1
        self._a[index] = unwrap(value)

    def __copy__(self) -> ndarray:
        counters.launches += 1
        return _make(self._a.copy())

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.__copy__()

    # ---- operators ------------------------------------------------------------------------------------
    __add__, __radd__, __iadd__ = _binary(operator.add), _binary(operator.add, True), _inplace(operator.iadd)
    __sub__, __rsub__, __isub__ = _binary(operator.sub), _binary(operator.sub, True), _inplace(operator.isub)
    __mul__, __rmul__, __imul__ = _binary(operator.mul), _binary(operator.mul, True), _inplace(operator.imul)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __itruediv__ = _inplace(operator.itruediv)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __ifloordiv__ = _inplace(operator.ifloordiv)
    __mod__, __rmod__, __imod__ = _binary(operator.mod), _binary(operator.mod, True), _inplace(operator.imod)
    __pow__, __rpow__, __ipow__ = _binary(operator.pow), _binary(operator.pow, True), _inplace(operator.ipow)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __and__, __rand__, __iand__ = _binary(operator.and_), _binary(operator.and_, True), _inplace(operator.iand)
    __or__, __ror__, __ior__ = _binary(operator.or_), _binary(operator.or_, True), _inplace(operator.ior)
    __xor__, __rxor__, __ixor__ = _binary(operator.xor), _binary(operator.xor, True), _inplace(operator.ixor)
    __lshift__, __rshift__ = _binary(operator.lshift), _binary(operator.rshift)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)  # type: ignore[assignment]
    __neg__, __pos__ = _unary(operator.neg), _unary(operator.pos)
    __abs__, __invert__ = _unary(operator.abs), _unary(operator.invert)

    # ---- methods that CuPy's ndarray has -------------------------------------------------------------
    for _name in ("all", "any", "argmax", "argmin", "argsort", "astype", "clip", "conj", "copy", "cumprod",
                  "cumsum", "diagonal", "dot", "fill", "max", "mean", "min", "prod", "ptp", "put", "repeat",
                  "round", "sort", "std", "sum", "take", "trace", "var"):
        locals()[_name] = _method(_name)
    for _name in ("reshape", "transpose", "swapaxes", "squeeze", "view", "ravel", "flatten"):
        locals()[_name] = _method(_name, launches=False)
    nonzero = _method("nonzero", syncs=True)
    del _name
