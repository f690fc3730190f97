"""SegNet-Basic and SegNet: encoders that pool and remember where each maximum was, decoders
that put values back in those places (max-unpooling) and convolve the sparse result.

Layer names follow the authors' Caffe models (SegNet-Tutorial/Models/segnet_basic_train.prototxt
and segnet_train.prototxt): ``conv1``, ``conv1_bn``, ..., ``conv_decode1``, ``conv_classifier``
in SegNet-Basic; ``conv1_1`` ... ``conv5_3`` and ``conv5_3_D`` ... ``conv1_1_D`` in SegNet. The
PyTorch twins in tests/test_models_torch.py use the same attribute names, so parameter names
map one to one between the two frameworks (see docs/checkpoints.md).

Every model splits its forward pass in two, which is where the decoders differ:
``encode(x) -> (x, skips)`` and ``decode(x, skips) -> logits``. ``skips`` is everything the
decoder needs from the encoder: for SegNet, the pooling indices and the pre-pooling sizes.

    >>> net = SegNetBasic(num_classes=11)
    >>> net(tinyseg.tensor(np.zeros((1, 3, 360, 480), "float32"))).shape
    (1, 11, 360, 480)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import backend, nn
from ..functional.pool import max_pool2d, max_unpool2d
from ..tensor import Tensor
from .registry import register

__all__ = ["SegNetBasic", "SegNet", "load_vgg16_encoder", "VGG16_BLOCKS"]

Skips = list[tuple[Tensor, tuple[int, int]]]  # per encoder: (pooling indices, size before pooling)


def check_input(model: nn.Module, x: Tensor, in_channels: int, pools: int) -> None:
    """Name the model and the shape when x is not (N, in_channels, H, W) with room for ``pools`` halvings."""
    if x.ndim != 4 or x.shape[1] != in_channels:
        raise ValueError(f"{type(model).__name__}: expected input (N, {in_channels}, H, W), got shape {tuple(x.shape)}")
    if min(x.shape[2:]) < 2**pools:
        raise ValueError(f"{type(model).__name__}: input {tuple(x.shape)} is too small for {pools} poolings "
                         f"(height and width must be at least {2**pools})")


@register("segnet_basic")
class SegNetBasic(nn.Module):
    """SegNet-Basic (Badrinarayanan et al., 2017, Sec. 4.1), as in the authors' Caffe model.

    input LRN (size 5, alpha 1e-4, beta 0.75)
    4 encoders: conv 7x7 (64, pad 3, bias) -> batch norm -> ReLU -> 2x2 max-pool (keep indices)
    4 decoders: max-unpool with the matching indices -> conv 7x7 (64) -> batch norm  (no ReLU)
    classifier: conv 1x1 -> num_classes

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), any H, W >= 16 (odd sizes too:
    unpooling restores each encoder's size). 1,416,587 trainable parameters for 11 classes.
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.config = {"name": self.model_name, "kwargs": {"num_classes": num_classes, "in_channels": in_channels}}
        self.num_classes, self.in_channels = num_classes, in_channels
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
        for i in range(1, 5):
            setattr(self, f"conv{i}", nn.Conv2d(in_channels if i == 1 else 64, 64, 7, padding=3, rng=rng))
            setattr(self, f"conv{i}_bn", nn.BatchNorm2d(64))
        for i in range(4, 0, -1):
            setattr(self, f"conv_decode{i}", nn.Conv2d(64, 64, 7, padding=3, rng=rng))
            setattr(self, f"conv_decode{i}_bn", nn.BatchNorm2d(64))
        self.conv_classifier = nn.Conv2d(64, num_classes, 1, rng=rng)

    def _dropout(self, name: str, x: Tensor) -> Tensor:
        """Apply the Dropout layer ``name`` if this model has one (BayesianSegNetBasic does)."""
        layer = getattr(self, name, None)
        return x if layer is None else layer(x)

    def encode(self, x: Tensor) -> tuple[Tensor, Skips]:
        """x (N, C, H, W) -> (deepest pooled map (N, 64, H/16, W/16), [(indices, size)] per encoder)."""
        check_input(self, x, self.in_channels, 4)
        x = self.norm(x)
        skips: Skips = []
        for i in range(1, 5):
            x = getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(x), relu=True)
            size = (x.shape[2], x.shape[3])
            x, indices = max_pool2d(x, 2)
            skips.append((indices, size))
            x = self._dropout(f"encdrop{i}", x)
        return x, skips

    def decode(self, x: Tensor, skips: Skips) -> Tensor:
        """Unpool with each encoder's indices, deepest first; conv + batch norm, no ReLU; classify."""
        for i in range(4, 0, -1):
            indices, size = skips[i - 1]
            x = max_unpool2d(x, indices, 2, output_size=size)
            x = getattr(self, f"conv_decode{i}_bn")(getattr(self, f"conv_decode{i}")(x))
            x = self._dropout(f"decdrop{i}", x)
        return self.conv_classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))


