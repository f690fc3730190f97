"""Tensor: an array that remembers how it was made, so gradients can flow back.

A Tensor holds a backend array (``data``) and, once an op has made it with a gradient wanted, the
op (``grad_fn``) and the tensors it came from (``inputs``). ``Tensor.backward`` walks that graph
in reverse topological order (found iteratively, so a chain of any length works) and adds up the
gradient of every input. Its operators are written out below: ``a + b`` is ``ops.Add.apply(a, b)``,
``a.sum(dim)`` is ``ops.Sum.apply(a, ...)``; each op's forward and backward are in engine/ops.py,
and how an op runs and records itself (Function, Context, no_grad, op hooks) in engine/function.py.

The graph is public, read-only and PyTorch-shaped: ``t.grad_fn`` is the Function that made
``t`` (None for a leaf), ``t.is_leaf`` says which, and ``t.inputs`` lists the tensors it was made
from. ``tinyseg.viz.draw_graph`` draws a graph from those three alone.

Only floating-point tensors can require gradients (an integer or boolean tensor raises, as in
PyTorch), and an op whose result is not floating point (a cast to int) records nothing.
``backward()`` frees what the ops it walked saved, as PyTorch frees its saved tensors: every op
node keeps its ``grad_fn`` and drops its Context, and a second ``backward()`` that reaches such a
node raises; ``backward(retain_graph=True)`` keeps the graph for another walk. Unlike PyTorch,
which keeps the links between its nodes (``next_functions``), tinyseg also empties ``inputs``.

Why this file is longer than the others (about 380 lines): Tensor is one class, read as one:
its data, its graph, its backward and every operator it has.
"""

from __future__ import annotations

import functools
from typing import Any

from . import backend, function, ops
from .function import Context, Function, OpHook, is_grad_enabled, no_grad, op_hook

__all__ = ["Tensor", "Function", "Context", "no_grad", "is_grad_enabled", "tensor", "as_tensor", "op_hook", "OpHook"]


