"""Convolution as row windows plus one matrix product per tile, channels-last, in tiles of rows.

Three kernels do all the work, and both ops below are made of them:

- :func:`_conv_forward`: copy x into a zero-padded channels-last array (N, Hp, Wp, C)
  (``window.pad_channels_last``), take the ``kw``-wide windows along each row
  (``window.row_windows``) and, for a tile of output rows, copy the windows of the input rows
  it reads into a matrix ``R`` (pixels, kw*C). One GEMM ``Z = R @ W`` with the weights laid out
  as (kw*C, kh*O) gives, for every input row, its contribution to every kernel row ``i``;
  output row ``r`` is the sum over ``i`` of ``Z``'s row ``r*s + i``, block ``i``: kh shifted adds.
- :func:`_conv_weight_grad`: the same tiles; kernel row ``i`` met the input rows ``r*s + i``,
  a slice of ``R`` (a view when s = 1), so ``gw[:, :, i] += R_slice.T @ g_tile``: kh GEMMs.
- :func:`_conv_input_grad`: the output gradient, dilated by the stride and padded, convolved
  (by :func:`_conv_forward`) with the kernel flipped in space and with in/out channels swapped.

Why this shape of GEMM (docs/performance.md has the measurements): with ``(pixels, K) @ (K, N)``
the long side is the pixels and both K = kw*C and N = kh*O are hundreds wide, which BLAS runs
several times faster than the textbook ``w (O, C*kh*kw) @ cols (C*kh*kw, pixels)`` with only
O = 64 rows; and the copied matrix holds each input value kw times, not kh*kw times. The outputs
are channels-last arrays returned as (N, O, Ho, Wo) views, so the next convolution's
channels-last copy reads memory in order. tests/test_conv_paths.py keeps the textbook version
(windows, one ``w @ cols`` per tile) as the reference that this one must equal.

conv2d runs forward / weight grad / input grad. conv_transpose2d *is* conv2d's input gradient,
so its forward is :func:`_conv_input_grad` and its backward uses the other two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor
from .window import Pads, output_size, pad_channels_last, pair, row_windows, windows_channels_last

__all__ = ["conv2d", "conv_transpose2d"]

TILE_BYTES = 32 * 2**20
"""About how many bytes one tile's matrices may take (R: kw*C values per pixel, Z: kh*O)."""

FOLD_LIMIT = 256
"""Kernels with at most this many weights per output channel (C*kh*kw: an RGB input layer) fold
all kernel rows into R: one GEMM straight into the output, no shifted adds. With 3 channels a
row window is only kw*3 wide, too thin for a fast GEMM, and Z (kh*O per pixel) would dwarf it."""


