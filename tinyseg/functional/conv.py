"""Convolution, the textbook way: a window view of the padded input, one matrix product.

conv2d and conv_transpose2d (the Functions below) run one of two sets of kernels, chosen at run
time with :func:`conv_impl`: ``"reference"``, the three short functions in this file that
docs/ops/convolution.md and notebook 02 teach, or ``"fast"`` (the default), the tuned kernels of
conv_fast.py, which compute the same sums in wider matrix products. Tests hold the two equal.

The derivation, with x_pad the zero-padded input and the stride (sh, sw)::

    y[n, o, r, q] = sum_{c, i, j} w[o, c, i, j] x_pad[n, c, r sh + i, q sw + j]

- forward: ``windows(x_pad)`` (N, C, Ho, Wo, kh, kw) is a view; laid out as a matrix
  cols (N*Ho*Wo, C*kh*kw) (the one copy, "im2col"), ``y = cols @ w.reshape(O, -1).T``.
- weight gradient: dL/dw[o, c, i, j] = sum_{n, r, q} g[n, o, r, q] x_pad[n, c, r sh + i, q sw + j],
  the same windows met by the gradient: ``gw = g.T (O, pixels) @ cols (pixels, C*kh*kw)``.
- input gradient: x_pad[u] met w[i] in output r where ``r sh + i = u``, so
  ``gx_pad[u] = sum_i w[i] g[(u - i) / sh]`` over the i where the division is exact. Put sh - 1
  zeros between g's rows (dilate it) and that is ``sum_i w[i] g_dil[u - i]``: with g_dil padded
  by kh - 1 and the kernel flipped (i -> kh - 1 - i) a cross-correlation again, from O channels
  to C, so with w transposed (O <-> C). Cropping x's own padding p off gx_pad is the same as
  padding g_dil by kh - 1 - p instead (negative: crop). That is :func:`_input_grad`, which runs
  whichever forward kernel is active.

The reference builds the whole window matrix at once: C*kh*kw values per output pixel, 2.2 GB
for one 64-channel 360x480 image under a 7x7 kernel. It is for learning and checking on small
inputs; the fast kernels work in bounded tiles.

Why this file is 300 lines: the reference forward, both gradients and the transposed
convolution are one derivation (the input gradient is a convolution run by this same code);
the tuned kernels are in conv_fast.py.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from ..engine import backend
from ..engine.tensor import Context, Function, Tensor, as_tensor
from . import conv_fast
from .window import Pads, dilate, output_size, pad2d, pair, windows

__all__ = ["conv2d", "conv_transpose2d", "conv_impl", "gemm_plan"]


# ---- the textbook kernels ---------------------------------------------------------------------


def _im2col(
    x: Any, kernel_size: tuple[int, int], stride: tuple[int, int], pads: Pads, dilation: tuple[int, int] = (1, 1)
) -> Any:
    """x (N, C, H, W) -> cols (N, Ho, Wo, C*kh*kw): every window of x (dilated, then padded), flattened."""
    win = windows(pad2d(dilate(x, dilation), pads), kernel_size, stride)  # (N, C, Ho, Wo, kh, kw), a view
    n, _c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n, ho, wo, -1)  # the copy: kh*kw values per input value


def reference_forward(x: Any, w: Any, stride: tuple[int, int], pads: Pads, dilation: tuple[int, int] = (1, 1)) -> Any:
    """x (N, C, H, W), w (O, C, kh, kw) -> y (N, O, Ho, Wo).  y = cols @ w (C*kh*kw, O)."""
    cols = _im2col(x, w.shape[2:], stride, pads, dilation)  # (N, Ho, Wo, C*kh*kw)
    y = cols.reshape(-1, cols.shape[-1]) @ w.reshape(w.shape[0], -1).T  # one product (pixels, O)
    return y.reshape(*cols.shape[:3], -1).transpose(0, 3, 1, 2)


def reference_weight_grad(x: Any, grad: Any, kernel_size: tuple[int, int], stride: tuple[int, int], pads: Pads) -> Any:
    """x (N, C, H, W), grad (N, O, Ho, Wo) -> gw (O, C, kh, kw).  gw = g.T (O, pixels) @ cols."""
    cols = _im2col(x, kernel_size, stride, pads)
    g = grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])
    return (g.T @ cols.reshape(g.shape[0], -1)).reshape(grad.shape[1], x.shape[1], *kernel_size)


def _input_grad_pads(
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    pads: Pads,
    grad_hw: tuple[int, int],
    input_hw: tuple[int, int],
) -> Pads:
    """How much to pad the dilated gradient: k - 1 - p, plus at the bottom/right the rows and
    columns ``r`` that a floored forward never reached (they get zero gradient)."""
    full = []
    for k, s, (before, after), g, size in zip(kernel_size, stride, pads, grad_hw, input_hw):
        r = size + before + after - k - s * (g - 1)
        full.append((k - 1 - before, k - 1 - after + r))
    return (full[0], full[1])


def _input_grad(
    forward: Callable[..., Any], grad: Any, w: Any, stride: tuple[int, int], pads: Pads, input_hw: tuple[int, int]
) -> Any:
    """grad (N, O, Ho, Wo), w (O, C, kh, kw) -> gx (N, C, H, W): the dilated, padded gradient
    cross-correlated with the flipped, transposed kernel (the derivation is in the module docstring)."""
    flipped = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]  # (C, O, kh, kw)
    full = _input_grad_pads(w.shape[2:], stride, pads, grad.shape[2:], input_hw)
    return forward(grad, flipped, (1, 1), full, dilation=stride)


# ---- choosing the kernels ---------------------------------------------------------------------

KERNELS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "reference": (reference_forward, reference_weight_grad),
    "fast": (conv_fast.forward, conv_fast.weight_grad),
}
_active = {"name": "fast"}


class conv_impl:  # noqa: N801 (used like a function, as torch.set_grad_enabled is)
    """Choose the kernels that conv2d and conv_transpose2d run: "reference" or "fast" (the default).

    Takes effect at once; as a context manager, the previous choice comes back on exit::

        with conv_impl("reference"):
            y = conv2d(x, w)        # the textbook kernels of this file
    """

    def __init__(self, name: str) -> None:
        if name not in KERNELS:
            raise ValueError(f"conv_impl: unknown implementation {name!r}; choose one of {', '.join(KERNELS)}")
        self.previous, _active["name"] = _active["name"], name

    def __enter__(self) -> conv_impl:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        _active["name"] = self.previous


def gemm_plan(
    x_shape: tuple[int, int, int, int],
    w_shape: tuple[int, int, int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    itemsize: int = 4,
    backend_name: str | None = None,
) -> dict[str, int]:
    """How many matrix products the fast kernels make for one conv2d layer, from shapes alone:
    ``{"forward": ., "weight_grad": ., "input_grad": .}`` under ``backend_name``'s tile budget."""
    stride, (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    pads = ((ph, ph), (pw, pw))
    budget = backend.conv_tile_bytes(backend_name)
    n, c, h, w = x_shape
    o, _, kh, kw = w_shape
    grad_hw = (output_size(h, kh, stride[0], 2 * ph), output_size(w, kw, stride[1], 2 * pw))
    full = _input_grad_pads((kh, kw), stride, pads, grad_hw, (h, w))
    forward = conv_fast.tile_plan(x_shape, w_shape, stride, pads, itemsize=itemsize, budget=budget)
    backward = conv_fast.tile_plan((n, o, *grad_hw), (c, o, kh, kw), (1, 1), full, stride, itemsize, budget)
    return {"forward": len(forward), "weight_grad": len(forward), "input_grad": len(backward)}


# ---- the ops ----------------------------------------------------------------------------------


def _check(op: str, x: Any, weight: Any, bias: Any, in_axis: int, out_axis: int) -> None:
    """Shape and dtype errors that name the op and the shapes at fault."""
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"{op}: expected x (N, C, H, W) and a 4-d weight, got x {tuple(x.shape)}, weight {tuple(weight.shape)}"
        )
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(
            f"{op}: x {tuple(x.shape)} has {x.shape[1]} channels but weight "
            f"{tuple(weight.shape)} expects {weight.shape[in_axis]} (its axis {in_axis})"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[out_axis],):
        raise ValueError(
            f"{op}: bias {tuple(bias.shape)} should be ({weight.shape[out_axis]},) for weight {tuple(weight.shape)}"
        )
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and a.dtype != x.dtype:
            raise TypeError(f"{op}: x is {x.dtype} but {name} is {a.dtype}; cast one of them (.astype)")


