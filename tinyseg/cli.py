"""What the commands (train, evaluate, predict, bn_stats) share: one-line errors, atomic writes,
the checks of their options.

Nothing here builds models; it is the thin layer between a command line and files.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import models
from .checkpoint import Checkpoint
from .data import CAMVID, Classes, SyntheticScenes, open_dataset
from .storage import atomic_write  # the one atomic writer (fsync, then rename), re-exported

__all__ = [
    "CLIError", "StopFlag", "SYNTHETIC_VAL", "open_split", "describe_data", "report_skipped", "checkpoint_classes",
    "atomic_write", "write_json", "save_png", "parse_size", "run_command",
]


class CLIError(Exception):
    """A problem with the command line or its files, reported as one line (exit code 2)."""


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


SYNTHETIC_VAL = 40  # synthetic validation scenes, drawn from seed + 10,000


def open_split(data: Path | None, split: str, *, size: tuple[int, int] | None = None, seed: int = 0,
               synthetic: int = 400, classes: Classes | Path | None = None, skip_bad: bool = False) -> Any:
    """The data set a command reads for ``--data`` and a split.

    data: a folder data set or CamVid root (``tinyseg.data.open_dataset`` tells them apart, and
    reads ``classes``: a Classes, a classes.json path, or None for the data set's own), or None
    for the built-in synthetic scenes at ``size``: ``synthetic`` training scenes drawn from
    ``seed``, or SYNTHETIC_VAL validation scenes drawn from ``seed + 10_000``.
    """
    if data is not None:
        return open_dataset(data, split=split, classes=classes, skip_bad=skip_bad)
    if split not in ("train", "val"):
        raise CLIError(f"--split {split} needs --data (the synthetic scenes have a train and a val set)")
    if size is None:
        raise CLIError("--data is required for a model not trained on the synthetic scenes")
    if split == "train":
        return SyntheticScenes(synthetic, size=size, seed=seed)
    return SyntheticScenes(SYNTHETIC_VAL, size=size, seed=seed + 10_000)


def describe_data(data: Path | None, classes: Classes, **splits: Any) -> None:
    """Say on stderr what a command is about to read: the classes, where they came from, the
    splits' sizes (``train=ds, val=ds``)."""
    where = "synthetic scenes" if data is None else str(data)
    source = next(iter(splits.values())).classes_source  # every data set says where its classes came from
    ignored = "none ignored" if classes.ignore_index is None else f"label {classes.ignore_index} ignored"
    sizes = ", ".join(f"{len(ds)} {name}" for name, ds in splits.items())
    print(f"data: {where}: {len(classes)} classes, {ignored}; {sizes} images (classes: {source})", file=sys.stderr)


def report_skipped(*splits: Any) -> None:
    """List on stderr the pairs each split skipped so far (``--skip-bad``; bad pairs are found as they are read)."""
    for ds in splits:
        skipped = getattr(ds, "skipped", None) or []
        if skipped:
            listed = "; ".join(f"{path}: {reason}" for path, reason in skipped[:10])
            more = f" ... and {len(skipped) - 10} more" if len(skipped) > 10 else ""
            print(f"skipped {len(skipped)} pair(s) of {getattr(ds, 'split', 'the data')}: {listed}{more}", file=sys.stderr)


def checkpoint_classes(ckpt: Checkpoint) -> Classes:
    """The classes a checkpoint's model was trained on, from its metadata (``meta["classes"]``).

    Checkpoints that do not say (saved outside ``tinyseg.train``) get CamVid's classes when the
    model has 11 outputs, else numbered classes with no ignored label.
    """
    num_classes = (ckpt.meta.get("model") or {}).get("kwargs", {}).get("num_classes", len(CAMVID))
    stored = ckpt.meta.get("classes") or ckpt.meta.get("class_names")
    if stored is None:
        return CAMVID if num_classes == len(CAMVID) else Classes.default(num_classes)
    classes = Classes.from_dict(stored)
    if len(classes) != num_classes:
        raise CLIError(f"the checkpoint names {len(classes)} classes but its model has {num_classes} outputs")
    return classes


class StopFlag:
    """Ctrl-C asks a long loop to stop after its current step (a second Ctrl-C stops at once).

        >>> with StopFlag() as stop:
        ...     while not stop.requested: ...
    """

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> StopFlag:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        signal.signal(signal.SIGINT, self._previous)


# ---- option checks shared by the commands (before any data is read or model built) ----------

def check_number(option: str, value: float | None, *, low: float, low_ok: bool = True,
                 high: float | None = None, high_ok: bool = False) -> None:
    """A CLIError naming ``option`` when ``value`` (None: not given) is not a finite number in the range."""
    if value is None:
        return
    high_text = "" if high is None else f" and {'at most' if high_ok else 'below'} {high:g}"
    allowed = f"{'at least' if low_ok else 'greater than'} {low:g}{high_text}"
    bad = not math.isfinite(value) or value < low or (value == low and not low_ok)
    if high is not None:
        bad = bad or value > high or (value == high and not high_ok)
    if bad:
        finite = "" if math.isfinite(value) else "a finite number "
        raise CLIError(f"{option} must be {finite}{allowed}, got {value:g}")


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
