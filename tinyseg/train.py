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

from . import models
from .cli import CLIError, ProgressBar, RunPictures, check_exists, check_output, check_size, describe_data, \
    parse_size, report_skipped, run_command
from .data import open_split
from .engine import backend
from .engine import random as tsrandom
from .io import checkpoint
from .training import RECIPES, TrainConfig, TrainingDiverged, build_optimizer, class_weights, fit, make_loaders


def build_parser() -> argparse.ArgumentParser:
    """The command line. Every option defaults to None, "not typed": the recipe (or, with
    --resume, the checkpoint's config) supplies the rest."""
    p = argparse.ArgumentParser(prog="python -m tinyseg.train", description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add("--data", help="a folder data set (docs/your-data.md) or the CamVid root; default: synthetic scenes")
    add("--classes", help="classes.json for a folder data set (default: DATA/classes.json, else found from the labels)")
    add("--skip-bad", action="store_true", default=None, help="skip unusable image/label pairs (listed) instead of stopping")
    add("--synthetic", type=int, metavar="N", help="synthetic training scenes without --data (default 400; 40 more validate)")
    add("--recipe", choices=sorted(RECIPES), help="defaults for what is left out (default: camvid with --data, else synthetic)")
    add("--model", choices=models.available(), help="default segnet_basic")
    add("--backend", choices=["numpy", "cupy"], help="where the ops run (default numpy)")
    add("--tf32", action="store_true", default=None, help="with --backend cupy: float32 products on TF32 tensor cores")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iters", type=int, help="training steps (the recipe's: 300 synthetic, 1500 camvid-cpu, 10000 camvid)")
    length.add_argument("--epochs", type=float, help="training length in passes over the training set")
    add("--batch-size", type=int, help="images per step (default 4)")
    add("--lr", type=float, help="learning rate (default 0.1 with SGD, 1e-3 with Adam)")
    add("--momentum", type=float, help="SGD momentum (default 0.9)")
    add("--weight-decay", type=float, help="L2 weight decay (default 5e-4)")
    add("--optimizer", choices=["sgd", "adam"], help="default sgd")
    add("--lr-schedule", choices=["constant", "poly", "cosine"], help="fixed, (1 - t/T)^0.9, or a half cosine (recipe's)")
    add("--warmup-iters", type=int, help="ramp the rate up linearly over the first N steps (recipe's)")
    add("--class-weights", choices=["median", "sqrt-median", "segnet-tutorial", "none"],
        help="median frequency balancing, its square root, the tutorial's table, or none (recipe's)")
    add("--loss-norm", choices=["caffe", "torch"], help="divide the loss by the counted pixels (caffe, default) or their weights")
    add("--augment", action=argparse.BooleanOptionalAction, help="random flips, scale-and-crop, colour jitter (recipe's)")
    add("--size", type=parse_size, help="resize images to HxW (recipe's: 96x128 synthetic, 180x240 camvid-cpu, as they are camvid)")
    add("--val-every", type=int, help="validate every N steps (recipe's)")
    add("--log-every", type=int, help="read the loss back from the device every N steps (default 10)")
    add("--workers", type=int, help="background threads decoding images (default 2)")
    add("--seed", type=int, help="default 0")
    add("--out", type=Path, help="output folder (default runs/<model>-<date>)")
    add("--resume", type=Path, help="a run's last.npz to continue from, with its settings (typed options override them)")
    return p


def train(args: argparse.Namespace) -> int:
    """Run ``python -m tinyseg.train`` with parsed ``args``; the exit code."""
    typed = {k: v for k, v in vars(args).items() if k not in ("recipe", "out", "resume")}
    resume = None
    if args.resume is not None:
        check_exists("--resume", args.resume, folder=False)
        resume = checkpoint.read(args.resume)  # read once: its settings, then its weights and optimiser
        if not resume.config:
            raise CLIError(f"{args.resume} was not written by tinyseg.train (no saved config); cannot resume")
        config = TrainConfig.from_dict(resume.config).replace(**typed)
    else:
        config = TrainConfig.from_recipe(args.recipe, **typed)
    config.check()
    check_size(config.size, config.model)
    check_exists("--data", None if config.data is None else Path(config.data), folder=True)
    check_exists("--classes", None if config.classes is None else Path(config.classes), folder=False)
    out = args.out or (args.resume.parent if args.resume else Path("runs") / f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    check_output("--out", out, folder=True)
    if config.tf32:
        backend.allow_tf32()
    backend.use(config.backend)
    backend.keep_freed_host_memory()  # big arrays reused, not mapped afresh each step: ~10 % faster on a CPU

    opened = dict(size=config.size, seed=config.seed, skip_bad=config.skip_bad)
    train_set = open_split(config.data, "train", synthetic=config.synthetic, classes=config.classes, **opened)
    classes = train_set.classes
    val_set = open_split(config.data, "val", classes=classes, **opened)
    describe_data(config.data, classes, train=train_set, val=val_set)
    if config.class_weights != "none":
        print(f"computing {config.class_weights} class weights over {len(train_set)} training labels...", file=sys.stderr)
    weight = class_weights(config.class_weights, train_set)  # reads every training label
    report_skipped(train_set)

    tsrandom.manual_seed(config.seed)
    model = models.create(config.model, num_classes=len(classes))
    train_loader, val_loader = make_loaders(config, train_set, val_set)
    if len(train_loader) == 0:
        raise CLIError(f"the training set has {len(train_set)} images, fewer than one batch of {config.batch_size}")
    if resume is not None:
        print(f"resuming from {args.resume} at iteration {resume.meta['step']}", file=sys.stderr)
    callbacks = [ProgressBar(config.batch_size), RunPictures(out, classes)]
    try:
        result = fit(model, build_optimizer(config, model), train_loader, val_loader, config, classes=classes,
                     weight=weight, out=out, resume=resume, callbacks=callbacks)
    except TrainingDiverged as exc:
        print(f"tinyseg.train: error: {exc}. Try a lower --lr.", file=sys.stderr)
        return 1
    if result.interrupted:
        print(f"\ninterrupted at iteration {result.step}; saved {out / 'last.npz'}. Resume with:\n"
              f"  python -m tinyseg.train --resume {out / 'last.npz'}", file=sys.stderr)
        return 130
    report_skipped(train_set, val_set)
    final = next((r for r in reversed(result.history) if "miou" in r), None)  # fit validates at the last step
    scores = "" if final is None else "G {:.1f}  C {:.1f}  mIoU {:.1f} ".format(
        *(100 * final[k] for k in ("global_acc", "class_acc", "miou")))
    print(f"done: {result.step} iterations. validation {scores}(best mIoU "
          f"{100 * result.best_miou:.1f}).\noutputs in {out}: best.npz, last.npz, metrics.jsonl, curves.png, "
          "val_samples.png, config.json")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command("tinyseg.train", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
