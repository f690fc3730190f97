"""Optimisers (optimizers.py: SGD, Adam) and learning-rate schedules (schedules.py), named as in
``torch.optim`` and ``torch.optim.lr_scheduler``.

    >>> opt = tinyseg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = tinyseg.optim.PolynomialLR(opt, total_iters=1000, power=0.9, warmup_iters=50)
    >>> loss.backward(); opt.step(); opt.zero_grad(); sched.step()
"""

from .optimizers import SGD, Adam, Optimizer
from .schedules import ConstantLR, CosineAnnealingLR, LRScheduler, PolynomialLR, make_scheduler

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "LRScheduler",
    "ConstantLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "make_scheduler",
]
