"""PyTorch twins of tinyseg's models: the same layers under the same attribute names, so that
parameter names map one to one (``conv_decode3_bn.running_var`` is the same tensor in both).

They are the reference implementations that the tests compare against (tests/test_models_torch.py)
and what ``python -m tinyseg.bench --compare torch`` times. PyTorch is optional: it is imported
the first time a twin is asked for, and nothing else in tinyseg imports this module.

    >>> from tinyseg import models, torch_twins
    >>> ours = models.create("segnet_basic")
    >>> twin = torch_twins.from_tinyseg(ours)        # a TorchSegNetBasic with ours's weights
    >>> torch_twins.TorchSegNetBasic(num_classes=11)  # or build one directly
"""

from __future__ import annotations

import functools
from typing import Any

from .models.segnet import VGG16_BLOCKS

__all__ = ["TWINS", "twin_class", "create", "from_tinyseg"]

TWINS = {"segnet_basic": "TorchSegNetBasic", "segnet": "TorchSegNet", "fcn_basic": "TorchFCNBasic"}
"""tinyseg model name -> name of its PyTorch twin in this module."""


def _import_torch() -> Any:
    try:
        import torch  # noqa: PLC0415 (optional dependency, imported on demand)
    except ImportError:
        raise ImportError("tinyseg.torch_twins needs PyTorch: pip install torch") from None
    return torch