def _tiles(rwin: Any, kh: int, sh: int, ho: int, width: int) -> Iterator[tuple[int, int, int, Any]]:
    """Walk row windows (N, Hp, Wo, kw, C) in tiles of output rows of one image.

    Yields ``(n, r0, r1, R)``: R (rows_in * Wo, kw*C) holds, row by row, the windows of the
    ``rows_in = (r1 - r0 - 1) * sh + kh`` input rows that output rows r0:r1 read, starting at
    input row ``r0 * sh``. ``width``: the widest matrix per pixel (values), which sets the tile size.
    """
    n_img, _, wo, kw, c = rwin.shape
    budget = TILE_BYTES // (wo * width * rwin.itemsize)  # input rows per tile
    rows = max(1, (budget - kh) // sh + 1)
    for n in range(n_img):
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            yield n, r0, r1, rwin[n, r0 * sh:(r1 - 1) * sh + kh].reshape(-1, kw * c)


def _conv_forward(x: Any, w: Any, stride: tuple[int, int], pads: Pads,
                  dilation: tuple[int, int] = (1, 1)) -> Any:
    """x (N, C, H, W), w (O, C, kh, kw) -> (N, O, Ho, Wo) (a channels-last view): the cross-correlation.

    ``dilation``: spread x's pixels apart first (``window.pad_channels_last``), for input gradients.
    """
    o, c, kh, kw = w.shape
    sh, sw = stride
    xpad = pad_channels_last(x, pads, dilation)
    if c * kh * kw <= FOLD_LIMIT:
        return _folded_forward(xpad, w, stride)
    rwin = row_windows(xpad, kw, sw)
    n, ho, wo = xpad.shape[0], output_size(xpad.shape[1], kh, sh), rwin.shape[2]
    wz = w.transpose(3, 1, 2, 0).reshape(kw * c, kh * o)  # rows (j, c) match R's columns; columns (i, o)
    out = backend.xp_of(x).empty((n, ho, wo, o), dtype=x.dtype)
    for i, r0, r1, rmat in _tiles(rwin, kh, sh, ho, max(kw * c, kh * o)):
        z = (rmat @ wz).reshape(-1, wo, kh, o)  # z[h, q, i] = row h's windows times kernel row i
        dst = out[i, r0:r1]
        last = sh * (r1 - r0 - 1) + 1
        dst[...] = z[0:last:sh, :, 0]
        for a in range(1, kh):
            dst += z[a:a + last:sh, :, a]  # output row r takes kernel row a from input row r*sh + a
    return out.transpose(0, 3, 1, 2)


def _folded_tiles(win: Any) -> Iterator[tuple[int, int, int, Any]]:
    """Tiles of a channels-last window view (N, Ho, Wo, kh, kw, C): ``(n, r0, r1, R)`` with
    R (rows * Wo, kh*kw*C) the windows of output rows r0:r1, in weight order (i, j, c)."""
    n_img, ho, wo = win.shape[:3]
    k = win.shape[3] * win.shape[4] * win.shape[5]
    rows = max(1, TILE_BYTES // (wo * k * win.itemsize))
    for n in range(n_img):
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            yield n, r0, r1, win[n, r0:r1].reshape(-1, k)


def _folded_forward(xpad: Any, w: Any, stride: tuple[int, int]) -> Any:
    """The convolution of a padded channels-last input for small C*kh*kw: y_tile = R @ w (kh*kw*C, O)."""
    o, _, kh, kw = w.shape
    win = windows_channels_last(xpad, (kh, kw), stride)
    n, ho, wo = win.shape[:3]
    w2 = w.transpose(2, 3, 1, 0).reshape(-1, o)
    out = backend.xp_of(xpad).empty((n, ho, wo, o), dtype=xpad.dtype)
    for i, r0, r1, rmat in _folded_tiles(win):
        out[i, r0:r1] = (rmat @ w2).reshape(r1 - r0, wo, o)
    return out.transpose(0, 3, 1, 2)


def _conv_weight_grad(x: Any, grad: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                      pads: Pads) -> Any:
    """x (N, C, H, W), grad (N, O, Ho, Wo) -> (O, C, kh, kw): sum over tiles and kernel rows of R_i.T @ g."""
    xp = backend.xp_of(x)
    c, o = x.shape[1], grad.shape[1]
    (kh, kw), (sh, sw) = kernel_size, stride
    xpad = pad_channels_last(x, pads)
    g = xp.ascontiguousarray(grad.transpose(0, 2, 3, 1))  # (N, Ho, Wo, O); no copy if channels-last
    if c * kh * kw <= FOLD_LIMIT:  # gw = sum over tiles of R.T @ g_tile, as (kh, kw, C, O)
        gw = xp.zeros((kh * kw * c, o), dtype=x.dtype)
        for i, r0, r1, rmat in _folded_tiles(windows_channels_last(xpad, kernel_size, stride)):
            gw += rmat.T @ g[i, r0:r1].reshape(-1, o)
        return gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
    rwin = row_windows(xpad, kw, sw)
    ho, wo = g.shape[1:3]
    gw = xp.zeros((kh, kw * c, o), dtype=x.dtype)
    for i, r0, r1, rmat in _tiles(rwin, kh, sh, ho, kw * c):
        rows = rmat.reshape(-1, wo, kw * c)
        gt = g[i, r0:r1].reshape(-1, o)
        last = sh * (r1 - r0 - 1) + 1
        for a in range(kh):  # kernel row a met input rows r*sh + a: a view of R when sh == 1
            gw[a] += rows[a:a + last:sh].reshape(-1, kw * c).T @ gt
    return gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1)


def _conv_input_grad(grad: Any, w: Any, stride: tuple[int, int], pads: Pads,
                     input_hw: tuple[int, int]) -> Any:
    """grad (N, O, Ho, Wo), w (O, C, kh, kw) -> gradient of the input (N, C, H, W).

    Input pixel u received w[i] * x[u] in output y with y*s + i = u + pad, so its gradient is
    sum_i w[i] g[(u + pad - i) / s]: a convolution of the dilated gradient, padded by
    ``k - 1 - pad``, with the flipped kernel. A negative pad crops; the extra ``r`` at the
    bottom/right restores the rows that a floored forward never reached (they get zeros).
    """
    kh, kw = w.shape[2:]
    (sh, sw), ((pt, pb), (pl, pr)) = stride, pads
    ho, wo = grad.shape[2:]
    rh = input_hw[0] + pt + pb - kh - sh * (ho - 1)
    rw = input_hw[1] + pl + pr - kw - sw * (wo - 1)
    flipped = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]  # (C, O, kh, kw)
    full = ((kh - 1 - pt, kh - 1 - pb + rh), (kw - 1 - pl, kw - 1 - pr + rw))
    return _conv_forward(grad, flipped, (1, 1), full, dilation=stride)


def _check(op: str, x: Any, weight: Any, bias: Any, in_axis: int, out_axis: int) -> None:
    """Shape and dtype errors that name the op and the shapes at fault."""
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{op}: expected x (N, C, H, W) and a 4-d weight, got x {tuple(x.shape)}, "
                         f"weight {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(f"{op}: x {tuple(x.shape)} has {x.shape[1]} channels but weight "
                         f"{tuple(weight.shape)} expects {weight.shape[in_axis]} (its axis {in_axis})")
    if bias is not None and tuple(bias.shape) != (weight.shape[out_axis],):
        raise ValueError(f"{op}: bias {tuple(bias.shape)} should be ({weight.shape[out_axis]},) "
                         f"for weight {tuple(weight.shape)}")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and a.dtype != x.dtype:
            raise TypeError(f"{op}: x is {x.dtype} but {name} is {a.dtype}; cast one of them (.astype)")


