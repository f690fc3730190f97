"""Tensor's operators and methods: ``a + b``, ``a @ b``, ``a[i]``, ``a.sum()``, ``a.reshape(...)``, ...

tinyseg.tensor (the layer below) holds Tensor and the autograd engine; the operators are the
Functions of elementwise.py, reduce.py and shape.py, so they are given to Tensor here, when this
module is imported (tinyseg's __init__ imports tinyseg.functional right after tinyseg.tensor).
Each method of ``_TensorMethods`` below becomes ``Tensor.<name>``.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from .elementwise import Abs, Add, Cast, Div, Exp, Log, Mul, Neg, Pow, Sqrt, Sub
from .reduce import MatMul, Max, Mean, Sum, dims
from .shape import GetItem, Permute, Reshape

__all__: list[str] = []


class _TensorMethods:
    def astype(self, dtype: Any) -> Tensor:
        """A copy with another dtype (gradient flows back, cast to the original dtype)."""
        return Cast.apply(self, dtype=dtype)

    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, self._lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(self._lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, self._lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(self._lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, self._lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(self._lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, self._lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(self._lift(other), self)

    def __pow__(self, other: Any) -> Tensor:
        return Pow.apply(self, self._lift(other))

    def __rpow__(self, other: Any) -> Tensor:
        return Pow.apply(self._lift(other), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, self._lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self._lift(other), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        def on_device(i: Any) -> Any:  # index arrays go where the data is (host arrays are copied over)
            i = i.data if isinstance(i, Tensor) else i
            return backend.to_device_of(i, self.data) if backend.is_array(i) else i

        index = tuple(map(on_device, index)) if isinstance(index, tuple) else on_device(index)
        return GetItem.apply(self, index=index)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in ``shape`` (one dimension may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def permute(self, *axes: Any) -> Tensor:
        """Reorder the dimensions: ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Permute.apply(self, axes=axes)

    def sum(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        """Sum over ``dim`` (None: all), as ``torch.Tensor.sum``."""
        dim, keepdim = dims("sum", dim, keepdim, **numpy_names)
        return Sum.apply(self, axis=dim, keepdims=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        """Mean over ``dim`` (None: all), as ``torch.Tensor.mean``."""
        dim, keepdim = dims("mean", dim, keepdim, **numpy_names)
        return Mean.apply(self, axis=dim, keepdims=keepdim)

    def max(self, dim: Any = None, keepdim: bool = False, **numpy_names: Any) -> Tensor:
        """Largest value over ``dim`` (None: all); the values only, not torch's (values, indices)."""
        dim, keepdim = dims("max", dim, keepdim, **numpy_names)
        return Max.apply(self, axis=dim, keepdims=keepdim)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)


for _name, _method in list(vars(_TensorMethods).items()):
    if callable(_method):
        _method.__qualname__ = f"Tensor.{_name}"
        setattr(Tensor, _name, _method)
del _name, _method
