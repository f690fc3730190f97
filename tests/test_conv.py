"""conv2d and conv_transpose2d: naive loops and PyTorch as oracles, gradients against central
differences, tiles that do not change the result, and bounded memory on a full-size image."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.functional.conv import conv2d, conv_impl, conv_transpose2d
from tinyseg.functional.window import pad2d, windows
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, assert_equal, import_torch
from .strategies import arrays, conv_configs, conv_transpose_configs


# ---- oracles: the definitions, written as plain loops ---------------------------------------


def naive_conv2d(x, w, b, stride, padding):
    """y[n, o, r, c] = b[o] + sum of w[o] * (the window of x_pad at (r sh, c sw))."""
    (sh, sw), (ph, pw) = stride, padding
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(n):
        for k in range(o):
            for r in range(ho):
                for c in range(wo):
                    out[i, k, r, c] = (xp[i, :, r * sh:r * sh + kh, c * sw:c * sw + kw] * w[k]).sum()
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def naive_conv_transpose2d(x, w, b, stride, padding, output_padding):
    """Every input pixel stamps x[n, c, r, q] * w[c] onto the output at (r sh, q sw); crop the padding."""
    (sh, sw), (ph, pw), (oph, opw) = stride, padding, output_padding
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    full = np.zeros((n, c_out, (h - 1) * sh + kh + oph, (wd - 1) * sw + kw + opw))
    for i in range(n):
        for c in range(c_in):
            for r in range(h):
                for q in range(wd):
                    full[i, :, r * sh:r * sh + kh, q * sw:q * sw + kw] += x[i, c, r, q] * w[c]
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


# ---- the shared window helper ---------------------------------------------------------------


@given(data=st.data(), cfg=conv_configs())
def test_window_view_is_every_window_of_the_padded_input(data, cfg):
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    (ph, pw), (sh, sw), (kh, kw) = cfg["padding"], cfg["stride"], cfg["kernel"]
    xp = pad2d(x, ((ph, ph), (pw, pw)))
    assert_equal(xp, np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))))
    view = windows(xp, (kh, kw), (sh, sw))
    assert np.shares_memory(view, xp)
    for r in range(view.shape[2]):
        for c in range(view.shape[3]):
            assert_equal(view[:, :, r, c], xp[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw])


def test_pad2d_crops_with_negative_amounts():
    x = np.arange(2 * 5 * 6.0).reshape(1, 2, 5, 6)
    assert_equal(pad2d(x, ((-1, -2), (0, -3))), x[:, :, 1:3, 0:3])
    out = pad2d(x, ((-1, 2), (1, -1)))
    assert out.shape == (1, 2, 6, 6)
    assert_equal(out[:, :, :4, 1:], x[:, :, 1:, :5])
    assert out[:, :, 4:].sum() == 0 and out[:, :, :, 0].sum() == 0


# ---- properties: forward against the loops, backward against central differences ------------


IMPLS = pytest.mark.parametrize("impl", ["fast", "reference"])


@IMPLS
@given(data=st.data(), cfg=conv_configs(), with_bias=st.booleans())
def test_conv2d_matches_the_loop_and_its_gradient_is_right(impl, data, cfg, with_bias):
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    w = data.draw(arrays((cfg["O"], cfg["C"], *cfg["kernel"])))
    b = data.draw(arrays((cfg["O"],))) if with_bias else None
    tensors = [tinyseg.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    with conv_impl(impl):
        out = conv2d(*tensors, stride=cfg["stride"], padding=cfg["padding"])
        expected = naive_conv2d(x, w, b, cfg["stride"], cfg["padding"])
        assert_close(out.numpy(), expected, rtol=1e-12, atol=1e-12)
        assert gradcheck(lambda *t: conv2d(*t, stride=cfg["stride"], padding=cfg["padding"]), tensors)


@IMPLS
@given(data=st.data(), cfg=conv_transpose_configs(), with_bias=st.booleans())
def test_conv_transpose2d_matches_the_loop_and_its_gradient_is_right(impl, data, cfg, with_bias):
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    w = data.draw(arrays((cfg["C"], cfg["O"], *cfg["kernel"])))  # (C_in, C_out, kh, kw)
    b = data.draw(arrays((cfg["O"],))) if with_bias else None
    tensors = [tinyseg.tensor(a, requires_grad=True) for a in (x, w, b) if a is not None]
    args = dict(stride=cfg["stride"], padding=cfg["padding"], output_padding=cfg["output_padding"])
    with conv_impl(impl):
        out = conv_transpose2d(*tensors, **args)
        expected = naive_conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"], cfg["output_padding"])
        assert_close(out.numpy(), expected, rtol=1e-12, atol=1e-12)
        assert gradcheck(lambda *t: conv_transpose2d(*t, **args), tensors)


@pytest.mark.parametrize("cfg", [
    dict(shape=(2, 3, 9, 7), weight=(4, 3, 3, 2), stride=1, padding=1),
    dict(shape=(2, 2, 11, 8), weight=(3, 2, 3, 3), stride=(2, 3), padding=(2, 1)),
    dict(shape=(1, 2, 6, 6), weight=(2, 2, 2, 2), stride=1, padding=3),
])
def test_tiles_of_one_row_give_the_same_result(monkeypatch, cfg):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(cfg["shape"]), rng.standard_normal(cfg["weight"])
    wt_ = rng.standard_normal((cfg["weight"][0], 2, 3, 2))

    def run():
        """conv2d then conv_transpose2d, forward and backward: every tiled kernel runs."""
        xt, wt, vt = (tinyseg.tensor(a, requires_grad=True) for a in (x, w, wt_))
        y = conv_transpose2d(conv2d(xt, wt, stride=cfg["stride"], padding=cfg["padding"]), vt, stride=2, padding=1)
        y.backward(np.linspace(-1, 1, y.size).reshape(y.shape))
        return y.numpy(), xt.grad, wt.grad, vt.grad

    default = run()
    monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), 1)  # every tile is a single row
    for one_row, big in zip(run(), default):
        assert_close(one_row, big, rtol=1e-12, atol=1e-12)


# ---- dtypes and errors ----------------------------------------------------------------------


def test_float32_stays_float32_forward_and_backward():
    rng = np.random.default_rng(1)
    x = tinyseg.tensor(rng.standard_normal((2, 3, 8, 8), dtype=np.float32), requires_grad=True)
    w = tinyseg.tensor(rng.standard_normal((4, 3, 3, 3), dtype=np.float32), requires_grad=True)
    b = tinyseg.tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
    y = conv2d(x, w, b, stride=2, padding=1)
    y.backward(np.ones(y.shape, dtype=np.float32), retain_graph=True)  # z below backs through y again
    wt = tinyseg.tensor(rng.standard_normal((4, 2, 2, 2), dtype=np.float32), requires_grad=True)
    z = conv_transpose2d(y, wt, stride=2, output_padding=1)
    z.backward(np.ones(z.shape, dtype=np.float32))
    assert {a.dtype for a in (y.data, z.data, x.grad, w.grad, b.grad, wt.grad)} == {np.dtype(np.float32)}


def test_errors_name_the_op_and_the_shapes():
    x = tinyseg.tensor(np.zeros((1, 3, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"conv2d: x \(1, 3, 5, 5\) has 3 channels but weight \(2, 4, 3, 3\)"):
        conv2d(x, tinyseg.tensor(np.zeros((2, 4, 3, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"conv2d: a 7x7 kernel does not fit in x \(1, 3, 5, 5\)"):
        conv2d(x, tinyseg.tensor(np.zeros((2, 3, 7, 7), dtype=np.float32)))
    with pytest.raises(TypeError, match="conv2d: x is float32 but weight is float64"):
        conv2d(x, tinyseg.tensor(np.zeros((2, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding \(2, 2\) .* smaller than the stride"):
        conv_transpose2d(x, tinyseg.tensor(np.zeros((3, 2, 3, 3), dtype=np.float32)), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv_transpose2d: x \(1, 3, 5, 5\) has 3 channels but weight \(2, 3"):
        conv_transpose2d(x, tinyseg.tensor(np.zeros((2, 3, 3, 3), dtype=np.float32)))


# ---- PyTorch as a third oracle --------------------------------------------------------------

TORCH_CONV = [
    dict(shape=(2, 3, 13, 11), weight=(5, 3, 3, 3), stride=1, padding=1),
    dict(shape=(1, 4, 16, 15), weight=(6, 4, 7, 7), stride=1, padding=3),
    dict(shape=(2, 2, 12, 9), weight=(3, 2, 3, 2), stride=(2, 1), padding=(0, 2)),
    dict(shape=(1, 3, 10, 10), weight=(2, 3, 4, 4), stride=3, padding=2),
    dict(shape=(1, 2, 5, 4), weight=(2, 2, 2, 3), stride=2, padding=4),
]


def _torch_check(ours, theirs, grads_ours, grads_theirs):
    assert_close(ours.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-4)
    for a, t in zip(grads_ours, grads_theirs):
        assert_close(a, t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", TORCH_CONV)
def test_conv2d_agrees_with_pytorch(cfg):
    torch = import_torch(reason="PyTorch is an optional cross-check: pip install torch")
    rng = np.random.default_rng(2)
    shapes = (cfg["shape"], cfg["weight"], (cfg["weight"][0],))  # x, weight (O, C, kh, kw), bias (O,)
    arrays_ = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    ours = [tinyseg.tensor(a, requires_grad=True) for a in arrays_]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays_]
    y = conv2d(*ours, stride=cfg["stride"], padding=cfg["padding"])
    ty = torch.nn.functional.conv2d(*theirs, stride=cfg["stride"], padding=cfg["padding"])
    g = rng.standard_normal(y.shape, dtype=np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    _torch_check(y, ty, [t.grad for t in ours], theirs)


TORCH_CONV_TRANSPOSE = [
    dict(shape=(2, 3, 5, 6), weight=(3, 4, 2, 2), stride=2, padding=0, output_padding=0),
    dict(shape=(1, 2, 4, 5), weight=(2, 3, 4, 3), stride=(2, 3), padding=(1, 1), output_padding=(1, 2)),
    dict(shape=(2, 4, 6, 6), weight=(4, 2, 3, 3), stride=1, padding=1, output_padding=0),
    dict(shape=(1, 2, 3, 3), weight=(2, 2, 5, 5), stride=3, padding=4, output_padding=2),
]


@pytest.mark.torch
@pytest.mark.parametrize("cfg", TORCH_CONV_TRANSPOSE)
def test_conv_transpose2d_agrees_with_pytorch(cfg):
    torch = import_torch(reason="PyTorch is an optional cross-check: pip install torch")
    rng = np.random.default_rng(3)
    shapes = (cfg["shape"], cfg["weight"], (cfg["weight"][1],))  # x, weight (C_in, C_out, kh, kw), bias (C_out,)
    arrays_ = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    ours = [tinyseg.tensor(a, requires_grad=True) for a in arrays_]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays_]
    args = dict(stride=cfg["stride"], padding=cfg["padding"], output_padding=cfg["output_padding"])
    y = conv_transpose2d(*ours, **args)
    ty = torch.nn.functional.conv_transpose2d(*theirs, **args)
    g = rng.standard_normal(y.shape, dtype=np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    _torch_check(y, ty, [t.grad for t in ours], theirs)


# ---- memory: a full-size SegNet layer without a full im2col ---------------------------------


def test_full_size_conv_stays_far_below_a_full_window_matrix(monkeypatch):
    """1x64x360x480 with a 7x7 kernel: the window matrix of the whole image would be 2.2 GB.

    Only 8 output channels keep the matrix products (and the test) short; the window matrix
    does not depend on them. NumPy (and the CuPy double) report allocations to tracemalloc.
    The CPU's 32 MB tile budget is pinned, so the bound means the same on either backend.
    """
    monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), 32 * 2**20)
    rng = np.random.default_rng(4)
    x = tinyseg.tensor(rng.standard_normal((1, 64, 360, 480), dtype=np.float32), requires_grad=True)
    w = tinyseg.tensor(rng.standard_normal((8, 64, 7, 7), dtype=np.float32) * 0.02, requires_grad=True)
    full_im2col = 64 * 7 * 7 * 360 * 480 * 4
    assert full_im2col > 2 * 10**9
    tracemalloc.start()
    try:
        y = conv2d(x, w, padding=3)
        y.backward(np.ones(y.shape, dtype=np.float32))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert y.shape == (1, 8, 360, 480) and x.grad.shape == x.shape and w.grad.shape == w.shape
    # spot-check a few outputs and weight-gradient entries against the definitions
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (3, 3), (3, 3)))
    for r, c in [(0, 0), (123, 456), (359, 479)]:
        expected = (xp[0, :, r:r + 7, c:c + 7] * w.numpy()).sum(axis=(1, 2, 3))
        assert_close(y.numpy()[0, :, r, c], expected, rtol=1e-4, atol=1e-4)
    # with g = 1: gw[o, c, i, j] = sum of x_pad[c] over the window of offsets (i, j)
    assert_close(w.grad[0, 5, 2, 4], xp[0, 5, 2:2 + 360, 4:4 + 480].sum(dtype=np.float64), rtol=1e-3)
