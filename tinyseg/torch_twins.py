"""Deprecated: the PyTorch twins moved to tinyseg.interop (everything that touches PyTorch is there).

    from tinyseg import interop
    interop.from_tinyseg(model), interop.create("segnet"), interop.TorchSegNetBasic, interop.twin_class(...)
"""

from __future__ import annotations

import warnings
from typing import Any

from .interop import twins
from .interop.twins import TWINS, create, from_tinyseg, twin_class

__all__ = ["TWINS", "twin_class", "create", "from_tinyseg"]

warnings.warn("tinyseg.torch_twins is deprecated: use tinyseg.interop (from_tinyseg, create, twin_class, "
              "TorchSegNetBasic ...)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    return twins.__getattr__(name)
