"""cross_entropy: gradients for every reduction and normalisation, ignored pixels, class
weights, errors, and PyTorch agreement on 4-D segmentation logits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.functional.loss import cross_entropy
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, assert_equal, import_torch
from .strategies import arrays, tensors

IGNORE = 255


@st.composite
def segmentation_batch(draw, max_classes: int = 4, max_side: int = 3):
    """(logits Tensor (N, K, H, W) float64, target (N, H, W) int with some IGNORE, weights (K,))."""
    n, k, h, w = draw(st.tuples(st.integers(1, 2), st.integers(1, max_classes),
                                st.integers(1, max_side), st.integers(1, max_side)))
    logits = draw(tensors((n, k, h, w), low=-3.0, high=3.0))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    target = rng.integers(0, k, size=(n, h, w))
    target[rng.uniform(size=target.shape) < 0.3] = IGNORE
    target.flat[0] = 0  # at least one counted pixel, so "mean" is finite
    weight = draw(arrays((k,), low=0.2, high=3.0))
    return logits, target, weight


def reference(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None, reduction: str,
              normalization: str = "torch") -> np.ndarray:
    """A plain per-pixel loop: the definition, written out."""
    k = logits.shape[1]
    weight = np.ones(k) if weight is None else weight
    losses = np.zeros(target.shape)
    total_w, count = 0.0, 0
    for idx in np.ndindex(*target.shape):
        t = target[idx]
        if t == IGNORE:
            continue
        z = logits[(idx[0], slice(None)) + idx[1:]]
        losses[idx] = -weight[t] * (z[t] - np.log(np.exp(z).sum()))
        total_w, count = total_w + weight[t], count + 1
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    norm = total_w if normalization == "torch" else count
    return losses.sum() / (norm or 1)  # nothing counted: 0, not 0 / 0


CASES = [("none", "torch"), ("sum", "torch"), ("mean", "torch"), ("mean", "caffe")]


@pytest.mark.parametrize("reduction,normalization", CASES)
@given(batch=segmentation_batch(), weighted=st.booleans())
def test_cross_entropy_value_and_gradient(reduction, normalization, batch, weighted):
    logits, target, weight = batch
    weight = weight if weighted else None

    def loss(t):
        return cross_entropy(t, target, weight, ignore_index=IGNORE, reduction=reduction, normalization=normalization)

    expected = reference(logits.numpy(), target, weight, reduction, normalization)
    assert_close(loss(logits).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(loss, [logits])


@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 5))
def test_cross_entropy_on_2d_logits(data, n, k):
    logits = data.draw(tensors((n, k)))
    target = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    assert_close(cross_entropy(logits, target).numpy(), reference(logits.numpy(), target, None, "mean"),
                               atol=1e-12)
    assert gradcheck(lambda t: cross_entropy(t, target), [logits])


def test_ignored_pixels_contribute_nothing():
    rng = np.random.default_rng(0)
    logits = tinyseg.tensor(rng.standard_normal((1, 3, 2, 2)), requires_grad=True)
    target = np.array([[[0, IGNORE], [2, IGNORE]]])
    loss = cross_entropy(logits, target, ignore_index=IGNORE, reduction="none")
    assert_equal(loss.numpy()[0, :, 1], [0.0, 0.0])
    loss.sum().backward()
    assert_equal(logits.grad[0, :, :, 1], np.zeros((3, 2)))
    assert (logits.grad[0, :, :, 0] != 0).all()


def test_caffe_and_torch_normalisations_differ_by_the_mean_weight():
    rng = np.random.default_rng(1)
    logits = tinyseg.tensor(rng.standard_normal((2, 3, 4, 4)))
    target = rng.integers(0, 3, (2, 4, 4))
    weight = np.array([0.5, 2.0, 4.0])
    torch_mean = cross_entropy(logits, target, weight).item()
    caffe_mean = cross_entropy(logits, target, weight, normalization="caffe").item()
    assert_close(caffe_mean, torch_mean * weight[target].mean())


def test_float32_logits_stay_float32_and_large_logits_stay_finite():
    logits = tinyseg.tensor(np.array([[[[1000.0]], [[-1000.0]]]], dtype=np.float32), requires_grad=True)
    loss = cross_entropy(logits, np.array([[[1]]]), weight=np.array([1.0, 2.0]))  # float64 weights
    loss.backward()
    assert loss.dtype == logits.grad.dtype == np.float32
    assert_close(loss.item(), 2000.0)
    assert_close(logits.grad.ravel(), [1.0, -1.0])


def test_target_as_tensor_and_uint8_with_ignore_value():
    logits = tinyseg.tensor(np.zeros((1, 2, 1, 3)))
    target = tinyseg.tensor(np.array([[[0, 1, 11]]], dtype=np.uint8))
    assert_close(cross_entropy(logits, target, ignore_index=11).item(), np.log(2))


def test_bad_target_values_are_named():
    logits = tinyseg.tensor(np.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"class value\(s\) \[-1, 7\] outside \[0, 3\)"):
        cross_entropy(logits, np.array([[[0, 7], [-1, 2]]]))
    with pytest.raises(ValueError, match=r"target shape \(1, 3, 2\) does not fit logits \(1, 3, 2, 2\)"):
        cross_entropy(logits, np.zeros((1, 3, 2), dtype=int))
    with pytest.raises(TypeError, match="integer class indices, got dtype float64"):
        cross_entropy(logits, np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        cross_entropy(logits, np.zeros((1, 2, 2), dtype=int), weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        cross_entropy(logits, np.zeros((1, 2, 2), dtype=int), reduction="avg")
    with pytest.raises(ValueError, match="normalization must be one of"):
        cross_entropy(logits, np.zeros((1, 2, 2), dtype=int), normalization="keras")


@pytest.mark.parametrize("normalization", ["torch", "caffe"])
@pytest.mark.parametrize("weighted", [False, True])
def test_an_all_void_batch_has_loss_zero_and_a_zero_finite_gradient(normalization, weighted):
    """Every pixel ignored: 0, not 0 / 0 = NaN, under both normalisations (docs/ops/loss.md says
    why tinyseg parts with PyTorch's "mean" here: an all-void crop must not stop a run)."""
    rng = np.random.default_rng(4)
    logits = tinyseg.tensor(rng.standard_normal((2, 3, 2, 3)), requires_grad=True)
    target = np.full((2, 2, 3), IGNORE)
    weight = np.array([0.5, 2.0, 4.0]) if weighted else None

    def loss(t):
        return cross_entropy(t, target, weight, ignore_index=IGNORE, normalization=normalization)

    with np.errstate(all="raise"):  # no 0 / 0 on the way, not even a hidden one
        value = loss(logits)
        value.backward()
    assert value.item() == 0.0
    grad = tinyseg.tensor(logits.grad).numpy()
    assert np.isfinite(grad).all() and (grad == 0).all()
    logits.grad = None
    assert gradcheck(loss, [logits])  # central differences agree: the loss is flat, 0 everywhere


def test_counted_pixels_of_weight_zero_give_zero_under_torch_normalization():
    logits = tinyseg.tensor(np.random.default_rng(5).standard_normal((1, 2, 1, 2)), requires_grad=True)
    loss = cross_entropy(logits, np.array([[[0, 0]]]), weight=np.array([0.0, 1.0]))
    loss.backward()
    assert loss.item() == 0.0 and (tinyseg.tensor(logits.grad).numpy() == 0).all()


@pytest.mark.torch
def test_pytorch_gives_nan_for_an_all_void_mean_which_tinyseg_does_not():
    """The reason for docs/ops/loss.md's note: if PyTorch ever returns 0 here, drop the note."""
    torch = import_torch("to compare with torch.nn.functional.cross_entropy")
    logits = np.random.default_rng(6).standard_normal((1, 3, 2, 2))
    target = np.full((1, 2, 2), IGNORE)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(target), ignore_index=IGNORE)
    assert np.isnan(theirs.item())
    assert cross_entropy(tinyseg.tensor(logits), target, ignore_index=IGNORE).item() == 0.0


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_pytorch_with_weights_and_ignore_index(reduction):
    torch = import_torch(reason="PyTorch is the reference for cross_entropy")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 11, 6, 7)) * 3
    target = rng.integers(0, 11, (2, 6, 7))
    target[rng.uniform(size=target.shape) < 0.2] = IGNORE
    weight = rng.uniform(0.1, 5.0, 11)
    t, tt = tinyseg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = cross_entropy(t, target, weight, ignore_index=IGNORE, reduction=reduction)
    ty = torch.nn.functional.cross_entropy(tt, torch.tensor(target), torch.tensor(weight),
                                           ignore_index=IGNORE, reduction=reduction)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    assert_close(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_ignore_index_none_counts_every_pixel_as_the_default_does():
    rng = np.random.default_rng(0)
    logits = tinyseg.tensor(rng.standard_normal((2, 3, 4, 5)))
    target = rng.integers(0, 3, (2, 4, 5))
    assert_close(cross_entropy(logits, target, ignore_index=None).data, cross_entropy(logits, target).data)
