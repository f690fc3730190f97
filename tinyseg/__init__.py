"""tinyseg: SegNet from scratch in NumPy, with CuPy as the GPU backend.

    >>> import tinyseg
    >>> x = tinyseg.tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([[2., 4.]], dtype=float32)
"""

from . import backend
from .tensor import Context, Function, Tensor, is_grad_enabled, no_grad, tensor

__version__ = "0.1.0"

__all__ = ["backend", "Tensor", "Function", "Context", "no_grad", "is_grad_enabled", "tensor", "__version__"]
