"""Module and Parameter: the bookkeeping that turns ops into layers with named weights.

Assigning a Parameter or a Module to an attribute registers it (``__setattr__``, as in
micrograd and PyTorch), in definition order, so ``parameters()`` and ``state_dict()`` find
every weight without a list kept by hand. Buffers (``register_buffer``) are arrays that belong
to the model but are not trained by gradients, like BatchNorm's running statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor

__all__ = ["Parameter", "Module", "Sequential", "IncompatibleKeys", "eval_mode"]


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad`` is True unless said otherwise."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it, assign layers in ``__init__``, write ``forward``."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        self.training = True

    # ---- registration ----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        stores = self.__dict__.get("_parameters") is not None
        if isinstance(value, (Parameter, Module)):
            if not stores:
                raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
            self.__dict__.pop(name, None)
            for store in (self._parameters, self._buffers, self._modules):
                store.pop(name, None)
            (self._parameters if isinstance(value, Parameter) else self._modules)[name] = value
        elif stores and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}.{name} is a parameter: assign a Parameter (or None), "
                    f"not {type(value).__name__}"
                )
            self._parameters[name] = None
        elif stores and name in self._buffers:
            self._buffers[name] = value
        elif stores and name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name} is a submodule: assign a Module (or None)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        for store in ("_parameters", "_buffers", "_modules"):
            d = self.__dict__.get(store)
            if d is not None and name in d:
                return d[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, {}):
                del self.__dict__[store][name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: Any) -> None:
        """Keep ``array`` (a backend array or None) with the model: saved, loaded and moved, never trained."""
        if "_buffers" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before register_buffer({name!r})")
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    # ---- walking the tree --------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules with their attribute names, in definition order."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module ("") and every submodule below it, parents first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{n}" if name else n, c) for n, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """("conv.weight", Parameter) pairs in definition order; a shared Parameter appears once."""
        seen: set[int] = set()
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        """("bn.running_mean", array) pairs in definition order."""
        for prefix, m in self.named_modules():
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self) -> Iterator[Any]:
        for _, b in self.named_buffers():
            yield b

    # ---- modes, gradients, devices ------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch this module and all below it to training (or, with mode=False, eval) behaviour."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Eval behaviour: BatchNorm uses running statistics, Dropout passes values through."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (set it to None, as PyTorch does by default)."""
        for p in self.parameters():
            p.grad = None

    def _map_arrays(self, fn: Any) -> Module:
        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = fn(p.data)
                    p.grad = None if p.grad is None else fn(p.grad)
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = fn(b)
        return self

    def to_device(self) -> Module:
        """Move every parameter, gradient and buffer to the active backend (after backend.use)."""
        return self._map_arrays(backend.to_device)

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter, gradient and buffer to ``dtype`` (e.g. "float64" for gradchecks)."""
        return self._map_arrays(lambda a: a.astype(dtype))

    # ---- saving and loading --------------------------------------------------------------
    def _state_entries(self) -> Iterator[tuple[str, Module, str, bool]]:
        """(full name, owning module, local name, is_parameter) for every saved array, in order."""
        for prefix, m in self.named_modules():
            for local, p in m._parameters.items():
                if p is not None:
                    yield (f"{prefix}.{local}" if prefix else local), m, local, True
            for local, b in m._buffers.items():
                if b is not None:
                    yield (f"{prefix}.{local}" if prefix else local), m, local, False

    def state_dict(self) -> dict[str, Any]:
        """Name -> copy of every parameter and buffer (backend arrays), PyTorch's names and order."""
        out: dict[str, Any] = {}
        for name, m, local, is_param in self._state_entries():
            out[name] = (m._parameters[local].data if is_param else m._buffers[local]).copy()
        return out

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays from ``state`` (name -> array or Tensor) into the parameters and buffers.

        Values are copied onto the active backend with each parameter's dtype. Raises RuntimeError
        listing every missing and unexpected key (unless ``strict=False``) and every shape mismatch.
        """
        entries = {name: (m, local, is_param) for name, m, local, is_param in self._state_entries()}
        missing = [k for k in entries if k not in state]
        unexpected = [k for k in state if k not in entries]
        problems = []
        if strict and missing:
            problems.append(f"missing key(s): {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected key(s): {', '.join(unexpected)}")
        for name, (m, local, is_param) in entries.items():
            if name in state:
                current = m._parameters[local] if is_param else m._buffers[local]
                got = tuple(np.shape(state[name]))
                if got != tuple(current.shape):
                    problems.append(
                        f"size mismatch for {name}: checkpoint has shape {got}, "
                        f"the model has shape {tuple(current.shape)}"
                    )
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems))
        for name, (m, local, is_param) in entries.items():
            if name in state:
                value = state[name].data if isinstance(state[name], Tensor) else state[name]
                if is_param:
                    p = m._parameters[local]
                    p.data = backend.to_device(value, dtype=p.dtype, copy=True)
                else:
                    m._buffers[local] = backend.to_device(value, dtype=m._buffers[local].dtype, copy=True)
        return IncompatibleKeys(missing, unexpected)

    # ---- calling and printing -------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The layer's settings, shown between the parentheses of its repr."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


class Sequential(Module):
    """Modules applied one after another; their names are "0", "1", ... as in PyTorch."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self.children():
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return list(self.children())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()


@contextmanager
def eval_mode(model: Module) -> Iterator[Module]:
    """Inside the block ``model`` is in eval mode (batch norm uses its running statistics, dropout
    is off; a layer may be switched back to training inside); afterwards every layer is back in
    the mode it was in, also after an exception."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            m.training = mode
