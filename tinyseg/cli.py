"""What the three commands (train, evaluate, predict) share: one-line errors, atomic writes.

Nothing here knows about models; it is the thin layer between a command line and files.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint

__all__ = ["CLIError", "atomic_write", "write_json", "save_png", "parse_size", "run_command"]


class CLIError(Exception):
    """A problem with the command line or its files, reported as one line (exit code 2)."""


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Create the folder of ``path`` and write the file atomically, mode 0644 (``checkpoint.atomic_write``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    checkpoint.atomic_write(path, write)


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, default=float) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 image (H, W, 3) or (H, W) as PNG, atomically."""
    from PIL import Image  # noqa: PLC0415

    atomic_write(path, lambda tmp: Image.fromarray(np.asarray(image, dtype=np.uint8)).save(tmp, format="PNG"))


def parse_size(text: str) -> tuple[int, int]:
    """'360x480' -> (360, 480): height then width (an argparse ``type=``, so errors are usage errors)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like HEIGHTxWIDTH (e.g. 360x480), got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return h, w


def _known_errors() -> tuple[type[BaseException], ...]:
    from .backend import BackendError  # noqa: PLC0415
    from .checkpoint import CheckpointError  # noqa: PLC0415
    from .data import DataError  # noqa: PLC0415

    return (CLIError, BackendError, CheckpointError, DataError, FileNotFoundError, NotADirectoryError)


def run_command(prog: str, main: Callable[[], int]) -> int:
    """Run ``main``; known user errors become one line on stderr and exit code 2."""
    try:
        return main()
    except _known_errors() as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
