"""tinyseg.interop: everything that touches PyTorch, in one place, imported lazily.

    state_dict.py  from_torch_state_dict, to_torch_state_dict: weights to and from torch.nn models
    vgg16.py       load_vgg16_encoder: torchvision's ImageNet VGG16 weights into SegNet's encoder
    twins.py       the models' PyTorch twins (TorchSegNetBasic, TorchSegNet, TorchFCNBasic; from_tinyseg)
    runtime.py     what the bench times and reads: TorchWorkload (a twin on a batch), threads, CUDA memory

Importing tinyseg.interop does not import torch: the first call that needs it does (_lazy.py),
and says what to install when it is missing. Nothing else in tinyseg imports torch: the bench
reaches PyTorch through runtime.py. Names map one to one: docs/checkpoints.md.
"""

from typing import Any

from . import twins
from .runtime import TorchWorkload, cuda_peak_memory, require_torch, set_torch_threads, torch_info
from .state_dict import from_torch_state_dict, to_torch_state_dict
from .twins import TWINS, create, from_tinyseg, twin_class, twin_of
from .vgg16 import load_vgg16_encoder

__all__ = [
    "from_torch_state_dict",
    "to_torch_state_dict",
    "load_vgg16_encoder",
    "TWINS",
    "twin_class",
    "create",
    "from_tinyseg",
    "twin_of",
    "TorchSegNetBasic",
    "TorchSegNet",
    "TorchFCNBasic",
    "TorchWorkload",
    "require_torch",
    "set_torch_threads",
    "torch_info",
    "cuda_peak_memory",
]


def __getattr__(name: str) -> Any:
    """``interop.TorchSegNetBasic`` etc.: the twin classes, defined (and torch imported) on first access."""
    return twins.__getattr__(name)
