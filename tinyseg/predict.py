"""python -m tinyseg.predict: colour label maps and overlays for your own images.

    python -m tinyseg.predict --checkpoint weights/segnet_basic_camvid.npz street.png --out predictions/

Writes, per image, ``<name>_label.png`` (the colours of the classes the model was trained on), ``<name>_overlay.png`` (the labels
over the image) and, for Bayesian models, ``<name>_uncertainty.png`` (MC-dropout entropy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import models
from .cli import CLIError, check_exists, check_number, check_output, run_command
from .engine import backend
from .io import checkpoint
from .io.storage import save_png
from .training import predict as predict_images
from .viz import overlay, uncertainty_image


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinyseg.predict", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("images", type=Path, nargs="+", help="image files Pillow can read (PNG, JPEG, ...)")
    p.add_argument("--out", type=Path, default=Path("predictions"))
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    p.add_argument("--mc-samples", type=int, default=8, help="MC-dropout samples for Bayesian models")
    return p


def read_image(path: Path) -> np.ndarray:
    """An RGB image file as uint8 (H, W, 3); a clear error naming the file when it cannot be read."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise CLIError(f"cannot read image {path}: {exc}") from None


def predict(args: argparse.Namespace) -> list[Path]:
    """Run the checkpoint's model on every image and write the pictures; returns the files written."""
    backend.use(args.backend)
    images = [read_image(p) for p in args.images]  # fail on a bad file before writing anything
    ckpt = checkpoint.read(args.checkpoint)
    model = ckpt.build_model()
    classes = ckpt.classes
    mc_samples = args.mc_samples if models.has_dropout(model) else 0
    size = ckpt.input_size
    written = []
    for path, image, result in zip(args.images, images, predict_images(model, images, size, mc_samples)):
        outputs = {"label": classes.colorize(result.label), "overlay": overlay(image, result.label, palette=classes.palette)}
        if result.entropy is not None:
            outputs["uncertainty"] = uncertainty_image(result.entropy)
        for kind, picture in outputs.items():
            target = args.out / f"{path.stem}_{kind}.png"
            save_png(target, picture)
            written.append(target)
        print(f"{path} -> {', '.join(str(args.out / f'{path.stem}_{k}.png') for k in outputs)}")
    return written


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        check_exists("--checkpoint", args.checkpoint, folder=False)
        check_number("--mc-samples", args.mc_samples, low=0)
        check_output("--out", args.out, folder=True)
        predict(args)
        return 0

    return run_command("tinyseg.predict", run)


if __name__ == "__main__":
    sys.exit(main())
