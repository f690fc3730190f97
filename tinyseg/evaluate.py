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

from . import backend, checkpoint, models
from .cli import (
    CLIError, check_exists, check_number, check_output, check_size, parse_size,
    run_command, write_json,
)
from .data import CAMVID_CLASSES, CamVid, DataLoader, SyntheticScenes
from .data import transforms as T
from .functional import interpolate
from .metrics import BFScore, ConfusionMatrix
from .tensor import Tensor, no_grad
from .train import IGNORE_INDEX, SYNTHETIC_VAL, make_transforms


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinyseg.evaluate", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, help="CamVid root; default: the synthetic validation scenes")
    p.add_argument("--split", choices=["train", "val", "test"], help="the CamVid split, with --data (default: val)")
    p.add_argument("--size", type=parse_size, help="resize to HxW (default: the size the model was trained at)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--mc-samples", type=int, default=0, help="Monte Carlo dropout samples (Bayesian models)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the scores to this JSON file")
    return p


class ModelInputs:
    """A dataset seen through the model's eyes: images resized to ``size`` and normalised, labels
    as they are. ``ds[i]`` -> (image float32 (h, w, 3), label (H, W)); size None keeps the image size."""

    def __init__(self, dataset: Any, size: tuple[int, int] | None) -> None:
        self.dataset, self.size = dataset, size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, label = self.dataset[index]
        if self.size is not None and image.shape[:2] != tuple(self.size):
            image = T.resize_image(image, self.size)
        return T.Normalize()(image, label, None)[0], label


def predict_batch(model: Any, images: Any, mc_samples: int = 0, out_size: tuple[int, int] | None = None) -> Any:
    """Class index per pixel (N, H, W) for images (N, 3, h, w); MC-dropout mean when mc_samples > 0.

    out_size (H, W): upsample the class scores bilinearly to this size before the argmax.
    """
    with no_grad():
        if mc_samples > 0:
            scores = Tensor(models.mc_predict(model, Tensor(images), samples=mc_samples).mean)
        else:
            scores = model(Tensor(images))
        if out_size is not None and tuple(scores.shape[2:]) != tuple(out_size):
            scores = interpolate(scores, out_size)
        return scores.data.argmax(axis=1)


def check_args(args: argparse.Namespace) -> None:
    """Every option checked before any data is read or model built: one CLIError each."""
    check_exists("--checkpoint", args.checkpoint, folder=False)
    check_exists("--data", args.data, folder=True)
    if args.data is None and args.split is not None:
        raise CLIError(f"--split {args.split} needs --data (the synthetic scenes have one validation set)")
    check_number("--batch-size", args.batch_size, low=1)
    check_number("--mc-samples", args.mc_samples, low=0)
    check_number("--workers", args.workers, low=0)
    check_output("--json", args.json, folder=False)
    if args.size is not None:
        check_size(args.size, (checkpoint.read_meta(args.checkpoint).get("model") or {}).get("name"))


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Scores of the checkpoint on the chosen split, at the labels' resolution: G, C, mIoU, BF,
    per-class figures, and the sizes involved (``label_size``, ``input_size``)."""
    check_args(args)
    if args.split is None:
        args.split = "val"
    backend.use(args.backend)
    model = checkpoint.load_checkpoint(args.checkpoint)
    meta = model.checkpoint_meta
    if args.mc_samples and not models.has_dropout(model):
        raise CLIError(f"--mc-samples needs a model with dropout; {args.checkpoint} holds {meta['model']['name']}")
    size = args.size or (tuple(meta["size"]) if meta.get("size") else None)
    if args.data is None:
        if size is None:
            raise CLIError("--data is required for a checkpoint not trained on the synthetic scenes")
        dataset = SyntheticScenes(SYNTHETIC_VAL, size=size, seed=int(meta.get("seed", 0)) + 10_000)
    else:
        dataset = CamVid(args.data, split=args.split)
    num_classes = model.config["kwargs"].get("num_classes", 11)
    loader = DataLoader(ModelInputs(dataset, size), args.batch_size, shuffle=False, seed=0, workers=args.workers)
    model.eval()
    cm = ConfusionMatrix(num_classes, IGNORE_INDEX)
    bf = BFScore(num_classes, IGNORE_INDEX)
    from tqdm import tqdm  # noqa: PLC0415

    label_size = input_size = None
    for images, labels in tqdm(loader, desc="evaluate", unit="batch", file=sys.stderr):
        label_size, input_size = tuple(labels.shape[1:]), tuple(images.shape[2:])
        pred = predict_batch(model, images, args.mc_samples, out_size=label_size)
        cm.update(pred, labels)
        bf.update(pred, labels)
    scores = cm.scores()
    names = list(meta.get("classes") or CAMVID_CLASSES[:num_classes])
    return {
        "global_acc": scores["global_acc"], "class_acc": scores["class_acc"], "miou": scores["miou"],
        "bf": bf.score(),
        "per_class": {n: {"acc": _number(a), "iou": _number(i)}
                      for n, a, i in zip(names, scores["per_class_acc"], scores["per_class_iou"])},
        "checkpoint": str(args.checkpoint), "data": str(args.data or "synthetic"), "split": args.split,
        "images": len(dataset), "label_size": list(label_size), "input_size": list(input_size),
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
    (lh, lw), (ih, iw) = result["label_size"], result["input_size"]
    lines.append(f"{result['split']} ({result['images']} images, {result['data']}), scored at {lh}x{lw} "
                 f"(the labels' size); model input {ih}x{iw}:")
    lines.append(f"G {100 * result['global_acc']:.1f}   C {100 * result['class_acc']:.1f}   "
                 f"mIoU {100 * result['miou']:.1f}   BF {100 * result['bf']:.2f}")
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
