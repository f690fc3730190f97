"""SGD and Adam: trajectories equal torch.optim's, in-place float32 updates, state dicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.optim import SGD, Adam
from .helpers import assert_close, assert_equal, import_torch

SHAPES = [(3, 4), (5,), (2, 1, 3)]


def _params(seed: int, dtype=np.float64) -> list[tinyseg.Tensor]:
    rng = np.random.default_rng(seed)
    return [tinyseg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in SHAPES]


def _grads(step: int, dtype=np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(1000 + step)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run(opt, params, steps: int, start: int = 0, lr_at: dict[int, float] | None = None) -> None:
    for step in range(start, start + steps):
        if lr_at and step in lr_at:
            opt.lr = lr_at[step]
        for p, g in zip(params, _grads(step, params[0].dtype)):
            p.grad = backend.to_device(g) + 0.1 * p.data  # depends on the parameter, like a real loss
        opt.step()


CONFIGS = [
    (SGD, dict(lr=0.1)),
    (SGD, dict(lr=0.05, momentum=0.9)),
    (SGD, dict(lr=0.05, momentum=0.9, weight_decay=5e-4)),
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
]


@pytest.mark.torch
@pytest.mark.parametrize("cls,kw", CONFIGS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_trajectory_equals_torch_optim(cls, kw):
    torch = import_torch(reason="torch.optim is the reference for the update rules")
    ours = _params(0)
    theirs = [torch.tensor(p.numpy(), requires_grad=True) for p in ours]
    opt = cls(ours, **kw)
    t_opt = getattr(torch.optim, cls.__name__)(theirs, **kw)
    for step in range(6):
        if step == 3:  # a learning-rate change between steps
            opt.lr = kw["lr"] / 2
            t_opt.param_groups[0]["lr"] = kw["lr"] / 2
        _run(opt, ours, 1, start=step)
        for t, g in zip(theirs, _grads(step)):
            t.grad = torch.from_numpy(g) + 0.1 * t.detach()
        t_opt.step()
        for a, t in zip(ours, theirs):
            assert_close(a.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_updates_are_in_place_and_keep_float32(cls, kw):
    params = _params(0, np.float32)
    arrays = [p.data for p in params]
    opt = cls(params, **kw)
    _run(opt, params, 3)
    assert all(p.data is a for p, a in zip(params, arrays))  # the same arrays, updated in place
    assert all(p.dtype == np.float32 for p in params)
    assert all(v.dtype == np.float32 for s in opt.state.values() for k, v in s.items() if k != "step")


@given(lr=st.floats(0.001, 1.0), steps=st.integers(1, 4))
def test_plain_sgd_is_p_minus_lr_g(lr, steps):
    p = tinyseg.tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = SGD([p], lr=lr)
    for _ in range(steps):
        p.grad = backend.to_device(np.array([0.5, 1.0]))
        opt.step()
    assert_close(p.numpy(), [1.0 - steps * lr * 0.5, -2.0 - steps * lr * 1.0], atol=1e-12)


# ---- update rules by hand: PyTorch's formulas on 3 numbers, no PyTorch needed -------------------

P0 = [1.0, -2.0, 0.5]


def _steps(opt, p, grads, lrs=None):
    """Set each gradient of ``grads`` in turn (with the rate of ``lrs``, if given) and step: p's trajectory."""
    seen = []
    for k, g in enumerate(grads):
        if lrs is not None:
            opt.lr = lrs[k]
        p.grad = backend.to_device(np.array(g))
        opt.step()
        seen.append(p.numpy().tolist())
    return seen


def test_sgd_momentum_by_hand():
    """torch.optim.SGD: b = g on the first step, then b = momentum * b + g (no dampening); p -= lr * b.
    The rate changes on step 3: lr multiplies the whole buffer, it is not folded into it."""
    p = tinyseg.tensor(np.array(P0), requires_grad=True)
    seen = _steps(SGD([p], lr=0.1, momentum=0.9), p, [[0.5, 1.0, -1.0]] * 3, lrs=[0.1, 0.1, 0.05])
    # b1 = g = [0.5, 1, -1]                       p1 = p0 - 0.1 b1
    # b2 = 0.9 b1 + g = [0.95, 1.9, -1.9]           p2 = p1 - 0.1 b2
    # b3 = 0.9 b2 + g = [1.355, 2.71, -2.71]        p3 = p2 - 0.05 b3
    assert_close(seen, [[0.95, -2.1, 0.6], [0.855, -2.29, 0.79], [0.78725, -2.4255, 0.9255]], rtol=1e-13)


def test_sgd_weight_decay_by_hand():
    """torch.optim.SGD: weight decay adds weight_decay * p to the gradient (L2), then p -= lr * g."""
    p = tinyseg.tensor(np.array(P0), requires_grad=True)
    seen = _steps(SGD([p], lr=0.1, weight_decay=0.1), p, [[0.5, 1.0, -1.0]] * 3)
    # g1 = [0.5, 1, -1] + 0.1 [1, -2, 0.5] = [0.6, 0.8, -0.95]           p1 = p0 - 0.1 g1
    # g2 = [0.5, 1, -1] + 0.1 p1 = [0.594, 0.792, -0.9405]               p2 = p1 - 0.1 g2
    # g3 = [0.5, 1, -1] + 0.1 p2 = [0.58806, 0.78408, -0.931095]         p3 = p2 - 0.1 g3
    assert_close(seen, [[0.94, -2.08, 0.595], [0.8806, -2.1592, 0.68905], [0.821794, -2.237608, 0.7821595]],
                 rtol=1e-13)


