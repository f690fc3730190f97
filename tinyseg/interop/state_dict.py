"""Weights to and from PyTorch: tinyseg's parameter and buffer names are the attribute paths of
the layers, as PyTorch names them, so a tinyseg model and its torch.nn twin (twins.py) share
every name: ``enc1.convs.0.conv.weight``, ``dec3.convs.0.bn.running_var``, ``classifier.bias``.

    >>> from_torch_state_dict(model, torch_model.state_dict())   # PyTorch-trained weights in tinyseg
    >>> torch_model.load_state_dict(to_torch_state_dict(model))  # and tinyseg-trained ones in PyTorch
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import backend
from ._lazy import import_torch

__all__ = ["from_torch_state_dict", "to_torch_state_dict", "to_numpy"]


def to_numpy(value: Any) -> np.ndarray:
    """A torch tensor, Tensor or backend array as a NumPy array (torch is not imported to check)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().numpy()
    return backend.to_numpy(value)


def from_torch_state_dict(model: Any, state_dict: dict[str, Any], strict: bool = True) -> Any:
    """Load a PyTorch ``state_dict`` of the equivalent torch model into ``model``; returns the model.

    Names map one to one; BatchNorm's ``num_batches_tracked`` counters, which tinyseg does not
    keep, are dropped. Missing or unexpected keys and shape mismatches raise an error naming them
    (unless ``strict=False``, which skips missing and unexpected keys). Needs no PyTorch itself.
    """
    arrays = {k: to_numpy(v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")}
    model.load_state_dict(arrays, strict=strict)
    return model


def to_torch_state_dict(model: Any) -> dict[str, Any]:
    """``model``'s parameters and buffers as a dict of CPU torch tensors, for ``torch_model.load_state_dict``
    (PyTorch fills in the missing ``num_batches_tracked`` counters itself). Needs PyTorch."""
    torch = import_torch("to_torch_state_dict")
    return {k: torch.from_numpy(np.array(backend.to_numpy(v))) for k, v in model.state_dict().items()}
