"""The two sets of convolution kernels agree: the textbook reference in conv.py (window view, one
GEMM; its input gradient a convolution with the flipped kernel) and the tuned ones in conv_fast.py
(channels-last row windows, the batch as one tall image, wide GEMMs per tile), forward and both
gradients, on drawn shapes, strides, paddings, kernels and tile budgets. Also: the tiling plan
that makes a layer a handful of GEMMs on CuPy, and the channels-last helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.functional import conv as conv_module
from tinyseg.functional import conv_fast
from tinyseg.functional.conv import conv2d, conv_impl, conv_transpose2d, gemm_plan
from tinyseg.functional.window import dilate, is_channels_last, pad2d, pad_channels_last, windows, zeros_like_layout
from tinyseg.engine.gradcheck import gradcheck

from .strategies import arrays, conv_configs, conv_transpose_configs

TILE_BUDGETS = st.sampled_from([1, 3000, 2**25])  # one row per tile, a few rows, the whole batch


def _run(impl, op, arrays_, grad, **args):
    """op forward and backward under ``impl``: (y, gx, gw, gb) as NumPy arrays."""
    with conv_impl(impl):
        tensors = [tinyseg.tensor(a, requires_grad=True) for a in arrays_]
        y = op(*tensors, **args)
        y.backward(grad)
    return [y.numpy()] + [backend.to_numpy(t.grad) for t in tensors]


def _assert_agree(op, arrays_, data, **args):
    with conv_impl("reference"):
        shape = op(*[tinyseg.tensor(a) for a in arrays_], **args).shape
    grad = data.draw(arrays(shape))
    for fast, ref in zip(_run("fast", op, arrays_, grad, **args), _run("reference", op, arrays_, grad, **args)):
        np.testing.assert_allclose(fast, ref, rtol=1e-10, atol=1e-10)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data(), cfg=conv_configs(max_side=9, max_kernel=4), budget=TILE_BUDGETS,
       wide=st.booleans())
def test_conv2d_fast_equals_reference_forward_and_both_gradients(monkeypatch, data, cfg, budget, wide):
    """``wide``: 29-34 input channels, so C*kh*kw passes FOLD_LIMIT for kernels of 9 weights or more
    (the row-window path of every 64-channel SegNet layer); else 1-3 channels (the folded path)."""
    c = data.draw(st.integers(29, 34)) if wide else cfg["C"]
    x = data.draw(arrays((cfg["N"], c, cfg["H"], cfg["W"])))
    w = data.draw(arrays((cfg["O"], c, *cfg["kernel"])))
    b = data.draw(arrays((cfg["O"],)))
    monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), budget)
    _assert_agree(conv2d, [x, w, b], data, stride=cfg["stride"], padding=cfg["padding"])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data(), cfg=conv_transpose_configs(), budget=TILE_BUDGETS, wide=st.booleans())
def test_conv_transpose2d_fast_equals_reference(monkeypatch, data, cfg, budget, wide):
    c = data.draw(st.integers(29, 34)) if wide else cfg["C"]
    x = data.draw(arrays((cfg["N"], c, cfg["H"], cfg["W"])))
    w = data.draw(arrays((c, cfg["O"], *cfg["kernel"])))
    monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), budget)
    _assert_agree(conv_transpose2d, [x, w], data, stride=cfg["stride"], padding=cfg["padding"],
                  output_padding=cfg["output_padding"])


def test_conv_impl_switches_and_restores():
    assert conv_module._active["name"] == "fast"
    with conv_impl("reference"):
        assert conv_module._active["name"] == "reference"
        with conv_impl("fast"):
            assert conv_module._active["name"] == "fast"
        assert conv_module._active["name"] == "reference"
    assert conv_module._active["name"] == "fast"
    conv_impl("reference")
    try:
        assert conv_module._active["name"] == "reference"
    finally:
        conv_impl("fast")
    with pytest.raises(ValueError, match="conv_impl: unknown implementation 'slow'; choose one of reference, fast"):
        conv_impl("slow")


@pytest.mark.parametrize("channels", [3, 16, 64])  # the folded path, the row path, the 1x1 path below
def test_float32_full_width_layer_is_channels_last_and_equals_the_reference(channels):
    """A SegNet-Basic-like 7x7 layer on float32, input given channels-last, 2 images."""
    rng = np.random.default_rng(0)
    x = np.ascontiguousarray(rng.standard_normal((2, 20, 30, channels), dtype=np.float32)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((16, channels, 7, 7), dtype=np.float32) * 0.05
    pads = ((3, 3), (3, 3))
    out = conv_fast.forward(x, w, (1, 1), pads)
    assert out.dtype == np.float32 and out.shape == (2, 16, 20, 30) and is_channels_last(out)
    assert out.strides[1] == 4 and out.strides[3] == 16 * 4  # channels innermost, then columns
    ref = conv_module.reference_forward(x.astype(np.float64), w.astype(np.float64), (1, 1), pads)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
    classifier = rng.standard_normal((11, 16, 1, 1), dtype=np.float32)
    logits = conv_fast.forward(out, classifier, (1, 1), ((0, 0), (0, 0)))  # 1x1: no padded copy
    np.testing.assert_allclose(logits, conv_module.reference_forward(out, classifier, (1, 1), ((0, 0), (0, 0))),
                               rtol=1e-5, atol=1e-5)


def _conv_by_loops(x, w, b, stride, padding):
    """y[n, o, r, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c, r s + i, q s + j], one output pixel at a time."""
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    kh, kw = w.shape[2:]
    ho, wo = (xp.shape[2] - kh) // stride + 1, (xp.shape[3] - kw) // stride + 1
    y = np.empty((x.shape[0], w.shape[0], ho, wo))
    for r in range(ho):
        for q in range(wo):
            patch = xp[:, :, r * stride:r * stride + kh, q * stride:q * stride + kw]
            y[:, :, r, q] = np.einsum("ncij,ocij->no", patch, w) + b
    return y


@pytest.mark.parametrize("stride,padding,budget", [(1, 3, None), (2, 2, 3000)],
                         ids=["stride1-one-tile", "stride2-few-rows-per-tile"])
def test_row_window_path_passes_gradcheck(monkeypatch, stride, padding, budget):
    """The row-window path that every 64-channel SegNet layer runs (C*kh*kw > FOLD_LIMIT), checked
    against central differences and a loop, not only against the reference kernels: forward, input
    gradient (itself a convolution from O channels, so O*kh*kw > FOLD_LIMIT as well: the row path
    again) and weight gradient, with a random upstream gradient, float64, 2 images (the gap rows of the
    tall image). The hypothesis gradchecks in test_conv.py never draw C*kh*kw above the limit."""
    kh = kw = 7
    c = conv_fast.FOLD_LIMIT // (kh * kw) + 1  # 6 channels: 294 weights per output channel
    o = c + 1
    assert c * kh * kw > conv_fast.FOLD_LIMIT and o * kh * kw > conv_fast.FOLD_LIMIT
    if budget is not None:
        monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), budget)
    paths = []
    original = conv_fast._path

    def spy(x_shape, w_shape, *args):
        paths.append((tuple(w_shape), original(x_shape, w_shape, *args)))
        return paths[-1][1]

    monkeypatch.setattr(conv_fast, "_path", spy)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, c, 5, 6))
    w = rng.standard_normal((o, c, kh, kw)) * 0.1
    b = rng.standard_normal(o)
    tensors = [tinyseg.tensor(a, requires_grad=True) for a in (x, w, b)]

    def conv(x_, w_, b_):
        return conv2d(x_, w_, b_, stride=stride, padding=padding)

    with conv_impl("fast"):
        np.testing.assert_allclose(conv(*tensors).numpy(), _conv_by_loops(x, w, b, stride, padding),
                                   rtol=1e-12, atol=1e-12)
        assert gradcheck(conv, tensors, atol=1e-6, rtol=1e-6, names=["x", "weight", "bias"])
    # forward and weight gradient on (O, C, 7, 7), the input gradient on the flipped (C, O, 7, 7): all rows
    assert {shape for shape, _ in paths} == {(o, c, kh, kw), (c, o, kh, kw)}
    assert {path for _, path in paths} == {"rows"}


# ---- the tiling plan: a handful of GEMMs per layer on CuPy -------------------------------------


SEGNET_BASIC_7X7 = [(3, 1), (64, 2), (64, 4), (64, 8)] + [(64, s) for s in (8, 4, 2, 1)]  # (in channels, scale)


def test_segnet_basic_on_cupy_is_at_most_4_gemms_per_7x7_layer():
    """Batch 4 at 360x480, computed from shapes only (nothing that size is allocated)."""
    for c, scale in SEGNET_BASIC_7X7:
        x_shape = (4, c, 360 // scale, 480 // scale)
        plan = gemm_plan(x_shape, (64, c, 7, 7), stride=1, padding=3, backend_name="cupy")
        assert max(plan.values()) <= 4, (x_shape, plan)
        # the CPU's budget keeps tiles small: many more products for the same layer
        if scale == 1:
            assert min(gemm_plan(x_shape, (64, c, 7, 7), padding=3, backend_name="numpy").values()) > 4


@pytest.mark.parametrize("cfg", [
    dict(x=(3, 40, 13, 11), w=(8, 40, 7, 7), stride=1, padding=3),  # row path
    dict(x=(2, 3, 14, 9), w=(5, 3, 3, 4), stride=(2, 3), padding=(1, 2)),  # folded path
    dict(x=(2, 30, 12, 7), w=(6, 30, 3, 3), stride=2, padding=0),  # strided row path, input grad dilated
    dict(x=(2, 16, 5, 6), w=(11, 16, 1, 1), stride=1, padding=0),  # 1x1
])
def test_gemm_plan_counts_the_tiles_that_run(monkeypatch, cfg):
    monkeypatch.setitem(backend.CONV_TILE_BYTES, backend.name(), 2000)
    plan = gemm_plan(cfg["x"], cfg["w"], cfg["stride"], cfg["padding"])
    ran = []
    original = conv_fast.tile_plan
    monkeypatch.setattr(conv_fast, "tile_plan", lambda *a, **k: ran.append(len(original(*a, **k))) or original(*a, **k))
    rng = np.random.default_rng(0)
    x = tinyseg.tensor(rng.standard_normal(cfg["x"], dtype=np.float32), requires_grad=True)
    w = tinyseg.tensor(rng.standard_normal(cfg["w"], dtype=np.float32), requires_grad=True)
    y = conv2d(x, w, stride=cfg["stride"], padding=cfg["padding"])
    y.backward(np.ones(y.shape, dtype=np.float32))
    assert sorted(ran) == sorted(plan.values()) and plan["forward"] >= 1
    if cfg["w"][2] > 1:
        assert plan["forward"] > 1  # the small budget does cut the layer into several tiles


# ---- the channels-last helpers ---------------------------------------------------------------


@given(data=st.data(), cfg=conv_configs(), dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       crop=st.tuples(st.integers(-1, 0), st.integers(-1, 0)))
def test_pad_channels_last_is_dilate_then_pad2d(data, cfg, dilation, crop):
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    (ph, pw), (dh, dw) = cfg["padding"], dilation
    dilated = np.zeros((*x.shape[:2], dh * (x.shape[2] - 1) + 1, dw * (x.shape[3] - 1) + 1))
    dilated[:, :, ::dh, ::dw] = x
    np.testing.assert_array_equal(dilate(x, dilation), dilated)
    pads = ((ph + crop[0], ph), (pw, pw + crop[1]))
    if min(dilated.shape[2] + sum(pads[0]), dilated.shape[3] + sum(pads[1])) < 1:
        return
    expected = pad2d(dilated, pads).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(pad_channels_last(x, pads, dilation), expected)


def test_channels_last_windows_and_row_windows_are_views():
    x = np.arange(2 * 5 * 7 * 3.0).reshape(2, 5, 7, 3)  # (N, H, W, C)
    view = windows(x, (2, 3), (2, 2), channels_last=True)  # (N, Ho, Wo, kh, kw, C)
    assert view.shape == (2, 2, 3, 2, 3, 3) and np.shares_memory(view, x)
    for r in range(2):
        for q in range(3):
            np.testing.assert_array_equal(view[:, r, q], x[:, 2 * r:2 * r + 2, 2 * q:2 * q + 3])
    # the same windows as the NCHW ones, channels moved last
    nchw = windows(x.transpose(0, 3, 1, 2), (2, 3), (2, 2))
    np.testing.assert_array_equal(view, nchw.transpose(0, 2, 3, 4, 5, 1))
    # conv_fast's row windows: height-1 windows of the tall image, flattened without a copy
    tall = x.reshape(1, -1, 7, 3)
    rows = conv_fast._row_windows(tall, 3, 2)
    assert rows.shape == (10, 3, 9) and np.shares_memory(rows, x)
    for q in range(3):
        np.testing.assert_array_equal(rows[:, q], tall[0, :, 2 * q:2 * q + 3].reshape(10, 9))


def test_zeros_like_layout():
    x = np.zeros((2, 5, 7, 3))
    last = zeros_like_layout((2, 3, 4, 4), x.transpose(0, 3, 1, 2))
    assert last.shape == (2, 3, 4, 4) and last.transpose(0, 2, 3, 1).flags.c_contiguous and not last.any()
    first = zeros_like_layout((2, 3, 4, 4), np.zeros((2, 3, 5, 5), np.float32))
    assert first.flags.c_contiguous and first.dtype == np.float32
