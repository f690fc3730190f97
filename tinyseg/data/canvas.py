"""Painting with NumPy masks: regions (box, ellipse, trapezoid, skew, line), noise textures, a canvas.

A region is a bounding box (two slices) and a boolean mask inside it (None = the whole box).
``Canvas`` paints regions into an image and its label map; synthetic.py draws scenes with it.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Region", "Canvas", "box", "centres", "ellipse", "trapezoid", "skew", "line"]

Region = tuple[slice, slice, np.ndarray | None]


def _clip(h: int, w: int, y0: float, y1: float, x0: float, x1: float) -> tuple[slice, slice] | None:
    ys = slice(max(0, math.floor(y0)), min(h, math.ceil(y1)))
    xs = slice(max(0, math.floor(x0)), min(w, math.ceil(x1)))
    return (ys, xs) if ys.start < ys.stop and xs.start < xs.stop else None


def centres(ys: slice, xs: slice) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(ys.start, ys.stop)[:, None] + 0.5, np.arange(xs.start, xs.stop)[None, :] + 0.5


def box(h: int, w: int, y0: float, y1: float, x0: float, x1: float) -> Region | None:
    """Pixels whose centres lie in [y0, y1) x [x0, x1): rows ceil(y0 - 0.5) .. ceil(y1 - 0.5) - 1."""
    clipped = _clip(h, w, math.ceil(y0 - 0.5), math.ceil(y1 - 0.5), math.ceil(x0 - 0.5), math.ceil(x1 - 0.5))
    return None if clipped is None else (*clipped, None)


def ellipse(h: int, w: int, cy: float, cx: float, ry: float, rx: float, inner: float = 0.0) -> Region | None:
    """A filled ellipse, or a ring when ``inner`` (fraction of the radius) > 0."""
    ry, rx = max(ry, 0.5), max(rx, 0.5)
    clipped = _clip(h, w, cy - ry, cy + ry, cx - rx, cx + rx)
    if clipped is None:
        return None
    yy, xx = centres(*clipped)
    d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
    mask = (d <= 1.0) & (d >= inner * inner)
    return (*clipped, mask) if mask.any() else None


def trapezoid(h: int, w: int, y0: float, y1: float, l0: float, r0: float, l1: float, r1: float) -> Region | None:
    """Rows y0..y1 whose left/right edges move linearly from (l0, r0) at y0 to (l1, r1) at y1."""
    clipped = _clip(h, w, y0, y1, min(l0, l1), max(r0, r1))
    if clipped is None:
        return None
    yy, xx = centres(*clipped)
    t = (yy - y0) / max(y1 - y0, 1e-6)
    mask = (xx >= l0 + (l1 - l0) * t) & (xx < r0 + (r1 - r0) * t) & (yy >= y0) & (yy < y1)
    return (*clipped, mask) if mask.any() else None


def skew(h: int, w: int, x0: float, x1: float, t0: float, b0: float, t1: float, b1: float) -> Region | None:
    """Columns x0..x1 whose top/bottom move linearly from (t0, b0) at x0 to (t1, b1) at x1."""
    clipped = _clip(h, w, min(t0, t1), max(b0, b1), x0, x1)
    if clipped is None:
        return None
    yy, xx = centres(*clipped)
    s = (xx - x0) / max(x1 - x0, 1e-6)
    mask = (yy >= t0 + (t1 - t0) * s) & (yy < b0 + (b1 - b0) * s) & (xx >= x0) & (xx < x1)
    return (*clipped, mask) if mask.any() else None


def line(h: int, w: int, y0: float, x0: float, y1: float, x1: float, width: float) -> Region | None:
    """A thick segment from (y0, x0) to (y1, x1)."""
    r = max(width, 1.0) / 2
    clipped = _clip(h, w, min(y0, y1) - r, max(y0, y1) + r, min(x0, x1) - r, max(x0, x1) + r)
    if clipped is None:
        return None
    yy, xx = centres(*clipped)
    dy, dx = y1 - y0, x1 - x0
    s = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-6), 0.0, 1.0)
    mask = (yy - y0 - s * dy) ** 2 + (xx - x0 - s * dx) ** 2 <= r * r
    return (*clipped, mask) if mask.any() else None


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Blotchy noise, unit variance at the grid points, bilinearly interpolated: float32 (h, w)."""
    grid = rng.standard_normal((h // cell + 2, w // cell + 2), dtype=np.float32)
    fy, fx = np.arange(h, dtype=np.float32) / cell, np.arange(w, dtype=np.float32) / cell
    iy, ix = fy.astype(np.intp), fx.astype(np.intp)
    wy, wx = (fy - iy)[:, None], (fx - ix)[None, :]
    top = grid[iy][:, ix] * (1 - wx) + grid[iy][:, ix + 1] * wx
    bottom = grid[iy + 1][:, ix] * (1 - wx) + grid[iy + 1][:, ix + 1] * wx
    return top * (1 - wy) + bottom * wy


@functools.lru_cache(maxsize=8)
def _noise_bank(h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise textures of twice the scene size, drawn once per size; each scene views them at
    random offsets. Drawing fresh noise for every scene would cost more than painting it."""
    rng = np.random.default_rng(2009)
    bank = (
        rng.standard_normal((2 * h, 2 * w), dtype=np.float32),
        _smooth_noise(rng, 2 * h, 2 * w, cell=max(2, h // 16)),
        rng.integers(0, 4, (2 * h, 2 * w), dtype=np.uint8),
    )
    for a in bank:
        a.flags.writeable = False
    return bank


class Canvas:
    """An RGB float image and its label map, painted region by region (later paint wins).

    The image is stored channels-first, (3, H, W): NumPy broadcasts a colour over long rows
    much faster than over a trailing axis of 3.
    """

    def __init__(self, h: int, w: int, rng: np.random.Generator) -> None:
        self.h, self.w, self.rng = h, w, rng
        self.image = np.zeros((3, h, w), np.float32)
        self.label = np.zeros((h, w), np.uint8)
        grain, blotch, bits = _noise_bank(h, w)
        oy, ox, by, bx, sy, sx = rng.integers(0, (h, w, h, w, h, w))
        self.grain = grain[oy : oy + h, ox : ox + w]  # fine grain, unit variance
        self.blotch = blotch[by : by + h, bx : bx + w]  # blotchy texture, unit variance
        self.bits = bits[sy : sy + h, sx : sx + w]  # two random bits per pixel, for the void seams

    def colour(self, base: ArrayLike, spread: float = 15.0) -> np.ndarray:
        """``base`` RGB with a random shift of its brightness and of each channel."""
        shift = self.rng.normal(0.0, spread, 4)
        return np.asarray(base, np.float32) + (shift[:3] + shift[3]).astype(np.float32)

    def paint(
        self, region: Region | None, cls: int | None, colour: ArrayLike, grain: float = 5.0, blotch: float = 0.0
    ) -> None:
        """Fill ``region`` with ``colour`` (RGB, or (3, rows, 1) for a vertical gradient) plus
        texture; cls None paints the image only (details such as windows)."""
        if region is None:
            return
        ys, xs, mask = region
        colour = np.asarray(colour, np.float32)
        texture = np.float32(grain) * self.grain[ys, xs]
        if blotch:
            texture += np.float32(blotch) * self.blotch[ys, xs]
        pixels = (colour[:, None, None] if colour.ndim == 1 else colour) + texture
        if mask is None:
            self.image[:, ys, xs] = pixels
        else:
            np.copyto(self.image[:, ys, xs], pixels, where=mask)
        if cls is not None:
            np.copyto(self.label[ys, xs], np.uint8(cls), where=True if mask is None else mask)
