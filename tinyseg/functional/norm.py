"""Normalisation: batch_norm (per channel, over batch and space), batch_norm_relu (the same
followed by ReLU, fused into one op) and local_response_norm (across neighbouring channels), all
with closed-form backward passes.

Batch norm has two paths, as ``torch.nn.functional.batch_norm(..., training)`` reads: training
normalises by the batch's own statistics (:class:`BatchNorm`, :class:`BatchNormReLU`; the
gradient flows through them), eval by the running statistics, which makes it a fixed affine map
per channel (:class:`BatchNormEval`, :class:`BatchNormReLUEval`). :func:`_batch_norm` picks the
path and is the one place that updates the running statistics.

Channels are axis 1: x is (N, C) or (N, C, H, W) (any number of trailing spatial axes).

Why this file is a little over 300 lines: batch norm's four Functions (train and eval, with
and without the fused ReLU) share their maths and are read side by side, and LRN is the one
other normalisation SegNet-Basic uses; splitting them would separate a formula from its twin.
"""

from __future__ import annotations

from typing import Any

from ..engine import backend
from ..engine.tensor import Context, Function, Tensor, as_tensor
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
    return (0, *range(2, x.ndim)), x.size // x.shape[1]


def _check_args(
    op: str, x: Tensor, running_mean: Any, running_var: Any, weight: Any, bias: Any, training: bool
) -> tuple[Any, Any]:
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


# ---- training: normalise by the batch's own statistics ------------------------------------------


def _normalise(x: Any, weight: Any, bias: Any, eps: float) -> tuple[Any, Any, Any, Any, Any]:
    """y = w xhat + b, xhat = (x - mean) invstd per channel, with the batch's mean and biased
    variance (the one used to normalise). Returns (y, xhat, mean, var, scale = w invstd): the
    last three (C,). The variance's scratch array becomes y: one big temporary fewer."""
    xp = backend.xp_of(x)
    axes = _batch_axes(x)[0]
    mean = x.mean(axis=axes)
    xhat = x - _per_channel(mean, x)
    out = xp.multiply(xhat, xhat)
    var = out.mean(axis=axes)
    invstd = 1.0 / xp.sqrt(var + eps)
    xhat *= _per_channel(invstd, x)
    xp.multiply(xhat, _per_channel(weight, x), out=out)
    out += _per_channel(bias, x)
    return out, xhat, mean, var, weight * invstd


def _train_backward(g: Any, xhat: Any, scale: Any, axes: tuple[int, ...], n: int) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for dL/dy = g: dx = scale / n (n g - sum(g) - xhat sum(g xhat)), dw = sum(g xhat),
    db = sum(g), with scale = w invstd (C,). The mean and variance depend on every x, hence the sums."""
    db = g.sum(axis=axes)
    dx = g * xhat
    dw = dx.sum(axis=axes)
    backend.xp_of(g).multiply(xhat, _per_channel(-dw / n, xhat), out=dx)  # in-place steps: one big temporary
    dx += g
    dx -= _per_channel(db / n, dx)
    dx *= _per_channel(scale, dx)
    return dx, dw, db


class BatchNorm(Function):
    """Training: y = w xhat + b, xhat = (x - mean) / sqrt(var + eps), the batch's mean and var per
    channel (returned too, without gradient, for the running statistics).
    backward: dx = w invstd / n (n g - sum(g) - xhat sum(g xhat)); dw = sum(g xhat); db = sum(g)"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, eps: float) -> tuple[Any, Any, Any]:
        out, xhat, mean, var, scale = _normalise(x, weight, bias, eps)
        ctx.save_for_backward(xhat, scale)
        ctx.axes, ctx.n = _batch_axes(x)
        return out, mean, var

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        xhat, scale = ctx.saved_tensors
        return _train_backward(grad, xhat, scale, ctx.axes, ctx.n)


class BatchNormReLU(Function):
    """Training: y = max(w xhat + b, 0), xhat as in :class:`BatchNorm`.
    backward: g' = g [y > 0], then BatchNorm's backward of g'"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, eps: float) -> tuple[Any, Any, Any]:
        out, xhat, mean, var, scale = _normalise(x, weight, bias, eps)
        backend.xp_of(x).maximum(out, 0, out=out)
        # backward reads xhat everywhere (the batch statistics tie every x to every output) and
        # the ReLU mask: kept as a bool array (1 byte a value), not as the output (4 bytes), which
        # can then be freed as soon as the next op is done with it (max-pooling keeps only indices)
        ctx.save_for_backward(xhat, out > 0, scale)
        ctx.axes, ctx.n = _batch_axes(x)
        return out, mean, var

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        xhat, mask, scale = ctx.saved_tensors
        return _train_backward(grad * mask, xhat, scale, ctx.axes, ctx.n)


# ---- eval: fixed (running) statistics, an affine map per channel ---------------------------------


def _affine(
    x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any, eps: float
) -> tuple[Any, Any, Any, Any]:
    """With fixed statistics batch norm is y = x scale + shift per channel: two passes over x, not
    four. Returns (y, mean, invstd, scale), the last three (C,) in x's dtype."""
    xp = backend.xp_of(x)
    mean = running_mean.astype(x.dtype, copy=False)
    invstd = 1.0 / xp.sqrt(running_var.astype(x.dtype, copy=False) + eps)
    scale = invstd * weight
    out = x * _per_channel(scale, x)
    out += _per_channel(bias - mean * scale, x)
    return out, mean, invstd, scale


