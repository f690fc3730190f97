"""tinyseg: SegNet from scratch in NumPy, with CuPy as the GPU backend.

    >>> import tinyseg
    >>> x = tinyseg.tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([[2., 4.]], dtype=float32)

Layers, bottom to top: ``backend`` (numpy or cupy), ``Tensor`` and its autograd engine,
``functional`` (every op with its backward), ``nn`` (modules), ``models`` (SegNet and friends),
``optim``, ``data``, ``metrics``, ``checkpoint``; ``random`` holds every random stream
(``manual_seed``, ``fork_rng``); ``profile()`` times every op of any model
(tinyseg/profiler.py); the commands ``python -m tinyseg.train``,
``tinyseg.evaluate`` and ``tinyseg.predict`` sit on top.
"""

from .engine import backend, random
from .engine.random import manual_seed
from .engine.tensor import Context, Function, Tensor, is_grad_enabled, no_grad, tensor

__version__ = "0.2.0"

# they build on Tensor above
from . import functional, nn, optim
from .engine.profiler import Profile, profile

__all__ = [
    "backend",
    "random",
    "Tensor",
    "Function",
    "Context",
    "no_grad",
    "is_grad_enabled",
    "tensor",
    "__version__",
    "functional",
    "nn",
    "optim",
    "manual_seed",
    "profile",
    "Profile",
]
