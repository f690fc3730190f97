"""Pixel-wise cross-entropy for segmentation, as one fused Function.

Forward: stable log-softmax over the class axis, pick each pixel's target class, weight it,
average. Backward: (softmax - onehot(target)) * w[target] / norm. Fusing the chain into one op
keeps a single (N, K, H, W) array (the softmax) alive instead of one per small op, which
matters for 4 x 11 x 360 x 480 logits every step. Ignored pixels get weight 0 by
multiplication, never by boolean-mask indexing (which would force a GPU sync).

Targets outside the classes: a target on the host is checked before it goes anywhere (a
ValueError lists the values); a target already on the GPU is not, since reading the answer back
would make the GPU wait every step. There, such a pixel makes the loss NaN instead (the
DataLoader has checked its labels on the host).
"""

from __future__ import annotations

from typing import Any

from ..engine import backend
from ..engine.tensor import Context, Function, Tensor, as_tensor

__all__ = ["cross_entropy"]

REDUCTIONS = ("mean", "sum", "none")
NORMALIZATIONS = ("torch", "caffe")


class CrossEntropy(Function):
    """loss_i = -w[t_i] log softmax(x_i)[t_i], reduced; ignored pixels have w = 0.
    backward: dx_i = (softmax(x_i) - onehot(t_i)) * w[t_i] * g / norm"""

    @staticmethod
    def forward(
        ctx: Context, logits: Any, target: Any, weight: Any, ignore_index: int, reduction: str, normalization: str
    ) -> Any:
        xp = backend.xp_of(logits)
        num_classes = logits.shape[1]
        valid = target != ignore_index
        counted = valid & (target >= 0) & (target < num_classes)
        safe = xp.where(counted, target, 0)  # ignored pixels point at class 0, then get weight 0

        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = xp.exp(shifted)
        total = probs.sum(axis=1, keepdims=True)
        probs /= total  # the softmax, kept for backward
        picked = xp.take_along_axis(shifted, safe[:, None], axis=1)[:, 0]
        log_p = picked - xp.log(total[:, 0])  # log softmax at the target class

        mask = valid.astype(logits.dtype)
        w = mask if weight is None else weight.astype(logits.dtype, copy=False)[safe] * mask
        w = xp.where(valid & ~counted, xp.nan, w)  # not a class (an unchecked GPU target): NaN
        losses = -log_p * w

        if reduction == "none":
            out, norm = losses, None
        elif reduction == "sum":
            out, norm = losses.sum(), None
        else:
            # torch: sum of the weights of counted pixels; caffe: number of counted pixels (Caffe's
            # SoftmaxWithLoss "VALID"). Nothing counted (an all-void crop): 1, so the loss and its
            # gradient are 0, not PyTorch's 0/0 = NaN (a where, not an if: no GPU sync)
            norm = w.sum() if normalization == "torch" else mask.sum()
            norm = xp.where(norm == 0, 1, norm).astype(logits.dtype)
            out = losses.sum() / norm
        ctx.save_for_backward(probs, safe, w, norm)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        probs, safe, w, norm = ctx.saved_tensors
        xp = backend.xp_of(probs)
        classes = xp.arange(probs.shape[1]).reshape((1, -1) + (1,) * (probs.ndim - 2))
        coeff = w * grad if norm is None else w * (grad / norm)
        dx = probs - (classes == safe[:, None])
        dx *= coeff[:, None]
        return dx


def _check_classes(target: Any, num_classes: int, ignore_index: int) -> None:
    """Raise a ValueError naming the bad values if a counted value of a host ``target`` is not in [0, K)."""
    bad = (target != ignore_index) & ((target < 0) | (target >= num_classes))
    if bad.any():
        values = sorted({int(v) for v in target[bad].ravel()[:1000]})
        raise ValueError(
            f"cross_entropy: target holds class value(s) {values[:10]} outside [0, {num_classes}) "
            f"for logits with {num_classes} classes (ignore_index={ignore_index}). Map unlabelled "
            "pixels to ignore_index, or give the model more output channels."
        )


def cross_entropy(
    input: Tensor,  # noqa: A002 (torch.nn.functional.cross_entropy's name)
    target: Any,
    weight: Any = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    normalization: str = "torch",
) -> Tensor:
    """Softmax cross-entropy between logits and integer class targets.

    input: (N, K, H, W) or (N, K) logits. target: (N, H, W) or (N,) integers of any integer dtype
    (the DataLoader's uint8, with a void label up to 255) in [0, K) or ``ignore_index`` (array or
    Tensor); ignore_index None: every pixel counts (as the default -100, which no label holds).
    weight: (K,) class weights (array or Tensor, no gradient).
    reduction: "none" gives per-pixel losses (N, H, W) with 0 at ignored pixels; "sum" adds them;
    "mean" divides the sum by a normaliser chosen by ``normalization``:
      "torch": the sum of the weights of the counted pixels (torch.nn.functional.cross_entropy);
      "caffe": the number of counted (non-ignored) pixels (Caffe's SoftmaxWithLoss with
      normalization VALID, which trained the SegNet reference models with class weights).
    A batch with nothing counted (every pixel ignored) has loss 0 and gradient 0 under both,
    where PyTorch's "mean" gives NaN: an all-void crop must not stop a training run.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"cross_entropy: normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    ignore_index = -100 if ignore_index is None else ignore_index
    logits = as_tensor(input)
    target = target.data if isinstance(target, Tensor) else target
    weight = weight.data if isinstance(weight, Tensor) else weight
    xp = backend.xp_of(logits.data)
    target = target if backend.is_array(target) else backend.to_numpy(target)
    if logits.ndim < 2:
        raise ValueError(f"cross_entropy: expected logits (N, K, H, W) or (N, K), got shape {logits.shape}")
    expected = (logits.shape[0], *logits.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(
            f"cross_entropy: target shape {tuple(target.shape)} does not fit logits {logits.shape} "
            f"(expected {expected}: one class index per pixel)"
        )
    if target.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, got dtype {target.dtype}")
    if not backend.is_cupy_array(target):
        _check_classes(target, logits.shape[1], ignore_index)
    if weight is not None:
        weight = xp.asarray(weight)
        if tuple(weight.shape) != (logits.shape[1],):
            raise ValueError(
                f"cross_entropy: weight has shape {tuple(weight.shape)}, expected ({logits.shape[1]},) "
                f"(one weight per class of logits {logits.shape})"
            )
    target = xp.asarray(target).astype(xp.int64, copy=False)  # to the logits' device (a copy from the host)
    return CrossEntropy.apply(
        logits,
        target=target,
        weight=weight,
        ignore_index=int(ignore_index),
        reduction=reduction,
        normalization=normalization,
    )