# VGG16's 13 convolutions in 5 blocks: (block, number of convs, channels)
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


@register("segnet")
class SegNet(nn.Module):
    """SegNet (Badrinarayanan et al., 2017): the VGG16 encoder and a mirrored decoder.

    encoder: 13 convs 3x3 (pad 1) in blocks of 2-2-3-3-3 (64, 128, 256, 512, 512 channels),
             each followed by batch norm + ReLU; a 2x2 max-pool with indices after each block.
    decoder: per block, deepest first, max-unpool then the block's convs mirrored
             (conv5_3_D ... conv1_1_D), each with batch norm + ReLU; the last conv of a block
             narrows to the next block's width, and conv1_1_D (3x3) outputs the class scores
             without batch norm or ReLU, as in the Caffe model.

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), H, W >= 32 (odd sizes too).
    """

    def __init__(self, num_classes: int = 11, in_channels: int = 3, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.config = {"name": self.model_name, "kwargs": {"num_classes": num_classes, "in_channels": in_channels}}
        self.num_classes, self.in_channels = num_classes, in_channels
        channels = in_channels
        for b, n, width in VGG16_BLOCKS:
            for j in range(1, n + 1):
                setattr(self, f"conv{b}_{j}", nn.Conv2d(channels, width, 3, padding=1, rng=rng))
                setattr(self, f"conv{b}_{j}_bn", nn.BatchNorm2d(width))
                channels = width
        widths = {b: width for b, _, width in VGG16_BLOCKS}
        for b, n, width in reversed(VGG16_BLOCKS):
            for j in range(n, 0, -1):
                out = width if j > 1 else widths.get(b - 1, num_classes)
                setattr(self, f"conv{b}_{j}_D", nn.Conv2d(width, out, 3, padding=1, rng=rng))
                if (b, j) != (1, 1):
                    setattr(self, f"conv{b}_{j}_D_bn", nn.BatchNorm2d(out))

    def _conv_bn_relu(self, name: str, x: Tensor) -> Tensor:
        return getattr(self, f"{name}_bn")(getattr(self, name)(x), relu=True)

    def encode(self, x: Tensor) -> tuple[Tensor, Skips]:
        """x (N, C, H, W) -> (deepest pooled map (N, 512, H/32, W/32), [(indices, size)] per block)."""
        check_input(self, x, self.in_channels, 5)
        skips: Skips = []
        for b, n, _ in VGG16_BLOCKS:
            for j in range(1, n + 1):
                x = self._conv_bn_relu(f"conv{b}_{j}", x)
            size = (x.shape[2], x.shape[3])
            x, indices = max_pool2d(x, 2)
            skips.append((indices, size))
        return x, skips

    def decode(self, x: Tensor, skips: Skips) -> Tensor:
        """Unpool with each block's indices, deepest first, then that block's convs mirrored."""
        for b, n, _ in reversed(VGG16_BLOCKS):
            indices, size = skips[b - 1]
            x = max_unpool2d(x, indices, 2, output_size=size)
            for j in range(n, 0, -1):
                if (b, j) == (1, 1):
                    return self.conv1_1_D(x)  # the classifier: no batch norm, no ReLU
                x = self._conv_bn_relu(f"conv{b}_{j}_D", x)
        raise AssertionError("unreachable: conv1_1_D ends the decoder")

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(*self.encode(x))


def _vgg_layers(state: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    """Indices i of "features.i.*" that are convolutions (4-D weight) and batch norms (running_mean)."""
    found: dict[int, set[str]] = {}
    for key in state:
        m = re.fullmatch(r"(?:features\.)?(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)", key)
        if m:
            found.setdefault(int(m.group(1)), set()).add(m.group(2))
    convs = [i for i in sorted(found) if "weight" in found[i] and len(np.shape(state[_key(state, i, "weight")])) == 4]
    bns = [i for i in sorted(found) if "running_mean" in found[i]]
    return convs, bns


def _key(state: Mapping[str, Any], i: int, name: str) -> str:
    return f"features.{i}.{name}" if f"features.{i}.{name}" in state else f"{i}.{name}"


def _to_numpy(v: Any) -> np.ndarray:
    """A torch tensor, Tensor or array as a NumPy array."""
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch tensor
        return v.detach().cpu().numpy()
    return backend.to_numpy(v)


def load_vgg16_encoder(model: SegNet, path_or_state: str | Any) -> list[str]:
    """Copy VGG16's 13 convolutions (ImageNet-trained) into SegNet's encoder, conv1_1 ... conv5_3.

    path_or_state: a file saved with ``torch.save(torchvision.models.vgg16(...).state_dict())``
    (keys "features.0.weight" ...) or vgg16_bn's (whose batch norms are copied too), or such a
    dict. The convolutions are taken in order of their index, whatever the layout; the
    classifier's keys are ignored. PyTorch is imported only to read a file; nothing is
    downloaded. Returns the names of the tinyseg parameters and buffers that were set.
    """
    if isinstance(path_or_state, Mapping):
        state = path_or_state
    else:
        try:
            import torch  # noqa: PLC0415 (optional dependency, imported on demand)
        except ImportError:
            raise ImportError(f"load_vgg16_encoder: reading {path_or_state!r} needs PyTorch (pip install torch)") from None
        state = torch.load(path_or_state, map_location="cpu", weights_only=True)
        if not isinstance(state, Mapping):
            raise ValueError(f"load_vgg16_encoder: {path_or_state!r} holds a {type(state).__name__}, not a state_dict")
    convs, bns = _vgg_layers(state)
    if len(convs) != 13:
        raise ValueError(f"load_vgg16_encoder: expected VGG16's 13 convolutions ('features.N.weight', 4-D), "
                         f"found {len(convs)} in {path_or_state if isinstance(path_or_state, str) else 'the state_dict'}")
    names = [f"conv{b}_{j}" for b, n, _ in VGG16_BLOCKS for j in range(1, n + 1)]
    new: dict[str, np.ndarray] = {}
    for name, i in zip(names, convs):
        new[f"{name}.weight"] = _to_numpy(state[_key(state, i, "weight")])
        new[f"{name}.bias"] = _to_numpy(state[_key(state, i, "bias")])
    if len(bns) == 13:  # vgg16_bn: each conv is followed by a batch norm
        for name, i in zip(names, bns):
            for field in ("weight", "bias", "running_mean", "running_var"):
                new[f"{name}_bn.{field}"] = _to_numpy(state[_key(state, i, field)])
    current = model.state_dict()
    wrong = [f"{k}: VGG16 {v.shape} vs model {tuple(current[k].shape)}" for k, v in new.items() if v.shape != current[k].shape]
    if wrong:
        raise ValueError("load_vgg16_encoder: shapes differ (in_channels must be 3 for ImageNet weights): " + "; ".join(wrong))
    current.update(new)
    model.load_state_dict(current)
    return list(new)
