"""FCN-Basic: SegNet-Basic's encoder with FCN's way of decoding (the SegNet paper's decoder-variant
comparison), so that the memory cost of the two decoders can be measured side by side.

SegNet's decoders receive, from each encoder, only *where* each 2x2 maximum was (pooling
indices, uint8 here, 2 bits in principle). FCN's decoders receive the encoder's feature map
itself, reduced to ``num_classes`` channels by a 1x1 convolution, and must keep it until the
decoder runs: a float per class per pixel. Each FCN decoder upsamples its input 2x with a
learned transposed convolution (kernel 4, stride 2, pad 1, initialised to bilinear
interpolation, no bias, as in FCN) and adds the stored map. There are no other decoder
filters, so the decoders work in ``num_classes`` channels throughout.

Our reading of the paper's description (details it leaves open are fixed here): the stored
map of encoder i is its output before pooling, the map at the resolution the decoder i
produces, so every decoder, the full-resolution one too, gets a skip; the decoder input is
the deepest pooled map reduced by its own 1x1 conv (``score_pool4``).

    >>> net = FCNBasic(num_classes=11)
    >>> decoder_storage_bytes(net, x)     # compare with SegNetBasic's
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn
from ..engine import backend
from ..engine.tensor import Tensor, no_grad
from ..functional.conv import conv_transpose2d
from .blocks import EncoderBlock
from .registry import register
from .segnet import check_input

__all__ = ["FCNBasic", "Upsample2x", "bilinear_kernel", "decoder_storage_bytes"]


def bilinear_kernel(channels: int, size: int = 4) -> np.ndarray:
    """(channels, channels, size, size) transposed-conv weights that upsample each channel by
    bilinear interpolation (factor size // 2) and do not mix channels: FCN's initialisation."""
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(size) - centre) / factor
    weight = np.zeros((channels, channels, size, size))
    weight[np.arange(channels), np.arange(channels)] = np.outer(ramp, ramp)
    return weight


class Upsample2x(nn.ConvTranspose2d):
    """FCN's learned 2x upsampling: transposed conv 4x4, stride 2, pad 1, no bias, channels ->
    channels, initialised to bilinear interpolation (:func:`bilinear_kernel`).

    forward(x (N, C, h, w), output_size (H, W)) with H in {2h, 2h + 1} (W likewise): kernel 4,
    stride 2, pad 1 gives 2h + output_padding rows (22 -> 44 + 1 = 45), and the output padding is
    chosen to give output_size, as torch.nn.ConvTranspose2d's ``forward(x, output_size)`` does.
    """

    def __init__(self, channels: int, *, rng: np.random.Generator | None = None) -> None:
        super().__init__(channels, channels, 4, stride=2, padding=1, bias=False, rng=rng)
        self.weight.data = backend.to_device(bilinear_kernel(channels), dtype=self.weight.dtype)

    def forward(self, x: Tensor, output_size: tuple[int, int]) -> Tensor:  # type: ignore[override]
        extra = (output_size[0] - 2 * x.shape[2], output_size[1] - 2 * x.shape[3])
        return conv_transpose2d(
            x, self.weight, self.bias, stride=self.stride, padding=self.padding, output_padding=extra
        )


@register("fcn_basic", pools=4)
class FCNBasic(nn.Module):
    """FCN-Basic: SegNet-Basic's encoder blocks (enc1 ... enc4, same layers and names) with FCN decoders.

    enc_i, i = 1..4  conv 7x7 (64) -> batch norm -> ReLU = e_i; 2x2 max-pool (indices discarded)
    score_i          1x1 conv e_i -> num_classes: the map that decoder i adds back
    score_pool4      1x1 conv on enc4's pooled output -> num_classes: the decoders' input
    upscore_i, i = 4..1  Upsample2x (transposed conv 4x4, stride 2, pad 1, bilinear init, no bias)
                     to e_i's size, + score_i(e_i); the last sum is the logits

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), any H, W >= 16.
    623,607 trainable parameters for 11 classes.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.config = {"name": self.model_name, "kwargs": {"num_classes": num_classes, "in_channels": in_channels}}
        self.num_classes, self.in_channels = num_classes, in_channels
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        self.enc1, self.score1 = EncoderBlock([in_channels, 64], 7, rng=rng), nn.Conv2d(64, num_classes, 1, rng=rng)
        self.enc2, self.score2 = EncoderBlock([64, 64], 7, rng=rng), nn.Conv2d(64, num_classes, 1, rng=rng)
        self.enc3, self.score3 = EncoderBlock([64, 64], 7, rng=rng), nn.Conv2d(64, num_classes, 1, rng=rng)
        self.enc4, self.score4 = EncoderBlock([64, 64], 7, rng=rng), nn.Conv2d(64, num_classes, 1, rng=rng)
        self.score_pool4 = nn.Conv2d(64, num_classes, 1, rng=rng)
        self.upscore4 = Upsample2x(num_classes, rng=rng)
        self.upscore3 = Upsample2x(num_classes, rng=rng)
        self.upscore2 = Upsample2x(num_classes, rng=rng)
        self.upscore1 = Upsample2x(num_classes, rng=rng)

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """x (N, C, H, W) -> (score_pool4 (N, K, H/16, W/16), [score_i(e_i) (N, K, H_i, W_i)] for i = 1..4)."""
        check_input(self, x, self.in_channels, self.pools)
        x = self.norm(x)
        skips = []
        for encoder, score in (
            (self.enc1, self.score1),
            (self.enc2, self.score2),
            (self.enc3, self.score3),
            (self.enc4, self.score4),
        ):
            x = encoder.convs(x)  # e_i: the block's features before pooling
            skips.append(score(x))
            x, _ = encoder.pool(x)  # FCN keeps no indices
        return self.score_pool4(x), skips

    def decode(self, x: Tensor, skips: list[Tensor]) -> Tensor:
        """Upsample 2x with the learned kernels and add the stored score map, deepest first."""
        score1, score2, score3, score4 = skips
        x = self.upscore4(x, output_size=score4.shape[2:]) + score4
        x = self.upscore3(x, output_size=score3.shape[2:]) + score3
        x = self.upscore2(x, output_size=score2.shape[2:]) + score2
        x = self.upscore1(x, output_size=score1.shape[2:]) + score1
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))


def _nbytes(obj: Any) -> int:
    """Bytes of every array inside ``obj`` (Tensors, arrays, nested lists and tuples; sizes count 0)."""
    if isinstance(obj, Tensor):
        return int(obj.data.nbytes)
    if backend.is_array(obj):
        return int(obj.nbytes)
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(o) for o in obj)
    return 0


def decoder_storage_bytes(model: nn.Module, x: Tensor) -> int:
    """Bytes that ``model.encode(x)`` hands to its decoders and that must stay in memory until
    they run (at inference: SegNet's pooling indices, FCN's reduced feature maps).

    The deepest encoder output, which both decoders take as input, is not counted.
    """
    with nn.eval_mode(model), no_grad():
        _, skips = model.encode(x)
    return _nbytes(skips)
