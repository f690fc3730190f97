"""The built-in training recipes, and how they fill in the options left out of ``python -m tinyseg.train``.

A recipe is a set of defaults: what a typed option overrides. :func:`fill_in` applies one to the
parsed command line, then :func:`check_args` checks every option before any data is read or
model built, so a bad value is one line (exit 2), never a traceback half-way through a run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .cli import CLIError, check_exists, check_number, check_output, check_size

__all__ = ["RECIPES", "fill_in", "check_args"]

# "camvid" follows the paper (SegNet-Basic, Caffe solver): SGD, lr 0.1, momentum 0.9, weight
# decay 5e-4, batch 4, median-frequency weights, full-size images, a fixed rate for 10,000
# iterations (more than a day on a 2-core CPU); it is also the default for a folder data set.
# "camvid-cpu" fits in 100 minutes on a 2-core CPU (docs/results.md says how it was chosen):
# half-size images, augmentation, a short warm-up and a poly decay of the paper's rate, and the
# square roots of the median-frequency weights. "synthetic" is the no-download default, sized to
# finish in minutes.
RECIPES: dict[str, dict[str, Any]] = {
    "camvid": dict(iters=10_000, batch_size=4, lr=0.1, size=None, val_every=500, augment=False,
                   lr_schedule="constant", warmup_iters=0, class_weights="median"),
    "camvid-cpu": dict(iters=1500, batch_size=4, lr=0.1, size=(180, 240), val_every=250, augment=True,
                       lr_schedule="poly", warmup_iters=50, class_weights="sqrt-median"),
    "synthetic": dict(iters=300, batch_size=4, lr=0.1, size=(96, 128), val_every=100, augment=False,
                      lr_schedule="constant", warmup_iters=0, class_weights="median"),
}


# ---- checking the command line (before any data is read or model built) --------------------

def check_args(args: argparse.Namespace, warmup_typed: bool = True) -> None:
    """Every option checked up front (after the recipe filled in the defaults): one CLIError each.

    warmup_typed: --warmup-iters was typed (a recipe's warm-up may outlast a short test run)."""
    check_number("--lr", args.lr, low=0, low_ok=False)
    check_number("--momentum", args.momentum, low=0, high=1)
    check_number("--weight-decay", args.weight_decay, low=0)
    check_number("--epochs", args.epochs, low=0, low_ok=False)
    for name in ("iters", "batch_size", "val_every", "log_every", "synthetic"):
        check_number(f"--{name.replace('_', '-')}", getattr(args, name), low=1)
    check_number("--workers", args.workers, low=0)
    check_number("--warmup-iters", args.warmup_iters, low=0)
    check_number("--seed", args.seed, low=0)
    if warmup_typed and args.iters is not None and args.warmup_iters >= args.iters:
        raise CLIError(f"--warmup-iters must be below --iters ({args.iters}), got {args.warmup_iters}")
    if args.data is None and args.synthetic < args.batch_size:
        raise CLIError(f"--synthetic {args.synthetic} is fewer than one batch; it must be at least "
                       f"--batch-size ({args.batch_size})")
    check_size(args.size, args.model)
    check_exists("--data", args.data, folder=True)
    check_exists("--classes", args.classes, folder=False)
    if args.classes is not None and args.data is None:
        raise CLIError("--classes needs --data (the synthetic scenes have CamVid's classes)")
    check_output("--out", args.out, folder=True)


def fill_in(args: argparse.Namespace) -> None:
    """The recipe's defaults filled in where the command line left a value out (in place)."""
    if args.recipe is None:
        args.recipe = "synthetic" if args.data is None else "camvid"
    if args.data is None and args.recipe != "synthetic":
        raise CLIError(f"--recipe {args.recipe} needs --data (the CamVid root or your own data set)")
    recipe = RECIPES[args.recipe]
    warmup_typed = args.warmup_iters is not None and args.resume is None
    for name in ("size", "augment", "lr_schedule", "warmup_iters", "class_weights", "batch_size", "val_every"):
        if getattr(args, name) is None:
            setattr(args, name, recipe[name])
    if args.iters is None and args.epochs is None:
        args.iters = recipe["iters"]
    args.lr = args.lr if args.lr is not None else (recipe["lr"] if args.optimizer == "sgd" else 1e-3)
    check_args(args, warmup_typed)
    if args.out is None:
        args.out = Path("runs") / f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"
