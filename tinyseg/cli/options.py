"""The commands' options: one-line errors (exit 2), HxW sizes, and the checks made before any
data is read or model built."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .. import models
from ..data import DataError
from ..engine.backend import BackendError
from ..io.checkpoint import CheckpointError
from ..training.config import CHOICES, RECIPES, ConfigError, TrainConfig, check_range

__all__ = [
    "add_config_options",
    "CLIError",
    "run_command",
    "parse_size",
    "check_number",
    "check_size",
    "check_exists",
    "check_output",
    "check_writable",
    "check_new_run",
]


class CLIError(Exception):
    """A problem with the command line or its files, reported as one line (exit code 2)."""


def run_command(prog: str, main: Callable[[], int]) -> int:
    """Run ``main``; known user errors become one line on stderr and exit code 2."""
    try:
        return main()
    except ConfigError as exc:
        print(f"{prog}: error: {exc.message(as_option=True)}", file=sys.stderr)
    except (CLIError, BackendError, CheckpointError, DataError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
    except OSError as exc:  # a full disk, a read-only folder, a file that vanished: the OS's words, one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
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


def check_number(
    option: str,
    value: float | None,
    *,
    low: float,
    low_ok: bool = True,
    high: float | None = None,
    high_ok: bool = False,
) -> None:
    """A CLIError naming ``option`` when ``value`` (None: not given) is not a finite number in the range."""
    try:
        check_range(option, value, low=low, low_ok=low_ok, high=high, high_ok=high_ok)
    except ConfigError as exc:
        raise CLIError(str(exc)) from None


def check_size(size: tuple[int, int] | None, model_name: str | None, option: str = "--size") -> None:
    """A CLIError when HxW is too small for the model's poolings (2**pools each way, as registered)."""
    pools = models.pool_count(model_name or "")
    if size is None or pools is None:
        return
    if min(size) < 2**pools:
        raise CLIError(
            f"{option} {size[0]}x{size[1]} is too small for {model_name} ({pools} poolings): "
            f"height and width must be at least {2**pools}"
        )


def check_exists(option: str, path: Path | None, *, folder: bool) -> None:
    """A CLIError when ``path`` is given but is not an existing folder (``folder``) or file."""
    if path is None:
        return
    kind = "folder" if folder else "file"
    if not path.exists():
        raise CLIError(f"{option} {path}: no such {kind}")
    if path.is_dir() != folder:
        raise CLIError(f"{option} {path}: not a {kind}")


def check_writable(option: str, path: Path | None, *, folder: bool) -> None:
    """``check_output``, then a CLIError unless a file can be created where ``path`` goes (in the
    folder ``path``, or beside the file ``path``): found before any work, not after it. Nothing is
    left behind: the test file goes in the nearest folder that exists."""
    check_output(option, path, folder=folder)
    if path is None:
        return
    where = path if folder else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        if not where.is_dir():
            raise NotADirectoryError(f"{where} is a file")
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as exc:
        raise CLIError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None


def check_output(option: str, path: Path | None, *, folder: bool) -> None:
    """A CLIError when the output ``path`` exists as the wrong kind (a file for a folder, or the reverse)."""
    if path is None or not path.exists():
        return
    if folder and not path.is_dir():
        raise CLIError(f"{option} {path} is a file; it must be a folder (or not exist yet)")
    if not folder and path.is_dir():
        raise CLIError(f"{option} {path} is a folder; it must be a file name")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field: ``--field-name``, typed as the field, with the field's
    help and choices. Every default is None ("not typed"): the recipe, or the checkpoint being
    resumed, supplies what is left out. ``--iters`` and ``--epochs`` exclude each other."""
    length = parser.add_mutually_exclusive_group()
    for field in dataclasses.fields(TrainConfig):
        kind = str(field.type)
        kwargs: dict[str, object] = {"default": None, "help": field.metadata["help"]}
        if field.name in CHOICES:
            kwargs["choices"] = sorted(CHOICES[field.name])
        if kind == "bool":  # --no-X only where a recipe can turn X on
            recipe_sets = any(field.name in recipe for recipe in RECIPES.values())
            kwargs["action"] = argparse.BooleanOptionalAction if recipe_sets else "store_true"
        elif field.name in ("size", "fine_size"):
            kwargs["type"] = parse_size
        elif kind.startswith(("int", "float")):
            kwargs["type"] = int if kind.startswith("int") else float
        target = length if field.name in ("iters", "epochs") else parser
        target.add_argument("--" + field.name.replace("_", "-"), **kwargs)  # type: ignore[arg-type]


RUN_FILES = ("best.npz", "last.npz", "metrics.jsonl", "config.json", "curves.png", "val_samples.png")


def check_new_run(out: Path, *, resuming: bool, overwrite: bool) -> None:
    """A CLIError when ``out`` already holds a run that this one would overwrite without being
    asked to (``--overwrite``, which deletes that run's files first); a resumed run carries on in it."""
    found = [name for name in RUN_FILES if (out / name).exists()]
    if not found or resuming:
        return
    if not overwrite:
        raise CLIError(
            f"--out {out} already holds a run ({', '.join(found)}); resume it with --resume "
            f"{out / 'last.npz'}, choose another --out, or pass --overwrite to replace it"
        )
    for name in found:
        (out / name).unlink()
