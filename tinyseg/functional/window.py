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
"""

from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["pair", "output_size", "pad2d", "windows"]

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