def _check_params(op: str, stride: tuple[int, int], padding: tuple[int, int]) -> Pads:
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: stride must be >= 1 and padding >= 0, got stride {stride}, padding {padding}")
    return ((padding[0], padding[0]), (padding[1], padding[1]))


class Conv2d(Function):
    """y = w * x + b.  backward: gx = conv(dilated g, flipped w^T), gw = g^T cols, gb = sum g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
        _check("conv2d", x, weight, bias, in_axis=1, out_axis=0)
        pads = _check_params("conv2d", stride, padding)
        kh, kw = weight.shape[2:]
        h, w = x.shape[2:]
        if output_size(h, kh, stride[0], 2 * padding[0]) < 1 or output_size(w, kw, stride[1], 2 * padding[1]) < 1:
            raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit in x {tuple(x.shape)} padded by {padding}")
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.pads, ctx.kernels = stride, pads, KERNELS[_active["name"]]
        out = ctx.kernels[0](x, weight, stride, pads)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        forward, weight_grad = ctx.kernels
        gx = _input_grad(forward, grad, weight, ctx.stride, ctx.pads, x.shape[2:]) if need_x else None
        gw = weight_grad(x, grad, weight.shape[2:], ctx.stride, ctx.pads) if need_w else None
        gb = grad.sum(axis=(0, 2, 3)) if need_b else None
        return gx, gw, gb


class ConvTranspose2d(Function):
    """y = conv2d's input gradient, applied to x.  backward: gx = conv2d(g, w), gw = conv2d's gw(g, x)"""

    @staticmethod
    def forward(
        ctx: Context,
        x: Any,
        weight: Any,
        bias: Any,
        stride: tuple[int, int],
        padding: tuple[int, int],
        output_padding: tuple[int, int],
    ) -> Any:
        _check("conv_transpose2d", x, weight, bias, in_axis=0, out_axis=1)
        pads = _check_params("conv_transpose2d", stride, padding)
        if not all(0 <= op < s for op, s in zip(output_padding, stride)):
            raise ValueError(
                f"conv_transpose2d: output_padding {output_padding} must be >= 0 and smaller than the stride {stride}"
            )
        kh, kw = weight.shape[2:]
        h, w = x.shape[2:]
        out_hw = (
            (h - 1) * stride[0] - 2 * padding[0] + kh + output_padding[0],
            (w - 1) * stride[1] - 2 * padding[1] + kw + output_padding[1],
        )
        if min(out_hw) < 1:
            raise ValueError(
                f"conv_transpose2d: x {tuple(x.shape)} with weight {tuple(weight.shape)}, "
                f"stride {stride}, padding {padding} gives an empty output {out_hw}"
            )
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.pads, ctx.kernels = stride, pads, KERNELS[_active["name"]]
        out = _input_grad(ctx.kernels[0], x, weight, stride, pads, out_hw)
        if bias is not None:
            out += bias.reshape(1, -1, 1, 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        forward, weight_grad = ctx.kernels
        gx = forward(grad, weight, ctx.stride, ctx.pads) if need_x else None
        gw = weight_grad(grad, x, weight.shape[2:], ctx.stride, ctx.pads) if need_w else None
        gb = grad.sum(axis=(0, 2, 3)) if need_b else None
        return gx, gw, gb


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> Tensor:
    """2-d convolution (cross-correlation, as in PyTorch) of a batch of images.

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) or None; stride and padding (zeros):
    int or (h, w) pair. Returns (N, O, Ho, Wo) with ``Ho = (H + 2 ph - kh) // sh + 1``.
    ``y[n, o, r, c] = b[o] + sum_{c', i, j} w[o, c', i, j] x_pad[n, c', r sh + i, c sw + j]``.
    backward: gx is the convolution of the dilated, padded output gradient with the kernel
    flipped and transposed (O <-> C); gw = g^T @ windows; gb = sum g. Kernels: :class:`conv_impl`.
    """
    return Conv2d.apply(
        as_tensor(x),
        as_tensor(weight),
        None if bias is None else as_tensor(bias),
        stride=pair(stride, "stride"),
        padding=pair(padding, "padding"),
    )


def conv_transpose2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
) -> Tensor:
    """Transposed convolution ("deconvolution", learned upsampling), PyTorch's semantics.

    x: (N, C_in, H, W), weight: (C_in, C_out, kh, kw), bias: (C_out,) or None. Returns
    (N, C_out, Ho, Wo) with ``Ho = (H - 1) sh - 2 ph + kh + oph`` (output_padding < stride).
    It is exactly the input gradient of ``conv2d(., weight, stride, padding)``: every input
    pixel stamps ``x[n, c] * w[c]`` onto the output at (r sh - ph, c sw - pw).
    backward: gx = conv2d(g, weight, stride, padding); gw = conv2d's weight gradient with
    g as the input and x as the output gradient; gb = sum g.
    """
    return ConvTranspose2d.apply(
        as_tensor(x),
        as_tensor(weight),
        None if bias is None else as_tensor(bias),
        stride=pair(stride, "stride"),
        padding=pair(padding, "padding"),
        output_padding=pair(output_padding, "output_padding"),
    )
