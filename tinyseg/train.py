"""python -m tinyseg.train: train a segmentation model, validate it, keep the best checkpoint.

With no arguments it trains SegNet-Basic on the built-in synthetic street scenes (no download,
a few minutes on a laptop CPU). With ``--data DIR`` it trains on CamVid with the paper's recipe,
or with ``--recipe camvid-cpu`` with one sized for about 90 minutes on a 2-core CPU.

    python -m tinyseg.train                                   # synthetic scenes
    python -m tinyseg.train --data ../shared/camvid --out runs/camvid
    python -m tinyseg.train --data ../shared/camvid --recipe camvid-cpu --out runs/camvid-cpu
    python -m tinyseg.train --resume runs/camvid/last.npz     # carry on exactly where it stopped

The options fill in a TrainConfig (tinyseg/training/config.py) over the recipe's defaults, and
``tinyseg.training.fit`` runs it; this file only parses, checks paths and prints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import cli, models
from .cli import CLIError, check_exists
from .data import check_same_size, open_split, verify
from .engine import backend
from .engine import random as tsrandom
from .io import checkpoint
from .training import TrainConfig, TrainingDiverged, build_optimizer, class_weights, fit, make_loaders


def build_parser() -> argparse.ArgumentParser:
    """The command line: one option per TrainConfig field (cli.add_config_options), --out, --resume."""
    p = argparse.ArgumentParser(prog="python -m tinyseg.train", description=__doc__.split("\n\n")[0])
    cli.add_config_options(p)
    p.add_argument("--out", type=Path, help="output folder (default runs/<model>-<date>)")
    p.add_argument("--resume", type=Path, help="a run's last.npz: continue it with its settings (typed options win)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out (default: refuse)")
    return p


def read_config(args: argparse.Namespace) -> tuple[TrainConfig, checkpoint.Checkpoint | None]:
    """The run's TrainConfig (the recipe's, or the resumed checkpoint's, under the typed options),
    checked with its paths before anything is read or built; and the checkpoint to resume."""
    typed = {k: v for k, v in vars(args).items() if k not in ("recipe", "out", "resume", "overwrite")}
    resume = None
    if args.resume is None:
        config = TrainConfig.from_recipe(args.recipe, **typed)
    else:
        check_exists("--resume", args.resume, folder=False)
        resume = checkpoint.read(args.resume)  # read once: its settings, then its weights and optimiser
        if not resume.config:
            raise CLIError(f"{args.resume} was not written by tinyseg.train (no saved config); cannot resume")
        config = TrainConfig.from_dict(resume.config).replace(**typed)
    config.check()
    cli.check_size(config.size, config.model)
    cli.check_size(config.fine_size, config.model, "--fine-size")
    check_exists("--data", None if config.data is None else Path(config.data), folder=True)
    check_exists("--classes", None if config.classes is None else Path(config.classes), folder=False)
    return config, resume


def train(args: argparse.Namespace) -> int:
    """Run ``python -m tinyseg.train`` with parsed ``args``; the exit code."""
    config, resume = read_config(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = args.out or (args.resume.parent if args.resume else Path("runs") / f"{config.model}-{stamp}")
    cli.check_writable("--out", out, folder=True)
    cli.check_new_run(out, resuming=resume is not None, overwrite=args.overwrite)
    if config.tf32:
        backend.allow_tf32()
    backend.use(config.backend)
    backend.keep_freed_host_memory()  # big arrays reused, not mapped afresh each step: ~10 % faster on a CPU

    data, size, seed, skip_bad = config.data, config.size, config.seed, config.skip_bad
    train_set = open_split(
        data, "train", size=size, seed=seed, skip_bad=skip_bad, synthetic=config.synthetic, classes=config.classes
    )
    val_set = open_split(data, "val", size=size, seed=seed, skip_bad=skip_bad, classes=train_set.classes)
    classes = train_set.classes
    if size is None or (config.fine_iters and config.fine_size is None):  # images as they are: one size a batch
        check_same_size(train_set, "train")
        check_same_size(val_set, "val")
    cli.describe_data(config.data, classes, train=train_set, val=val_set, weights=config.class_weights)
    weight = class_weights(config.class_weights, train_set)  # reads every training label
    verify(val_set)  # every pair read once now, not when the loop reaches it
    if weight is None:  # (the class weights above read every training label already)
        verify(train_set)
    cli.report_skipped(train_set)

    tsrandom.manual_seed(config.seed)
    model = models.create(config.model, num_classes=len(classes))
    train_loader, val_loader = make_loaders(config, train_set, val_set)
    fine_loaders = make_loaders(config, train_set, val_set, fine=True) if config.fine_iters else None
    if len(train_loader) == 0:
        raise CLIError(f"the training set has {len(train_set)} images, fewer than one batch of {config.batch_size}")
    if resume is not None:
        print(f"resuming from {args.resume} at iteration {resume.meta['step']}", file=sys.stderr)
    callbacks = [cli.ProgressBar(config.batch_size), cli.RunPictures(out, classes)]
    try:
        optimizer = build_optimizer(config, model)
        result = fit(
            model,
            optimizer,
            train_loader,
            val_loader,
            config,
            classes=classes,
            weight=weight,
            out=out,
            resume=resume,
            callbacks=callbacks,
            fine_loaders=fine_loaders,
        )
    except TrainingDiverged as exc:
        print(f"tinyseg.train: error: {exc}. Try a lower --lr.", file=sys.stderr)
        return 1
    cli.report_skipped(train_set, val_set)
    return cli.report_run(result, out)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return cli.run_command("tinyseg.train", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