class Tensor:
    """A backend array (NumPy or CuPy) with an optional gradient.

    ``data``: the array. ``grad``: the gradient after ``backward`` (leaves only), same shape.
    The data goes to the active backend (a copy when it lives on the other device).
    Python numbers and lists become float32 (ints stay ints); existing arrays keep their dtype.
    ``requires_grad``: only for a floating-point dtype (RuntimeError otherwise, as in PyTorch).
    """

    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        python_values = not hasattr(data, "dtype")  # numbers and lists: float32 by default
        data = backend.to_device(data)  # onto the active backend (arrays keep their dtype)
        if dtype is None and python_values and data.dtype.kind == "f":
            dtype = "float32"
        if dtype is not None and data.dtype != dtype:
            data = data.astype(dtype)
        self._init(data, requires_grad)

    def _init(self, data: Any, requires_grad: bool) -> None:
        self.data = data
        self.grad: Any = None
        self._requires_grad = False
        self.requires_grad = requires_grad  # checked: floating point only
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

    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor record the graph, so that ``backward()`` reaches it."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and not function.is_differentiable(self.data):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got dtype {self.data.dtype} "
                "(cast it first: x.astype('float32'))"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor (floating point only, as above)."""
        self.requires_grad = flag
        return self

    # ---- the graph, read-only (tinyseg.viz.draw_graph walks it) ------------------------
    @property
    def grad_fn(self) -> type[Function] | None:
        """The Function that made this tensor (its ``__name__`` is the op's name), or None for a
        leaf. Like PyTorch's: recorded only when a gradient is wanted, and kept after
        ``backward()`` (which frees what the op saved, not its name)."""
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
        it was computed from, until ``backward()`` frees the graph: then they are empty too
        (keeping them would keep every intermediate array alive as long as the loss), unless
        it was called with ``retain_graph=True``."""
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
        calls until zeroed (each call on a new graph, or on one kept with ``retain_graph``).
        ``retain_graph``: keep the graph so that it can be walked again. Without it every op node
        walked drops what its forward saved (its Context), as PyTorch frees its saved tensors, and
        also its ``inputs`` (PyTorch keeps its ``next_functions``), keeping ``grad_fn``; a later
        ``backward()`` that reaches one raises a RuntimeError before any ``.grad`` changes.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element tensor, got shape {self.shape}")
            grad = backend.xp_of(self.data).ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = backend.to_device(grad, like=self.data, dtype=None if backend.is_array(grad) else self.dtype)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(): gradient shape {tuple(grad.shape)} != tensor shape {self.shape}")
        order = self._topological_order()
        for node in order:
            if node._fn is not None and node._ctx is None:  # an op node that a backward() has freed
                raise RuntimeError(
                    f"Trying to backward through the graph a second time: {node._fn.__name__}'s saved "
                    "arrays were freed by the first backward(). Specify retain_graph=True in the first "
                    "backward() if you need to backward through the graph a second time."
                )
        grads: dict[int, Any] = {id(self): grad}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._fn is None:  # a leaf
                node.grad = g if node.grad is None else node.grad + g
                continue
            fn, ctx = node._fn, node._ctx
            assert ctx is not None  # checked above: the graph was not freed
            if function._hooks:  # a profile (or another op hook) is watching
                parent_grads = function.run_hooked(fn, "backward", ctx, (g,), functools.partial(fn.backward, ctx, g))
            else:
                parent_grads = fn.backward(ctx, g)
            if not isinstance(parent_grads, tuple):
                parent_grads = (parent_grads,)
            for parent, pg in zip(node._parents, parent_grads):
                if pg is None or not (isinstance(parent, Tensor) and parent.requires_grad):
                    continue
                pg = function.sum_to_shape(pg, parent.shape)
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg
            if not retain_graph:  # free what the forward saved, keep grad_fn (as PyTorch)
                node._ctx, node._parents = None, ()

    # ---- operators: each one Function of engine/ops.py ------------------------------------
    def _operand(self, other: Any) -> Tensor:
        """The other operand of a binary op as a Tensor: Python numbers, lists and host arrays
        become arrays of self's dtype on self's device; a GPU array next to a CPU tensor stays
        where it is, for Function.apply to report."""
        if isinstance(other, Tensor):
            return other
        if backend.is_cupy_array(other) and not backend.is_cupy_array(self.data):
            return Tensor._of(other)
        return Tensor._of(backend.to_device(other, like=self.data, dtype=self.dtype))

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(self._operand(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self._operand(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self._operand(other), self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, self._operand(other))

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self._operand(other), self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def astype(self, dtype: Any) -> Tensor:
        """A copy with another dtype (gradient flows back, cast to the original dtype)."""
        return ops.Cast.apply(self, dtype=dtype)

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Sum over ``dim`` (an int, a tuple, or None: all), as ``torch.Tensor.sum``."""
        return ops.Sum.apply(self, axis=dim, keepdims=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Mean over ``dim`` (an int, a tuple, or None: all), as ``torch.Tensor.mean``."""
        return ops.Mean.apply(self, axis=dim, keepdims=keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Largest value over ``dim`` (None: all); the values only, not torch's (values, indices)."""
        return ops.Max.apply(self, axis=dim, keepdims=keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in ``shape`` (one dimension may be -1): ``x.reshape(2, -1)`` or ``x.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dimensions: ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return ops.Permute.apply(self, axes=dims)

    def __getitem__(self, index: Any) -> Tensor:
        def on_device(i: Any) -> Any:  # index arrays go where the data is (host arrays are copied over)
            i = i.data if isinstance(i, Tensor) else i
            return backend.to_device(i, like=self.data) if backend.is_array(i) else i

        index = tuple(map(on_device, index)) if isinstance(index, tuple) else on_device(index)
        return ops.GetItem.apply(self, index=index)

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
    def T(self) -> Tensor:  # noqa: N802 (numpy's and torch's name)
        return self.permute(*reversed(range(self.ndim)))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Index of the largest value along ``dim`` (None: of the flattened tensor), as
        ``torch.argmax``; no gradient."""
        return Tensor._of(self.data.argmax(axis=dim, keepdims=keepdim))


function.use_tensor_type(Tensor)  # Function.apply wraps every op's result in a Tensor


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Make a Tensor on the active backend (``torch.tensor``'s twin; the same as ``Tensor(...)``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(x: Any) -> Tensor:
    """``x`` itself if it is a Tensor, else ``Tensor(x)``: how every op in ``tinyseg.functional``
    accepts plain arrays as well as Tensors."""
    return x if isinstance(x, Tensor) else Tensor(x)
