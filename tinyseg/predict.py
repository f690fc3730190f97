"""python -m tinyseg.predict: colour label maps and overlays for your own images.

    python -m tinyseg.predict --checkpoint weights/segnet_basic_camvid.npz street.png --out predictions/

Writes, per image, ``<name>_label.png`` (the CamVid colours), ``<name>_overlay.png`` (the labels
over the image) and, for Bayesian models, ``<name>_uncertainty.png`` (MC-dropout entropy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import backend, checkpoint, models
from .cli import CLIError, check_exists, check_number, check_output, run_command, save_png
from .data import colorize, resize_label
from .functional import interpolate
from .tensor import Tensor, no_grad
from .train import make_transforms
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
    model = checkpoint.load_checkpoint(args.checkpoint)
    model.eval()
    size = model.checkpoint_meta.get("size")
    transform = make_transforms(tuple(size) if size else None)
    bayesian = models.has_dropout(model) and args.mc_samples > 0
    written = []
    for path, image in zip(args.images, images):
        x, _ = transform(image, np.zeros(image.shape[:2], dtype=np.uint8), np.random.default_rng(0))
        batch = backend.to_device(np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32))
        with no_grad():
            if bayesian:
                result = models.mc_predict(model, Tensor(batch), samples=args.mc_samples)
                probs, entropy = result.mean, backend.to_numpy(result.entropy)[0]
            else:
                probs = model(Tensor(batch)).data
            if tuple(probs.shape[2:]) != image.shape[:2]:  # class scores back to the image's size, as evaluate does
                probs = interpolate(Tensor(probs), image.shape[:2]).data
        label = backend.to_numpy(probs.argmax(axis=1))[0].astype(np.uint8)
        outputs = {"label": colorize(label), "overlay": overlay(image, label)}
        if bayesian:
            outputs["uncertainty"] = uncertainty_image(resize_label(entropy, image.shape[:2]))
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
