"""Normalisation: batch_norm (per channel, over batch and space), batch_norm_relu (the same
followed by ReLU, fused into one op) and local_response_norm (across neighbouring channels), all
with closed-form backward passes.

Channels are axis 1: x is (N, C) or (N, C, H, W) (any number of trailing spatial axes).
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Context, Function, Tensor, as_tensor
from .window import is_channels_last

__all__ = ["batch_norm", "batch_norm_relu", "local_response_norm"]



def _per_channel(v: Any, like: Any) -> Any:
    """A (C,) vector shaped to broadcast against ``like`` (N, C, ...): (1, C, 1, ..., 1).

    For a channels-last ``like`` (conv2d's outputs) it is repeated along W instead, as
    (1, C, 1, W) with C innermost: then C and W form one contiguous run in both operands and
    NumPy loops over whole image rows rather than over C values at a time (1.4x faster).
    """
    if is_channels_last(like):
        return backend.xp_of(v).tile(v, (like.shape[3], 1)).T[None, :, None, :]
    return v.reshape((1, -1) + (1,) * (like.ndim - 2))


def _batch_axes(x: Any) -> tuple[tuple[int, ...], int]:
    """The axes a channel's statistics run over (all but axis 1) and how many values that is."""
    return (0,) + tuple(range(2, x.ndim)), x.size // x.shape[1]


def _check_args(op: str, x: Tensor, running_mean: Any, running_var: Any, weight: Any, bias: Any,
                training: bool) -> tuple[Any, Any]:
    """Raise one line naming ``op`` and the shapes for arguments batch norm cannot use;
    returns the running statistics as backend arrays (they may be given as Tensors)."""
    if x.ndim < 2:
        raise ValueError(f"{op}: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    c = x.shape[1]
    stats = [s.data if isinstance(s, Tensor) else s for s in (running_mean, running_var)]
    for name, v in (("running_mean", stats[0]), ("running_var", stats[1]), ("weight", weight), ("bias", bias)):
        if v is not None and tuple(v.shape) != (c,):
            raise ValueError(f"{op}: {name} has shape {tuple(v.shape)}, expected ({c},) for input {x.shape}")
    if training and _batch_axes(x)[1] < 2:
        raise ValueError(f"{op}: training needs more than 1 value per channel, got input {x.shape}")
    if not training and (stats[0] is None or stats[1] is None):
        raise ValueError(f"{op}: eval mode (training=False) needs running_mean and running_var")
    return stats[0], stats[1]


def _update_running_stats(running_mean: Any, running_var: Any, mean: Any, var: Any, n: int,
                          momentum: float) -> None:
    """r = (1 - momentum) r + momentum * stat, in place (either may be None). As PyTorch does,
    the running variance averages the unbiased variance, var * n / (n - 1)."""
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * n / (n - 1)) * var


def _eval_affine(x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                 eps: float) -> tuple[Any, Any, Any, Any]:
    """With fixed statistics, batch norm is y = x * scale + shift per channel.
    Returns (mean, invstd, scale, shift), each (C,) in x's dtype."""
    xp = backend.xp_of(x)
    mean = running_mean.astype(x.dtype, copy=False)
    invstd = 1.0 / xp.sqrt(running_var.astype(x.dtype, copy=False) + eps)
    scale = invstd if weight is None else invstd * weight
    shift = -mean * scale if bias is None else bias - mean * scale
    return mean, invstd, scale, shift


class BatchNorm(Function):
    """y = w (x - mean) / sqrt(var + eps) + b per channel.
    backward (training): dx = w invstd / n (n g - sum(g) - xhat sum(g xhat)); dw = sum(g xhat); db = sum(g)"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                training: bool, momentum: float, eps: float) -> Any:
        xp = backend.xp_of(x)
        axes, n = _batch_axes(x)
        if not training:
            return BatchNorm._eval_forward(ctx, x, weight, bias, running_mean, running_var, eps, axes)
        mean = x.mean(axis=axes)
        xhat = x - _per_channel(mean, x)
        var = (xhat * xhat).mean(axis=axes)  # biased: the one used to normalise
        _update_running_stats(running_mean, running_var, mean, var, n, momentum)
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
        mean, invstd, scale, shift = _eval_affine(x, weight, bias, running_mean, running_var, eps)
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
    x = as_tensor(x)
    running_mean, running_var = _check_args("batch_norm", x, running_mean, running_var, weight, bias, training)
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
                           training=training, momentum=float(momentum), eps=float(eps))


class BatchNormReLU(Function):
    """y = max(w xhat + b, 0), xhat = (x - mean) invstd.  backward: g' = g [y > 0], then batch norm's
    backward of g': dx = w invstd / n (n g' - sum(g') - xhat sum(g' xhat)); dw = sum(g' xhat); db = sum(g')"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                training: bool, momentum: float, eps: float) -> Any:
        axes, n = _batch_axes(x)
        ctx.training, ctx.axes, ctx.n = training, axes, n
        if not training:
            return BatchNormReLU._eval_forward(ctx, x, weight, bias, running_mean, running_var, eps)
        xp = backend.xp_of(x)
        mean = x.mean(axis=axes)
        xhat = x - _per_channel(mean, x)
        out = xp.multiply(xhat, xhat)  # a scratch buffer for the variance, then the output
        var = out.mean(axis=axes)  # biased: the one used to normalise
        _update_running_stats(running_mean, running_var, mean, var, n, momentum)
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat *= _per_channel(invstd, x)
        xp.multiply(xhat, _per_channel(weight, x), out=out)
        out += _per_channel(bias, x)
        xp.maximum(out, 0, out=out)
        # backward reads xhat everywhere (the batch statistics tie every x to every output) and
        # the ReLU mask: kept as a bool array (1 byte a value), not as the output (4 bytes), which
        # can then be freed as soon as the next op is done with it (max-pooling keeps only indices)
        ctx.save_for_backward(xhat, out > 0, weight * invstd)
        return out

    @staticmethod
    def _eval_forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any,
                      eps: float) -> Any:
        """Fixed statistics: y = max(x * scale + shift, 0), three passes over x. Inference makes
        nothing for backward here (no mask pass); backward takes the mask from the output and
        xhat from x, as eval-mode gradients are rare (fine-tuning with frozen statistics)."""
        xp = backend.xp_of(x)
        mean, invstd, scale, shift = _eval_affine(x, weight, bias, running_mean, running_var, eps)
        out = x * _per_channel(scale, x)
        out += _per_channel(shift, x)
        xp.maximum(out, 0, out=out)
        ctx.save_for_backward(x, out, mean, invstd, scale)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        axes, need_w = ctx.axes, ctx.needs_input_grad[1]
        if ctx.training:
            xhat, mask, scale = ctx.saved_tensors
            g = grad * mask  # a fresh array: the incoming gradient may be shared with other ops
            gsum = g.sum(axis=axes)  # = db
            tmp = g * xhat
            gxhat_sum = tmp.sum(axis=axes)  # = dw
            xp = backend.xp_of(g)
            xp.multiply(xhat, _per_channel(gxhat_sum / ctx.n, g), out=tmp)
            g -= tmp  # dx, built in place in g
            g -= _per_channel(gsum / ctx.n, g)
        else:
            x, out, mean, invstd, scale = ctx.saved_tensors
            g = grad * (out > 0)
            gsum = g.sum(axis=axes)
            gxhat_sum = (g * (x - _per_channel(mean, x))).sum(axis=axes) * invstd if need_w else None
        g *= _per_channel(scale, g)
        return g, gxhat_sum if need_w else None, gsum if ctx.needs_input_grad[2] else None


def batch_norm_relu(x: Tensor, running_mean: Any, running_var: Any, weight: Tensor, bias: Tensor,
                    training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """relu(batch_norm(x, ...)) as one op: the same values, gradients and running statistics,
    in fewer passes over the data, keeping for backward (in training) a 1-byte ReLU mask
    instead of the 4-byte output.

    x: (N, C) or (N, C, H, W); weight, bias: (C,); running_mean, running_var: (C,) and the
    training / momentum / eps rules as in :func:`batch_norm`. Returns the shape of x.
    """
    x = as_tensor(x)
    running_mean, running_var = _check_args("batch_norm_relu", x, running_mean, running_var, weight, bias, training)
    return BatchNormReLU.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
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
    x = as_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected input (N, C, H, W), got shape {x.shape}")
    if size < 1:
        raise ValueError(f"local_response_norm: size must be >= 1, got {size}")
    return LocalResponseNorm.apply(x, size=int(size), alpha=float(alpha), beta=float(beta), k=float(k))
