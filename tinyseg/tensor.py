"""Tensor: an array that remembers how it was made, so gradients can flow back.

Every op is a :class:`Function` with ``forward(ctx, *arrays)`` and
``backward(ctx, grad)`` side by side (minitorch's shape). ``Function.apply``
runs the forward on raw backend arrays and, when a gradient is wanted, links
the result to its inputs. ``Tensor.backward`` walks that graph in reverse
topological order (found iteratively, so a chain of any length works) and
adds up the gradient of every input. Broadcasting is undone in exactly one
place, :func:`_sum_to_shape`, so no backward has to think about it.

Op hooks (:func:`op_hook`) see every Function's forward and backward run: ``tinyseg.profile()``
(tinyseg/profiler.py) times them that way. With no hook active the engine pays one ``if``.

The graph is public, read-only and PyTorch-shaped: ``t.grad_fn`` is the Function that made
``t`` (None for a leaf), ``t.is_leaf`` says which, and ``t.inputs`` lists the tensors it was made
from. ``tinyseg.viz.draw_graph`` draws a graph from those three alone.

Why this file is longer than the others (about 400 lines): the engine is one idea whose parts
call each other (Function.apply records what Tensor.backward walks; both go through the op
hooks and the device check), and tests/test_imports.py keeps it the only module between the
backend and the ops. Splitting the hooks or the device check into a module of their own would
add a layer to read for a few dozen lines.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from . import backend

__all__ = ["Tensor", "Function", "Context", "no_grad", "is_grad_enabled", "tensor", "as_tensor", "op_hook", "OpHook"]

_grad_enabled = True

OpHook = Callable[[type, str, "Context", tuple[Any, ...], Callable[[], Any]], Any]
"""``hook(fn, phase, ctx, args, run) -> result``: wraps one op run. ``fn`` is the Function class,
``phase`` "forward" or "backward", ``args`` the raw positional inputs (forward) or ``(grad,)``
(backward); the hook must call ``run()`` once and return what it returned."""

_hooks: list[OpHook] = []  # the active op hooks, outermost first; empty (the usual case): no cost


def is_grad_enabled() -> bool:
    """True unless inside ``with no_grad():``."""
    return _grad_enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run ops without recording the graph (inference, optimiser updates, numerical checks)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


@contextlib.contextmanager
def op_hook(hook: OpHook) -> Iterator[None]:
    """Call ``hook`` around every Function's forward and backward while the block runs.

    Hooks nest (the first one entered is outermost) and are removed on exit, exceptions
    included. ``tinyseg.profile()`` is one; a FLOP counter is another (tinyseg/bench/flops.py).
    """
    _hooks.append(hook)
    try:
        yield
    finally:
        _hooks.remove(hook)


def _hooked(fn: type, phase: str, ctx: Context, args: tuple[Any, ...], run: Callable[[], Any]) -> Any:
    """``run()`` through every active hook (called only when there is one)."""
    for hook in reversed(tuple(_hooks)):
        run = functools.partial(hook, fn, phase, ctx, args, run)
    return run()


class Context:
    """Scratch space that a Function's forward leaves for its backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()

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
        """Run the op on Tensors (or plain values) and record it in the graph when needed."""
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = Context(needs)
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        _check_one_device(cls, raw, kwargs)
        if _hooks:  # a profile (or another op hook) is watching
            out = _hooked(cls, "forward", ctx, tuple(raw), lambda: cls.forward(ctx, *raw, **kwargs))
        else:
            out = cls.forward(ctx, *raw, **kwargs)
        extras: tuple[Any, ...] = ()
        if isinstance(out, tuple):
            out, *rest = out
            extras = tuple(Tensor._of(e) for e in rest)
        result = Tensor._of(out)
        if _grad_enabled and any(needs):
            result.requires_grad = True
            result._ctx = ctx
            result._fn = cls
            result._parents = tuple(args)
        return (result, *extras) if extras else result


def _device(x: Any) -> str:
    return "GPU (cupy)" if backend.is_cupy_array(x) else "CPU (numpy)"


def _check_one_device(fn: type[Function], args: list[Any], kwargs: dict[str, Any]) -> None:
    """Raise one line naming the op, the argument and both devices when arrays sit on two devices."""
    named = [(name, a) for name, a in zip(_argument_names(fn), args)] + list(kwargs.items())
    arrays = [(name, a.data if isinstance(a, Tensor) else a) for name, a in named]
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
        _names[fn] = code.co_varnames[1:code.co_argcount]
    return _names[fn]


def _sum_to_shape(grad: Any, shape: tuple[int, ...]) -> Any:
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


