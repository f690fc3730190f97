"""The one windowing helper that convolution and pooling share, and the padding they need.

A convolution and a max-pool both look at every ``kh x kw`` window of an image, stepping by
the stride. :func:`windows` hands them all the windows at once as a *view* of the input: no
value is copied, only the strides change (tinygrad's ``_pool`` does the same), so a window that
starts at output position ``(r, q)`` reads the input from ``(r * sh, q * sw)`` onwards::

    x (N, C, H, W)   ->   windows(x, (kh, kw), (sh, sw))   (N, C, Ho, Wo, kh, kw)
                          view[n, c, r, q, i, j] == x[n, c, r * sh + i, q * sw + j]

Who uses it, and how:

- max-pooling (pool.py) takes the largest value of each window of x, and its backward and
  unpooling write through the view (it is writable) into zeros of the input's shape;
- the textbook convolution (conv.py) pads x (:func:`dilate`, :func:`pad2d`), copies the windows
  of the padded x into a matrix and multiplies it by the weights;
- the fast convolution (conv_fast.py) works *channels-last*: :func:`pad_channels_last` copies x
  into a zero-padded (N, Hp, Wp, C) array (one copy that pads, transposes and, for an input
  gradient, spreads the pixels apart), and ``windows(..., channels_last=True)`` gives its windows
  (N, Ho, Wo, kh, kw, C), or with a kernel of height 1 the ``kw``-wide windows along each row,
  so that a window's ``kw * C`` values are one matrix row.

:func:`pair` and :func:`output_size` read the kernel, stride and padding arguments for all of them.
"""

from __future__ import annotations

from typing import Any

from ..engine import backend

__all__ = [
    "pair",
    "output_size",
    "windows",
    "pad2d",
    "dilate",
    "pad_channels_last",
    "zeros_like_layout",
    "is_channels_last",
]

Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))


def pair(value: int | tuple[int, int], name: str = "value") -> tuple[int, int]:
    """An int ``k`` becomes ``(k, k)``; a pair stays a pair (PyTorch's kernel/stride/padding args)."""
    if not isinstance(value, (tuple, list)):
        return (int(value), int(value))
    ints = tuple(int(v) for v in value)
    if len(ints) != 2:
        raise ValueError(f"{name} must be an int or an (h, w) pair, got {ints}")
    return ints[0], ints[1]


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
    x = x[..., max(-top, 0) : h - max(-bottom, 0), max(-left, 0) : w - max(-right, 0)]
    top, bottom, left, right = (max(p, 0) for p in (top, bottom, left, right))
    h, w = x.shape[-2:]
    out = backend.xp_of(x).zeros((*x.shape[:-2], h + top + bottom, w + left + right), dtype=x.dtype)
    out[..., top : top + h, left : left + w] = x
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


def windows(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int], channels_last: bool = False) -> Any:
    """Every ``kh x kw`` window of ``x``, as a view: the two spatial axes (H, W) become four.

        x (N, C, H, W)                          ->  (N, C, Ho, Wo, kh, kw)
        x (N, H, W, C) with channels_last=True  ->  (N, Ho, Wo, kh, kw, C)

    ``view[..., r, q, i, j, ...] == x[..., r * sh + i, q * sw + j, ...]`` with
    ``Ho = (H - kh) // sh + 1`` (floored), likewise ``Wo``. Pad ``x`` first for a padded
    convolution. The view shares memory with ``x``; writing through it writes ``x``.
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    a = 1 if channels_last else 2  # the row axis; the column axis follows it
    ho, wo = output_size(x.shape[a], kh, sh), output_size(x.shape[a + 1], kw, sw)
    if ho < 1 or wo < 1:
        raise ValueError(
            f"windows: a {kh}x{kw} window does not fit in an input of shape {tuple(x.shape)}"
            + (" (channels last)" if channels_last else "")
        )
    s_h, s_w = x.strides[a : a + 2]
    return backend.xp_of(x).lib.stride_tricks.as_strided(
        x,
        shape=(*x.shape[:a], ho, wo, kh, kw, *x.shape[a + 2 :]),
        strides=(*x.strides[:a], s_h * sh, s_w * sw, s_h, s_w, *x.strides[a + 2 :]),
    )


def pad_channels_last(x: Any, padding: Pads, dilation: tuple[int, int] = (1, 1)) -> Any:
    """x (N, C, H, W) -> (N, Hp, Wp, C): zero-padded by ``((top, bottom), (left, right))``, channels last.

    ``dilation`` (d_h, d_w) puts ``d - 1`` zeros between neighbouring pixels first (where a strided
    convolution skipped: its input gradient needs that). A negative amount crops, as in :func:`pad2d`.
    It equals ``pad2d(dilate(x, dilation), padding).transpose(0, 2, 3, 1)``, in one copy instead of
    three; when x is already channels-last in memory (what conv2d returns) it reads in order. The
    result may be a (cropped) view of a contiguous array.
    """
    (top, bottom), (left, right) = padding
    n, c, h, w = x.shape
    dh, dw = dilation
    hd, wd = dh * (h - 1) + 1, dw * (w - 1) + 1
    t, b, l, r = (max(p, 0) for p in (top, bottom, left, right))  # noqa: E741 (top, bottom, left, right)
    out = backend.xp_of(x).zeros((n, hd + t + b, wd + l + r, c), dtype=x.dtype)
    out[:, t : t + hd : dh, l : l + wd : dw] = x.transpose(0, 2, 3, 1)
    return out[:, max(-top, 0) : out.shape[1] - max(-bottom, 0), max(-left, 0) : out.shape[2] - max(-right, 0)]


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
