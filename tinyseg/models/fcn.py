"""FCN-Basic: SegNet-Basic's encoder with FCN's way of decoding (the SegNet paper's Sec. 4.1
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

from .. import backend, nn
from ..functional.conv import conv_transpose2d
from ..functional.pool import max_pool2d
from ..tensor import Tensor, no_grad
from .registry import register
from .segnet import check_input

__all__ = ["FCNBasic", "bilinear_kernel", "decoder_storage_bytes"]


def bilinear_kernel(channels: int, size: int = 4) -> np.ndarray:
    """(channels, channels, size, size) transposed-conv weights that upsample each channel by
    bilinear interpolation (factor size // 2) and do not mix channels: FCN's initialisation."""
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1 - np.abs(np.arange(size) - centre) / factor
    weight = np.zeros((channels, channels, size, size))
    weight[np.arange(channels), np.arange(channels)] = np.outer(ramp, ramp)
    return weight


@register("fcn_basic")
class FCNBasic(nn.Module):
    """FCN-Basic: SegNet-Basic's encoder (same layer names) with FCN decoders.

    encoder i = 1..4: conv 7x7 (64) -> batch norm -> ReLU = e_i; store score_i(e_i) (1x1 conv to
                      num_classes); 2x2 max-pool (indices discarded)
    decoder input:    score_pool4(pooled e_4) (1x1 conv to num_classes)
    decoder i = 4..1: upscore_i (transposed conv 4x4, stride 2, pad 1, bilinear init, no bias,
                      output_padding chosen so that the size matches e_i) + score_i(e_i)

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), any H, W >= 16.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.config = {"name": self.model_name, "kwargs": {"num_classes": num_classes, "in_channels": in_channels}}
        self.num_classes, self.in_channels = num_classes, in_channels
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(in_channels if i == 1 else 64, 64, 7, padding=3, rng=rng))
            setattr(self, f"conv{i}_bn", nn.BatchNorm2d(64))
            setattr(self, f"score{i}", nn.Conv2d(64, num_classes, 1, rng=rng))
        self.score_pool4 = nn.Conv2d(64, num_classes, 1, rng=rng)
        for i in range(4, 0, -1):
            up = nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1, bias=False, rng=rng)
            up.weight.data = backend.to_device(bilinear_kernel(num_classes), dtype=up.weight.dtype)
            setattr(self, f"upscore{i}", up)

    def encode(self, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """x (N, C, H, W) -> (score_pool4 (N, K, H/16, W/16), [score_i(e_i) (N, K, H_i, W_i)] for i = 1..4)."""
        check_input(self, x, self.in_channels, 4)
        x = self.norm(x)
        skips = []
        for i in range(1, 5):
            x = getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(x), relu=True)
            skips.append(getattr(self, f"score{i}")(x))
            x, _ = max_pool2d(x, 2)
        return self.score_pool4(x), skips

    def decode(self, x: Tensor, skips: list[Tensor]) -> Tensor:
        """Upsample 2x with the learned kernels and add the stored score map, deepest first."""
        for i in range(4, 0, -1):
            skip = skips[i - 1]
            up = getattr(self, f"upscore{i}")
            # kernel 4, stride 2, pad 1 gives 2h + output_padding rows: 22 -> 44 + 1 = 45
            extra = (skip.shape[2] - 2 * x.shape[2], skip.shape[3] - 2 * x.shape[3])
            x = conv_transpose2d(x, up.weight, None, stride=2, padding=1, output_padding=extra) + skip
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
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            _, skips = model.encode(x)
    finally:
        for m, mode in modes:
            m.training = mode
    return _nbytes(skips)
