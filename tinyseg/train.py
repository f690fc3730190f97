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
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, checkpoint, models, nn, optim
from .cli import (
    CLIError, atomic_write, check_exists, check_number, check_output, check_size,
    parse_size, run_command, save_png, write_json,
)
from .data import (
    CAMVID_CLASSES, SEGNET_TUTORIAL_WEIGHTS, CamVid, DataLoader, SyntheticScenes, colorize,
    median_frequency_weights,
)
from .data import transforms as T
from .functional import cross_entropy
from .metrics import ConfusionMatrix
from .tensor import Tensor, no_grad
from .viz import plot_curves, side_by_side

IGNORE_INDEX = 11
NUM_CLASSES = 11

# The built-in recipes: what fills in the options left out. "camvid" follows the paper
# (SegNet-Basic, Caffe solver): SGD, lr 0.1, momentum 0.9, weight decay 5e-4, batch 4,
# median-frequency weights, full 360x480 images, a fixed rate for 10,000 iterations (more than a
# day on a 2-core CPU). "camvid-cpu" fits in 100 minutes on a 2-core CPU (docs/results.md says
# how it was chosen): half-size images, augmentation, a short warm-up and a poly decay of the
# paper's rate, and the square roots of the median-frequency weights. "synthetic" is the no-download default, sized to finish in minutes.
RECIPES: dict[str, dict[str, Any]] = {
    "camvid": dict(iters=10_000, batch_size=4, lr=0.1, size=None, val_every=500, augment=False,
                   lr_schedule="constant", warmup_iters=0, class_weights="median"),
    "camvid-cpu": dict(iters=1500, batch_size=4, lr=0.1, size=(180, 240), val_every=250, augment=True,
                       lr_schedule="poly", warmup_iters=50, class_weights="sqrt-median"),
    "synthetic": dict(iters=300, batch_size=4, lr=0.1, size=(96, 128), val_every=100, augment=False,
                      lr_schedule="constant", warmup_iters=0, class_weights="median"),
}
SYNTHETIC_VAL = 40


def build_parser(only_given: bool = False) -> argparse.ArgumentParser:
    """The command line. ``only_given``: parse only what was typed (no defaults), for --resume."""
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.train", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", type=Path, help="CamVid root (SegNet tutorial layout); default: synthetic scenes")
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


# ---- checking the command line (before any data is read or model built) --------------------

def _check_args(args: argparse.Namespace, warmup_typed: bool = True) -> None:
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
    check_output("--out", args.out, folder=True)


# ---- set-up -----------------------------------------------------------------------------


def _datasets(args: argparse.Namespace) -> tuple[Any, Any]:
    if args.data is None:
        size = args.size or RECIPES["synthetic"]["size"]
        return (SyntheticScenes(args.synthetic, size=size, seed=args.seed),
                SyntheticScenes(SYNTHETIC_VAL, size=size, seed=args.seed + 10_000))
    return CamVid(args.data, split="train"), CamVid(args.data, split="val")


def _class_weights(kind: str, train_set: Any) -> np.ndarray | None:
    if kind == "none":
        return None
    if kind == "segnet-tutorial":
        return np.asarray(SEGNET_TUTORIAL_WEIGHTS[:NUM_CLASSES], dtype=np.float32)
    print(f"computing median-frequency class weights over {len(train_set)} training labels...", file=sys.stderr)
    weights = np.asarray(median_frequency_weights(train_set, NUM_CLASSES, IGNORE_INDEX), dtype=np.float32)
    return np.sqrt(weights) if kind == "sqrt-median" else weights


def make_transforms(size: tuple[int, int] | None, augment: bool = False) -> T.Compose:
    """The input pipeline shared by train, evaluate and predict: resize, augment, normalise."""
    steps: list[Any] = []
    if size is not None:
        steps.append(T.Resize(size))
    if augment:
        steps += [T.RandomHorizontalFlip(), T.RandomScaleCrop(), T.ColorJitter()]
    steps.append(T.Normalize())
    return T.Compose(steps)


