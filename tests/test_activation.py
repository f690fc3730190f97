"""relu, softmax, log_softmax and dropout: gradients, stability, PyTorch agreement, seeded masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.functional.activation import dropout, log_softmax, relu, softmax
from tinyseg.engine.random import dropout_generator, manual_seed
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, assert_equal, import_torch
from .strategies import arrays, shapes, tensors


@given(data=st.data(), shape=shapes(max_dims=4))
def test_relu_gradient_off_the_kink(data, shape):
    x = data.draw(tensors(shape, away_from=0.0))
    assert_equal(relu(x).numpy(), np.maximum(x.numpy(), 0))
    assert gradcheck(relu, [x])


def test_relu_keeps_float32():
    x = tinyseg.tensor(np.array([-1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = relu(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    assert_equal(x.grad, [0.0, 1.0])


@pytest.mark.parametrize("fn", [softmax, log_softmax])
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=4))
def test_softmax_family_gradients_along_any_dim(fn, data, shape):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(tensors(shape, low=-3.0, high=3.0))
    assert gradcheck(lambda t: fn(t, dim=dim), [x])


@given(x=arrays((2, 5, 3)))
def test_softmax_sums_to_one_and_log_softmax_is_its_log(x):
    p = softmax(tinyseg.tensor(x), dim=1).numpy()
    assert_close(p.sum(axis=1), 1.0, rtol=1e-12)
    assert_close(log_softmax(tinyseg.tensor(x), dim=1).numpy(), np.log(p), atol=1e-12)


def test_softmax_is_stable_for_huge_logits():
    x = tinyseg.tensor(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))
    p, lp = softmax(x, dim=1).numpy(), log_softmax(x, dim=1).numpy()
    assert np.isfinite(p).all() and np.isfinite(lp).all()
    assert_close(p, [[1.0, 0.0, 0.0]])
    assert_close(lp, [[0.0, -1000.0, -2000.0]])
    assert p.dtype == np.float32 and lp.dtype == np.float32


@pytest.mark.torch
def test_softmax_and_log_softmax_match_pytorch():
    torch = import_torch(reason="PyTorch is the reference for softmax")
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 5))
    g = np.random.default_rng(1).standard_normal(x.shape)
    for ours, theirs in [(softmax, torch.softmax), (log_softmax, torch.log_softmax)]:
        t, tt = tinyseg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(t, dim=1), theirs(tt, 1)
        y.backward(g)
        ty.backward(torch.tensor(g))
        assert_close(y.numpy(), ty.detach().numpy(), atol=1e-12)
        assert_close(t.grad, tt.grad.numpy(), atol=1e-12)


# ---- dropout ------------------------------------------------------------------------------


@given(data=st.data(), shape=shapes(max_dims=4), p=st.sampled_from([0.2, 0.5, 0.8]), seed=st.integers(0, 2**31))
def test_dropout_gradient_with_a_fixed_mask(data, shape, p, seed):
    x = data.draw(tensors(shape))
    # a fresh generator with the same seed on each call: every evaluation sees the same mask
    assert gradcheck(lambda t: dropout(t, p, generator=backend.default_rng(seed)), [x])


@given(seed=st.integers(0, 2**31), p=st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout_same_seed_same_mask_and_inverted_scaling(seed, p):
    x = tinyseg.tensor(np.ones((4, 8, 8)))
    a = dropout(x, p, generator=backend.default_rng(seed)).numpy()
    b = dropout(x, p, generator=backend.default_rng(seed)).numpy()
    assert_equal(a, b)
    kept = a != 0
    assert_close(a[kept], 1.0 / (1.0 - p))  # survivors are scaled by 1 / (1 - p)


def test_dropout_keeps_about_1_minus_p_and_preserves_the_mean():
    x = tinyseg.tensor(np.ones((200, 500), dtype=np.float32))
    y = dropout(x, 0.3, generator=backend.default_rng(0)).numpy()
    assert y.dtype == np.float32
    assert abs((y != 0).mean() - 0.7) < 0.01
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_is_identity_in_eval_or_with_p_0_and_zero_with_p_1():
    x = tinyseg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    y = dropout(x, 1.0)
    assert_equal(y.numpy(), np.zeros((2, 3)))
    y.sum().backward()
    assert_equal(x.grad, np.zeros((2, 3)))


def test_dropout_rejects_p_outside_0_1():
    with pytest.raises(ValueError, match="dropout: p must be in"):
        dropout(tinyseg.tensor([1.0]), 1.5)


def test_dropout_generator_is_seeded_by_manual_seed():
    x = tinyseg.tensor(np.ones(100))
    manual_seed(7)
    a = dropout(x, 0.5).numpy()
    manual_seed(7)
    assert dropout_generator() is dropout_generator()
    b = dropout(x, 0.5).numpy()
    assert_equal(a, b)
    c = dropout(x, 0.5).numpy()  # the generator moved on: another mask
    assert (a != c).any()
    manual_seed(None)
