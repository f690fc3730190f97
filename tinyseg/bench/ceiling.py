"""The GEMM ceiling: how fast this machine multiplies float32 matrices of the shapes a convolution uses.

A convolution in tinyseg is nearly all matrix products (tinyseg/functional/conv_fast.py), so the
speed of those products, measured in the same process as the model, bounds the model's speed:
a training step of F FLOPs cannot take less than F / (the products' GFLOP/s). Three shapes:

- ``square``: 2048 x 2048 x 2048, the BLAS's best case;
- ``forward tile``: R (P, kw*C) @ W (kw*C, kh*O), one row tile of the model's largest
  64-to-64 convolution (its forward, and its input gradient, which is a convolution too);
- ``weight-gradient tile``: kh products R.T (kw*C, P) @ G_i (P, O), batched, for the same tile.
"""

from __future__ import annotations

import time
from typing import Any

from .. import backend
from ..functional import conv_fast

__all__ = ["gemm_ceiling"]


def _rate(a: Any, b: Any, repeats: int) -> float:
    """GFLOP/s of ``a @ b`` (batched when 3-d), the best of ``repeats`` timed runs after one warm-up."""
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    flops = 2.0 * a.shape[-2] * a.shape[-1] * b.shape[-1] * batch
    best = float("inf")
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        a @ b
        backend.synchronize()
        if i:
            best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


def gemm_ceiling(size: tuple[int, int], batch: int, channels: int = 64, kernel: int = 7,
                 repeats: int = 3, seed: int = 0) -> list[dict[str, Any]]:
    """GFLOP/s of the three products above on the active backend, for images of ``size`` (H, W).

    Returns ``[{"name", "shape" (M, K, N[, batch]), "gflops"}]``.
    """
    xp = backend.get_xp()
    rng = backend.default_rng(seed)
    h, w = size
    pad = kernel // 2
    x_shape, w_shape = (batch, channels, h, w), (channels, channels, kernel, kernel)
    r0, r1 = conv_fast.tile_plan(x_shape, w_shape, (1, 1), ((pad, pad), (pad, pad)))[0]
    p = (r1 - r0) * w  # pixels in one tile
    k, n = kernel * channels, kernel * channels

    def rand(*shape: int) -> Any:
        return xp.asarray(rng.random(shape, dtype=xp.float32))

    cases = [("square", rand(2048, 2048), rand(2048, 2048)),
             ("forward tile", rand(p, k), rand(k, n)),
             ("weight-gradient tile", rand(k, p), rand(kernel, p, channels))]
    out = []
    for name, a, b in cases:
        shape = (a.shape[-2], a.shape[-1], b.shape[-1]) + ((b.shape[0],) if b.ndim == 3 else ())
        out.append({"name": name, "shape": list(shape), "gflops": _rate(a, b, repeats)})
    return out
