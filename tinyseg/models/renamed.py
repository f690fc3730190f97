"""The one rename table: parameter names of checkpoints saved before the models were built from blocks.

Format 1 checkpoints (tinyseg before the blocks of blocks.py) named layers as the Caffe models
do (``conv1``, ``conv_decode3_bn``); today's names follow the blocks (``enc1.convs.0.conv``,
``dec3.convs.0.bn``). :func:`tinyseg.checkpoint.read` renames a format 1 file's keys with
:func:`rename_old_keys` as it loads them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RENAMED", "rename_old_keys"]


def _renamed() -> dict[str, str]:
    """Format 1 (the Caffe models' layer names) -> format 2 (the blocks of models/blocks.py), per layer.

    SegNet-Basic, Bayesian SegNet-Basic, FCN-Basic: conv{i} -> enc{i}.convs.0.conv, conv_decode{i} ->
    dec{i}.convs.0.conv (and their _bn), conv_classifier -> classifier; FCN's score*, upscore* kept.
    SegNet: conv{b}_{j} -> enc{b}.convs.{j-1}.conv, conv{b}_{j}_D -> dec{b}.convs.{n-j}.conv (a
    decoder runs its block's convs backwards), and their _bn; conv1_1_D -> classifier.
    The old names of the two families differ (conv1 vs conv1_1), so one table serves every model.
    """
    table = {"conv_classifier": "classifier", "conv1_1_D": "classifier"}
    for i in range(1, 5):  # SegNet-Basic (and Bayesian SegNet-Basic), FCN-Basic
        table |= _conv_bn(f"conv{i}", f"enc{i}.convs.0") | _conv_bn(f"conv_decode{i}", f"dec{i}.convs.0")
    for b, n in enumerate((2, 2, 3, 3, 3), start=1):  # SegNet: VGG16's blocks of n convs
        for j in range(1, n + 1):
            table |= _conv_bn(f"conv{b}_{j}", f"enc{b}.convs.{j - 1}")
            if (b, j) != (1, 1):  # conv1_1_D is the classifier
                table |= _conv_bn(f"conv{b}_{j}_D", f"dec{b}.convs.{n - j}")
    return table


def _conv_bn(old: str, new: str) -> dict[str, str]:
    """A Caffe conv and its batch norm ("conv1", "conv1_bn") -> a ConvBN's two layers."""
    return {old: f"{new}.conv", f"{old}_bn": f"{new}.bn"}


RENAMED: dict[str, str] = _renamed()
"""Layer name in format 1 checkpoints -> its name today: "conv_decode3_bn" -> "dec3.convs.0.bn"."""


def rename_old_keys(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with format 1 keys ("conv1_bn.running_var") renamed by :data:`RENAMED`
    ("enc1.convs.0.bn.running_var"); keys it does not list are kept as they are."""
    out = {}
    for key, value in state.items():
        layer, dot, field = key.rpartition(".")
        out[f"{RENAMED.get(layer, layer)}{dot}{field}" if dot else key] = value
    return out


