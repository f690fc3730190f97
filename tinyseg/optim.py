"""Optimisers: SGD (momentum, weight decay) and Adam, with PyTorch's update rules; LR schedules.

    >>> opt = tinyseg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> loss.backward(); opt.step(); opt.zero_grad()
    >>> opt.lr = 0.01                      # change the learning rate between steps
    >>> sched = tinyseg.optim.PolynomialLR(opt, total_iters=1000, power=0.9, warmup_iters=50)
    >>> opt.step(); sched.step()           # as in PyTorch: the schedule steps after the optimiser

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

from . import backend
from .tensor import Tensor, no_grad

__all__ = ["Optimizer", "SGD", "Adam", "LRScheduler", "ConstantLR", "PolynomialLR", "CosineAnnealingLR", "make_scheduler"]


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
        out: dict[str, Any] = {name: getattr(self, name) for name in ("lr",) + self.hyperparameters}
        out["state"] = {i: {k: v if k == "step" else v.copy() for k, v in s.items()} for i, s in self.state.items()}
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state (arrays go to the parameters' backend)."""
        name = type(self).__name__
        state = {int(i): s for i, s in state_dict["state"].items()}
        for i, s in state.items():
            if not 0 <= i < len(self.params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {i}, "
                                 f"but the optimiser has {len(self.params)} parameters")
            for key, v in s.items():
                if key != "step" and tuple(np.shape(v)) != self.params[i].shape:
                    raise ValueError(f"{name}.load_state_dict: {key} of parameter {i} has shape "
                                     f"{tuple(np.shape(v))}, the parameter has shape {self.params[i].shape}")
        for key in ("lr",) + self.hyperparameters:
            if key in state_dict:
                setattr(self, key, _plain(state_dict[key]))
        self.state = {i: {key: int(v) if key == "step" else _copy_like(v, self.params[i].data)
                          for key, v in s.items()} for i, s in state.items()}


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

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
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


class LRScheduler:
    """Sets ``optimizer.lr = base_lr * factor(t)`` at step t (0 for the first optimiser step).

    PyTorch's shape: build it after the optimiser (step 0's rate is set at once), call
    :meth:`step` after each ``optimizer.step()``. The rate is a pure function of the step count,
    so a resumed run passes ``last_epoch = steps already taken - 1`` and continues exactly.
    ``warmup_iters`` w > 0 multiplies the first w steps by a linear ramp (t + 1) / (w + 1), which
    keeps the first large updates of a freshly initialised network from blowing up.
    """

    def __init__(self, optimizer: Optimizer, warmup_iters: int = 0, last_epoch: int = -1) -> None:
        if warmup_iters < 0:
            raise ValueError(f"{type(self).__name__}: warmup_iters must be >= 0, got {warmup_iters}")
        self.optimizer, self.warmup_iters = optimizer, warmup_iters
        self.base_lr = optimizer.lr
        self.last_epoch = last_epoch
        self.step()

    def factor(self, t: int) -> float:
        """The multiplier of the base rate at step t, before warm-up."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and set the optimiser's rate for it."""
        self.last_epoch += 1
        t = self.last_epoch
        ramp = (t + 1) / (self.warmup_iters + 1) if t < self.warmup_iters else 1.0
        self.optimizer.lr = self.base_lr * ramp * self.factor(t)

    def get_last_lr(self) -> list[float]:
        """The rate set by the last :meth:`step` (a list, as PyTorch returns one per group)."""
        return [self.optimizer.lr]

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr, self.last_epoch = float(state["base_lr"]), int(state["last_epoch"]) - 1
        self.step()


class ConstantLR(LRScheduler):
    """The base rate throughout (after the optional warm-up): the paper's fixed-rate Caffe solver."""

    def factor(self, t: int) -> float:
        return 1.0


class PolynomialLR(LRScheduler):
    """``(1 - min(t, T) / T) ** power``: PyTorch's PolynomialLR ("poly" in DeepLab, power 0.9)."""

    def __init__(self, optimizer: Optimizer, total_iters: int, power: float = 1.0, warmup_iters: int = 0,
                 last_epoch: int = -1) -> None:
        if total_iters < 1:
            raise ValueError(f"PolynomialLR: total_iters must be >= 1, got {total_iters}")
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, warmup_iters, last_epoch)

    def factor(self, t: int) -> float:
        return (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power


class CosineAnnealingLR(LRScheduler):
    """``eta_min / base + (1 - eta_min / base) (1 + cos(pi min(t, T_max) / T_max)) / 2``: PyTorch's
    CosineAnnealingLR without restarts, from the base rate down to ``eta_min`` at step T_max."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, warmup_iters: int = 0,  # noqa: N803
                 last_epoch: int = -1) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, warmup_iters, last_epoch)

    def factor(self, t: int) -> float:
        floor = self.eta_min / self.base_lr if self.base_lr else 0.0
        return floor + (1.0 - floor) * (1.0 + math.cos(math.pi * min(t, self.T_max) / self.T_max)) / 2


def make_scheduler(optimizer: Optimizer, schedule: str, total_iters: int, warmup_iters: int = 0,
                   start: int = 0) -> LRScheduler:
    """The schedule named ``schedule`` over ``total_iters`` steps, positioned at step ``start``.

    "constant": the base rate (the paper's); "poly": ``(1 - t/T) ** 0.9``; "cosine": a half cosine
    down to 0. All start with ``warmup_iters`` steps of linear warm-up. The base rate is
    ``optimizer.lr`` when called (set it first when resuming: the optimiser holds the last rate).
    """
    if schedule == "poly":
        return PolynomialLR(optimizer, total_iters, power=0.9, warmup_iters=warmup_iters, last_epoch=start - 1)
    if schedule == "cosine":
        return CosineAnnealingLR(optimizer, total_iters, warmup_iters=warmup_iters, last_epoch=start - 1)
    if schedule == "constant":
        return ConstantLR(optimizer, warmup_iters=warmup_iters, last_epoch=start - 1)
    raise ValueError(f"make_scheduler: schedule must be 'constant', 'poly' or 'cosine', got {schedule!r}")
