"""Activations: relu, softmax, log_softmax, and dropout (with a generator the caller can seed).

softmax and log_softmax subtract the maximum along ``dim`` before exponentiating, so large
logits never overflow; the result is the same because softmax(x) = softmax(x - c).
"""

from __future__ import annotations

from typing import Any

from ..engine import backend, random
from ..engine.tensor import Context, Function, Tensor, as_tensor

__all__ = ["relu", "softmax", "log_softmax", "dropout"]


class ReLU(Function):
    """max(x, 0).  backward: g where x > 0, else 0"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        out = backend.xp_of(x).maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along dim.  backward: y (g - sum(g y, dim))"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = backend.xp_of(x)
        out = xp.exp(x - x.max(axis=dim, keepdims=True))
        out /= out.sum(axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        return out * (grad - (grad * out).sum(axis=ctx.dim, keepdims=True))


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))) along dim.  backward: g - exp(y) sum(g, dim)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = backend.xp_of(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (out,) = ctx.saved_tensors
        return grad - backend.xp_of(out).exp(out) * grad.sum(axis=ctx.dim, keepdims=True)


class Dropout(Function):
    """x * keep / (1 - p), keep ~ Bernoulli(1 - p).  backward: g * keep / (1 - p)"""

    @staticmethod
    def forward(ctx: Context, x: Any, p: float, generator: Any) -> Any:
        xp = backend.xp_of(x)
        u = xp.asarray(generator.random(x.shape, dtype=xp.float32))
        keep = u >= p  # P(u >= p) = 1 - p for u uniform in [0, 1)
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
        ctx.keep, ctx.scale = keep, scale
        out = x * keep
        out *= scale
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        out = grad * ctx.keep
        out *= ctx.scale
        return out


def relu(x: Tensor) -> Tensor:
    """Rectified linear unit, elementwise max(x, 0). x: any shape."""
    return ReLU.apply(as_tensor(x))


def softmax(x: Tensor, dim: int = 1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (the class axis 1 of (N, K, H, W) logits by default)."""
    return Softmax.apply(as_tensor(x), dim=dim)


def log_softmax(x: Tensor, dim: int = 1) -> Tensor:
    """log(softmax(x, dim)), computed without overflow or log(0) for large logits."""
    return LogSoftmax.apply(as_tensor(x), dim=dim)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the survivors by 1 / (1 - p).

    x: any shape. In eval mode (``training=False``) or with p = 0 it returns ``x`` itself.
    generator: an object with ``.random(shape, dtype)`` such as ``backend.default_rng(seed)``;
    the same seed gives the same mask (Bayesian SegNet samples masks at test time).
    None uses ``tinyseg.random.dropout_generator()``: seeded by ``tinyseg.manual_seed``, or
    the generator of the enclosing ``tinyseg.random.fork_rng`` block.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p=float(p), generator=generator if generator is not None else random.dropout_generator())
