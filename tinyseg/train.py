"""python -m tinyseg.train: train a segmentation model, validate it, keep the best checkpoint.

With no arguments it trains SegNet-Basic on the built-in synthetic street scenes (no download,
a few minutes on a laptop CPU). With ``--data DIR`` it trains on CamVid with the paper's recipe,
or with ``--recipe camvid-cpu`` with one sized for 100 minutes on a 2-core CPU.

    python -m tinyseg.train                                   # synthetic scenes
    python -m tinyseg.train --data ../shared/camvid --out runs/camvid
    python -m tinyseg.train --data ../shared/camvid --recipe camvid-cpu --out runs/camvid-cpu
    python -m tinyseg.train --resume runs/camvid/last.npz     # carry on exactly where it stopped
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, checkpoint, loop, models, optim
from . import random as tsrandom
from .cli import (
    CLIError, StopFlag, atomic_write, check_exists, describe_data, open_split, parse_size, report_skipped,
    run_command, save_png, write_json,
)
from .data import DataLoader
from .recipes import RECIPES, fill_in
from .viz import plot_curves, side_by_side

def build_parser(only_given: bool = False) -> argparse.ArgumentParser:
    """The command line. ``only_given``: parse only what was typed (no defaults), for --resume."""
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", type=Path, help="a folder data set (images/<split>/, labels/<split>/; docs/your-data.md) "
                                              "or the CamVid root (SegNet tutorial layout); default: synthetic scenes")
    p.add_argument("--classes", type=Path, metavar="FILE",
                   help="classes.json for a folder data set (default: DIR/classes.json, else found from the labels)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip image/label pairs that cannot be used (listed) instead of stopping at the first")
    p.add_argument("--synthetic", type=int, default=400, metavar="N",
                   help="number of synthetic training scenes when no --data is given (40 more validate)")
    p.add_argument("--recipe", choices=sorted(RECIPES),
                   help="the defaults for every option left out (default: camvid with --data, else synthetic)")
    p.add_argument("--model", default="segnet_basic", choices=models.available())
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--tf32", action="store_true",
                   help="with --backend cupy: float32 products on TF32 tensor cores (faster, ~3 digits)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iters", type=int, help="training iterations (default: 10000 on CamVid, 300 synthetic)")
    length.add_argument("--epochs", type=float, help="training length in passes over the training set")
    p.add_argument("--batch-size", type=int, help="images per step (default 4)")
    p.add_argument("--lr", type=float, help="learning rate (default 0.1 with SGD, 1e-3 with Adam)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--lr-schedule", choices=["constant", "poly", "cosine"],
                   help="how the rate falls over the run: fixed, (1 - t/T)^0.9, or a half cosine (default: the recipe's)")
    p.add_argument("--warmup-iters", type=int, help="ramp the rate up linearly over the first N steps")
    p.add_argument("--class-weights", choices=["median", "sqrt-median", "segnet-tutorial", "none"],
                   help="median: median frequency balancing on the training labels; sqrt-median: its square "
                        "root, a softer push towards rare classes (default: the recipe's)")
    p.add_argument("--loss-norm", default="caffe", choices=["caffe", "torch"],
                   help="caffe: divide the loss by the counted pixels; torch: by their summed weights")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction,
                   help="random flips, scale-and-crop, colour jitter (default: the recipe's)")
    p.add_argument("--size", type=parse_size, help="resize images to HxW (default: 360x480 CamVid, 96x128 synthetic)")
    p.add_argument("--val-every", type=int, help="validate every N iterations (default 500 CamVid, 100 synthetic)")
    p.add_argument("--log-every", type=int, default=10, help="read the loss from the device every N steps")
    p.add_argument("--workers", type=int, default=2, help="background threads decoding images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="output folder (default runs/<model>-<date>)")
    p.add_argument("--resume", type=Path, help="checkpoint to continue from (the run's last.npz)")
    if only_given:
        for action in p._actions:
            action.default = argparse.SUPPRESS
    return p


# ---- set-up -----------------------------------------------------------------------------


def _optimizer(args: argparse.Namespace, model: Any) -> optim.Optimizer:
    if args.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


def _sample_picture(samples: list[Any], classes: Any) -> np.ndarray:
    """Rows of (image, truth, prediction) as one picture, labels in the data set's colours."""
    rows = []
    for image, label, pred in samples:
        img = backend.to_numpy(image).transpose(1, 2, 0)
        img = ((img - img.min()) / max(float(img.max() - img.min()), 1e-6) * 255).astype(np.uint8)
        rows.append([img, classes.colorize(backend.to_numpy(label)), classes.colorize(backend.to_numpy(pred))])
    return side_by_side(rows)


# ---- the run: steps, logs, validation, checkpoints --------------------------------------------


