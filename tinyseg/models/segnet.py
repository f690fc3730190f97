"""SegNet-Basic and SegNet: encoder blocks that pool and remember where each maximum was, decoder
blocks that put values back in those places and convolve the sparse result (models/blocks.py).

Every model splits its forward pass in two, which is where the decoders differ:
``encode(x) -> (x, skips)`` and ``decode(x, skips) -> logits``. ``skips`` is everything the
decoder needs from the encoder: for SegNet, each encoder's pooling indices and pre-pooling size.

The layers are named after the figure: ``enc1`` ... ``enc4`` (``enc5`` in SegNet), ``dec4`` ...
``dec1``, ``classifier``; inside a block, ``convs.0.conv`` and ``convs.0.bn``. The authors'
Caffe models (SegNet-Tutorial/Models/*.prototxt) name the same layers ``conv1``, ``conv1_bn``,
``conv_decode1``, ``conv_classifier`` (SegNet-Basic) and ``conv1_1`` ... ``conv5_3_D`` (SegNet).

    >>> net = SegNetBasic(num_classes=11)
    >>> net(tinyseg.tensor(np.zeros((1, 3, 360, 480), "float32"))).shape
    (1, 11, 360, 480)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn
from ..engine.tensor import Tensor
from .blocks import DecoderBlock, EncoderBlock
from .registry import register

__all__ = ["SegNetBasic", "SegNet", "check_input"]

Skips = list[tuple[Tensor, tuple[int, int]]]  # per encoder: (pooling indices, size before pooling)


def check_input(model: Any, x: Any, in_channels: int, pools: int) -> None:
    """Name the model and the shape when x is not (N, in_channels, H, W) with room for ``pools`` halvings."""
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{type(model).__name__}: expected input (N, {in_channels}, H, W), got shape {tuple(x.shape)}")
    if min(x.shape[2:]) < 2**pools:
        raise ValueError(
            f"{type(model).__name__}: input {tuple(x.shape)} is too small for {pools} poolings "
            f"(height and width must be at least {2**pools})"
        )


@register("segnet_basic", pools=4)
class SegNetBasic(nn.Module):
    """SegNet-Basic (Badrinarayanan et al., 2017, its study of decoder variants), as in the authors' Caffe model.

    norm          LRN (size 5, alpha 1e-4, beta 0.75) on the input
    enc1 ... enc4 conv 7x7 (64, pad 3, bias) -> batch norm -> ReLU -> 2x2 max-pool (keep indices)
    dec4 ... dec1 max-unpool with enc_i's indices -> conv 7x7 (64) -> batch norm  (no ReLU)
    classifier    conv 1x1 -> num_classes

    dropout: rates (p1, p2, p3, p4); p_i > 0 puts Dropout(p_i) after enc_i's pooling and after
    dec_i. (0, 0, 0.5, 0.5) is Bayesian SegNet-Basic (Kendall et al., 2017; models/bayesian.py).

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), any H, W >= 16 (odd sizes too:
    unpooling restores each encoder's size). 1,416,587 trainable parameters for 11 classes.
    """

    def __init__(
        self,
        num_classes: int = 11,
        in_channels: int = 3,
        dropout: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if len(dropout) != 4:
            raise ValueError(
                f"SegNetBasic: dropout takes 4 rates (p1, p2, p3, p4), one per encoder-decoder pair, got {dropout!r}"
            )
        kwargs: dict[str, Any] = {"num_classes": num_classes, "in_channels": in_channels}
        if any(dropout):
            kwargs["dropout"] = [float(p) for p in dropout]
        self.config = {"name": self.model_name, "kwargs": kwargs}
        self.num_classes, self.in_channels = num_classes, in_channels
        p1, p2, p3, p4 = dropout
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.enc1 = EncoderBlock([in_channels, 64], 7, dropout=p1, rng=rng)
        self.enc2 = EncoderBlock([64, 64], 7, dropout=p2, rng=rng)
        self.enc3 = EncoderBlock([64, 64], 7, dropout=p3, rng=rng)
        self.enc4 = EncoderBlock([64, 64], 7, dropout=p4, rng=rng)
        self.dec4 = DecoderBlock([64, 64], 7, relu=False, dropout=p4, rng=rng)
        self.dec3 = DecoderBlock([64, 64], 7, relu=False, dropout=p3, rng=rng)
        self.dec2 = DecoderBlock([64, 64], 7, relu=False, dropout=p2, rng=rng)
        self.dec1 = DecoderBlock([64, 64], 7, relu=False, dropout=p1, rng=rng)
        self.classifier = nn.Conv2d(64, num_classes, 1, rng=rng)

    def encode(self, x: Tensor) -> tuple[Tensor, Skips]:
        """x (N, C, H, W) -> (deepest pooled map (N, 64, H/16, W/16), [(indices, size)] per encoder)."""
        check_input(self, x, self.in_channels, self.pools)
        x = self.norm(x)
        x, indices1, size1 = self.enc1(x)
        x, indices2, size2 = self.enc2(x)
        x, indices3, size3 = self.enc3(x)
        x, indices4, size4 = self.enc4(x)
        return x, [(indices1, size1), (indices2, size2), (indices3, size3), (indices4, size4)]

    def decode(self, x: Tensor, skips: Skips) -> Tensor:
        """Unpool with each encoder's indices, deepest first; conv + batch norm, no ReLU; classify."""
        (indices1, size1), (indices2, size2), (indices3, size3), (indices4, size4) = skips
        x = self.dec4(x, indices4, size4)
        x = self.dec3(x, indices3, size3)
        x = self.dec2(x, indices2, size2)
        x = self.dec1(x, indices1, size1)
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))


