"""Learning-rate schedules, PyTorch-shaped: build after the optimiser, ``step()`` after each update.

A schedule wraps an optimiser and sets its learning rate at every step:

    >>> sched = PolynomialLR(opt, total_iters=1000, power=0.9, warmup_iters=50)
    >>> opt.step(); sched.step()           # as in PyTorch: the schedule steps after the optimiser
"""

from __future__ import annotations

import math
from typing import Any

from .optimizers import Optimizer

__all__ = ["LRScheduler", "ConstantLR", "PolynomialLR", "CosineAnnealingLR", "make_scheduler"]


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

    def __init__(
        self, optimizer: Optimizer, total_iters: int, power: float = 1.0, warmup_iters: int = 0, last_epoch: int = -1
    ) -> None:
        if total_iters < 1:
            raise ValueError(f"PolynomialLR: total_iters must be >= 1, got {total_iters}")
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, warmup_iters, last_epoch)

    def factor(self, t: int) -> float:
        return (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power


class CosineAnnealingLR(LRScheduler):
    """``eta_min / base + (1 - eta_min / base) (1 + cos(pi min(t, T_max) / T_max)) / 2``: PyTorch's
    CosineAnnealingLR without restarts, from the base rate down to ``eta_min`` at step T_max."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        warmup_iters: int = 0,
        last_epoch: int = -1,
    ) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, warmup_iters, last_epoch)

    def factor(self, t: int) -> float:
        floor = self.eta_min / self.base_lr if self.base_lr else 0.0
        return floor + (1.0 - floor) * (1.0 + math.cos(math.pi * min(t, self.T_max) / self.T_max)) / 2


def make_scheduler(
    optimizer: Optimizer, schedule: str, total_iters: int, warmup_iters: int = 0, start: int = 0
) -> LRScheduler:
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
