"""Optimisers: SGD (momentum, weight decay) and Adam, with PyTorch's update rules.

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    >>> opt.lr = 0.01                      # change the learning rate between steps

Updates run in place on the parameters' backend arrays, under no_grad, keeping their dtype.
A parameter whose ``grad`` is None is skipped (it took no part in the loss).

State dicts are plain: the hyperparameters by name, and ``"state"``: parameter index ->
{name: array}, arrays being backend copies (``backend.to_numpy`` turns them into NumPy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor, no_grad

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """What SGD and Adam share: the parameter list, per-parameter state, zero_grad, state dicts."""

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if lr < 0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {lr}")
        self.lr = lr
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (set them to None)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        with no_grad():
            for i, p in enumerate(self.params):
                if p.grad is not None:
                    self._update(p.data, p.grad, self.state.setdefault(i, {}))

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """{"lr": ..., other hyperparameters, "state": {index: {name: array copy or int}}}."""
        out: dict[str, Any] = {name: getattr(self, name) for name in ("lr", *self.hyperparameters)}
        out["state"] = {i: {k: v if k == "step" else v.copy() for k, v in s.items()} for i, s in self.state.items()}
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state (arrays go to the parameters' backend)."""
        name = type(self).__name__
        state = {int(i): s for i, s in state_dict["state"].items()}
        for i, s in state.items():
            if not 0 <= i < len(self.params):
                raise ValueError(
                    f"{name}.load_state_dict: state for parameter {i}, "
                    f"but the optimiser has {len(self.params)} parameters"
                )
            for key, v in s.items():
                if key != "step" and tuple(np.shape(v)) != self.params[i].shape:
                    raise ValueError(
                        f"{name}.load_state_dict: {key} of parameter {i} has shape "
                        f"{tuple(np.shape(v))}, the parameter has shape {self.params[i].shape}"
                    )
        for key in ("lr", *self.hyperparameters):
            if key in state_dict:
                setattr(self, key, _plain(state_dict[key]))
        self.state = {
            i: {key: int(v) if key == "step" else _copy_like(v, self.params[i].data) for key, v in s.items()}
            for i, s in state.items()
        }


def _plain(value: Any) -> float | tuple[float, ...]:
    """A hyperparameter as a Python float (or tuple of floats, like Adam's betas), even from an .npz."""
    a = np.asarray(value, dtype=np.float64)
    return float(a) if a.ndim == 0 else tuple(float(v) for v in a.ravel())


def _copy_like(value: Any, like: Any) -> Any:
    """A copy of ``value`` with the backend and dtype of the array ``like``."""
    xp = backend.xp_of(like)
    value = value.data if isinstance(value, Tensor) else value
    return xp.array(value if backend.xp_of(value) is xp else backend.to_numpy(value), dtype=like.dtype)


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's rule, no dampening, no Nesterov):

    g = grad + weight_decay * p;  b = g (first step) or momentum * b + g;  p -= lr * b
    """

    hyperparameters = ("momentum", "weight_decay")

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        g = grad + self.weight_decay * param if self.weight_decay else grad
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += g
            g = state["momentum_buffer"]
        param -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's rule with L2 weight decay added to the gradient:

    g = grad + weight_decay * p;  t += 1
    m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    hyperparameters = ("betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def _update(self, param: Any, grad: Any, state: dict[str, Any]) -> None:
        xp = backend.xp_of(param)
        beta1, beta2 = self.betas
        g = grad + self.weight_decay * param if self.weight_decay else grad
        if "step" not in state:
            state.update(step=0, exp_avg=xp.zeros_like(param), exp_avg_sq=xp.zeros_like(param))
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * (g * g)
        denom = xp.sqrt(v)
        denom /= math.sqrt(1.0 - beta2**t)
        denom += self.eps
        param -= (self.lr / (1.0 - beta1**t)) * (m / denom)
