"""Max-pooling that remembers where each maximum was, and the unpooling that puts it back.

SegNet's decoder upsamples with the encoder's pooling indices: for every 2x2 window, which of
its 4 positions held the maximum. That is 2 bits of information, so the indices here are the
position *within the window* (row-major, ``i * kw + j``) in the smallest unsigned type that
holds ``kh * kw`` positions: one byte per pooled value for any kernel up to 16x16, where
PyTorch stores an 8-byte flat index. :func:`indices_to_torch` / :func:`indices_from_torch`
convert between the two.

Both ops read and write the input through the same window view as convolution
(``window.windows``). Position ``p`` of every window is one strided slice, so gathering and
scattering are ``kh * kw`` whole-array steps, with no per-element index arithmetic.
"""

from __future__ import annotations

from typing import Any

from ..engine import backend
from ..engine.tensor import Context, Function, Tensor, as_tensor
from .window import output_size as n_windows
from .window import pair, windows, zeros_like_layout

__all__ = ["max_pool2d", "max_pool2d_with_indices", "max_unpool2d", "indices_to_torch", "indices_from_torch"]


def index_dtype(positions: int) -> str:
    """The smallest unsigned integer type that numbers ``positions`` window positions."""
    return "uint8" if positions <= 2**8 else "uint16" if positions <= 2**16 else "uint32"