class _Run:
    """One training run's outputs in ``args.out``: the loss log, the curves, best.npz and last.npz."""

    def __init__(self, args: argparse.Namespace, model: Any, optimizer: optim.Optimizer, classes: Any) -> None:
        self.args, self.model, self.optimizer, self.classes = args, model, optimizer, classes
        self.best, self.records = -1.0, []

    def resume(self, ckpt: checkpoint.Checkpoint) -> int:
        """Restore weights, optimiser, best score and the log up to the checkpoint; its step."""
        ckpt.load_into(self.model, self.optimizer)
        start, self.best = int(ckpt.meta["iteration"]), float(ckpt.meta.get("best_miou", -1.0))
        log = self.args.out / "metrics.jsonl"
        if log.exists():
            self.records = [r for r in map(json.loads, log.read_text().splitlines()) if r["iter"] <= start]
        print(f"resumed from {ckpt.path} at iteration {start}", file=sys.stderr)
        return start

    def save(self, name: str, iteration: int) -> Path:
        args = self.args
        meta = {"iteration": iteration, "best_miou": self.best, "classes": self.classes.to_dict(),
                "size": list(args.size) if args.size else None, "seed": args.seed,
                "data": str(args.data or "synthetic"), "args": _jsonable(args)}
        return checkpoint.save_checkpoint(args.out / name, self.model, self.optimizer, meta=meta)

    def log_losses(self, first: int, values: list[float]) -> None:
        self.records += [{"iter": first + i, "loss": v} for i, v in enumerate(values)]

    def write_log(self) -> None:
        text = "".join(json.dumps(r) + "\n" for r in self.records)
        atomic_write(self.args.out / "metrics.jsonl", lambda tmp: Path(tmp).write_text(text))

    def validate(self, loader: DataLoader, it: int) -> dict[str, Any]:
        """Score on the validation loader, keep best.npz and last.npz, write the log and pictures."""
        scores = loop.evaluate(self.model, loader, len(self.classes), self.classes.ignore_index, keep=4)
        self.records.append({"iter": it, **{k: scores[k] for k in ("global_acc", "class_acc", "miou")}})
        if scores["miou"] > self.best:
            self.best = scores["miou"]
            self.save("best.npz", it)
        self.save("last.npz", it)
        self.write_log()
        plot_curves(self.args.out / "curves.png", self.records)
        save_png(self.args.out / "val_samples.png", _sample_picture(scores["samples"], self.classes))
        return scores


