"""Bayesian SegNet-Basic (Kendall et al., 2017): dropout as approximate Bayesian inference.

Dropout stays on at test time; each forward pass then samples a different thinned network,
and the spread of their softmax outputs measures how unsure the model is about each pixel
(Monte Carlo dropout, Gal & Ghahramani 2016). The model is SegNet-Basic with dropout rates
(models/segnet.py); ``bayesian_segnet_basic`` is the paper's placement, under its registered name.

    >>> net = models.create("bayesian_segnet_basic", num_classes=11)   # or bayesian_segnet_basic(11)
    >>> out = mc_predict(net, x, samples=8, seed=0)         # the same seed, the same samples
    >>> out.mean.shape, out.variance.shape, out.entropy.shape
    ((1, 11, 360, 480), (1, 360, 480), (1, 360, 480))
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..engine import backend, random
from ..engine.tensor import Tensor, no_grad
from ..functional.activation import softmax
from .registry import register
from .segnet import SegNetBasic

__all__ = ["bayesian_segnet_basic", "MCPrediction", "mc_predict", "has_dropout"]


@register("bayesian_segnet_basic", pools=4)
def bayesian_segnet_basic(
    num_classes: int = 11, in_channels: int = 3, p: float = 0.5, *, rng: np.random.Generator | None = None
) -> SegNetBasic:
    """SegNet-Basic with Dropout(p) where the authors' bayesian_segnet_basic_train.prototxt puts it,
    after the two inner encoders and the two inner decoders ("central four"):

    enc3.dropout, enc4.dropout: after pool3 and pool4 (the Caffe model's encdrop3, encdrop4)
    dec4.dropout, dec3.dropout: after dec4's and dec3's batch norm (decdrop4, decdrop3)

    That is ``SegNetBasic(num_classes, in_channels, dropout=(0, 0, p, p))``, recorded in its
    ``config`` under this name. Same parameters as SegNet-Basic (dropout has none), so their
    weights are interchangeable. Use :func:`mc_predict` for the sampled prediction and its uncertainty.
    """
    model = SegNetBasic(num_classes, in_channels, dropout=(0.0, 0.0, p, p), rng=rng)
    model.config = {
        "name": bayesian_segnet_basic.model_name,  # type: ignore[attr-defined]  # set by @register
        "kwargs": {"num_classes": num_classes, "in_channels": in_channels, "p": p},
    }
    return model


@dataclass
class MCPrediction:
    """What :func:`mc_predict` returns; arrays on the active backend.

    mean: (N, K, H, W) mean of the sampled softmax probabilities.
    prediction: (N, H, W) argmax of ``mean`` (integer class per pixel).
    variance: (N, H, W) model uncertainty as Kendall et al. define it: the variance over the
        samples of each class's softmax probability, averaged over the K classes.
    entropy: (N, H, W) entropy of ``mean`` in nats, -sum_k p_k log p_k (0 = certain, log K = uniform).
    samples: how many forward passes were averaged.
    """

    mean: Any
    prediction: Any
    variance: Any
    entropy: Any
    samples: int


def has_dropout(model: nn.Module) -> bool:
    """True when ``model`` has a Dropout layer, i.e. Monte Carlo sampling makes sense for it."""
    return any(isinstance(m, nn.Dropout) for m in model.modules())


def mc_predict(
    model: nn.Module, x: Tensor, samples: int = 8, generator: Any = None, *, seed: int | Sequence[int] | None = None
) -> MCPrediction:
    """Monte Carlo dropout: run ``model`` ``samples`` times with dropout on, batch norm in eval mode.

    x: (N, C, H, W). The masks come from ``tinyseg.random``: with ``seed`` (an int or ints) or a
    ``generator`` (e.g. ``backend.default_rng(seed)``), from that stream alone, inside
    ``random.fork_rng`` (the same seed gives the same samples; the global stream is untouched);
    with neither, from the global dropout stream (``tinyseg.manual_seed``).
    The model's modes are restored afterwards; no graph is recorded.
    """
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    if not drops:
        raise ValueError(
            f"mc_predict: {type(model).__name__} has no Dropout layer, so every sample would be "
            "the same; use a model with dropout, e.g. create('bayesian_segnet_basic')"
        )
    if samples < 1:
        raise ValueError(f"mc_predict: samples must be at least 1, got {samples}")
    if generator is not None and seed is not None:
        raise ValueError("mc_predict: pass a seed or a generator, not both")
    # the masks' stream: this call's own (fork_rng) or, with neither seed nor generator, the global one
    stream = random.fork_rng(seed, generator=generator) if seed is not None or generator is not None else nullcontext()
    with nn.eval_mode(model), no_grad(), stream:  # batch norm: running statistics ...
        for m in drops:  # ... but dropout keeps sampling
            m.train()
        mean: Any = None  # the running mean and M2, arrays after the first sample
        m2: Any = None
        for s in range(1, samples + 1):  # Welford: running mean and sum of squared deviations
            p = softmax(model(x), dim=1).data
            if mean is None:
                mean, m2 = p.copy(), backend.xp_of(p).zeros_like(p)
                continue
            delta = p - mean
            mean += delta / s
            m2 += delta * (p - mean)
    xp = backend.xp_of(mean)
    prediction = mean.argmax(axis=1)
    variance = (m2 / samples).mean(axis=1)  # per-class variance over the samples, averaged over the classes
    plogp = xp.where(mean > 0, mean * xp.log(xp.where(mean > 0, mean, 1)), 0)
    entropy = -plogp.sum(axis=1)
    return MCPrediction(mean=mean, prediction=prediction, variance=variance, entropy=entropy, samples=samples)
