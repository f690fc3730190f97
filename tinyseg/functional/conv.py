"""Convolution as windows plus one matrix product, in tiles of rows so that memory stays bounded.

Three kernels do all the work, and both ops below are made of them:

- :func:`_conv_forward`: pad, take the window view (``window.windows``), and for each tile of
  output rows copy its windows into a matrix ``cols`` (C*kh*kw, rows*Wo) and compute
  ``w (O, C*kh*kw) @ cols``: one GEMM per tile. The whole window matrix of a 360x480 image
  with 64 channels and a 7x7 kernel would take 2 GB; a tile takes about ``TILE_BYTES``.
- :func:`_conv_weight_grad`: the same tiles, ``gw += g_tile (O, rows*Wo) @ cols.T``.
- :func:`_conv_input_grad`: the output gradient, dilated by the stride and padded, convolved
  (by :func:`_conv_forward`) with the kernel flipped in space and with in/out channels swapped.

conv2d runs forward / weight grad / input grad. conv_transpose2d *is* conv2d's input gradient,
so its forward is :func:`_conv_input_grad` and its backward uses the other two.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor
from .window import Pads, output_size, pad2d, pair, windows

__all__ = ["conv2d", "conv_transpose2d"]

TILE_BYTES = 32 * 2**20
"""About how many bytes one tile's window matrix may take (it holds C*kh*kw values per pixel)."""


def _tiles(win: Any) -> Iterator[tuple[int, int, int, Any]]:
    """Walk a window view (N, C, Ho, Wo, kh, kw) in tiles of output rows of one image.

    Yields ``(n, r0, r1, cols)`` with ``cols`` (C*kh*kw, (r1-r0)*Wo): column ``p`` holds the
    window of output pixel ``p`` of rows r0:r1 of image n, in weight order (c, i, j).
    """
    n_img, c, ho, wo, kh, kw = win.shape
    rows = max(1, TILE_BYTES // (c * kh * kw * wo * win.itemsize))
    for n in range(n_img):
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            # (C, rows, Wo, kh, kw) -> (C, kh, kw, rows, Wo): the innermost copy runs along
            # an input row, so the copy into the matrix reads memory in order
            cols = win[n, :, r0:r1].transpose(0, 3, 4, 1, 2).reshape(c * kh * kw, -1)
            yield n, r0, r1, cols


def _conv_forward(x: Any, w: Any, stride: tuple[int, int], pads: Pads) -> Any:
    """x (N, C, H, W), w (O, C, kh, kw) -> (N, O, Ho, Wo): the cross-correlation, tile by tile."""
    o = w.shape[0]
    win = windows(pad2d(x, pads), w.shape[2:], stride)
    n, _, ho, wo = win.shape[:4]
    w2 = w.reshape(o, -1)
    out = backend.xp_of(x).empty((n, o, ho, wo), dtype=x.dtype)
    for i, r0, r1, cols in _tiles(win):
        out[i, :, r0:r1] = (w2 @ cols).reshape(o, r1 - r0, wo)
    return out


def _conv_weight_grad(x: Any, grad: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                      pads: Pads) -> Any:
    """x (N, C, H, W), grad (N, O, Ho, Wo) -> (O, C, kh, kw): sum over tiles of g_tile @ cols.T."""
    n, c = x.shape[:2]
    o = grad.shape[1]
    win = windows(pad2d(x, pads), kernel_size, stride)
    gw = backend.xp_of(x).zeros((o, c * kernel_size[0] * kernel_size[1]), dtype=x.dtype)
    for i, r0, r1, cols in _tiles(win):
        gw += grad[i, :, r0:r1].reshape(o, -1) @ cols.T
    return gw.reshape(o, c, *kernel_size)


def _dilate(g: Any, stride: tuple[int, int]) -> Any:
    """Put ``stride - 1`` zeros between neighbouring pixels: where a strided conv skipped."""
    sh, sw = stride
    if sh == sw == 1:
        return g
    n, o, ho, wo = g.shape
    out = backend.xp_of(g).zeros((n, o, sh * (ho - 1) + 1, sw * (wo - 1) + 1), dtype=g.dtype)
    out[:, :, ::sh, ::sw] = g
    return out


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
    return _conv_forward(_dilate(grad, stride), flipped, (1, 1), full)


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
        grad = backend.xp_of(grad).ascontiguousarray(grad)
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
        grad = backend.xp_of(grad).ascontiguousarray(grad)
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
