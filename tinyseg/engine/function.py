"""Function and Context: how one op runs forward and records itself for the backward pass.

Every op is a :class:`Function` with ``forward(ctx, *arrays)`` and ``backward(ctx, grad)`` side
by side (minitorch's shape). ``Function.apply`` runs the forward on raw backend arrays and, when
a gradient is wanted, links the result to its inputs; ``Tensor.backward`` (tensor.py) walks
those links back. Broadcasting is undone in exactly one place, :func:`sum_to_shape`, so no
backward has to think about it.

Op hooks (:func:`op_hook`) see every Function's forward and backward run: ``tinyseg.profile()``
(engine/profiler.py) times them that way. With no hook active the engine pays one ``if``.

The engine reads bottom to top: this module <- ops.py (the basic Functions: + * sum reshape ...)
<- tensor.py (Tensor, whose operators call those ops). ``apply`` wraps its results in Tensors;
tensor.py hands the Tensor class over with :func:`use_tensor_type` right after defining it, so
no module imports one above it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import backend

__all__ = [
    "Function",
    "Context",
    "no_grad",
    "is_grad_enabled",
    "is_differentiable",
    "op_hook",
    "OpHook",
    "sum_to_shape",
]

_grad_enabled = True

OpHook = Callable[[type, str, "Context", tuple[Any, ...], Callable[[], Any]], Any]
"""``hook(fn, phase, ctx, args, run) -> result``: wraps one op run. ``fn`` is the Function class,
``phase`` "forward" or "backward", ``args`` the raw positional inputs (forward) or ``(grad,)``
(backward); the hook must call ``run()`` once and return what it returned."""

_hooks: list[OpHook] = []  # the active op hooks, outermost first; empty (the usual case): no cost

_Tensor: Any = None  # the Tensor class of tensor.py, handed over by use_tensor_type


def use_tensor_type(cls: type) -> None:
    """Wrap every op's result in ``cls``: tensor.py calls this once, right after defining Tensor
    (it imports this module, so this module cannot import it back)."""
    global _Tensor  # noqa: PLW0603 (set once, by tensor.py, to break the import cycle)
    _Tensor = cls


def is_grad_enabled() -> bool:
    """True unless inside ``with no_grad():``."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording the graph (inference, optimiser updates, numerical checks)."""
    global _grad_enabled  # noqa: PLW0603 (the one switch no_grad flips, as torch's)
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def op_hook(hook: OpHook) -> Iterator[None]:
    """Call ``hook`` around every Function's forward and backward while the block runs.

    Hooks nest (the first one entered is outermost) and are removed on exit, exceptions
    included. ``tinyseg.profile()`` is one; a FLOP counter is another (tinyseg/bench/timing.py).
    """
    _hooks.append(hook)
    try:
        yield
    finally:
        _hooks.remove(hook)


def run_hooked(fn: type, phase: str, ctx: Context, args: tuple[Any, ...], run: Callable[[], Any]) -> Any:
    """``run()`` through every active hook, or directly when there is none."""
    for hook in reversed(tuple(_hooks)):
        run = functools.partial(hook, fn, phase, ctx, args, run)
    return run()


class Context:
    """Scratch space that a Function's forward leaves for its backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()

    if TYPE_CHECKING:  # forward sets any attribute it likes (ctx.shape, ctx.axis, ...); backward reads it back

        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep ``arrays`` for the backward pass (read them back from ``ctx.saved_tensors``)."""
        self.saved_tensors = arrays


class Function:
    """One differentiable op. Subclasses write ``forward`` and ``backward`` as static methods.

    ``forward(ctx, *args, **kwargs)`` receives raw backend arrays in place of Tensors and returns
    an array (or a tuple whose first item is the differentiable output and the rest are extra
    results without gradient, such as pooling indices). ``backward(ctx, grad)`` returns one
    gradient per positional argument of forward (``None`` for non-tensors or inputs that need
    none); a gradient may keep broadcast dimensions, the engine sums them back.
    """

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the op on Tensors (or plain values) and record it in the graph when needed: a
        gradient is enabled, an input requires one, and the result is floating point."""
        needs = tuple(isinstance(a, _Tensor) and a.requires_grad for a in args)
        ctx = Context(needs)
        raw = [a.data if isinstance(a, _Tensor) else a for a in args]
        _check_one_device(cls, raw, kwargs)
        if _hooks:  # a profile (or another op hook) is watching
            out = run_hooked(cls, "forward", ctx, tuple(raw), lambda: cls.forward(ctx, *raw, **kwargs))
        else:
            out = cls.forward(ctx, *raw, **kwargs)
        extras: tuple[Any, ...] = ()
        if isinstance(out, tuple):
            out, *rest = out
            extras = tuple(_Tensor._of(e) for e in rest)
        result = _Tensor._of(out)
        if _grad_enabled and any(needs) and is_differentiable(out):  # an int result (a cast) records nothing
            result.requires_grad = True
            result._ctx = ctx
            result._fn = cls
            result._parents = tuple(args)
        return (result, *extras) if extras else result


def is_differentiable(array: Any) -> bool:
    """True for a floating-point array: the only kind that can carry a gradient (as in PyTorch)."""
    return array.dtype.kind == "f"


def _device(x: Any) -> str:
    return "GPU (cupy)" if backend.is_cupy_array(x) else "CPU (numpy)"


def _check_one_device(fn: type[Function], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Raise one line naming the op, the argument and both devices when arrays sit on two devices."""
    named = [(name, a) for name, a in zip(_argument_names(fn), args)] + list(kwargs.items())
    arrays = [(name, a.data if isinstance(a, _Tensor) else a) for name, a in named]
    arrays = [(name, a) for name, a in arrays if backend.is_array(a)]
    for name, a in arrays[1:]:
        if backend.is_cupy_array(a) != backend.is_cupy_array(arrays[0][1]):
            raise RuntimeError(
                f"{fn.__name__}: argument {name!r} is on the {_device(a)} but {arrays[0][0]!r} is on the "
                f"{_device(arrays[0][1])}; put both on one device (tinyseg.tensor(x) and model.to_device() "
                f"move data to the active backend, {backend.name()})"
            )


_names: dict[type, tuple[str, ...]] = {}


def _argument_names(fn: type[Function]) -> tuple[str, ...]:
    """The names of ``fn.forward``'s positional arguments after ``ctx`` (cached per op)."""
    if fn not in _names:
        code = fn.forward.__code__
        _names[fn] = code.co_varnames[1 : code.co_argcount]
    return _names[fn]


def sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be summed to shape {shape}")
    return grad
