"""Normalisation: batch_norm (per channel, over batch and space) and local_response_norm
(across neighbouring channels), both with closed-form backward passes.

Channels are axis 1: x is (N, C) or (N, C, H, W) (any number of trailing spatial axes).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor
from .window import is_channels_last

__all__ = ["batch_norm", "local_response_norm"]


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _per_channel(v: Any, like: Any) -> Any:
    """A (C,) vector shaped to broadcast against ``like`` (N, C, ...): (1, C, 1, ..., 1).

    For a channels-last ``like`` (conv2d's outputs) it is repeated along W instead, as
    (1, C, 1, W) with C innermost: then C and W form one contiguous run in both operands and
    NumPy loops over whole image rows rather than over C values at a time (1.4x faster).
    """
    if is_channels_last(like):
        return backend.xp_of(v).tile(v, (like.shape[3], 1)).T[None, :, None, :]
    return v.reshape((1, -1) + (1,) * (like.ndim - 2))


class BatchNorm(Function):
    """y = w (x - mean) / sqrt(var + eps) + b per channel.
    backward (training): dx = w invstd / n (n g - sum(g) - xhat sum(g xhat)); dw = sum(g xhat); db = sum(g)"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                training: bool, momentum: float, eps: float) -> Any:
        xp = backend.xp_of(x)
        axes = (0,) + tuple(range(2, x.ndim))
        n = x.size // x.shape[1]
        if not training:
            return BatchNorm._eval_forward(ctx, x, weight, bias, running_mean, running_var, eps, axes)
        if n < 2:
            raise ValueError("batch_norm: training needs more than 1 value per channel, "
                             f"got input {tuple(x.shape)}")
        mean = x.mean(axis=axes)
        xhat = x - _per_channel(mean, x)
        var = (xhat * xhat).mean(axis=axes)  # biased: the one used to normalise
        if running_mean is not None:  # PyTorch: running stats use the unbiased variance
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * n / (n - 1)) * var
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat *= _per_channel(invstd, x)
        if weight is not None:
            out = xhat * _per_channel(weight, x)
            if bias is not None:
                out += _per_channel(bias, x)
        else:
            out = xhat if bias is None else xhat + _per_channel(bias, x)
        ctx.save_for_backward(xhat, invstd, weight, None, None)
        ctx.training, ctx.axes, ctx.n = training, axes, n
        return out

    @staticmethod
    def _eval_forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                      eps: float, axes: tuple[int, ...]) -> Any:
        """With fixed statistics batch norm is an affine map per channel, y = x * scale + shift:
        two passes over x instead of four. xhat is recomputed in backward, if dw is wanted."""
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        xp = backend.xp_of(x)
        mean = running_mean.astype(x.dtype, copy=False)
        invstd = 1.0 / xp.sqrt(running_var.astype(x.dtype, copy=False) + eps)
        scale = invstd if weight is None else invstd * weight
        shift = -mean * scale if bias is None else bias - mean * scale
        out = x * _per_channel(scale, x)
        out += _per_channel(shift, x)
        ctx.save_for_backward(None, invstd, weight, x, mean)
        ctx.training, ctx.axes = False, axes
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        xhat, invstd, weight, x, mean = ctx.saved_tensors
        gsum = grad.sum(axis=ctx.axes)  # = db
        scale = invstd if weight is None else weight * invstd
        if ctx.training:  # the batch mean and variance depend on x too
            gxhat_sum = (grad * xhat).sum(axis=ctx.axes)  # = dw
            dx = xhat * _per_channel(-gxhat_sum / ctx.n, xhat)  # in-place steps: one big temporary, not three
            dx += grad
            dx -= _per_channel(gsum / ctx.n, dx)
            dx *= _per_channel(scale, dx)
        else:
            dx = grad * _per_channel(scale, grad)
            need_w = ctx.needs_input_grad[1]  # dw = sum(g xhat), xhat = (x - mean) invstd
            gxhat_sum = (grad * (x - _per_channel(mean, x))).sum(axis=ctx.axes) * invstd if need_w else None
        dw = gxhat_sum if ctx.needs_input_grad[1] else None
        db = gsum if ctx.needs_input_grad[2] else None
        return dx, dw, db


def batch_norm(x: Tensor, running_mean: Any, running_var: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel of x: (N, C) or (N, C, H, W), then scale by weight (C,), shift by bias (C,).

    training=True: use the batch's mean and (biased) variance over N, H, W, and update
    ``running_mean``/``running_var`` (backend arrays or Tensors of shape (C,), may be None) in
    place: r = (1 - momentum) r + momentum * stat, with the unbiased variance, as PyTorch does.
    training=False: use the running statistics instead (the output is then linear in x).
    """
    x = _t(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    c = x.shape[1]
    stats = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    for name, v in (("running_mean", stats[0]), ("running_var", stats[1]), ("weight", weight), ("bias", bias)):
        if v is not None and tuple(v.shape) != (c,):
            raise ValueError(f"batch_norm: {name} has shape {tuple(v.shape)}, expected ({c},) for input {x.shape}")
    return BatchNorm.apply(x, weight, bias, running_mean=stats[0], running_var=stats[1],
                           training=training, momentum=float(momentum), eps=float(eps))


def _channel_window_sum(a: Any, before: int, after: int) -> Any:
    """out[:, c] = sum of a[:, c - before : c + after + 1] (channels past the edges count as 0)."""
    xp = backend.xp_of(a)
    pad = [(0, 0)] * a.ndim
    pad[1] = (before, after)
    padded = xp.pad(a, pad)
    c = a.shape[1]
    out = padded[:, 0:c].copy()
    for j in range(1, before + after + 1):
        out += padded[:, j:j + c]
    return out


class LocalResponseNorm(Function):
    """y_c = x_c d_c^-beta, d_c = k + alpha/size * (sum of x_j^2 over the window of c).
    backward: dx_i = g_i d_i^-beta - 2 beta alpha/size x_i sum_{c: i in window of c} g_c y_c / d_c"""

    @staticmethod
    def forward(ctx: Context, x: Any, size: int, alpha: float, beta: float, k: float) -> Any:
        # PyTorch's window for channel c: [c - size // 2, c + (size - 1) // 2]
        d = _channel_window_sum(x * x, size // 2, (size - 1) // 2)
        d *= alpha / size
        d += k
        out = x * d ** -beta
        ctx.save_for_backward(x, d, out)
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, d, out = ctx.saved_tensors
        size, alpha, beta = ctx.size, ctx.alpha, ctx.beta
        # channel i sits in the windows of channels c = i - (size - 1) // 2 ... i + size // 2
        spread = _channel_window_sum(grad * out / d, (size - 1) // 2, size // 2)
        return grad * d ** -beta - (2.0 * beta * alpha / size) * x * spread


def local_response_norm(x: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Divide each value by (k + alpha/size * sum of squares over ``size`` neighbouring channels)^beta.

    x: (N, C, H, W) (or (N, C, ...)). Same window and alpha/size averaging as
    torch.nn.functional.local_response_norm (Caffe's ACROSS_CHANNELS LRN, as in SegNet-Basic).
    """
    x = _t(x)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected input (N, C, H, W), got shape {x.shape}")
    if size < 1:
        raise ValueError(f"local_response_norm: size must be >= 1, got {size}")
    return LocalResponseNorm.apply(x, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
