"""The one place where tinyseg imports PyTorch: on first use, with a message that says what to install."""

from __future__ import annotations

from typing import Any


def import_torch(needed_by: str) -> Any:
    """``import torch``, or an ImportError naming ``needed_by`` and the install command."""
    try:
        import torch  # noqa: PLC0415 (optional dependency, imported on demand)
    except ImportError:
        raise ImportError(f"{needed_by} needs PyTorch: pip install torch") from None
    return torch
