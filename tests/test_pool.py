"""max_pool2d and max_unpool2d: loops and PyTorch as oracles, gradients against central
differences, ties, odd sizes, and indices that take one byte per pooled value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg import nn
from tinyseg.functional.pool import indices_from_torch, indices_to_torch, max_pool2d, max_pool2d_with_indices, max_unpool2d
from tinyseg.functional.window import pair
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, assert_equal, import_torch
from .strategies import arrays, pool_configs


def naive_max_pool2d(x, kernel, stride):
    """Loop over windows; np.argmax of the flattened window is the first maximum."""
    (kh, kw), (sh, sw) = kernel, stride
    n, c, h, w = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out, idx = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), dtype=np.int64)
    for i in range(n):
        for k in range(c):
            for r in range(ho):
                for q in range(wo):
                    window = x[i, k, r * sh:r * sh + kh, q * sw:q * sw + kw].ravel()
                    idx[i, k, r, q] = np.argmax(window)
                    out[i, k, r, q] = window.max()
    return out, idx


def naive_max_unpool2d(x, idx, kernel, stride, size):
    """Add every value at (r sh + p // kw, q sw + p % kw) of a zero image of ``size``."""
    (kh, kw), (sh, sw) = kernel, stride
    out = np.zeros((*x.shape[:2], *size))
    for i, k, r, q in np.ndindex(*x.shape):
        p = int(idx[i, k, r, q])
        out[i, k, r * sh + p // kw, q * sw + p % kw] += x[i, k, r, q]
    return out


# ---- properties -----------------------------------------------------------------------------


@given(data=st.data(), cfg=pool_configs(), default_stride=st.booleans())
def test_max_pool2d_matches_the_loop_and_its_gradient_is_right(data, cfg, default_stride):
    stride = None if default_stride else cfg["stride"]
    x = data.draw(arrays(cfg["shape"], distinct=True))  # one winner per window: no kink
    t = tinyseg.tensor(x, requires_grad=True)
    out, idx = max_pool2d_with_indices(t, cfg["kernel"], stride)
    expected, expected_idx = naive_max_pool2d(x, cfg["kernel"], stride or cfg["kernel"])
    assert_equal(out.numpy(), expected)
    assert_equal(idx.numpy(), expected_idx)
    assert idx.dtype == np.uint8 and not idx.requires_grad
    assert gradcheck(lambda a: max_pool2d_with_indices(a, cfg["kernel"], stride), [t])


@given(data=st.data(), cfg=pool_configs())
def test_max_unpool2d_restores_odd_sizes_and_its_gradient_is_right(data, cfg):
    kernel, stride, shape = cfg["kernel"], cfg["stride"], cfg["shape"]
    _, idx = max_pool2d_with_indices(tinyseg.tensor(data.draw(arrays(shape, distinct=True))), kernel, stride)
    x = data.draw(arrays(idx.shape))
    t = tinyseg.tensor(x, requires_grad=True)
    out = max_unpool2d(t, idx, kernel, stride, output_size=shape)
    assert out.shape == shape
    assert_equal(out.numpy(), naive_max_unpool2d(x, idx.numpy(), kernel, stride, shape[2:]))
    assert gradcheck(lambda a: max_unpool2d(a, idx, kernel, stride, output_size=shape[2:]), [t])


def test_unpool_of_pool_keeps_only_the_maxima():
    x = np.array([[[[1.0, 5.0, 2.0], [3.0, 4.0, 0.0], [9.0, 8.0, 7.0]]]])
    out, idx = max_pool2d_with_indices(tinyseg.tensor(x))
    assert_equal(idx.numpy(), [[[[1]]]])
    restored = max_unpool2d(out, idx, output_size=x.shape)
    assert_equal(restored.numpy(), [[[[0.0, 5.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_ties_go_to_the_first_position():
    x = tinyseg.tensor(np.array([[[[2.0, 2.0, 1.0, 3.0], [2.0, 2.0, 3.0, 3.0]]]]), requires_grad=True)
    out, idx = max_pool2d_with_indices(x)
    assert_equal(idx.numpy(), [[[[0, 1]]]])
    out.backward(np.array([[[[10.0, 20.0]]]]))
    assert_equal(x.grad, [[[[10.0, 0.0, 0.0, 20.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_indices_take_one_byte_per_pooled_value():
    x = tinyseg.tensor(np.random.default_rng(0).standard_normal((2, 64, 45, 61), dtype=np.float32))
    out, idx = max_pool2d_with_indices(x)
    assert out.shape == idx.shape == (2, 64, 22, 30)
    assert idx.data.nbytes <= out.size  # at most 1 byte per pooled element (PyTorch: 8)
    assert idx.data.nbytes * 4 == out.data.nbytes  # a quarter of the float32 output itself
    big = max_pool2d_with_indices(tinyseg.tensor(np.zeros((1, 1, 17, 17))), kernel_size=17)[1]
    assert big.dtype == np.uint16  # 289 positions no longer fit in a byte


def test_float32_stays_float32():
    x = np.random.default_rng(1).standard_normal((1, 2, 6, 5), dtype=np.float32)
    x = tinyseg.tensor(x, requires_grad=True)
    out, idx = max_pool2d_with_indices(x)
    up = max_unpool2d(out, idx, output_size=x.shape)
    up.backward(np.ones(up.shape, dtype=np.float32))
    assert out.dtype == up.dtype == x.grad.dtype == np.float32


def test_errors_say_what_does_not_fit():
    x = tinyseg.tensor(np.zeros((1, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(4, 4\) is larger than x \(1, 1, 3, 3\)"):
        max_pool2d_with_indices(x, 4)
    out, idx = max_pool2d_with_indices(tinyseg.tensor(np.zeros((1, 1, 5, 5))))
    with pytest.raises(ValueError, match=r"output_size \(7, 5\) does not fit indices \(1, 1, 2, 2\).*3x2 windows"):
        max_unpool2d(out, idx, output_size=(7, 5))
    with pytest.raises(ValueError, match=r"max_unpool2d: x \(1, 1, 2, 2\) and indices \(1, 1, 2, 1\)"):
        max_unpool2d(out, idx[:, :, :, :1])
    with pytest.raises(ValueError, match="input_size"):
        indices_to_torch(idx)
    flat = indices_to_torch(idx, input_size=(5, 5))
    with pytest.raises(ValueError, match="outside their 2x2 window"):
        indices_from_torch(flat, kernel_size=2, stride=3, input_size=(5, 5))


# ---- PyTorch as a third oracle --------------------------------------------------------------

TORCH_POOL = [
    dict(shape=(2, 3, 8, 10), kernel=2, stride=None),
    dict(shape=(1, 4, 7, 9), kernel=2, stride=2),  # odd sizes: floored
    dict(shape=(2, 2, 9, 8), kernel=(3, 2), stride=(3, 2)),
    dict(shape=(1, 2, 9, 11), kernel=3, stride=(2, 1)),  # overlapping windows
]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", TORCH_POOL)
def test_max_pool2d_agrees_with_pytorch_indices_included(cfg):
    torch = import_torch(reason="PyTorch is an optional cross-check: pip install torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal(cfg["shape"], dtype=np.float32)
    x[..., ::2, ::2] = x[..., 1::2, 1::2].max()  # plant ties: both must pick the first position
    t, tt = tinyseg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, idx = max_pool2d_with_indices(t, cfg["kernel"], cfg["stride"])
    tout, tidx = torch.nn.functional.max_pool2d(tt, cfg["kernel"], cfg["stride"], return_indices=True)
    assert_equal(out.numpy(), tout.detach().numpy())
    as_torch = indices_to_torch(idx, cfg["kernel"], cfg["stride"], input_size=x.shape)
    assert_equal(as_torch.numpy(), tidx.numpy())
    back = indices_from_torch(tidx.numpy(), cfg["kernel"], cfg["stride"], input_size=x.shape)
    assert_equal(back.numpy(), idx.numpy())
    assert tidx.element_size() == 8 * idx.data.itemsize
    g = rng.standard_normal(out.shape, dtype=np.float32)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", TORCH_POOL[:3])  # PyTorch keeps one of two values that land together
@pytest.mark.parametrize("restore_size", [False, True])
def test_max_unpool2d_agrees_with_pytorch(cfg, restore_size):
    torch = import_torch(reason="PyTorch is an optional cross-check: pip install torch")
    rng = np.random.default_rng(6)
    x = rng.standard_normal(cfg["shape"], dtype=np.float32)
    if not restore_size:  # crop to the default unpool size, (Ho - 1) * s + k, so PyTorch's flat indices fit it
        ho, wo = max_pool2d_with_indices(tinyseg.tensor(x), cfg["kernel"], cfg["stride"])[0].shape[2:]
        (kh, kw), (sh, sw) = pair(cfg["kernel"]), pair(cfg["stride"] or cfg["kernel"])
        x = np.ascontiguousarray(x[..., :(ho - 1) * sh + kh, :(wo - 1) * sw + kw])
    _, tidx = torch.nn.functional.max_pool2d(torch.from_numpy(x), cfg["kernel"], cfg["stride"],
                                             return_indices=True)
    idx = indices_from_torch(tidx.numpy(), cfg["kernel"], cfg["stride"], input_size=x.shape)
    v = rng.standard_normal(tuple(tidx.shape), dtype=np.float32)
    size = x.shape[2:] if restore_size else None
    t, tt = tinyseg.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    out = max_unpool2d(t, idx, cfg["kernel"], cfg["stride"], output_size=size)
    tout = torch.nn.functional.max_unpool2d(tt, tidx, cfg["kernel"], cfg["stride"], output_size=size)
    assert out.shape == tuple(tout.shape) == x.shape
    assert_equal(out.numpy(), tout.detach().numpy())
    g = rng.standard_normal(out.shape, dtype=np.float32)
    out.backward(g)
    tout.backward(torch.from_numpy(g))
    assert_equal(t.grad, tt.grad.numpy())


def test_max_pool2d_follows_pytorch_return_indices():
    x = tinyseg.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    out, idx = max_pool2d_with_indices(x)
    for pooled in (max_pool2d(x), max_pool2d(x, return_indices=False), nn.MaxPool2d(2)(x)):
        assert isinstance(pooled, tinyseg.Tensor)
        assert_equal(pooled.data, out.data)
    for both in (max_pool2d(x, return_indices=True), nn.MaxPool2d(2, return_indices=True)(x)):
        assert_equal(both[0].data, out.data) and assert_equal(both[1].data, idx.data)