def train(args: argparse.Namespace, resume: checkpoint.Checkpoint | None = None) -> int:
    """Run ``python -m tinyseg.train`` with parsed ``args`` (continuing ``resume`` when given); exit code."""
    if args.tf32 and args.backend != "cupy":
        raise CLIError("--tf32 needs --backend cupy (TF32 is a GPU tensor-core format)")
    fill_in(args)  # fills in the recipe's defaults and checks every option: nothing read or built yet
    if args.tf32:
        backend.allow_tf32()
    backend.use(args.backend)
    backend.keep_freed_host_memory()  # big arrays reused, not mapped afresh each step: ~10 % faster on a CPU
    train_set = open_split(args.data, "train", size=args.size, seed=args.seed, synthetic=args.synthetic,
                           classes=args.classes, skip_bad=args.skip_bad)
    classes = train_set.classes
    val_set = open_split(args.data, "val", size=args.size, seed=args.seed, classes=classes, skip_bad=args.skip_bad)
    describe_data(args.data, classes, train=train_set, val=val_set)
    if args.class_weights != "none":
        print(f"computing {args.class_weights} class weights over {len(train_set)} training labels...", file=sys.stderr)
    weights = loop.class_weights(args.class_weights, train_set)  # reads every training label
    report_skipped(train_set)

    tsrandom.manual_seed(args.seed)
    model = models.create(args.model, num_classes=len(classes))
    optimizer = _optimizer(args, model)
    loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed, workers=args.workers,
                        transforms=loop.make_transforms(args.size, args.augment, classes.ignore_index), drop_last=True)
    val_loader = DataLoader(val_set, args.batch_size, shuffle=False, seed=args.seed,
                            transforms=loop.make_transforms(args.size), workers=args.workers)
    if len(loader) == 0:
        raise CLIError(f"the training set has {len(train_set)} images, fewer than one batch of {args.batch_size}")
    total = args.iters or math.ceil(args.epochs * len(loader))
    run = _Run(args, model, optimizer, classes)
    start = run.resume(resume) if resume is not None else 0
    optimizer.lr = args.lr  # the base rate (a resumed optimiser holds the last scheduled one)
    scheduler = optim.make_scheduler(optimizer, args.lr_schedule, total, args.warmup_iters, start)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "config.json", _jsonable(args))
    weight = None if weights is None else backend.to_device(weights)
    # validation runs at the training size (fast); `python -m tinyseg.evaluate` scores at the labels' own
    scored_at = f" (scored at the training size {args.size[0]}x{args.size[1]})" if args.size else ""
    from tqdm import tqdm  # noqa: PLC0415

    pending: list[Any] = []  # losses still on the device, read every --log-every steps
    bar = tqdm(total=total, initial=start, desc="train", unit="it", dynamic_ncols=True, file=sys.stderr)
    it = start
    batches = loader.iter_from(start // len(loader), start % len(loader))
    with StopFlag() as stop:
        while it < total:
            try:
                images, labels = next(batches)
            except StopIteration:
                batches = loader.iter_from(it // len(loader), 0)
                continue
            with tsrandom.fork_rng([args.seed, it]):  # this step's dropout masks depend on (seed, step): a resume redraws them
                loss = loop.train_step(model, optimizer, images, labels, weight=weight,
                                       ignore_index=classes.ignore_index, normalization=args.loss_norm)
            scheduler.step()
            pending.append(loss)
            it += 1
            bar.update(1)
            if len(pending) == args.log_every or it == total or stop.requested or it % args.val_every == 0:
                values = backend.to_numpy(backend.get_xp().stack(pending)).tolist()
                run.log_losses(it - len(pending) + 1, values)
                pending.clear()
                bar.set_postfix(loss=f"{values[-1]:.4f}", img_s=f"{(bar.format_dict['rate'] or 0) * args.batch_size:.2f}")
                if not all(math.isfinite(v) for v in values):
                    bar.close()
                    run.write_log()
                    print(f"tinyseg.train: error: the loss became {values[-1]} at iteration {it}; stopping. "
                          f"The last good checkpoint is kept in {args.out} (try a lower --lr).", file=sys.stderr)
                    return 1
            if it % args.val_every == 0 or it == total:
                scores = run.validate(val_loader, it)
                tqdm.write(f"val @ {it}: G {100 * scores['global_acc']:.1f}  C {100 * scores['class_acc']:.1f}  "
                           f"mIoU {100 * scores['miou']:.1f}{scored_at}", file=sys.stderr)
            if stop.requested and it < total:
                bar.close()
                path = run.save("last.npz", it)
                run.write_log()
                print(f"\ninterrupted at iteration {it}; saved {path}. Resume with:\n"
                      f"  python -m tinyseg.train --resume {path}", file=sys.stderr)
                return 130
    bar.close()
    report_skipped(train_set, val_set)
    final = next(r for r in reversed(run.records) if "miou" in r)
    print(f"done: {total} iterations. validation G {100 * final['global_acc']:.1f}  C {100 * final['class_acc']:.1f}  "
          f"mIoU {100 * final['miou']:.1f} (best mIoU {100 * run.best:.1f}).\noutputs in {args.out}: best.npz, "
          "last.npz, metrics.jsonl, curves.png, val_samples.png")
    return 0


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def _args_for_resume(argv: list[str] | None, ckpt: checkpoint.Checkpoint) -> argparse.Namespace:
    """A resumed run takes its settings from the checkpoint; what is typed again overrides them."""
    saved = ckpt.meta.get("args")
    if saved is None:
        raise CLIError(f"{ckpt.path} was not written by tinyseg.train (no saved settings); cannot resume")
    merged = vars(build_parser().parse_args([])) | saved
    for key in ("data", "out", "resume"):
        merged[key] = Path(merged[key]) if merged.get(key) is not None else None
    merged["size"] = tuple(merged["size"]) if merged.get("size") else None
    given = vars(build_parser(only_given=True).parse_args(argv))
    merged["out"] = ckpt.path.parent  # the run's own folder, unless --out is typed again
    return argparse.Namespace(**(merged | given))


def _old_make_scheduler(args: argparse.Namespace, optimizer: optim.Optimizer, total: int,
                        start: int = 0) -> optim.LRScheduler:
    optimizer.lr = args.lr
    return optim.make_scheduler(optimizer, args.lr_schedule, total, args.warmup_iters, start)


def _old_validate(model: Any, loader: DataLoader, keep: int = 0) -> tuple[dict[str, Any], list[Any]]:
    scores = loop.evaluate(model, loader, 11, 11, keep=keep)  # CamVid's classes, as it always assumed
    return scores, scores["samples"]


_MOVED = {  # old name in this module -> (its new home, the object with the old signature), for old code
    "make_transforms": ("tinyseg.loop.make_transforms", loop.make_transforms),
    "make_scheduler": ("tinyseg.optim.make_scheduler", _old_make_scheduler),
    "validate": ("tinyseg.loop.evaluate", _old_validate),
    "IGNORE_INDEX": ("the data set's classes.ignore_index", 11),
    "NUM_CLASSES": ("len(the data set's classes)", 11),
    "SYNTHETIC_VAL": ("tinyseg.cli.SYNTHETIC_VAL", 40),
}


def __getattr__(name: str) -> Any:
    """Names that moved out of the command (issue 17): they still work, with a DeprecationWarning."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home, value = _MOVED[name]
    warnings.warn(f"tinyseg.train.{name} is deprecated: use {home}", DeprecationWarning, stacklevel=2)
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        if args.resume is None:
            return train(args)
        check_exists("--resume", args.resume, folder=False)
        ckpt = checkpoint.read(args.resume)  # read once: its settings, then its weights and optimiser
        return train(_args_for_resume(argv, ckpt), resume=ckpt)

    return run_command("tinyseg.train", run)


if __name__ == "__main__":
    sys.exit(main())