def test_sgd_momentum_and_weight_decay_by_hand():
    """The decayed gradient (g + weight_decay * p) is what goes into the momentum buffer."""
    p = tinyseg.tensor(np.array(P0), requires_grad=True)
    seen = _steps(SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1), p, [[0.5, 1.0, -1.0]] * 3)
    # g1 = [0.6, 0.8, -0.95]          b1 = g1                                  p1 = [0.94, -2.08, 0.595]
    # g2 = [0.594, 0.792, -0.9405]    b2 = 0.9 b1 + g2 = [1.134, 1.512, -1.7955]
    # g3 = g + 0.1 p2 = [0.58266, 0.77688, -0.922545]    b3 = 0.9 b2 + g3 = [1.60326, 2.13768, -2.538495]
    assert_close(seen, [[0.94, -2.08, 0.595], [0.8266, -2.2312, 0.77455], [0.666274, -2.444968, 1.0283995]],
                 rtol=1e-13)


ADAM_GRADS = [[0.5, 1.0, -1.0], [0.2, -0.4, -0.6], [-0.3, 0.8, 0.1], [0.05, 0.0, 2.0]]


def _adam_by_hand(grads, lr, beta1, beta2, eps, weight_decay):
    """torch.optim.Adam's algorithm as its documentation writes it, one number at a time:
    g += weight_decay * p (L2, not AdamW's decoupled decay); m = beta1 m + (1 - beta1) g;
    v = beta2 v + (1 - beta2) g^2; p -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)."""
    p, m, v, seen = list(P0), [0.0] * 3, [0.0] * 3, []
    for t, grad in enumerate(grads, start=1):
        for i in range(3):
            g = grad[i] + weight_decay * p[i]
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            m_hat, v_hat = m[i] / (1 - beta1**t), v[i] / (1 - beta2**t)
            p[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        seen.append(list(p))
    return seen


def test_adam_first_step_moves_each_weight_by_lr_against_its_gradient_sign():
    """After bias correction the first step is lr * g / (|g| + eps): lr against the sign of g, whatever |g|."""
    p = tinyseg.tensor(np.array(P0), requires_grad=True)
    (first,) = _steps(Adam([p], lr=0.1), p, [[0.5, 1e-3, -20.0]])
    assert_close(first, [0.9, -2.1, 0.6], rtol=1e-6)


@pytest.mark.parametrize("kw", [
    dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    dict(lr=0.05, betas=(0.8, 0.9), eps=0.1, weight_decay=0.0),  # eps large enough to count, where it sits
    dict(lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.5),
    dict(lr=0.05, betas=(0.8, 0.9), eps=0.1, weight_decay=0.2),
], ids=["defaults", "eps", "weight-decay", "all"])
def test_adam_by_hand(kw):
    p = tinyseg.tensor(np.array(P0), requires_grad=True)
    opt = Adam([p], lr=kw["lr"], betas=kw["betas"], eps=kw["eps"], weight_decay=kw["weight_decay"])
    seen = _steps(opt, p, ADAM_GRADS)
    assert_close(seen, _adam_by_hand(ADAM_GRADS, kw["lr"], *kw["betas"], kw["eps"], kw["weight_decay"]),
                 rtol=1e-12, atol=1e-15)
    assert opt.state[0]["step"] == len(ADAM_GRADS)


def test_parameters_without_gradient_are_skipped_and_zero_grad_clears():
    a, b = _params(0)[:2]
    before = b.numpy().copy()
    a.grad = backend.to_device(np.ones(a.shape))
    opt = Adam([a, b])
    opt.step()
    assert_equal(b.numpy(), before)
    assert 1 not in opt.state
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("cls,kw", CONFIGS[1:], ids=lambda v: getattr(v, "__name__", str(v)))
def test_state_dict_resumes_the_same_trajectory(cls, kw):
    straight = _params(0)
    opt = cls(straight, **kw)
    _run(opt, straight, 6)

    first = _params(0)
    opt1 = cls(first, **kw)
    _run(opt1, first, 3)
    # through NumPy with string keys, as a checkpoint file would hand it back
    saved = opt1.state_dict()
    saved = {**saved, "state": {str(i): {k: backend.to_numpy(v) if k != "step" else np.int64(v) for k, v in s.items()}
                                for i, s in saved["state"].items()}}
    resumed = [tinyseg.tensor(p.numpy(), requires_grad=True) for p in first]
    opt2 = cls(resumed, lr=123.0)
    opt2.load_state_dict(saved)
    assert opt2.lr == kw["lr"]
    _run(opt2, resumed, 3, start=3)
    for a, b in zip(straight, resumed):
        assert_equal(a.numpy(), b.numpy())


def test_state_dict_holds_hyperparameters_and_copies():
    params = _params(0)
    opt = Adam(params, lr=0.01, betas=(0.8, 0.9))
    _run(opt, params, 2)
    sd = opt.state_dict()
    assert sd["lr"] == 0.01 and sd["betas"] == (0.8, 0.9) and sd["weight_decay"] == 0.0
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 2
    sd["state"][0]["exp_avg"][...] = 0.0
    assert (opt.state[0]["exp_avg"] != 0).any()


def test_load_state_dict_errors_name_the_parameter_and_shapes():
    opt = SGD(_params(0), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"momentum_buffer of parameter 1 has shape \(4,\), the parameter has shape"):
        opt.load_state_dict({"lr": 0.1, "state": {1: {"momentum_buffer": np.zeros(4)}}})
    with pytest.raises(ValueError, match="state for parameter 7, but the optimiser has 3 parameters"):
        opt.load_state_dict({"lr": 0.1, "state": {7: {"momentum_buffer": np.zeros(4)}}})


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: lr must be >= 0"):
        Adam(_params(0), lr=-1.0)
