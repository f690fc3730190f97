"""The fast convolution kernels (channels-last row windows, one wide GEMM per tile) against the
textbook ones they replaced: the (N, C, Ho, Wo, kh, kw) window view and one ``w @ cols`` GEMM
per tile. The textbook version lives here, whole, as the reference (docs/performance.md says
why the library runs the other one); channels-last row windows and padding get their own checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinyseg.functional import conv as conv_module
from tinyseg.functional.window import pad2d, pad_channels_last, row_windows, windows, zeros_like_layout

from .strategies import arrays, conv_configs

# ---- the reference: windows, then w (O, C*kh*kw) @ cols (C*kh*kw, pixels), all pixels at once --


def reference_forward(x, w, stride, pads):
    """x (N, C, H, W), w (O, C, kh, kw) -> (N, O, Ho, Wo) as one GEMM per image."""
    o, c, kh, kw = w.shape
    win = windows(pad2d(x, pads), (kh, kw), stride)
    n, _, ho, wo = win.shape[:4]
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    return (w.reshape(o, -1) @ cols).reshape(n, o, ho, wo)


def reference_weight_grad(x, grad, kernel_size, stride, pads):
    """gw = sum over images of g (O, pixels) @ cols.T (pixels, C*kh*kw)."""
    n, c = x.shape[:2]
    o = grad.shape[1]
    win = windows(pad2d(x, pads), kernel_size, stride)
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kernel_size[0] * kernel_size[1], -1)
    return (grad.reshape(n, o, -1) @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(o, c, *kernel_size)


def _pads(cfg):
    (ph, pw) = cfg["padding"]
    return ((ph, ph), (pw, pw))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), cfg=conv_configs(max_side=9, max_kernel=4), tile_bytes=st.sampled_from([1, 512, 2**25]),
       folded=st.booleans())
def test_fast_forward_and_weight_grad_equal_the_reference(monkeypatch, data, cfg, tile_bytes, folded):
    """Both fast paths (row windows + shifted adds; all kernel rows folded into one matrix), any
    stride, padding, kernel shape and tile size (one row per tile included)."""
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    w = data.draw(arrays((cfg["O"], cfg["C"], *cfg["kernel"])))
    with monkeypatch.context() as m:
        m.setattr(conv_module, "TILE_BYTES", tile_bytes)
        m.setattr(conv_module, "FOLD_LIMIT", 10**9 if folded else 0)
        out = conv_module._conv_forward(x, w, cfg["stride"], _pads(cfg))
        g = data.draw(arrays(out.shape))
        gw = conv_module._conv_weight_grad(x, g, cfg["kernel"], cfg["stride"], _pads(cfg))
    np.testing.assert_allclose(out, reference_forward(x, w, cfg["stride"], _pads(cfg)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, reference_weight_grad(x, g, cfg["kernel"], cfg["stride"], _pads(cfg)),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels", [3, 16])  # an RGB layer takes the folded path, 16 channels the row path
def test_float32_full_width_layer_equals_the_reference_and_is_channels_last(channels):
    """A SegNet-Basic-like layer (7x7) on float32, input given channels-last."""
    rng = np.random.default_rng(0)
    x = np.ascontiguousarray(rng.standard_normal((2, 20, 30, channels), dtype=np.float32)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((16, channels, 7, 7), dtype=np.float32) * 0.05
    out = conv_module._conv_forward(x, w, (1, 1), ((3, 3), (3, 3)))
    assert out.dtype == np.float32 and out.shape == (2, 16, 20, 30)
    assert out.transpose(0, 2, 3, 1).flags.c_contiguous  # channels-last in memory
    ref = reference_forward(x.astype(np.float64), w.astype(np.float64), (1, 1), ((3, 3), (3, 3)))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


@given(data=st.data(), cfg=conv_configs(), dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       crop=st.tuples(st.integers(-1, 0), st.integers(-1, 0)))
def test_pad_channels_last_is_dilate_then_pad2d(data, cfg, dilation, crop):
    x = data.draw(arrays((cfg["N"], cfg["C"], cfg["H"], cfg["W"])))
    (ph, pw), (dh, dw) = cfg["padding"], dilation
    dilated = np.zeros((*x.shape[:2], dh * (x.shape[2] - 1) + 1, dw * (x.shape[3] - 1) + 1))
    dilated[:, :, ::dh, ::dw] = x
    pads = ((ph + crop[0], ph), (pw, pw + crop[1]))
    if min(dilated.shape[2] + sum(pads[0]), dilated.shape[3] + sum(pads[1])) < 1:
        return
    expected = pad2d(dilated, pads).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(pad_channels_last(x, pads, dilation), expected)


def test_row_windows_and_zeros_like_layout():
    x = np.arange(2 * 5 * 7 * 3.0).reshape(2, 5, 7, 3)  # (N, H, W, C)
    view = row_windows(x, 3, 2)
    assert view.shape == (2, 5, 3, 3, 3) and np.shares_memory(view, x)
    for q in range(3):
        np.testing.assert_array_equal(view[:, :, q], x[:, :, 2 * q:2 * q + 3])
    last = zeros_like_layout((2, 3, 4, 4), x.transpose(0, 3, 1, 2))
    assert last.shape == (2, 3, 4, 4) and last.transpose(0, 2, 3, 1).flags.c_contiguous and not last.any()
    first = zeros_like_layout((2, 3, 4, 4), np.zeros((2, 3, 5, 5), np.float32))
    assert first.flags.c_contiguous and first.dtype == np.float32