class Tensor:
    """A backend array (NumPy or CuPy) with an optional gradient.

    ``data``: the array. ``grad``: the gradient after ``backward`` (leaves only), same shape.
    The data goes to the active backend (a copy when it lives on the other device).
    Python numbers and lists become float32 (ints stay ints); existing arrays keep their dtype.
    """

    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if not hasattr(data, "dtype"):  # Python numbers and lists: float32 by default
            data = backend.get_xp().asarray(data)
            if dtype is None and data.dtype.kind == "f":
                dtype = "float32"
        else:  # NumPy or CuPy arrays, NumPy scalars: onto the active backend, dtype kept
            data = backend.to_device(data)
        if dtype is not None and data.dtype != dtype:
            data = data.astype(dtype)
        self._init(data, requires_grad)

    def _init(self, data: Any, requires_grad: bool) -> None:
        self.data = data
        self.grad: Any = None
        self.requires_grad = requires_grad
        self._ctx: Context | None = None
        self._fn: type[Function] | None = None
        self._parents: tuple[Any, ...] = ()

    @classmethod
    def _of(cls, array: Any) -> Tensor:
        """A Tensor around an op's result, left where it was computed (no copy, no move)."""
        t = cls.__new__(cls)
        t._init(array, False)
        return t

    # ---- array-like facts -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({backend.to_numpy(self.data)!r}{grad})"

    def numpy(self) -> Any:
        """The data as a NumPy array on the host (a copy when it lives on the GPU)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number (syncs the GPU)."""
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._of(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        self.requires_grad = flag
        return self

    # ---- the graph, read-only (tinyseg.viz.draw_graph walks it) ------------------------
    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function that made this tensor (its ``__name__`` is the op's name), or None for a
        leaf. Like PyTorch's: recorded only when a gradient is wanted, and cleared once
        ``backward()`` has walked the graph (unless ``retain_graph=True``)."""
        return self._fn

    @property
    def is_leaf(self) -> bool:
        """True for a tensor that no recorded op made (inputs, parameters): the ones whose
        ``.grad`` ``backward()`` fills."""
        return self._fn is None

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """The tensors ``grad_fn`` was applied to, in argument order (plain numbers and arrays
        left out); empty for a leaf. Following ``inputs`` from a loss reaches every tensor that
        it was computed from."""
        return tuple(p for p in self._parents if isinstance(p, Tensor))

    # ---- the backward pass ------------------------------------------------------------
    def _topological_order(self) -> list[Tensor]:
        """Every tensor that ``self`` depends on, inputs before the ops that use them.

        An explicit stack instead of recursion: a graph thousands of ops deep is fine.
        """
        order: list[Tensor] = []
        visited: set[int] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if isinstance(parent, Tensor) and parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
        return order

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Fill ``.grad`` of every leaf that ``self`` depends on.

        ``grad``: upstream gradient, same shape as ``self`` (default: ones, for a scalar loss): a
        Tensor, a NumPy or CuPy array (moved to ``self``'s device) or a nested list.
        Gradients add up: a tensor used twice receives the sum, and ``.grad`` accumulates across
        calls until zeroed. Unless ``retain_graph``, the graph is freed as it is walked.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor, got shape {self.shape}"
                )
            grad = backend.xp_of(self.data).ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = backend.to_device_of(grad, self.data, dtype=None if backend.is_array(grad) else self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(): gradient shape {tuple(grad.shape)} != tensor shape {self.shape}")
        grads: dict[int, Any] = {id(self): grad}
        for node in reversed(self._topological_order()):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._ctx is None:  # a leaf
                node.grad = g if node.grad is None else node.grad + g
                continue
            fn, ctx = node._fn, node._ctx
            if _hooks:  # a profile (or another op hook) is watching
                parent_grads = _hooked(fn, "backward", ctx, (g,), lambda: fn.backward(ctx, g))
            else:
                parent_grads = fn.backward(ctx, g)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, pg in zip(node._parents, parent_grads):
                if pg is None or not (isinstance(parent, Tensor) and parent.requires_grad):
                    continue
                pg = _sum_to_shape(pg, parent.shape)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:
                node._ctx, node._fn, node._parents = None, None, ()

    # ---- operators -------------------------------------------------------------------
    # a + b, a @ b, -a, a[i], a.reshape(...), a.sum(), a.exp(), a.astype(...) and the like are
    # Functions of tinyseg.functional.basic, the layer above; that module gives them to Tensor
    # when it is imported (``import tinyseg`` does so right after this module), so that no
    # module imports one above it.
    def _lift(self, other: Any) -> Tensor:
        """``other`` (a number, list or host array) as a Tensor of self's dtype on self's device;
        a GPU array next to a CPU tensor stays where it is, for Function.apply to report."""
        if isinstance(other, Tensor):
            return other
        if backend.is_cupy_array(other) and not backend.is_cupy_array(self.data):
            return Tensor._of(other)
        return Tensor._of(backend.xp_of(self.data).asarray(other, dtype=self.dtype))

    # comparisons give plain boolean tensors with no gradient
    def _compare(self, other: Any, op: str) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._of(getattr(self.data, op)(other))

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, "__lt__")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, "__le__")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, "__gt__")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, "__ge__")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__eq__")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__ne__")

    __hash__ = object.__hash__

    # ---- methods ----------------------------------------------------------------------
    def flatten(self, start_dim: int = 0) -> Tensor:
        return self.reshape(*self.shape[:start_dim], -1)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two dimensions (the last two by default)."""
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def argmax(self, dim: int | None = None, keepdim: bool = False, axis: int | None = None) -> Tensor:
        """Index of the largest value along ``dim`` (None: of the flattened tensor), as
        ``torch.argmax``; no gradient. ``axis=`` (NumPy's name) still works, with a DeprecationWarning."""
        if axis is not None:
            warnings.warn("Tensor.argmax(axis=) is deprecated: tinyseg follows PyTorch, argmax(dim=)",
                          DeprecationWarning, stacklevel=2)
            dim = axis
        return Tensor._of(self.data.argmax(axis=dim, keepdims=keepdim))


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a Tensor on the active backend (``torch.tensor``'s twin; the same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else ``Tensor(x)``: how every op in ``tinyseg.functional``
    accepts plain arrays as well as Tensors."""
    return x if isinstance(x, Tensor) else Tensor(x)