def _settings(args: argparse.Namespace) -> None:
    """The recipe's defaults filled in where the command line left a value out (in place)."""
    if args.recipe is None:
        args.recipe = "synthetic" if args.data is None else "camvid"
    if args.data is None and args.recipe != "synthetic":
        raise CLIError(f"--recipe {args.recipe} needs --data (the CamVid root)")
    recipe = RECIPES[args.recipe]
    warmup_typed = args.warmup_iters is not None and args.resume is None
    for name in ("size", "augment", "lr_schedule", "warmup_iters", "class_weights", "batch_size", "val_every"):
        if getattr(args, name) is None:
            setattr(args, name, recipe[name])
    if args.iters is None and args.epochs is None:
        args.iters = recipe["iters"]
    args.lr = args.lr if args.lr is not None else (recipe["lr"] if args.optimizer == "sgd" else 1e-3)
    _check_args(args, warmup_typed)
    if args.out is None:
        args.out = Path("runs") / f"{args.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def make_scheduler(args: argparse.Namespace, optimizer: optim.Optimizer, total: int,
                   start: int = 0) -> optim.LRScheduler:
    """The learning-rate schedule of ``args`` over ``total`` steps, positioned at step ``start``."""
    optimizer.lr = args.lr  # the base rate (a resumed optimiser holds the last scheduled one)
    if args.lr_schedule == "poly":
        return optim.PolynomialLR(optimizer, total, power=0.9, warmup_iters=args.warmup_iters, last_epoch=start - 1)
    if args.lr_schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, total, warmup_iters=args.warmup_iters, last_epoch=start - 1)
    return optim.ConstantLR(optimizer, warmup_iters=args.warmup_iters, last_epoch=start - 1)


# ---- one validation pass ------------------------------------------------------------------


def validate(model: nn.Module, loader: DataLoader, keep: int = 0) -> tuple[dict[str, Any], list[Any]]:
    """Scores of ``model`` on every batch of ``loader`` and the first ``keep`` (image, truth, pred)."""
    model.eval()
    cm = ConfusionMatrix(NUM_CLASSES, IGNORE_INDEX)
    samples: list[Any] = []
    with no_grad():
        for images, labels in loader:
            pred = model(Tensor(images)).data.argmax(axis=1)
            cm.update(pred, labels)
            for i in range(min(keep - len(samples), len(pred))):
                samples.append((images[i], labels[i], pred[i]))
    model.train()
    return cm.scores(), samples


def _sample_picture(samples: list[Any]) -> np.ndarray:
    rows = []
    for image, label, pred in samples:
        img = backend.to_numpy(image).transpose(1, 2, 0)
        img = ((img - img.min()) / max(float(img.max() - img.min()), 1e-6) * 255).astype(np.uint8)
        rows.append([img, colorize(backend.to_numpy(label)), colorize(backend.to_numpy(pred))])
    return side_by_side(rows)


# ---- the loop -------------------------------------------------------------------------------


class _StopFlag:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C stops at once)."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _StopFlag:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        signal.signal(signal.SIGINT, self._previous)


