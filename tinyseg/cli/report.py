"""What the commands print and draw while they work: the data they read, the pairs they skipped,
a progress bar over a training run, and the run's pictures (curves.png, val_samples.png)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Classes
from ..data.transforms import resize_image, resize_label
from ..engine import backend
from ..io.storage import save_png
from ..training.loop import Callback, FitResult
from ..viz import plot_curves, side_by_side

__all__ = ["report_run", "describe_data", "report_skipped", "ProgressBar", "RunPictures"]


def describe_data(data: Path | str | None, classes: Classes, weights: str = "none", **splits: Any) -> None:
    """Say on stderr what a command is about to read: the classes, where they came from, the
    splits' sizes (``train=ds, val=ds``), and the class weights it will compute over the first."""
    where = "synthetic scenes" if data is None else str(data)
    source = next(iter(splits.values())).classes_source  # every data set says where its classes came from
    ignored = "none ignored" if classes.ignore_index is None else f"label {classes.ignore_index} ignored"
    sizes = ", ".join(f"{len(ds)} {name}" for name, ds in splits.items())
    print(f"data: {where}: {len(classes)} classes, {ignored}; {sizes} images (classes: {source})", file=sys.stderr)
    if weights != "none":
        first = next(iter(splits.values()))
        print(f"computing {weights} class weights over {len(first)} training labels...", file=sys.stderr)


def report_skipped(*splits: Any) -> None:
    """List on stderr the pairs each split skipped so far (``--skip-bad``; bad pairs are found as they are read)."""
    for ds in splits:
        skipped = getattr(ds, "skipped", None) or []
        if skipped:
            listed = "; ".join(f"{path}: {reason}" for path, reason in skipped[:10])
            more = f" ... and {len(skipped) - 10} more" if len(skipped) > 10 else ""
            print(
                f"skipped {len(skipped)} pair(s) of {getattr(ds, 'split', 'the data')}: {listed}{more}", file=sys.stderr
            )


class ProgressBar(Callback):
    """A tqdm bar on stderr over the run's steps: the last loss, images a second, each validation."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size

    def on_fit_start(self, start: int, total: int) -> None:
        from tqdm import tqdm  # noqa: PLC0415

        self.bar = tqdm(total=total, initial=start, desc="train", unit="it", dynamic_ncols=True, file=sys.stderr)

    def on_steps(self, step: int, losses: list[float]) -> None:
        self.bar.update(step - self.bar.n)
        rate = (self.bar.format_dict["rate"] or 0) * self.batch_size
        self.bar.set_postfix(loss=f"{losses[-1]:.4f}", img_s=f"{rate:.2f}")

    def on_validation(self, step: int, scores: dict[str, Any], history: list[dict[str, Any]]) -> None:
        g, c, m = (100 * scores[k] for k in ("global_acc", "class_acc", "miou"))
        self.bar.write(f"val @ {step}: G {g:.1f}  C {c:.1f}  mIoU {m:.1f}", file=sys.stderr)

    def on_fit_end(self, result: FitResult) -> None:
        self.bar.close()


class RunPictures(Callback):
    """After each validation: ``out``/curves.png (loss and scores) and val_samples.png (image | truth | prediction)."""

    def __init__(self, out: Path, classes: Classes) -> None:
        self.out, self.classes = out, classes

    def on_validation(self, step: int, scores: dict[str, Any], history: list[dict[str, Any]]) -> None:
        plot_curves(self.out / "curves.png", history)
        rows, shape = [], None
        for image, label, pred in scores["samples"]:
            img = backend.to_numpy(image).transpose(1, 2, 0)
            img = ((img - img.min()) / max(float(img.max() - img.min()), 1e-6) * 255).astype(np.uint8)
            label, pred = backend.to_numpy(label), backend.to_numpy(pred)
            shape = shape or label.shape  # one picture: every row at the first label's size
            if label.shape != shape:
                label, pred = resize_label(label, shape), resize_label(pred, shape)
            if img.shape[:2] != shape:  # the model's input size; the labels are scored at their own
                img = resize_image(img, shape)
            rows.append([img, self.classes.colorize(label), self.classes.colorize(pred)])
        save_png(self.out / "val_samples.png", side_by_side(rows))


def report_run(result: FitResult, out: Path) -> int:
    """The train command's last words: where an interrupted run can resume (exit 130), or the
    final and best validation and the files written (exit 0)."""
    if result.interrupted:
        print(
            f"\ninterrupted at iteration {result.step}; saved {out / 'last.npz'}. Resume with:\n"
            f"  python -m tinyseg.train --resume {out / 'last.npz'}",
            file=sys.stderr,
        )
        return 130
    final = next((r for r in reversed(result.history) if "miou" in r), None)  # fit validates at the last step
    scores = (
        ""
        if final is None
        else "G {:.1f}  C {:.1f}  mIoU {:.1f} ".format(*(100 * final[k] for k in ("global_acc", "class_acc", "miou")))
    )
    print(
        f"done: {result.step} iterations. validation {scores}(best mIoU {100 * result.best_miou:.1f}).\n"
        f"outputs in {out}: best.npz, last.npz, metrics.jsonl, curves.png, val_samples.png, config.json"
    )
    return 0
