"""The commands' options: one-line errors (exit 2), HxW sizes, and the checks made before any
data is read or model built."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .. import models
from ..data import DataError
from ..engine.backend import BackendError
from ..io.checkpoint import CheckpointError
from ..training.config import ConfigError, _check_number

__all__ = ["CLIError", "run_command", "parse_size", "check_number", "check_size", "check_exists", "check_output"]


class CLIError(Exception):
    """A problem with the command line or its files, reported as one line (exit code 2)."""


def run_command(prog: str, main: Callable[[], int]) -> int:
    """Run ``main``; known user errors become one line on stderr and exit code 2."""
    try:
        return main()
    except ConfigError as exc:
        print(f"{prog}: error: {exc.message(as_option=True)}", file=sys.stderr)
    except (CLIError, BackendError, CheckpointError, DataError, FileNotFoundError, NotADirectoryError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
    return 2


def parse_size(text: str) -> tuple[int, int]:
    """'360x480' -> (360, 480): height then width (an argparse ``type=``, so errors are usage errors)."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must look like HEIGHTxWIDTH (e.g. 360x480), got {text!r}") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return h, w


def check_number(option: str, value: float | None, *, low: float, low_ok: bool = True,
                 high: float | None = None, high_ok: bool = False) -> None:
    """A CLIError naming ``option`` when ``value`` (None: not given) is not a finite number in the range."""
    try:
        _check_number(option, value, low=low, low_ok=low_ok, high=high, high_ok=high_ok)
    except ConfigError as exc:
        raise CLIError(str(exc)) from None


def check_size(size: tuple[int, int] | None, model_name: str | None, option: str = "--size") -> None:
    """A CLIError when HxW is too small for the model's poolings (2**pools each way, as registered)."""
    pools = models.pool_count(model_name or "")
    if size is None or pools is None:
        return
    if min(size) < 2**pools:
        raise CLIError(f"{option} {size[0]}x{size[1]} is too small for {model_name} ({pools} poolings): "
                       f"height and width must be at least {2**pools}")


def check_exists(option: str, path: Path | None, *, folder: bool) -> None:
    """A CLIError when ``path`` is given but is not an existing folder (``folder``) or file."""
    if path is None:
        return
    kind = "folder" if folder else "file"
    if not path.exists():
        raise CLIError(f"{option} {path}: no such {kind}")
    if path.is_dir() != folder:
        raise CLIError(f"{option} {path}: not a {kind}")


def check_output(option: str, path: Path | None, *, folder: bool) -> None:
    """A CLIError when the output ``path`` exists as the wrong kind (a file for a folder, or the reverse)."""
    if path is None or not path.exists():
        return
    if folder and not path.is_dir():
        raise CLIError(f"{option} {path} is a file; it must be a folder (or not exist yet)")
    if not folder and path.is_dir():
        raise CLIError(f"{option} {path} is a folder; it must be a file name")
