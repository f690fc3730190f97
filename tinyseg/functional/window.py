"""The one windowing helper that convolution and pooling share.

A convolution and a max-pool both look at every ``kh x kw`` window of an image, stepping by
the stride. :func:`windows` hands them all the windows at once as a *view* of the padded
input: no value is copied, only the strides change, so a window that starts at output
position ``(y, x)`` reads the input from ``(y * sh, x * sw)`` onwards::

    x (N, C, H, W)   ->   windows(x, (kh, kw), (sh, sw))   (N, C, Ho, Wo, kh, kw)
                          view[n, c, y, x, i, j] == x[n, c, y * sh + i, x * sw + j]

Convolution turns the view into a matrix and multiplies it by the weights; max-pooling takes
the largest value of each window. The view is writable, so pooling's backward adds gradients
back through it into a zero array of the input's shape.

Convolution works *channels-last*: :func:`pad_channels_last` copies an (N, C, H, W) input into
a zero-padded (N, Hp, Wp, C) array (one copy that pads, transposes and, for a transposed
convolution, spreads the pixels apart), and :func:`row_windows` takes the ``kw``-wide windows
along each row of it, so that every window is ``kw * C`` contiguous-ish values: a matrix row.
"""

from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["pair", "output_size", "pad2d", "dilate", "windows", "pad_channels_last", "row_windows",
           "windows_channels_last", "zeros_like_layout", "is_channels_last"]

Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))


def pair(value: int | tuple[int, int], name: str = "value") -> tuple[int, int]:
    """An int ``k`` becomes ``(k, k)``; a pair stays a pair (PyTorch's kernel/stride/padding args)."""
    if not isinstance(value, (tuple, list)):
        return (int(value), int(value))
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be an int or an (h, w) pair, got {value}")
    return value  # type: ignore[return-value]


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """How many windows of ``kernel`` fit in ``size + padding`` (total) stepping by ``stride``.

    Floors like PyTorch: rows that no window reaches are left out. Zero or less means none fit.
    """
    return (size + padding - kernel) // stride + 1


def pad2d(x: Any, padding: Pads) -> Any:
    """Zero-pad the last two axes of ``x`` by ``((top, bottom), (left, right))``.

    A negative amount crops instead (the input gradient of a convolution padded by more than
    its kernel needs that). Returns ``x`` itself when every amount is 0.
    """
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return x
    h, w = x.shape[-2:]
    x = x[..., max(-top, 0):h - max(-bottom, 0), max(-left, 0):w - max(-right, 0)]
    top, bottom, left, right = (max(p, 0) for p in (top, bottom, left, right))
    h, w = x.shape[-2:]
    out = backend.xp_of(x).zeros((*x.shape[:-2], h + top + bottom, w + left + right), dtype=x.dtype)
    out[..., top:top + h, left:left + w] = x
    return out


def dilate(x: Any, dilation: tuple[int, int]) -> Any:
    """Put ``d - 1`` zeros between neighbouring pixels of x (N, C, H, W) along each of the last two
    axes: (N, C, dh (H - 1) + 1, dw (W - 1) + 1). Returns ``x`` itself for dilation (1, 1)."""
    dh, dw = dilation
    if dh == dw == 1:
        return x
    n, c, h, w = x.shape
    out = backend.xp_of(x).zeros((n, c, dh * (h - 1) + 1, dw * (w - 1) + 1), dtype=x.dtype)
    out[:, :, ::dh, ::dw] = x
    return out


