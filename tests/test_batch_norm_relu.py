"""batch_norm_relu: the fused op gives relu(batch_norm(...))'s values, gradients and running
statistics, in both modes; gradients checked numerically and against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.functional import batch_norm, batch_norm_relu, relu
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, import_torch
from .strategies import arrays, tensors
from .test_norm import nchw

EPS = 1e-5


def _normalised(x: np.ndarray, mean: np.ndarray | None = None, var: np.ndarray | None = None) -> np.ndarray:
    """(x - mean) / sqrt(var + eps) per channel; the batch's own (biased) statistics by default."""
    axes = (0, 2, 3)
    mean = x.mean(axis=axes) if mean is None else mean
    var = x.var(axis=axes) if var is None else var
    return (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + EPS)


def _bias_between_kinks(z: np.ndarray, picks: list[int]) -> np.ndarray:
    """A bias per channel that puts ReLU's kink (z + b = 0) halfway between two neighbouring values
    of z = w xhat (or below/above them all), so small nudges of x, w, b never cross it."""
    bias = []
    for c, pick in enumerate(picks):
        v = np.sort(z[:, c].ravel())
        cuts = np.concatenate([[v[0] - 1], (v[:-1] + v[1:]) / 2, [v[-1] + 1]])
        bias.append(-cuts[pick % len(cuts)])
    return np.array(bias)


@given(data=st.data(), shape=nchw(min_values_per_channel=3))
def test_training_gradients_of_x_weight_bias(data, shape):
    c = shape[1]
    x = data.draw(tensors(shape, distinct=True))  # distinct: no channel with ~0 variance
    w = data.draw(tensors((c,), away_from=0.0))
    z = _normalised(x.numpy()) * w.numpy()[:, None, None]
    b = tinyseg.tensor(_bias_between_kinks(z, data.draw(st.lists(st.integers(0, 99), min_size=c, max_size=c))),
                       requires_grad=True)
    assert gradcheck(lambda x, w, b: batch_norm_relu(x, None, None, w, b, training=True), [x, w, b],
                     names=["x", "weight", "bias"])


@given(data=st.data(), shape=nchw())
def test_eval_gradients_use_running_stats(data, shape):
    c = shape[1]
    x, w = data.draw(tensors(shape, distinct=True)), data.draw(tensors((c,), away_from=0.0))
    mean, var = data.draw(arrays((c,))), data.draw(arrays((c,), low=0.5, high=2.0))
    z = _normalised(x.numpy(), mean, var) * w.numpy()[:, None, None]
    b = tinyseg.tensor(_bias_between_kinks(z, data.draw(st.lists(st.integers(0, 99), min_size=c, max_size=c))),
                       requires_grad=True)
    stats = backend.to_device(mean), backend.to_device(var)
    assert gradcheck(lambda x, w, b: batch_norm_relu(x, *stats, w, b, training=False), [x, w, b],
                     names=["x", "weight", "bias"])
    assert_close(batch_norm_relu(x, *stats, w, b), np.maximum(z + b.numpy()[:, None, None], 0), atol=1e-12)


def _run(op, x, w, b, g, mean, var, training):
    """op's output, the gradients of x, w, b for upstream g, and the running stats after the call."""
    mean, var = backend.to_device(mean.copy()), backend.to_device(var.copy())
    ts = [tinyseg.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = op(ts[0], mean, var, ts[1], ts[2], training=training, momentum=0.3)
    y.backward(g)
    return [y.numpy(), *(t.grad for t in ts), mean, var]


@pytest.mark.parametrize("training", [True, False])
@given(data=st.data(), shape=nchw(max_side=4, min_values_per_channel=2),
       channels_last=st.booleans(), float32=st.booleans())
def test_matches_relu_of_batch_norm(data, shape, channels_last, float32, training):
    c = shape[1]
    x, g = data.draw(arrays(shape)), data.draw(arrays(shape))
    if channels_last:  # conv2d's outputs are (N, C, H, W) views of (N, H, W, C) memory
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w, b = data.draw(arrays((c,))), data.draw(arrays((c,)))
    mean, var = data.draw(arrays((c,))), data.draw(arrays((c,), low=0.5, high=2.0))
    dtype = np.float32 if float32 else np.float64
    x, g, w, b, mean, var = (a.astype(dtype) for a in (x, g, w, b, mean, var))
    fused = _run(batch_norm_relu, x, w, b, g, mean, var, training)
    unfused = _run(lambda *a, **k: relu(batch_norm(*a, **k)), x, w, b, g, mean, var, training)
    tol = 1e-5 if float32 else 1e-12
    for name, ours, theirs in zip(["out", "dx", "dw", "db", "running_mean", "running_var"], fused, unfused):
        assert backend.to_numpy(ours).dtype == dtype, name
        assert_close(ours, theirs, rtol=tol, atol=tol, err_msg=name)


def test_errors_name_the_op_and_the_shapes():
    x, w = tinyseg.tensor(np.ones((2, 3, 2, 2))), tinyseg.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"batch_norm_relu: bias has shape \(4,\), expected \(3,\)"):
        batch_norm_relu(x, None, None, w, tinyseg.tensor(np.ones(4)), training=True)
    with pytest.raises(ValueError, match="batch_norm_relu: training needs more than 1 value per channel"):
        batch_norm_relu(tinyseg.tensor(np.ones((1, 3, 1, 1))), None, None, w, w, training=True)
    with pytest.raises(ValueError, match="batch_norm_relu: eval mode .* needs running_mean and running_var"):
        batch_norm_relu(x, None, None, w, w, training=False)


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False])
def test_matches_pytorch_including_running_stats(training):
    torch = import_torch(reason="PyTorch is the reference for relu(batch_norm(...))")
    rng = np.random.default_rng(1)
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
        y = batch_norm_relu(ours[0], mean, var, ours[1], ours[2], training=training, momentum=0.3)
        ty = torch.relu(torch.nn.functional.batch_norm(theirs[0], t_mean, t_var, theirs[1], theirs[2],
                                                       training=training, momentum=0.3))
        y.backward(g)
        ty.backward(torch.tensor(g))
        assert_close(y.numpy(), ty.detach().numpy(), atol=1e-12)
        for a, t in zip(ours, theirs):
            assert_close(a.grad, t.grad.numpy(), atol=1e-11)
        assert_close(mean, t_mean.numpy(), atol=1e-12)
        assert_close(var, t_var.numpy(), atol=1e-12)
