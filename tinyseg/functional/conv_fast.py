"""The tuned convolution kernels that conv2d runs by default (``conv_impl("fast")``).

They compute the same sums as the textbook kernels in conv.py, arranged so that nearly all the
work is a few wide matrix products. What each choice buys (numbers in docs/performance.md):

- **Channels-last row windows.** x is copied once into a zero-padded (N, Hp, Wp, C) array; the
  ``kw``-wide windows along a row are ``kw*C`` values, so a block of rows becomes a matrix
  R (pixels, kw*C) that holds each input value kw times, not kh*kw times as a full im2col does.
- **One wide product per tile.** ``Z = R @ W`` with the weights laid out (kw*C, kh*O) gives each
  input row's contribution to all kh kernel rows at once; output row t adds block i of input row
  ``t*sh + i`` (kh shifted adds). Both sides are hundreds wide, which BLAS runs 1.5-2x faster than
  the textbook (O, C*kh*kw) @ (C*kh*kw, pixels), whose O = 64 rows starve it.
- **The batch as one tall image, cut into tiles of input rows.** Every input row belongs to one
  tile and a contribution that crosses a tile's edge is added where it belongs, so no halo rows
  are computed twice. Windows that straddle two images land in ``Hq - Ho`` gap rows per image
  that the returned view leaves out. The tile budget comes from the backend
  (``backend.conv_tile_bytes``): small on the CPU; large on a GPU, where a tile spans whole
  images and a layer is a handful of products (:func:`tile_plan` lists them from shapes alone).
- **The weight gradient as one batched product per tile**, ``matmul(R.T, G)`` with G (kh, P, O)
  holding in block i the output gradient shifted by i rows (the mirror image of the forward's
  shifted adds): at stride 1 a strided view, no copy, and one call instead of kh. (Copying G into
  one (P, kh*O) matrix for a single wide product was measured slower on OpenBLAS.)
- **Small kernels** (C*kh*kw <= FOLD_LIMIT: the RGB layer) fold all kernel rows into R: one
  product straight into the output. **1x1 kernels** (the classifier) need no copy at all:
  (P, C) @ (C, O) on the channels-last data.

Outputs are channels-last arrays returned as (N, O, Ho, Wo) views: the next layer's copy reads
memory in order. Every temporary takes the input's dtype.
"""

from __future__ import annotations

from typing import Any

from ..engine import backend
from .window import Pads, output_size, pad_channels_last, windows

__all__ = ["forward", "weight_grad", "tile_plan", "FOLD_LIMIT"]

FOLD_LIMIT = 256
"""Kernels with at most this many weights per output channel (C*kh*kw) fold all kernel rows into R.
With 3 channels a row window is only kw*3 wide, too thin for a fast product, and Z would dwarf it."""

NO_PADS: Pads = ((0, 0), (0, 0))


