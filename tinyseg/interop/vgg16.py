"""SegNet's encoder from torchvision's VGG16 (ImageNet-trained): the paper's initialisation.

    >>> load_vgg16_encoder(segnet, "vgg16.pth")   # torch.save(torchvision.models.vgg16(...).state_dict())

SegNet's five encoder blocks hold VGG16's 13 convolutions in VGG16's order (enc1: 2 convs,
enc2: 2, enc3: 3, enc4: 3, enc5: 3), so the i-th convolution of the file goes to the i-th
ConvBN of the encoder, whatever the file's layer numbering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._lazy import import_torch
from .state_dict import to_numpy

__all__ = ["load_vgg16_encoder"]


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


def load_vgg16_encoder(model: Any, path_or_state: Any) -> list[str]:
    """Copy VGG16's 13 convolutions into SegNet's encoder: enc1.convs.0.conv ... enc5.convs.2.conv.

    path_or_state: a file saved with ``torch.save(torchvision.models.vgg16(...).state_dict())``
    (keys "features.0.weight" ...) or vgg16_bn's (whose batch norms are copied too, into the
    ConvBNs' ``bn``), or such a dict. The convolutions are taken in order of their index, whatever
    the layout; the classifier's keys are ignored. PyTorch is imported only to read a file;
    nothing is downloaded. Returns the names of the tinyseg parameters and buffers that were set.
    """
    where = path_or_state if isinstance(path_or_state, str) else "the state_dict"
    if isinstance(path_or_state, Mapping):
        state = path_or_state
    else:
        torch = import_torch(f"load_vgg16_encoder: reading {path_or_state!r}")
        state = torch.load(path_or_state, map_location="cpu", weights_only=True)
        if not isinstance(state, Mapping):
            raise ValueError(f"load_vgg16_encoder: {path_or_state!r} holds a {type(state).__name__}, not a state_dict")
    convs, bns = _vgg_layers(state)
    if len(convs) != 13:
        raise ValueError(
            f"load_vgg16_encoder: expected VGG16's 13 convolutions ('features.N.weight', 4-D), "
            f"found {len(convs)} in {where}"
        )
    blocks = {"enc1": model.enc1, "enc2": model.enc2, "enc3": model.enc3, "enc4": model.enc4, "enc5": model.enc5}
    units = [f"{name}.convs.{j}" for name, block in blocks.items() for j in range(len(block.convs))]
    if len(units) != 13:
        raise ValueError(
            f"load_vgg16_encoder: {type(model).__name__}'s encoder has {len(units)} convolutions, "
            "VGG16 has 13: load it into a SegNet"
        )
    new: dict[str, np.ndarray] = {}
    for unit, i in zip(units, convs):
        new[f"{unit}.conv.weight"] = to_numpy(state[_key(state, i, "weight")])
        new[f"{unit}.conv.bias"] = to_numpy(state[_key(state, i, "bias")])
    if len(bns) == 13:  # vgg16_bn: each conv is followed by a batch norm
        for unit, i in zip(units, bns):
            for field in ("weight", "bias", "running_mean", "running_var"):
                new[f"{unit}.bn.{field}"] = to_numpy(state[_key(state, i, field)])
    current = model.state_dict()
    wrong = [
        f"{k}: VGG16 {v.shape} vs model {tuple(current[k].shape)}"
        for k, v in new.items()
        if v.shape != current[k].shape
    ]
    if wrong:
        raise ValueError(
            "load_vgg16_encoder: shapes differ (in_channels must be 3 for ImageNet weights): " + "; ".join(wrong)
        )
    current.update(new)
    model.load_state_dict(current)
    return list(new)
