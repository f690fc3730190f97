"""batch_norm and local_response_norm: gradients, running statistics, PyTorch agreement."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.functional.norm import batch_norm, local_response_norm
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, import_torch
from .strategies import arrays, tensors


@st.composite
def nchw(draw, max_side: int = 3, min_values_per_channel: int = 1) -> tuple[int, int, int, int]:
    """A small (N, C, H, W) shape with at least ``min_values_per_channel`` values in N*H*W."""
    shape = draw(st.tuples(*[st.integers(1, max_side)] * 4))
    n, c, h, w = shape
    if n * h * w < min_values_per_channel:
        shape = (n + 1, c, h, max(w, 2))
    return shape


# ---- batch_norm ---------------------------------------------------------------------------


@given(data=st.data(), shape=nchw(min_values_per_channel=3))
def test_batch_norm_training_gradients_of_x_weight_bias(data, shape):
    c = shape[1]
    x = data.draw(tensors(shape, distinct=True))  # distinct: no channel with ~0 variance
    w = data.draw(tensors((c,), away_from=0.0))
    b = data.draw(tensors((c,)))
    assert gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, training=True), [x, w, b],
                     names=["x", "weight", "bias"])


@given(data=st.data(), shape=nchw())
def test_batch_norm_eval_gradients_use_running_stats(data, shape):
    c = shape[1]
    x, w, b = data.draw(tensors(shape)), data.draw(tensors((c,))), data.draw(tensors((c,)))
    mean, var = data.draw(arrays((c,))), data.draw(arrays((c,), low=0.5, high=2.0))
    stats = backend.to_device(mean), backend.to_device(var)
    assert gradcheck(lambda x, w, b: batch_norm(x, *stats, w, b, training=False), [x, w, b],
                     names=["x", "weight", "bias"])
    expected = (x.numpy() - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * w.numpy()[:, None, None]
    expected += b.numpy()[:, None, None]
    assert_close(batch_norm(x, *stats, w, b).numpy(), expected, rtol=1e-12, atol=1e-12)


@given(data=st.data(), shape=nchw(min_values_per_channel=3))
def test_batch_norm_without_affine_and_on_2d_input(data, shape):
    x = data.draw(tensors(shape, distinct=True))
    assert gradcheck(lambda x: batch_norm(x, None, None, training=True), [x])
    x2 = data.draw(tensors((shape[0] * shape[2] + 2, shape[1]), distinct=True))
    assert gradcheck(lambda x: batch_norm(x, None, None, training=True), [x2])


@given(x=arrays((3, 2, 2, 4)), momentum=st.sampled_from([0.1, 0.5]))
def test_batch_norm_training_normalises_and_updates_running_stats_in_place(x, momentum):
    mean, var = backend.to_device(np.full(2, 0.5)), backend.to_device(np.full(2, 2.0))
    mean_before, var_before = backend.to_numpy(mean).copy(), backend.to_numpy(var).copy()  # to_numpy may not copy
    y = batch_norm(tinyseg.tensor(x), mean, var, training=True, momentum=momentum).numpy()
    assert_close(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    assert_close(y.var(axis=(0, 2, 3)), x.var(axis=(0, 2, 3)) / (x.var(axis=(0, 2, 3)) + 1e-5))
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    assert_close(mean, (1 - momentum) * mean_before + momentum * x.mean(axis=(0, 2, 3)))
    assert_close(var, (1 - momentum) * var_before + momentum * unbiased)


def test_batch_norm_float32_stays_float32_and_accepts_tensor_stats():
    x = tinyseg.tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    mean, var = tinyseg.tensor(np.zeros(3, np.float32)), tinyseg.tensor(np.ones(3, np.float32))
    w = tinyseg.tensor(np.ones(3, np.float32), requires_grad=True)
    y = batch_norm(x, mean, var, w, training=True)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == x.grad.dtype == w.grad.dtype == mean.dtype == var.dtype == np.float32
    assert (mean.numpy() != 0).all()  # the Tensor's data was updated in place


def test_batch_norm_errors_name_the_shapes():
    x = tinyseg.tensor(np.ones((2, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"running_mean has shape \(4,\), expected \(3,\)"):
        batch_norm(x, np.zeros(4), np.ones(3), training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm(tinyseg.tensor(np.ones((1, 3, 1, 1))), None, None, training=True)
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        batch_norm(x, None, None, training=False)


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_pytorch_including_running_stats(training):
    torch = import_torch(reason="PyTorch is the reference for batch_norm")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
    w, b, g = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(x.shape)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    t_mean, t_var = torch.tensor(mean), torch.tensor(var)
    mean, var = backend.to_device(mean), backend.to_device(var)
    ours = [tinyseg.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    for _ in range(2):  # two steps: the running statistics are used and updated twice
        for t in ours + theirs:
            t.grad = None
        y = batch_norm(ours[0], mean, var, ours[1], ours[2], training=training, momentum=0.3)
        ty = torch.nn.functional.batch_norm(theirs[0], t_mean, t_var, theirs[1], theirs[2],
                                            training=training, momentum=0.3)
        y.backward(g)
        ty.backward(torch.tensor(g))
        assert_close(y.numpy(), ty.detach().numpy(), atol=1e-12)
        for a, t in zip(ours, theirs):
            assert_close(a.grad, t.grad.numpy(), atol=1e-11)
        assert_close(mean, t_mean.numpy(), atol=1e-12)
        assert_close(var, t_var.numpy(), atol=1e-12)


# ---- local_response_norm --------------------------------------------------------------------


@given(data=st.data(), shape=st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3)),
       size=st.integers(1, 6), alpha=st.sampled_from([1e-4, 0.3, 1.0]), beta=st.sampled_from([0.5, 0.75, 1.3]),
       k=st.sampled_from([1.0, 2.0]))
def test_local_response_norm_gradient(data, shape, size, alpha, beta, k):
    x = data.draw(tensors(shape))
    assert gradcheck(lambda t: local_response_norm(t, size, alpha, beta, k), [x])


def test_local_response_norm_by_hand():
    # one pixel, 3 channels, size 3: channel 1 sees all three squares, the edges see two
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    y = local_response_norm(tinyseg.tensor(x), 3, alpha=0.3, beta=0.5, k=1.0).numpy().ravel()
    squares = np.array([1 + 4, 1 + 4 + 9, 4 + 9])
    assert_close(y, [1, 2, 3] / np.sqrt(1 + 0.3 / 3 * squares))


@pytest.mark.torch
@pytest.mark.parametrize("size", [1, 2, 5])
def test_local_response_norm_matches_pytorch(size):
    torch = import_torch(reason="PyTorch is the reference for local_response_norm")
    rng = np.random.default_rng(size)
    x, g = rng.standard_normal((2, 7, 4, 5)) * 3, rng.standard_normal((2, 7, 4, 5))
    t, tt = tinyseg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = local_response_norm(t, size, alpha=0.5, beta=0.75, k=2.0)
    ty = torch.nn.functional.local_response_norm(tt, size, alpha=0.5, beta=0.75, k=2.0)
    y.backward(g)
    ty.backward(torch.tensor(g))
    assert_close(y.numpy(), ty.detach().numpy(), atol=1e-12)
    assert_close(t.grad, tt.grad.numpy(), atol=1e-12)


def test_local_response_norm_keeps_float32_and_checks_its_input():
    x = tinyseg.tensor(np.ones((1, 3, 2, 2), np.float32))
    assert local_response_norm(x, 5).dtype == np.float32
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\), got shape \(3,\)"):
        local_response_norm(tinyseg.tensor(np.ones(3)), 5)
