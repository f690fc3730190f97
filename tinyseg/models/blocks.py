"""The two blocks that every model here is built from, as torchvision builds VGG and ResNet
from theirs: an encoder block that pools and remembers where each maximum was, and a decoder
block that puts values back in those places (max-unpooling) and convolves the sparse result.

    EncoderBlock  convs (conv -> batch norm -> ReLU), then 2x2 max-pool with indices [, dropout]
    DecoderBlock  2x2 max-unpool with an encoder's indices, then convs (conv -> batch norm [-> ReLU]) [, dropout]

Each conv of a block is a ConvBN (``conv``, ``bn``): the pair that the authors' Caffe models
call ``conv1`` and ``conv1_bn``. A block's convs sit in ``convs``, an ``nn.Sequential``, so
parameter names read ``enc2.convs.0.conv.weight``, ``dec4.convs.0.bn.running_var``.

    >>> block = EncoderBlock([3, 64], 7)                   # one conv 7x7, 3 -> 64 channels
    >>> x, indices, size = block(tinyseg.tensor(np.zeros((1, 3, 45, 61), "float32")))
    >>> x.shape, indices.dtype, size
    ((1, 64, 22, 30), dtype('uint8'), (45, 61))
    >>> DecoderBlock([64, 64], 7, relu=False)(x, indices, size).shape
    (1, 64, 45, 61)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from .. import nn
from ..engine.tensor import Tensor

__all__ = ["ConvBN", "EncoderBlock", "DecoderBlock"]


class ConvBN(nn.Module):
    """conv k x k (padding k // 2, so the size is kept; bias) -> batch norm [-> ReLU].

    The ReLU is fused into the batch norm (``bn(x, relu=True)``, one op instead of two: a measured
    speed win, docs/performance.md); the parameters are those of a conv and a batch norm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        relu: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, rng=rng)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = relu

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x), relu=self.relu)

    def extra_repr(self) -> str:
        return f"relu={self.relu}"


def _convs(channels: Sequence[int], kernel_size: int, relu: bool, rng: np.random.Generator | None) -> nn.Sequential:
    """ConvBN from channels[0] to channels[1], then to channels[2], ...: len(channels) - 1 of them."""
    if len(channels) < 2:
        raise ValueError(f"a block needs at least one conv: channels [in, out, ...], got {list(channels)}")
    return nn.Sequential(
        *[ConvBN(c_in, c_out, kernel_size, relu=relu, rng=rng) for c_in, c_out in itertools.pairwise(channels)]
    )


def _dropout(p: float) -> nn.Dropout | None:
    return nn.Dropout(p) if p else None


class EncoderBlock(nn.Module):
    """convs (conv -> batch norm -> ReLU) through ``channels``, a 2x2 max-pool, then Dropout(dropout) if > 0.

    channels: [in, out_1, ..., out_n] for n convs k x k. forward(x (N, in, H, W)) returns
    (pooled (N, out_n, H // 2, W // 2), indices (the same shape, uint8: where in its 2x2 window
    each maximum was), (H, W): the size before pooling, which the decoder restores).
    """

    def __init__(
        self, channels: Sequence[int], kernel_size: int, *, dropout: float = 0.0, rng: np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.convs = _convs(channels, kernel_size, True, rng)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.dropout = _dropout(dropout)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, tuple[int, int]]:
        x = self.convs(x)
        size = (x.shape[2], x.shape[3])
        x, indices = self.pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return x, indices, size


class DecoderBlock(nn.Module):
    """2x2 max-unpool with an encoder's indices, convs (conv -> batch norm [-> ReLU]) through
    ``channels``, then Dropout(dropout) if > 0.

    channels: [in, out_1, ..., out_n] for n convs k x k; relu: whether each conv's batch norm is
    followed by a ReLU (SegNet's decoders: yes; SegNet-Basic's: no). forward(x (N, in, h, w),
    indices, size) -> (N, out_n, *size), size being the (H, W) the encoder had before pooling.
    """

    def __init__(
        self,
        channels: Sequence[int],
        kernel_size: int,
        *,
        relu: bool = True,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.unpool = nn.MaxUnpool2d(2)
        self.convs = _convs(channels, kernel_size, relu, rng)
        self.dropout = _dropout(dropout)

    def forward(self, x: Tensor, indices: Tensor, size: tuple[int, int]) -> Tensor:
        x = self.unpool(x, indices, output_size=size)
        x = self.convs(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return x