@register("segnet", pools=5)
class SegNet(nn.Module):
    """SegNet (Badrinarayanan et al., 2017): the VGG16 encoder and a mirrored decoder.

    enc1 ... enc5 VGG16's 13 convs 3x3 (pad 1) in blocks of 2-2-3-3-3 (64, 128, 256, 512, 512
                  channels), each conv -> batch norm -> ReLU; a 2x2 max-pool with indices after each block
    dec5 ... dec1 max-unpool with enc_i's indices, then enc_i's convs mirrored, each conv -> batch
                  norm -> ReLU; a block's last conv narrows to the next block's width
    classifier    conv 3x3, 64 -> num_classes, no batch norm or ReLU

    The Caffe model's names: enc_i's convs are conv{i}_1 ... conv{i}_n, dec_i's are conv{i}_n_D ...
    conv{i}_1_D (dec1 holds conv1_2_D only), and the classifier is conv1_1_D.

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), H, W >= 32 (odd sizes too).
    29,449,355 trainable parameters for 11 classes.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.config = {"name": self.model_name, "kwargs": {"num_classes": num_classes, "in_channels": in_channels}}
        self.num_classes, self.in_channels = num_classes, in_channels
        self.enc1 = EncoderBlock([in_channels, 64, 64], 3, rng=rng)
        self.enc2 = EncoderBlock([64, 128, 128], 3, rng=rng)
        self.enc3 = EncoderBlock([128, 256, 256, 256], 3, rng=rng)
        self.enc4 = EncoderBlock([256, 512, 512, 512], 3, rng=rng)
        self.enc5 = EncoderBlock([512, 512, 512, 512], 3, rng=rng)
        self.dec5 = DecoderBlock([512, 512, 512, 512], 3, relu=True, rng=rng)
        self.dec4 = DecoderBlock([512, 512, 512, 256], 3, relu=True, rng=rng)
        self.dec3 = DecoderBlock([256, 256, 256, 128], 3, relu=True, rng=rng)
        self.dec2 = DecoderBlock([128, 128, 64], 3, relu=True, rng=rng)
        self.dec1 = DecoderBlock([64, 64], 3, relu=True, rng=rng)
        self.classifier = nn.Conv2d(64, num_classes, 3, padding=1, rng=rng)

    def encode(self, x: Tensor) -> tuple[Tensor, Skips]:
        """x (N, C, H, W) -> (deepest pooled map (N, 512, H/32, W/32), [(indices, size)] per block)."""
        check_input(self, x, self.in_channels, self.pools)
        x, indices1, size1 = self.enc1(x)
        x, indices2, size2 = self.enc2(x)
        x, indices3, size3 = self.enc3(x)
        x, indices4, size4 = self.enc4(x)
        x, indices5, size5 = self.enc5(x)
        return x, [(indices1, size1), (indices2, size2), (indices3, size3), (indices4, size4), (indices5, size5)]

    def decode(self, x: Tensor, skips: Skips) -> Tensor:
        """Unpool with each block's indices, deepest first, then that block's convs mirrored; classify."""
        (indices1, size1), (indices2, size2), (indices3, size3), (indices4, size4), (indices5, size5) = skips
        x = self.dec5(x, indices5, size5)
        x = self.dec4(x, indices4, size4)
        x = self.dec3(x, indices3, size3)
        x = self.dec2(x, indices2, size2)
        x = self.dec1(x, indices1, size1)
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))