def train(args: argparse.Namespace) -> int:
    if args.tf32 and args.backend != "cupy":
        raise CLIError("--tf32 needs --backend cupy (TF32 is a GPU tensor-core format)")
    _settings(args)  # fills in the recipe's defaults and checks every option: nothing read or built yet
    if args.tf32:
        backend.allow_tf32()
    backend.use(args.backend)
    train_set, val_set = _datasets(args)
    weights = _class_weights(args.class_weights, train_set)

    nn.init.manual_seed(args.seed)
    model = models.create(args.model, num_classes=NUM_CLASSES)
    if args.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    else:
        optimizer = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loader = DataLoader(train_set, args.batch_size, shuffle=True, seed=args.seed,
                        transforms=make_transforms(args.size, args.augment), workers=args.workers, drop_last=True)
    val_loader = DataLoader(val_set, args.batch_size, shuffle=False, seed=args.seed,
                            transforms=make_transforms(args.size), workers=args.workers)
    if len(loader) == 0:
        raise CLIError(f"the training set has {len(train_set)} images, fewer than one batch of {args.batch_size}")
    total = args.iters or math.ceil(args.epochs * len(loader))
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]

    start, best, records = 0, -1.0, []
    if args.resume is not None:
        checkpoint.load_checkpoint(args.resume, model, optimizer)
        meta = model.checkpoint_meta
        start, best = int(meta["iteration"]), float(meta.get("best_miou", -1.0))
        log_path = args.out / "metrics.jsonl"
        if log_path.exists():
            records = [r for r in map(json.loads, log_path.read_text().splitlines()) if r["iter"] <= start]
        print(f"resumed from {args.resume} at iteration {start}", file=sys.stderr)
    scheduler = make_scheduler(args, optimizer, total, start)
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "config.json", _jsonable(args))
    weight_t = None if weights is None else backend.to_device(weights)

    def save(name: str, iteration: int) -> Path:
        meta = {
            "iteration": iteration, "best_miou": best, "classes": list(CAMVID_CLASSES[:NUM_CLASSES]),
            "size": list(args.size) if args.size else None, "seed": args.seed, "data": str(args.data or "synthetic"),
            "args": _jsonable(args),
        }
        path = args.out / name
        checkpoint.save_checkpoint(path, model, optimizer, meta=meta)
        return path

    def write_log() -> None:
        text = "".join(json.dumps(r) + "\n" for r in records)
        atomic_write(args.out / "metrics.jsonl", lambda tmp: Path(tmp).write_text(text))

    from tqdm import tqdm  # noqa: PLC0415

    # validation runs at the training size (fast); `python -m tinyseg.evaluate` scores at the labels' own
    scored_at = f" (scored at the training size {args.size[0]}x{args.size[1]})" if args.size else ""

    pending: list[Any] = []  # losses still on the device, read every --log-every steps
    bar = tqdm(total=total, initial=start, desc="train", unit="it", dynamic_ncols=True, file=sys.stderr)
    it = start
    batches = loader.iter_from(start // len(loader), start % len(loader))
    with _StopFlag() as stop:
        while it < total:
            try:
                images, labels = next(batches)
            except StopIteration:
                batches = loader.iter_from(it // len(loader), 0)
                continue
            if dropouts:  # this step's masks depend on (seed, step) alone: a resume draws them again
                step_rng = backend.default_rng([args.seed, it])
                for m in dropouts:
                    m.generator = step_rng
            logits = model(Tensor(images))
            loss = cross_entropy(logits, labels, weight=weight_t, ignore_index=IGNORE_INDEX,
                                 normalization=args.loss_norm)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            pending.append(loss.data)
            it += 1
            bar.update(1)
            if len(pending) == args.log_every or it == total or stop.requested or it % args.val_every == 0:
                values = backend.to_numpy(backend.get_xp().stack(pending)).tolist()
                first = it - len(pending) + 1
                records += [{"iter": first + i, "loss": v} for i, v in enumerate(values)]
                pending.clear()
                bar.set_postfix(loss=f"{values[-1]:.4f}", img_s=f"{(bar.format_dict['rate'] or 0) * args.batch_size:.2f}")
                if not all(math.isfinite(v) for v in values):
                    bar.close()
                    write_log()
                    print(f"tinyseg.train: error: the loss became {values[-1]} at iteration {it}; stopping. "
                          f"The last good checkpoint is kept in {args.out} (try a lower --lr).", file=sys.stderr)
                    return 1
            if it % args.val_every == 0 or it == total:
                scores, samples = validate(model, val_loader, keep=4)
                records.append({"iter": it, **{k: scores[k] for k in ("global_acc", "class_acc", "miou")}})
                tqdm.write(f"val @ {it}: G {100 * scores['global_acc']:.1f}  C {100 * scores['class_acc']:.1f}  "
                           f"mIoU {100 * scores['miou']:.1f}{scored_at}", file=sys.stderr)
                if scores["miou"] > best:
                    best = scores["miou"]
                    save("best.npz", it)
                save("last.npz", it)
                write_log()
                plot_curves(args.out / "curves.png", records)
                save_png(args.out / "val_samples.png", _sample_picture(samples))
            if stop.requested and it < total:
                bar.close()
                path = save("last.npz", it)
                write_log()
                print(f"\ninterrupted at iteration {it}; saved {path}. Resume with:\n"
                      f"  python -m tinyseg.train --resume {path}", file=sys.stderr)
                return 130
    bar.close()
    final = next(r for r in reversed(records) if "miou" in r)
    print(f"done: {total} iterations. validation G {100 * final['global_acc']:.1f}  C {100 * final['class_acc']:.1f}  "
          f"mIoU {100 * final['miou']:.1f} (best mIoU {100 * best:.1f}).\noutputs in {args.out}: best.npz, last.npz, "
          "metrics.jsonl, curves.png, val_samples.png")
    return 0


def _jsonable(args: argparse.Namespace) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}


def _args_for_resume(argv: list[str] | None, args: argparse.Namespace) -> argparse.Namespace:
    """A resumed run takes its settings from the checkpoint; what is typed again overrides them."""
    saved = checkpoint.read_meta(args.resume).get("args")
    if saved is None:
        raise CLIError(f"{args.resume} was not written by tinyseg.train (no saved settings); cannot resume")
    merged = vars(build_parser().parse_args([])) | saved
    for key in ("data", "out", "resume"):
        merged[key] = Path(merged[key]) if merged.get(key) is not None else None
    merged["size"] = tuple(merged["size"]) if merged.get("size") else None
    given = vars(build_parser(only_given=True).parse_args(argv))
    merged["out"] = Path(args.resume).parent  # the run's own folder, unless --out is typed again
    return argparse.Namespace(**(merged | given))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        check_exists("--resume", args.resume, folder=False)
        return train(_args_for_resume(argv, args) if args.resume is not None else args)

    return run_command("tinyseg.train", run)


if __name__ == "__main__":
    sys.exit(main())