def _check_params(op: str, stride: tuple[int, int], padding: tuple[int, int]) -> Pads:
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride must be >= 1 and padding >= 0, got stride {stride}, padding {padding}")
    return ((padding[0], padding[0]), (padding[1], padding[1]))


class Conv2d(Function):
    """y = w * x + b.  backward: gx = conv(dilated g, flipped w^T), gw = sum_tiles g cols^T, gb = sum g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, stride: tuple[int, int],
                padding: tuple[int, int]) -> Any:
        _check("conv2d", x, weight, bias, in_axis=1, out_axis=0)
        pads = _check_params("conv2d", stride, padding)
        kh, kw = weight.shape[2:]
        h, w = x.shape[2:]
        if output_size(h, kh, stride[0], 2 * padding[0]) < 1 or output_size(w, kw, stride[1], 2 * padding[1]) < 1:
            raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit in x {tuple(x.shape)} "
                             f"padded by {padding}")
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.pads = stride, pads
        out = _conv_forward(x, weight, stride, pads)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = _conv_input_grad(grad, weight, ctx.stride, ctx.pads, x.shape[2:]) if need_x else None
        gw = _conv_weight_grad(x, grad, weight.shape[2:], ctx.stride, ctx.pads) if need_w else None
        gb = grad.sum(axis=(0, 2, 3)) if need_b else None
        return gx, gw, gb


class ConvTranspose2d(Function):
    """y = conv2d's input gradient, applied to x.  backward: gx = conv2d(g, w), gw = conv2d's gw(g, x)"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, stride: tuple[int, int],
                padding: tuple[int, int], output_padding: tuple[int, int]) -> Any:
        _check("conv_transpose2d", x, weight, bias, in_axis=0, out_axis=1)
        pads = _check_params("conv_transpose2d", stride, padding)
        if not all(0 <= op < s for op, s in zip(output_padding, stride)):
            raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be >= 0 and "
                             f"smaller than the stride {stride}")
        kh, kw = weight.shape[2:]
        h, w = x.shape[2:]
        out_hw = ((h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0],
                  (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1])
        if min(out_hw) < 1:
            raise ValueError(f"conv_transpose2d: x {tuple(x.shape)} with weight {tuple(weight.shape)}, "
                             f"stride {stride}, padding {padding} gives an empty output {out_hw}")
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.pads = stride, pads
        out = _conv_input_grad(x, weight, stride, pads, out_hw)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = _conv_forward(grad, weight, ctx.stride, ctx.pads) if need_x else None
        gw = _conv_weight_grad(grad, x, weight.shape[2:], ctx.stride, ctx.pads) if need_w else None
        gb = grad.sum(axis=(0, 2, 3)) if need_b else None
        return gx, gw, gb


def _tensor(a: Any) -> Any:
    return a if a is None or isinstance(a, Tensor) else Tensor(a)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0) -> Tensor:
    """2-d convolution (cross-correlation, as in PyTorch) of a batch of images.

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) or None; stride and padding (zeros):
    int or (h, w) pair. Returns (N, O, Ho, Wo) with ``Ho = (H + 2 ph - kh) // sh + 1``.
    ``y[n, o, r, c] = b[o] + sum_{c', i, j} w[o, c', i, j] x_pad[n, c', r sh + i, c sw + j]``.
    backward: gx is the convolution of the dilated, padded output gradient with the kernel
    flipped and transposed (O <-> C); gw = sum over tiles of g_tile @ windows_tile^T; gb = sum g.
    """
    return Conv2d.apply(_tensor(x), _tensor(weight), _tensor(bias),
                        stride=pair(stride, "stride"), padding=pair(padding, "padding"))


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                     output_padding: int | tuple[int, int] = 0) -> Tensor:
    """Transposed convolution ("deconvolution", learned upsampling), PyTorch's semantics.

    x: (N, C_in, H, W), weight: (C_in, C_out, kh, kw), bias: (C_out,) or None. Returns
    (N, C_out, Ho, Wo) with ``Ho = (H - 1) sh - 2 ph + kh + oph`` (output_padding < stride).
    It is exactly the input gradient of ``conv2d(., weight, stride, padding)``: every input
    pixel stamps ``x[n, c] * w[c]`` onto the output at (r sh - ph, c sw - pw).
    backward: gx = conv2d(g, weight, stride, padding); gw = conv2d's weight gradient with
    g as the input and x as the output gradient; gb = sum g.
    """
    return ConvTranspose2d.apply(_tensor(x), _tensor(weight), _tensor(bias),
                                 stride=pair(stride, "stride"), padding=pair(padding, "padding"),
                                 output_padding=pair(output_padding, "output_padding"))
