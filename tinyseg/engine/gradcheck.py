"""Check analytic gradients against central differences, element by element.

    >>> from tinyseg.engine.gradcheck import gradcheck
    >>> x = tinyseg.tensor(np.random.randn(3, 4), requires_grad=True)   # float64 for checks
    >>> gradcheck(lambda t: (t * t).exp(), [x])
    True

The check multiplies the output by a *random* upstream gradient ``g`` and differentiates
``sum(f(x) * g)``: a plain ``sum()`` would give every output element the same weight and
hide a transposed or permuted gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor, no_grad

__all__ = ["GradcheckError", "numerical_grad", "analytic_grad", "gradcheck"]


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree (the message names where)."""


def _first(out: Any) -> Tensor:
    """Ops like max_pool2d return (values, indices): the first item is the differentiable one."""
    return out[0] if isinstance(out, (tuple, list)) else out


def numerical_grad(
    fn: Callable[..., Any], inputs: Sequence[Tensor], upstream: np.ndarray, eps: float = 1e-6
) -> list[np.ndarray | None]:
    """Central differences of ``sum(fn(*inputs) * upstream)`` with respect to every input.

    Returns one NumPy array per input (None where ``requires_grad`` is False). Each element of
    each input is nudged by +eps and -eps in place and restored afterwards.
    """
    upstream_dev = backend.xp_of(inputs[0].data).asarray(upstream)

    def objective() -> float:
        with no_grad():
            return float((_first(fn(*inputs)).data * upstream_dev).sum())

    grads: list[np.ndarray | None] = []
    for t in inputs:
        if not t.requires_grad:
            grads.append(None)
            continue
        g = np.zeros(t.shape, dtype=np.float64)
        for idx in np.ndindex(*t.shape):
            original = t.data[idx].item()
            t.data[idx] = original + eps
            plus = objective()
            t.data[idx] = original - eps
            minus = objective()
            t.data[idx] = original
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def analytic_grad(fn: Callable[..., Any], inputs: Sequence[Tensor], upstream: np.ndarray) -> list[np.ndarray | None]:
    """The gradients that tinyseg's backward pass gives for ``sum(fn(*inputs) * upstream)``."""
    for t in inputs:
        t.grad = None
    out = _first(fn(*inputs))
    out.backward(backend.xp_of(out.data).asarray(upstream, dtype=out.dtype))
    grads: list[np.ndarray | None] = []
    for t in inputs:
        if not t.requires_grad:
            grads.append(None)
        elif t.grad is None:  # the output does not depend on t
            grads.append(np.zeros(t.shape))
        else:
            grads.append(backend.to_numpy(t.grad).astype(np.float64))
    return grads


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> bool:
    """Compare every element of the analytic gradient of ``fn`` with central differences.

    fn: maps the tensors ``inputs`` to one output tensor (or a tuple whose first item is it).
    inputs: tensors, float64 for a meaningful check; those with ``requires_grad`` are checked.
    Raises GradcheckError naming the input, the worst index and both values when
    ``|analytic - numerical| > atol + rtol * |numerical|`` anywhere; returns True otherwise.
    """
    for i, t in enumerate(inputs):
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; use float64 for finite differences")
    with no_grad():
        out_shape = _first(fn(*inputs)).shape
    upstream = np.random.default_rng(seed).standard_normal(out_shape)
    analytic = analytic_grad(fn, inputs, upstream)
    numeric = numerical_grad(fn, inputs, upstream, eps)
    names = list(names) if names is not None else [f"input {i}" for i in range(len(inputs))]
    for name, a, n in zip(names, analytic, numeric):
        if n is None or a is None:  # both None together: an input without grad
            continue
        excess = np.abs(a - n) - (atol + rtol * np.abs(n))
        if excess.size and excess.max() > 0:
            worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
            raise GradcheckError(
                f"gradient of {name} (shape {tuple(n.shape)}) is wrong at index {tuple(int(i) for i in worst)}: "
                f"analytic {a[worst]:.8g} vs numerical {n[worst]:.8g} "
                f"({int((excess > 0).sum())} of {excess.size} elements off)"
            )
    return True