def _geometry(
    x_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], pads: Pads, dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """(Hp, Hq, Ho, Wo): padded rows per image (a multiple of sh), output rows per image in the
    tall output (gap rows included), real output rows and columns."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    h = dh * (x_shape[2] - 1) + 1 + sum(pads[0])
    w = dw * (x_shape[3] - 1) + 1 + sum(pads[1])
    hp = h + (-h % sh)
    return hp, hp // sh, output_size(h, kh, sh), output_size(w, kw, sw)


def _path(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: tuple[int, int], pads: Pads, dilation: tuple[int, int]
) -> str:
    _o, c, kh, kw = w_shape
    if (kh, kw) == (1, 1) and stride == dilation == (1, 1) and pads == NO_PADS:
        return "pointwise"
    return "folded" if c * kh * kw <= FOLD_LIMIT else "rows"


def tile_plan(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: tuple[int, int],
    pads: Pads,
    dilation: tuple[int, int] = (1, 1),
    itemsize: int = 4,
    budget: int | None = None,
) -> list[tuple[int, int]]:
    """The tiles (row ranges of the tall image) that :func:`forward` and :func:`weight_grad` cut an
    input of ``x_shape`` (N, C, H, W) into for a weight of ``w_shape`` (O, C, kh, kw): one matrix
    product each. ``budget``: bytes per tile matrix (default: the active backend's)."""
    o, c, kh, kw = w_shape
    n = x_shape[0]
    path = _path(x_shape, w_shape, stride, pads, dilation)
    if path == "pointwise":
        return [(0, n * x_shape[2])]
    hp, hq, ho, wo = _geometry(x_shape, (kh, kw), stride, pads, dilation)
    budget = backend.conv_tile_bytes() if budget is None else budget
    if path == "folded":  # tiles of output rows; the last image's gap rows are left out
        rows, row_bytes = (n - 1) * hq + ho, wo * c * kh * kw * itemsize
    else:  # tiles of input rows, each one used once
        rows, row_bytes = n * hp, wo * max(kw * c, kh * o) * itemsize
    step = max(1, budget // row_bytes)
    return [(r0, min(rows, r0 + step)) for r0 in range(0, rows, step)]


def _tall(x: Any, pads: Pads, dilation: tuple[int, int], hp: int) -> Any:
    """x (N, C, H, W) -> (1, N*Hp, Wp, C): the padded channels-last images stacked into one tall
    image, each padded at the bottom to Hp rows (a multiple of the stride)."""
    h = dilation[0] * (x.shape[2] - 1) + 1 + sum(pads[0])
    xpad = pad_channels_last(x, ((pads[0][0], pads[0][1] + hp - h), pads[1]), dilation)
    xpad = backend.xp_of(xpad).ascontiguousarray(xpad)  # a copy only if the padding cropped
    return xpad.reshape(1, -1, *xpad.shape[2:])


def _row_windows(tall: Any, kw: int, sw: int) -> Any:
    """The ``kw``-wide windows along every row of the tall image (1, rows, Wp, C), a view
    (rows, Wo, kw*C): windows of height 1, so that each is kw*C values, one row of R."""
    win = windows(tall, (1, kw), (1, sw), channels_last=True)[0, :, :, 0]  # (rows, Wo, kw, C)
    return win.reshape(*win.shape[:2], -1)


def _shift(r0: int, r1: int, i: int, sh: int) -> tuple[slice, slice] | None:
    """The rows h of tile r0:r1 that meet kernel row i, and the output rows t they meet
    (``t*sh + i = h``): ``(slice of the tile, slice of the tall output)``, or None if none do."""
    first = max(r0 + (i - r0) % sh, i)  # the first h >= r0 with h = i (mod sh) and t >= 0
    if first >= r1:
        return None
    t0 = (first - i) // sh
    return slice(first - r0, r1 - r0, sh), slice(t0, t0 + (r1 - 1 - first) // sh + 1)


def _untall(out: Any, n: int, ho: int) -> Any:
    """Tall output (N*Hq, Wo, O) -> (N, O, Ho, Wo), a channels-last view without the gap rows."""
    return out.reshape(n, -1, *out.shape[1:])[:, :ho].transpose(0, 3, 1, 2)


def forward(x: Any, w: Any, stride: tuple[int, int], pads: Pads, dilation: tuple[int, int] = (1, 1)) -> Any:
    """x (N, C, H, W), w (O, C, kh, kw) -> y (N, O, Ho, Wo), a channels-last view: x (dilated, then
    padded) cross-correlated with w.  y[t] = sum_i Z[t*sh + i, block i], Z = R @ W (kw*C, kh*O)."""
    xp = backend.xp_of(x)
    (o, c, kh, kw), (sh, sw), n = w.shape, stride, x.shape[0]
    tiles = tile_plan(x.shape, w.shape, stride, pads, dilation, x.itemsize)
    path = _path(x.shape, w.shape, stride, pads, dilation)
    if path == "pointwise":
        rows = x.transpose(0, 2, 3, 1).reshape(-1, c)  # a view when x is channels-last
        return (rows @ w.reshape(o, c).T).reshape(n, *x.shape[2:], o).transpose(0, 3, 1, 2)
    hp, hq, ho, wo = _geometry(x.shape, (kh, kw), stride, pads, dilation)
    tall = _tall(x, pads, dilation, hp)
    if path == "folded":
        win = windows(tall, (kh, kw), stride, channels_last=True)[0]  # (rows, Wo, kh, kw, C), a view
        wf = w.transpose(2, 3, 1, 0).reshape(-1, o)
        out = xp.empty((n * hq, wo, o), dtype=x.dtype)
        for r0, r1 in tiles:
            out[r0:r1] = (win[r0:r1].reshape(-1, wf.shape[0]) @ wf).reshape(r1 - r0, wo, o)
        return _untall(out, n, ho)
    rwin = _row_windows(tall, kw, sw)
    wz = w.transpose(3, 1, 2, 0).reshape(kw * c, kh * o)  # rows (j, c) match R's columns; columns (i, o)
    out = xp.zeros((n * hq, wo, o), dtype=x.dtype)
    for r0, r1 in tiles:
        z = (rwin[r0:r1].reshape(-1, kw * c) @ wz).reshape(r1 - r0, wo, kh, o)
        for i in range(kh):  # input row h adds its block i to output row (h - i) / sh
            rows = _shift(r0, r1, i, sh)
            if rows is not None:
                out[rows[1]] += z[rows[0], :, i]
    return _untall(out, n, ho)


def weight_grad(x: Any, grad: Any, kernel_size: tuple[int, int], stride: tuple[int, int], pads: Pads) -> Any:
    """x (N, C, H, W), grad (N, O, Ho, Wo) -> gw (O, C, kh, kw).
    gw[i] = sum over tiles of R.T @ G_i, G_i the output gradient of the rows that met kernel row i."""
    xp = backend.xp_of(x)
    (kh, kw), (sh, sw) = kernel_size, stride
    n, c, o = x.shape[0], x.shape[1], grad.shape[1]
    w_shape = (o, c, kh, kw)
    tiles = tile_plan(x.shape, w_shape, stride, pads, (1, 1), x.itemsize)
    path = _path(x.shape, w_shape, stride, pads, (1, 1))
    if path == "pointwise":
        g = grad.transpose(0, 2, 3, 1).reshape(-1, o)
        return (x.transpose(0, 2, 3, 1).reshape(-1, c).T @ g).T.reshape(o, c, 1, 1)
    hp, hq, ho, wo = _geometry(x.shape, kernel_size, stride, pads, (1, 1))
    tall = _tall(x, pads, (1, 1), hp)
    top = kh - 1  # zero rows above the tall gradient: row t - i exists for every t and i
    g = xp.zeros((top + n * hq, wo, o), dtype=x.dtype)
    g[top:].reshape(n, hq, wo, o)[:, :ho] = grad.transpose(0, 2, 3, 1)  # zeros in the gap rows too
    if path == "folded":
        win = windows(tall, kernel_size, stride, channels_last=True)[0]
        gw = xp.zeros((kh * kw * c, o), dtype=x.dtype)
        for r0, r1 in tiles:
            gw += win[r0:r1].reshape(-1, gw.shape[0]).T @ g[top + r0 : top + r1].reshape(-1, o)
        return gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
    rwin = _row_windows(tall, kw, sw)
    gw = xp.zeros((kh, kw * c, o), dtype=x.dtype)
    for r0, r1 in tiles:
        gw += xp.matmul(rwin[r0:r1].reshape(-1, kw * c).T, _shifted(g, top, r0, r1, kh, sh))
    return gw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1)


def _shifted(g: Any, top: int, r0: int, r1: int, kh: int, sh: int) -> Any:
    """(kh, pixels, O): block i holds, for each input row h of tile r0:r1, the gradient of the output
    row ``t = (h - i) / sh`` that it met through kernel row i (zero where none did). With stride 1 it
    is a view: block i is the tall gradient ``g`` (``top`` zero rows first) shifted down by i rows."""
    xp = backend.xp_of(g)
    rows, wo, o = r1 - r0, g.shape[1], g.shape[2]
    if sh == 1:
        view = xp.lib.stride_tricks.as_strided(
            g[top + r0 - (kh - 1) :], shape=(kh, rows * wo, o), strides=(g.strides[0], g.strides[1], g.strides[2])
        )
        return view[::-1]  # view[j] starts j rows below g[top + r0 - (kh - 1)]
    out = xp.zeros((kh, rows, wo, o), dtype=g.dtype)
    for i in range(kh):
        src = _shift(r0, r1, i, sh)
        if src is not None:
            out[i, src[0]] = g[top + src[1].start : top + src[1].stop]
    return out.reshape(kh, rows * wo, o)
