"""Learning-rate schedules: values by hand, warm-up, resuming mid-run, PyTorch's closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyseg
from tinyseg.optim import SGD, ConstantLR, CosineAnnealingLR, PolynomialLR

from .helpers import import_torch


def _opt(lr: float = 0.1) -> SGD:
    return SGD([tinyseg.tensor(np.zeros(3), requires_grad=True)], lr=lr)


def _rates(opt: SGD, sched, steps: int) -> list[float]:
    rates = []
    for _ in range(steps):
        rates.append(opt.lr)
        sched.step()
    return rates


def test_poly_by_hand_reaches_zero_at_total_iters_and_stays():
    opt = _opt(0.1)
    rates = _rates(opt, PolynomialLR(opt, total_iters=4, power=2.0), 6)
    assert rates == pytest.approx([0.1, 0.1 * 0.75**2, 0.1 * 0.5**2, 0.1 * 0.25**2, 0.0, 0.0])


def test_cosine_by_hand_from_base_to_eta_min():
    opt = _opt(1.0)
    rates = _rates(opt, CosineAnnealingLR(opt, T_max=4, eta_min=0.2), 6)
    expected = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)] + [0.2]
    assert rates == pytest.approx(expected)
    assert rates[2] == pytest.approx(0.6)  # half way: the mean of the two ends


def test_warmup_ramps_linearly_then_follows_the_schedule():
    opt = _opt(0.1)
    rates = _rates(opt, ConstantLR(opt, warmup_iters=4), 6)
    assert rates == pytest.approx([0.02, 0.04, 0.06, 0.08, 0.1, 0.1])
    opt = _opt(0.1)
    poly = _rates(opt, PolynomialLR(opt, total_iters=10, power=1.0, warmup_iters=2), 4)
    assert poly == pytest.approx([0.1 * 1 / 3, 0.1 * 0.9 * 2 / 3, 0.1 * 0.8, 0.1 * 0.7])


@pytest.mark.parametrize("make", [
    lambda o, last: PolynomialLR(o, total_iters=9, power=0.9, warmup_iters=3, last_epoch=last),
    lambda o, last: CosineAnnealingLR(o, T_max=9, eta_min=0.01, warmup_iters=3, last_epoch=last),
])
def test_a_schedule_rebuilt_at_step_k_continues_exactly(make):
    opt = _opt(0.1)
    straight = _rates(opt, make(opt, -1), 12)
    for k in (1, 4, 9):
        opt = _opt(0.1)
        assert _rates(opt, make(opt, k - 1), 12 - k) == straight[k:]
    opt = _opt(0.1)
    sched = make(opt, -1)
    _rates(opt, sched, 5)
    other = _opt(0.1)
    restored = make(other, -1)
    restored.load_state_dict(sched.state_dict())
    assert _rates(other, restored, 7) == straight[5:]


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="PolynomialLR: total_iters must be >= 1"):
        PolynomialLR(_opt(), total_iters=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be >= 1"):
        CosineAnnealingLR(_opt(), T_max=0)
    with pytest.raises(ValueError, match="warmup_iters must be >= 0"):
        ConstantLR(_opt(), warmup_iters=-1)


@pytest.mark.torch
def test_equal_to_torch_within_the_schedule():
    torch = import_torch(reason="PyTorch is not installed (pip install torch==2.13.0)")
    for ours, theirs in [
        (lambda o: PolynomialLR(o, total_iters=10, power=0.9),
         lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=10, power=0.9)),
        (lambda o: CosineAnnealingLR(o, T_max=10, eta_min=0.003),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.003)),
    ]:
        opt = _opt(0.1)
        topt = torch.optim.SGD([torch.zeros(3, requires_grad=True)], lr=0.1)
        sched, tsched = ours(opt), theirs(topt)
        for _ in range(11):
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
            topt.step()
            sched.step()
            tsched.step()