def _window_max(win: Any) -> tuple[Any, Any]:
    """Max over each window of a view (N, C, Ho, Wo, kh, kw) and its position p = i*kw + j.

    Walks the positions in order and moves the index only where a value is strictly larger,
    so a tie keeps the first position (as PyTorch does). The results keep the input's memory
    layout (``order="K"``, ``zeros_like``): a channels-last input, as conv2d returns, gives
    channels-last outputs, and every step reads memory in order (5x faster than C order here).
    """
    xp = backend.xp_of(win)
    kh, kw = win.shape[-2:]
    out = win[..., 0, 0].copy(order="K")
    idx = xp.zeros_like(out, dtype=index_dtype(kh * kw))
    for p in range(1, kh * kw):
        v = win[..., p // kw, p % kw]
        # p exceeds every earlier position, so max(idx, p * larger) is p exactly where v won
        # (the same as where(larger, p, idx), and much faster on small integers)
        xp.maximum(idx, (v > out).astype(idx.dtype) * idx.dtype.type(p), out=idx)
        xp.maximum(out, v, out=out)
    return out, idx


def _scatter(
    values: Any, idx: Any, shape: tuple[int, ...], kernel_size: tuple[int, int], stride: tuple[int, int]
) -> Any:
    """Zeros of ``shape`` with each value added at its window's remembered position.

    Position p of all windows is one strided slice of the window view, so each step writes
    one whole array. Windows that do not overlap (stride >= kernel, as in SegNet) own their
    pixels, so the product is written straight into the slice; overlapping windows that chose
    the same pixel add up.
    """
    xp = backend.xp_of(values)
    out = zeros_like_layout(shape, values)  # channels-last when values are (conv2d's outputs)
    win = windows(out, kernel_size, stride)  # writable view of out
    kh, kw = kernel_size
    overlap = stride[0] < kh or stride[1] < kw
    for p in range(kh * kw):
        if overlap:
            win[..., p // kw, p % kw] += values * (idx == p)
        else:
            xp.multiply(values, idx == p, out=win[..., p // kw, p % kw])
    return out


def _gather(array: Any, idx: Any, kernel_size: tuple[int, int], stride: tuple[int, int]) -> Any:
    """The value of ``array`` at each window's remembered position: shape of ``idx``."""
    xp = backend.xp_of(array)
    win = windows(array, kernel_size, stride)
    kw = kernel_size[1]
    out = win[..., 0, 0].copy(order="K")  # keep array's layout (see _window_max)
    for p in range(1, kernel_size[0] * kw):
        out = xp.where(idx == p, win[..., p // kw, p % kw], out)
    return out


def _params(op: str, kernel_size: Any, stride: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{op}: kernel_size and stride must be >= 1, got {k} and {s}")
    return k, s


class MaxPool2d(Function):
    """out = max of each window, indices = its position.  backward: g added at each window's argmax"""

    @staticmethod
    def forward(ctx: Context, x: Any, kernel_size: tuple[int, int], stride: tuple[int, int]) -> tuple[Any, Any]:
        if x.ndim != 4:
            raise ValueError(f"max_pool2d: expected x (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[2] < kernel_size[0] or x.shape[3] < kernel_size[1]:
            raise ValueError(f"max_pool2d: kernel {kernel_size} is larger than x {tuple(x.shape)}")
        out, idx = _window_max(windows(x, kernel_size, stride))
        ctx.save_for_backward(idx)
        ctx.shape, ctx.kernel_size, ctx.stride = x.shape, kernel_size, stride
        return out, idx

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (idx,) = ctx.saved_tensors
        return _scatter(grad, idx, ctx.shape, ctx.kernel_size, ctx.stride)


class MaxUnpool2d(Function):
    """out = x placed at the remembered positions, zeros elsewhere.  backward: g gathered at them"""

    @staticmethod
    def forward(
        ctx: Context,
        x: Any,
        indices: Any,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
        output_hw: tuple[int, int],
    ) -> Any:
        ctx.save_for_backward(indices)
        ctx.kernel_size, ctx.stride = kernel_size, stride
        return _scatter(x, indices, (*x.shape[:2], *output_hw), kernel_size, stride)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        (indices,) = ctx.saved_tensors
        return _gather(grad, indices, ctx.kernel_size, ctx.stride), None


def max_pool2d_with_indices(
    x: Tensor, kernel_size: int | tuple[int, int] = 2, stride: int | tuple[int, int] | None = None
) -> tuple[Tensor, Tensor]:
    """Max over every ``kh x kw`` window, and where in the window the maximum was.

    x: (N, C, H, W); stride defaults to kernel_size. Returns ``(out, indices)``, both
    (N, C, Ho, Wo) with ``Ho = (H - kh) // sh + 1`` (rows that no window covers are dropped,
    as in PyTorch). ``indices`` (uint8, no gradient) holds the position ``i * kw + j`` of the
    maximum within its window; ties go to the first position.
    backward: gx = zeros with g added at each window's argmax.
    """
    k, s = _params("max_pool2d", kernel_size, stride)
    return MaxPool2d.apply(as_tensor(x), kernel_size=k, stride=s)


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max pooling, as PyTorch's ``F.max_pool2d``: the pooled map (N, C, Ho, Wo), and with
    ``return_indices=True`` also the indices (:func:`max_pool2d_with_indices`)."""
    out, indices = max_pool2d_with_indices(x, kernel_size, stride)
    return (out, indices) if return_indices else out


def max_unpool2d(
    x: Tensor,
    indices: Tensor,
    kernel_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    output_size: tuple[int, ...] | None = None,
) -> Tensor:
    """Undo max_pool2d's selection: each value goes back to its remembered position, zeros elsewhere.

    x, indices: (N, C, Ho, Wo), indices as returned by :func:`max_pool2d`. Returns
    (N, C, H, W); by default ``H = (Ho - 1) sh + kh``. Pass ``output_size`` ((H, W) or
    (N, C, H, W), e.g. the pooled input's shape) to restore a size that pooling floored.
    backward: gx = g gathered at the remembered positions.
    """
    k, s = _params("max_unpool2d", kernel_size, stride)
    x, indices = as_tensor(x), as_tensor(indices)
    if x.ndim != 4 or x.shape != indices.shape:
        raise ValueError(f"max_unpool2d: x {x.shape} and indices {indices.shape} must be the same (N, C, Ho, Wo)")
    ho, wo = x.shape[2:]
    hw: tuple[int, ...]
    if output_size is None:
        hw = ((ho - 1) * s[0] + k[0], (wo - 1) * s[1] + k[1])
    else:
        hw = tuple(int(n) for n in output_size)[-2:]
        fits = (n_windows(hw[0], k[0], s[0]), n_windows(hw[1], k[1], s[1]))
        if fits != (ho, wo):
            raise ValueError(
                f"max_unpool2d: output_size {tuple(output_size)} does not fit indices {indices.shape}: "
                f"pooling a {hw[0]}x{hw[1]} input with kernel {k}, stride {s} gives "
                f"{fits[0]}x{fits[1]} windows, not {ho}x{wo}"
            )
    return MaxUnpool2d.apply(x, indices, kernel_size=k, stride=s, output_hw=hw)


def _plane_grid(shape: tuple[int, ...], stride: tuple[int, int], xp: Any) -> tuple[Any, Any]:
    """Top-left corner (row, column) of every window, shaped to broadcast against (N, C, Ho, Wo)."""
    ho, wo = shape[-2:]
    rows = (xp.arange(ho, dtype="int64") * stride[0]).reshape(ho, 1)
    cols = xp.arange(wo, dtype="int64") * stride[1]
    return rows, cols


def _input_width(op: str, input_size: Any) -> int:
    if input_size is None:
        raise ValueError(f"{op}: pass input_size=(H, W), the size of the pooled input (flat indices need its width)")
    return int(tuple(input_size)[-1])


def indices_to_torch(
    indices: Tensor | Any,
    kernel_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    input_size: tuple[int, ...] | None = None,
) -> Tensor:
    """Within-window positions (N, C, Ho, Wo) -> PyTorch's int64 flat indices ``row * W + col``.

    input_size: (H, W) or (N, C, H, W) of the pooled input. The result can be handed to
    ``torch.nn.functional.max_unpool2d`` (after ``torch.from_numpy(result.numpy())``).
    """
    k, s = _params("indices_to_torch", kernel_size, stride)
    width = _input_width("indices_to_torch", input_size)
    idx = as_tensor(indices).data
    xp = backend.xp_of(idx)
    rows, cols = _plane_grid(idx.shape, s, xp)
    idx = idx.astype("int64")
    return Tensor((rows + idx // k[1]) * width + cols + idx % k[1])


def indices_from_torch(
    indices: Tensor | Any,
    kernel_size: int | tuple[int, int] = 2,
    stride: int | tuple[int, int] | None = None,
    input_size: tuple[int, ...] | None = None,
) -> Tensor:
    """PyTorch's flat indices ``row * W + col`` (N, C, Ho, Wo) -> within-window positions (uint8).

    input_size: (H, W) or (N, C, H, W) of the pooled input. Accepts a Tensor or an array
    (NumPy, CuPy, or a CPU torch tensor's ``.numpy()``).
    """
    k, s = _params("indices_from_torch", kernel_size, stride)
    width = _input_width("indices_from_torch", input_size)
    flat = indices.data if isinstance(indices, Tensor) else backend.to_device(indices)
    xp = backend.xp_of(flat)
    rows, cols = _plane_grid(flat.shape, s, xp)
    i = flat // width - rows
    j = flat % width - cols
    if bool(((i < 0) | (i >= k[0]) | (j < 0) | (j >= k[1])).any()):
        raise ValueError(
            f"indices_from_torch: some indices lie outside their {k[0]}x{k[1]} window "
            f"(stride {s}, input width {width}): wrong kernel_size, stride or input_size?"
        )
    return Tensor((i * k[1] + j).astype(index_dtype(k[0] * k[1])))
