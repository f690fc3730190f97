"""python -m tinyseg.evaluate: score a checkpoint on a CamVid split (or the synthetic scenes).

    python -m tinyseg.evaluate --checkpoint weights/segnet_basic_camvid.npz --data ../shared/camvid --split val
    python -m tinyseg.evaluate --checkpoint runs/x/best.npz --json scores.json   # synthetic validation set

Prints per-class accuracy and IoU, then global accuracy (G), class average accuracy (C), mIoU and
the boundary F1 score (BF). ``--json`` writes the same as fractions in [0, 1].

Scores are taken at the labels' own resolution, whatever size the model runs at: the images are
resized to the model's input size (the size it was trained at, or ``--size``), and its class
scores are upsampled bilinearly to the label size before the argmax. A model trained on
180x240 images is thus scored against CamVid's 360x480 labels, as the paper's figures are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import models
from .cli import CLIError, check_exists, check_number, check_size, check_writable, parse_size, run_command
from .data import DataLoader, open_split, sizes_differ
from .engine import backend
from .io import checkpoint
from .io.storage import write_json
from .training import ModelInputs
from .training import evaluate as evaluate_model


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.evaluate",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint written by tinyseg.train")
    p.add_argument(
        "--data",
        type=Path,
        help="a folder data set or the CamVid root (default: the synthetic validation scenes of a run on them)",
    )
    p.add_argument("--split", choices=["train", "val", "test"], help="the split of --data (default: val)")
    p.add_argument("--size", type=parse_size, help="resize to HxW (default: the size the model was trained at)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="where the ops run (default: numpy)")
    p.add_argument("--batch-size", type=int, default=4, help="images per forward pass (default: 4)")
    p.add_argument(
        "--mc-samples",
        type=int,
        default=0,
        help="Monte Carlo dropout samples, for models with dropout (default: 0, one pass without dropout)",
    )
    p.add_argument("--workers", type=int, default=2, help="background threads decoding images (default: 2)")
    p.add_argument("--json", type=Path, help="also write the scores to this JSON file")
    return p


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before any data is read or model built: one CLIError each."""
    check_exists("--checkpoint", args.checkpoint, folder=False)
    check_exists("--data", args.data, folder=True)
    if args.data is None and args.split is not None:
        raise CLIError(f"--split {args.split} needs --data (the synthetic scenes have one validation set)")
    check_number("--batch-size", args.batch_size, low=1)
    check_number("--mc-samples", args.mc_samples, low=0)
    check_number("--workers", args.workers, low=0)
    check_writable("--json", args.json, folder=False)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Scores of the checkpoint on the chosen split, at the labels' resolution: G, C, mIoU, BF,
    per-class figures, and the sizes involved (``label_size``, ``input_size``)."""
    check_args(args)
    ckpt = checkpoint.read(args.checkpoint)  # read once: the size check needs the model's name
    check_size(args.size, ckpt.model_name)
    if args.split is None:
        args.split = "val"
    backend.use(args.backend)
    backend.keep_freed_host_memory()
    model, config = ckpt.build_model(), ckpt.config
    if args.data is None and config.get("data") is not None:
        raise CLIError(
            f"--data is required: {args.checkpoint} was trained on {config['data']}, not the synthetic scenes"
        )
    if args.mc_samples and not models.has_dropout(model):
        raise CLIError(f"--mc-samples needs a model with dropout; {args.checkpoint} holds {ckpt.model_name}")
    size = args.size or ckpt.input_size
    classes = ckpt.classes
    dataset = open_split(args.data, args.split, size=size, seed=int(config.get("seed", 0)), classes=classes)
    mixed = sizes_differ(dataset)  # labels are scored at their own sizes
    if mixed:
        print("the images differ in size: scoring them one at a time", file=sys.stderr)
    batch_size = 1 if mixed else args.batch_size
    loader = DataLoader(ModelInputs(dataset, size), batch_size, shuffle=False, workers=args.workers)
    from tqdm import tqdm  # noqa: PLC0415

    scores = evaluate_model(
        model,
        loader,
        len(classes),
        classes.ignore_index,
        mc_samples=args.mc_samples,
        boundary_f1=True,
        progress=lambda b: tqdm(b, desc="evaluate", unit="batch", file=sys.stderr),
    )
    return {
        "global_acc": scores["global_acc"],
        "class_acc": scores["class_acc"],
        "miou": scores["miou"],
        "bf": scores["bf"],
        "per_class": {
            n: {"acc": _number(a), "iou": _number(i)}
            for n, a, i in zip(classes.names, scores["per_class_acc"], scores["per_class_iou"])
        },
        "checkpoint": str(args.checkpoint),
        "data": str(args.data or "synthetic"),
        "split": args.split,
        "images": len(dataset),
        "label_size": None if mixed else list(scores["label_size"]),  # None: each label at its own size
        "input_size": None if mixed and size is None else list(scores["input_size"]),
    }


def _number(value: float) -> float | None:
    """NaN (a class absent from this split) becomes None, which JSON can hold."""
    return None if value != value else float(value)


def format_table(result: dict[str, Any]) -> str:
    """The scores as a plain-text table, percentages with one decimal."""
    lines = [f"{'class':<12} {'acc %':>7} {'IoU %':>7}"]
    for name, s in result["per_class"].items():
        acc, iou = ("      -" if v is None else f"{100 * v:7.1f}" for v in (s["acc"], s["iou"]))
        lines.append(f"{name:<12} {acc} {iou}")
    lines.append("")
    label, given = result["label_size"], result["input_size"]
    scored = "each label's own size" if label is None else f"{label[0]}x{label[1]} (the labels' size)"
    model_input = "each image's own size" if given is None else f"{given[0]}x{given[1]}"
    lines.append(
        f"{result['split']} ({result['images']} images, {result['data']}), "
        f"scored at {scored}; model input {model_input}:"
    )
    lines.append(
        f"G {100 * result['global_acc']:.1f}   C {100 * result['class_acc']:.1f}   "
        f"mIoU {100 * result['miou']:.1f}   BF {100 * result['bf']:.2f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        result = evaluate(args)
        print(format_table(result))
        if args.json is not None:
            write_json(args.json, result)
        return 0

    return run_command("tinyseg.evaluate", run)


if __name__ == "__main__":
    sys.exit(main())
