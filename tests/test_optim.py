"""SGD and Adam: trajectories equal torch.optim's, in-place float32 updates, state dicts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg import backend
from tinyseg.optim import SGD, Adam
from .helpers import assert_close, assert_equal

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


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_trajectory_equals_torch_optim(cls, kw):
    torch = pytest.importorskip("torch", reason="torch.optim is the reference for the update rules")
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