def windows(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int]) -> Any:
    """Every ``kh x kw`` window of ``x`` (N, C, H, W), as a view (N, C, Ho, Wo, kh, kw).

    ``Ho = (H - kh) // sh + 1`` (floored), likewise ``Wo``. Pad ``x`` first (:func:`pad2d`) for
    a padded convolution. The view shares memory with ``x``; writing through it writes ``x``.
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    n, c, h, w = x.shape
    ho, wo = output_size(h, kh, sh), output_size(w, kw, sw)
    if ho < 1 or wo < 1:
        raise ValueError(f"windows: a {kh}x{kw} window does not fit in an input of shape {tuple(x.shape)}")
    s_n, s_c, s_h, s_w = x.strides
    return backend.xp_of(x).lib.stride_tricks.as_strided(
        x, shape=(n, c, ho, wo, kh, kw), strides=(s_n, s_c, s_h * sh, s_w * sw, s_h, s_w)
    )


def pad_channels_last(x: Any, padding: Pads, dilation: tuple[int, int] = (1, 1)) -> Any:
    """x (N, C, H, W) -> (N, Hp, Wp, C): zero-padded by ``((top, bottom), (left, right))``, channels last.

    ``dilation`` (d_h, d_w) puts ``d - 1`` zeros between neighbouring pixels first (where a strided
    convolution skipped: its input gradient needs that). A negative amount crops, as in :func:`pad2d`.
    One copy does all three; when x is already channels-last in memory (what conv2d returns) it
    reads in order. The result may be a (cropped) view of a contiguous array.
    """
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    dh, dw = dilation
    hd, wd = dh * (h - 1) + 1, dw * (w - 1) + 1
    t, b, l, r = (max(p, 0) for p in (top, bottom, left, right))
    out = backend.xp_of(x).zeros((n, hd + t + b, wd + l + r, c), dtype=x.dtype)
    out[:, t:t + hd:dh, l:l + wd:dw] = x.transpose(0, 2, 3, 1)
    return out[:, max(-top, 0):out.shape[1] - max(-bottom, 0), max(-left, 0):out.shape[2] - max(-right, 0)]


def row_windows(x: Any, kw: int, sw: int) -> Any:
    """The ``kw``-wide windows along every row of a channels-last x (N, H, W, C), as a view
    (N, H, Wo, kw, C) with ``view[n, h, q, j, c] == x[n, h, q * sw + j, c]``, ``Wo = (W - kw) // sw + 1``.

    Reshaped to (rows * Wo, kw * C) (a copy), a block of rows becomes the matrix that a
    convolution multiplies by its weights: only ``kw`` times the input, not ``kh * kw`` times.
    """
    n, h, w, c = x.shape
    wo = output_size(w, kw, sw)
    if wo < 1:
        raise ValueError(f"row_windows: a window of width {kw} does not fit in an input of shape {tuple(x.shape)}")
    s_n, s_h, s_w, s_c = x.strides
    return backend.xp_of(x).lib.stride_tricks.as_strided(
        x, shape=(n, h, wo, kw, c), strides=(s_n, s_h, s_w * sw, s_w, s_c)
    )


def windows_channels_last(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int]) -> Any:
    """Every window of a channels-last x (N, H, W, C), as a view (N, Ho, Wo, kh, kw, C):
    ``view[n, r, q, i, j, c] == x[n, r * sh + i, q * sw + j, c]`` (:func:`windows`, channels last)."""
    (kh, kw), (sh, sw) = kernel_size, stride
    n, h, w, c = x.shape
    ho, wo = output_size(h, kh, sh), output_size(w, kw, sw)
    if ho < 1 or wo < 1:
        raise ValueError(f"windows_channels_last: a {kh}x{kw} window does not fit in an input of shape "
                         f"{tuple(x.shape)}")
    s_n, s_h, s_w, s_c = x.strides
    return backend.xp_of(x).lib.stride_tricks.as_strided(
        x, shape=(n, ho, wo, kh, kw, c), strides=(s_n, s_h * sh, s_w * sw, s_h, s_w, s_c)
    )


def zeros_like_layout(shape: tuple[int, ...], like: Any) -> Any:
    """Zeros (N, C, H, W) of ``like``'s dtype, channels-last in memory when ``like`` is.

    Elementwise work between arrays of one memory layout reads both in order; mixing
    layouts makes every step a strided gather. conv2d returns channels-last arrays, so the
    ops around it (unpooling, pooling's backward) keep to that layout.
    """
    xp = backend.xp_of(like)
    if is_channels_last(like):
        n, c, h, w = shape
        return xp.zeros((n, h, w, c), dtype=like.dtype).transpose(0, 3, 1, 2)
    return xp.zeros(shape, dtype=like.dtype)


def is_channels_last(x: Any) -> bool:
    """True when x (N, C, H, W) is laid out (N, H, W, C) in memory: channels innermost."""
    return x.ndim == 4 and x.shape[1] > 1 and x.shape[3] > 1 and x.strides[1] < x.strides[3]