def _eval_backward(ctx: Context, g: Any, x: Any, mean: Any, invstd: Any, scale: Any) -> tuple[Any, Any, Any]:
    """(dx, dw, db) for dL/dy = g: dx = g scale; dw = invstd sum(g (x - mean)) (only if wanted: it
    costs two passes, and xhat was not kept); db = sum(g)."""
    axes = _batch_axes(x)[0]
    dw = (g * (x - _per_channel(mean, x))).sum(axis=axes) * invstd if ctx.needs_input_grad[1] else None
    return g * _per_channel(scale, g), dw, g.sum(axis=axes)


class BatchNormEval(Function):
    """Eval: y = x scale + shift, scale = w / sqrt(running_var + eps), shift = b - running_mean scale.
    backward: dx = g scale; dw = sum(g (x - running_mean)) / sqrt(running_var + eps); db = sum(g)"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any, eps: float) -> Any:
        out, mean, invstd, scale = _affine(x, weight, bias, running_mean, running_var, eps)
        ctx.save_for_backward(x, mean, invstd, scale)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        return _eval_backward(ctx, grad, *ctx.saved_tensors)


class BatchNormReLUEval(Function):
    """Eval: y = max(x scale + shift, 0), scale and shift as in :class:`BatchNormEval`.
    backward: g' = g [y > 0], then BatchNormEval's backward of g'"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any, running_mean: Any, running_var: Any, eps: float) -> Any:
        out, mean, invstd, scale = _affine(x, weight, bias, running_mean, running_var, eps)
        backend.xp_of(x).maximum(out, 0, out=out)
        # inference makes nothing for backward (no mask pass): backward takes the mask from the
        # output, as eval-mode gradients are rare (fine-tuning with frozen statistics)
        ctx.save_for_backward(x, out, mean, invstd, scale)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, out, mean, invstd, scale = ctx.saved_tensors
        return _eval_backward(ctx, grad * (out > 0), x, mean, invstd, scale)


# ---- the ops: which path runs ------------------------------------------------------------------


def _batch_norm(
    op: str,
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Any,
    bias: Any,
    training: bool,
    momentum: float,
    eps: float,
    relu: bool,
) -> Tensor:
    """batch_norm and batch_norm_relu: the two paths, as ``F.batch_norm(..., training)`` reads,
    and the one place where the running statistics are updated."""
    x = as_tensor(x)
    running_mean, running_var = _check_args(op, x, running_mean, running_var, weight, bias, training)
    xp, c = backend.xp_of(x.data), x.shape[1]
    weight = xp.ones(c, dtype=x.dtype) if weight is None else weight  # no affine: w = 1, b = 0
    bias = xp.zeros(c, dtype=x.dtype) if bias is None else bias
    if not training:  # fixed statistics: an affine map per channel
        fn = BatchNormReLUEval if relu else BatchNormEval
        return fn.apply(x, weight, bias, running_mean=running_mean, running_var=running_var, eps=float(eps))
    train_fn = BatchNormReLU if relu else BatchNorm
    out, mean, var = train_fn.apply(x, weight, bias, eps=float(eps))  # the batch's own statistics
    # the running statistics, in place: r = (1 - momentum) r + momentum * stat; as PyTorch does,
    # the running variance averages the unbiased variance, var * n / (n - 1)
    n, momentum = _batch_axes(x)[1], float(momentum)
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean.data
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * n / (n - 1)) * var.data
    return out


def batch_norm(
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of x: (N, C) or (N, C, H, W), then scale by weight (C,), shift by bias (C,).

    training=True: use the batch's mean and (biased) variance over N, H, W, and update
    ``running_mean``/``running_var`` (backend arrays or Tensors of shape (C,), may be None) in
    place: r = (1 - momentum) r + momentum * stat, with the unbiased variance, as PyTorch does.
    training=False: use the running statistics instead (the output is then linear in x).
    """
    return _batch_norm("batch_norm", x, running_mean, running_var, weight, bias, training, momentum, eps, relu=False)


def batch_norm_relu(
    x: Tensor,
    running_mean: Any,
    running_var: Any,
    weight: Tensor,
    bias: Tensor,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """relu(batch_norm(x, ...)) as one op: the same values, gradients and running statistics,
    in fewer passes over the data, keeping for backward (in training) a 1-byte ReLU mask
    instead of the 4-byte output.

    x: (N, C) or (N, C, H, W); weight, bias: (C,); running_mean, running_var: (C,) and the
    training / momentum / eps rules as in :func:`batch_norm`. Returns the shape of x.
    """
    return _batch_norm(
        "batch_norm_relu", x, running_mean, running_var, weight, bias, training, momentum, eps, relu=True
    )


# ---- local response normalisation ---------------------------------------------------------------


def _channel_window_sum(a: Any, before: int, after: int) -> Any:
    """out[:, c] = sum of a[:, c - before : c + after + 1] (channels past the edges count as 0)."""
    xp = backend.xp_of(a)
    pad = [(0, 0)] * a.ndim
    pad[1] = (before, after)
    padded = xp.pad(a, pad)
    c = a.shape[1]
    out = padded[:, 0:c].copy()
    for j in range(1, before + after + 1):
        out += padded[:, j : j + c]
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
        out = x * d**-beta
        ctx.save_for_backward(x, d, out)
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, d, out = ctx.saved_tensors
        size, alpha, beta = ctx.size, ctx.alpha, ctx.beta
        # channel i sits in the windows of channels c = i - (size - 1) // 2 ... i + size // 2
        spread = _channel_window_sum(grad * out / d, (size - 1) // 2, size // 2)
        return grad * d**-beta - (2.0 * beta * alpha / size) * x * spread


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