@functools.cache
def _classes() -> dict[str, type]:
    """Define the twins (once, on first use, so that importing tinyseg never imports torch)."""
    torch = _import_torch()
    tnn, TF = torch.nn, torch.nn.functional

    class TorchSegNetBasic(tnn.Module):
        """SegNet-Basic in torch.nn: LRN, 4 x (conv 7x7, BN, ReLU, pool), 4 x (unpool, conv 7x7, BN), 1x1."""

        def __init__(self, num_classes: int = 11, in_channels: int = 3) -> None:
            super().__init__()
            self.norm = tnn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            for i in range(1, 5):
                setattr(self, f"conv{i}", tnn.Conv2d(in_channels if i == 1 else 64, 64, 7, padding=3))
                setattr(self, f"conv{i}_bn", tnn.BatchNorm2d(64))
            for i in range(4, 0, -1):
                setattr(self, f"conv_decode{i}", tnn.Conv2d(64, 64, 7, padding=3))
                setattr(self, f"conv_decode{i}_bn", tnn.BatchNorm2d(64))
            self.conv_classifier = tnn.Conv2d(64, num_classes, 1)

        def forward(self, x, indices=None):
            """indices: optional flat pooling indices to unpool with instead of this model's own."""
            x = self.norm(x)
            pooled = []
            for i in range(1, 5):
                x = TF.relu(getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(x)))
                size = x.shape[-2:]
                x, idx = TF.max_pool2d(x, 2, 2, return_indices=True)
                pooled.append((idx if indices is None else indices[i - 1], size))
            for i in range(4, 0, -1):
                idx, size = pooled[i - 1]
                x = TF.max_unpool2d(x, idx, 2, 2, output_size=size)
                x = getattr(self, f"conv_decode{i}_bn")(getattr(self, f"conv_decode{i}")(x))
            return self.conv_classifier(x)

    class TorchSegNet(tnn.Module):
        """SegNet in torch.nn: VGG16 encoder (conv-BN-ReLU), mirrored decoder, conv1_1_D to classes."""

        def __init__(self, num_classes: int = 11, in_channels: int = 3) -> None:
            super().__init__()
            c = in_channels
            for b, n, w in VGG16_BLOCKS:
                for j in range(1, n + 1):
                    setattr(self, f"conv{b}_{j}", tnn.Conv2d(c, w, 3, padding=1))
                    setattr(self, f"conv{b}_{j}_bn", tnn.BatchNorm2d(w))
                    c = w
            widths = {b: w for b, _, w in VGG16_BLOCKS}
            for b, n, w in reversed(VGG16_BLOCKS):
                for j in range(n, 0, -1):
                    out = w if j > 1 else widths.get(b - 1, num_classes)
                    setattr(self, f"conv{b}_{j}_D", tnn.Conv2d(w, out, 3, padding=1))
                    if (b, j) != (1, 1):
                        setattr(self, f"conv{b}_{j}_D_bn", tnn.BatchNorm2d(out))

        def forward(self, x, indices=None):
            """indices: optional flat pooling indices to unpool with instead of this model's own."""
            pooled = []
            for b, n, _ in VGG16_BLOCKS:
                for j in range(1, n + 1):
                    x = TF.relu(getattr(self, f"conv{b}_{j}_bn")(getattr(self, f"conv{b}_{j}")(x)))
                size = x.shape[-2:]
                x, idx = TF.max_pool2d(x, 2, 2, return_indices=True)
                pooled.append((idx if indices is None else indices[b - 1], size))
            for b, n, _ in reversed(VGG16_BLOCKS):
                idx, size = pooled[b - 1]
                x = TF.max_unpool2d(x, idx, 2, 2, output_size=size)
                for j in range(n, 0, -1):
                    conv = getattr(self, f"conv{b}_{j}_D")
                    x = conv(x) if (b, j) == (1, 1) else TF.relu(getattr(self, f"conv{b}_{j}_D_bn")(conv(x)))
            return x

    class TorchFCNBasic(tnn.Module):
        """FCN-Basic in torch.nn: SegNet-Basic's encoder, 1x1 scores, 2x transposed convs, additions."""

        def __init__(self, num_classes: int = 11, in_channels: int = 3) -> None:
            super().__init__()
            self.norm = tnn.LocalResponseNorm(5, alpha=1e-4, beta=0.75)
            for i in range(1, 5):
                setattr(self, f"conv{i}", tnn.Conv2d(in_channels if i == 1 else 64, 64, 7, padding=3))
                setattr(self, f"conv{i}_bn", tnn.BatchNorm2d(64))
                setattr(self, f"score{i}", tnn.Conv2d(64, num_classes, 1))
            self.score_pool4 = tnn.Conv2d(64, num_classes, 1)
            for i in range(4, 0, -1):
                setattr(self, f"upscore{i}", tnn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False))

        def forward(self, x):
            x = self.norm(x)
            skips = []
            for i in range(1, 5):
                x = TF.relu(getattr(self, f"conv{i}_bn")(getattr(self, f"conv{i}")(x)))
                skips.append(getattr(self, f"score{i}")(x))
                x = TF.max_pool2d(x, 2, 2)
            x = self.score_pool4(x)
            for i in range(4, 0, -1):
                x = getattr(self, f"upscore{i}")(x, output_size=skips[i - 1].shape[-2:]) + skips[i - 1]
            return x

    return {c.__name__: c for c in (TorchSegNetBasic, TorchSegNet, TorchFCNBasic)}


def __getattr__(name: str) -> Any:
    """``torch_twins.TorchSegNetBasic`` etc.: defined (and torch imported) on first access."""
    if name in TWINS.values():
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def twin_class(model_name: str) -> type:
    """The PyTorch twin class of the tinyseg model registered as ``model_name``."""
    if model_name not in TWINS:
        raise ValueError(f"no PyTorch twin for model {model_name!r}: twins exist for {', '.join(sorted(TWINS))}")
    return _classes()[TWINS[model_name]]


def create(model_name: str, **kwargs: Any) -> Any:
    """A fresh twin of ``model_name`` (its own PyTorch initialisation), e.g. create("segnet_basic", num_classes=11)."""
    return twin_class(model_name)(**kwargs)


def from_tinyseg(model: Any) -> Any:
    """A PyTorch twin of a tinyseg model with the same weights and buffers (float32, CPU).

    ``model`` must be one of the registered models with a twin (its ``config`` names it).
    """
    from .checkpoint import to_torch_state_dict  # noqa: PLC0415 (imports torch too)

    config = model.config
    twin = create(config["name"], **config["kwargs"])
    twin.load_state_dict(to_torch_state_dict(model))
    return twin
