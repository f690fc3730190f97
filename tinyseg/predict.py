"""python -m tinyseg.predict: colour label maps and overlays for your own images.

    python -m tinyseg.predict --checkpoint weights/segnet_basic_camvid.npz street.png --out predictions/

Writes, per image, ``<name>_label.png`` (the colours of the classes the model was trained on),
``<name>_overlay.png`` (the labels over the image), with ``--index-masks`` ``<name>_classes.png``
(one byte a pixel: the class index) and, for Bayesian models, ``<name>_uncertainty.png``
(MC-dropout entropy). A folder given as an input stands for the images in it; inputs whose names
would clash (``a/x.png``, ``b/x.png``) are written as ``a_x_*`` and ``b_x_*``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import models
from .cli import CLIError, check_exists, check_number, check_size, check_writable, parse_size, run_command
from .engine import backend
from .io import checkpoint
from .io.storage import save_png
from .training import predict as predict_images
from .viz import overlay, uncertainty_image


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.predict",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint written by tinyseg.train")
    p.add_argument(
        "images", type=Path, nargs="+", help="image files Pillow can read (PNG, JPEG, ...), or folders of them"
    )
    p.add_argument("--out", type=Path, default=Path("predictions"), help="the output folder (default: predictions)")
    p.add_argument("--size", type=parse_size, help="run the model at HxW (default: the size it was trained at)")
    p.add_argument(
        "--index-masks", action="store_true", help="also write <name>_classes.png: the class index per pixel"
    )
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="where the ops run (default: numpy)")
    p.add_argument(
        "--mc-samples",
        type=int,
        default=8,
        help="Monte Carlo dropout samples, for models with dropout; 0 turns them off (default: 8)",
    )
    return p


def read_image(path: Path) -> np.ndarray:
    """An RGB image file as uint8 (H, W, 3); a clear error naming the file when it cannot be read."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise CLIError(f"cannot read image {path}: {exc}") from None


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def image_files(inputs: list[Path]) -> list[Path]:
    """The inputs with every folder replaced by the image files in it (sorted); a CLIError for a
    missing input or a folder with no images."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CLIError(f"{path}: a folder with no images ({', '.join(IMAGE_SUFFIXES)})")
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise CLIError(f"cannot read image {path}: no such file or folder")
    return files


def output_names(paths: list[Path]) -> list[str]:
    """A distinct name for each input's outputs: its stem, or parent_stem where stems clash
    (a numbered suffix where even those clash)."""
    names = [p.stem for p in paths]
    names = [f"{p.parent.name}_{p.stem}" if names.count(p.stem) > 1 else p.stem for p in paths]
    return [f"{n}-{names[:i].count(n) + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def predict(args: argparse.Namespace) -> list[Path]:
    """Run the checkpoint's model on every image and write the pictures; returns the files written."""
    paths = image_files(args.images)
    ckpt = checkpoint.read(args.checkpoint)
    check_size(args.size, ckpt.model_name)
    size = args.size or ckpt.input_size
    pools = models.pool_count(ckpt.model_name or "")
    images = [read_image(p) for p in paths]  # fail on a bad file before writing anything
    for path, image in zip(paths, images):
        if size is None and pools is not None and min(image.shape[:2]) < 2**pools:
            raise CLIError(
                f"{path} is {image.shape[0]}x{image.shape[1]}, too small for {ckpt.model_name} "
                f"({pools} poolings) and the checkpoint stores no input size: give --size HxW"
            )
    backend.use(args.backend)
    model = ckpt.build_model()
    classes = ckpt.classes
    mc_samples = args.mc_samples if models.has_dropout(model) else 0
    written = []
    results = predict_images(model, images, size, mc_samples)
    for path, name, image, result in zip(paths, output_names(paths), images, results):
        outputs = {
            "label": classes.colorize(result.label),
            "overlay": overlay(image, result.label, palette=classes.palette),
        }
        if args.index_masks:
            outputs["classes"] = result.label
        if result.entropy is not None:
            outputs["uncertainty"] = uncertainty_image(result.entropy)
        targets = [args.out / f"{name}_{kind}.png" for kind in outputs]
        for target, picture in zip(targets, outputs.values()):
            save_png(target, picture)
        written += targets
        print(f"{path} -> {', '.join(map(str, targets))}")
    return written


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        check_exists("--checkpoint", args.checkpoint, folder=False)
        check_number("--mc-samples", args.mc_samples, low=0)
        check_writable("--out", args.out, folder=True)
        predict(args)
        return 0

    return run_command("tinyseg.predict", run)


if __name__ == "__main__":
    sys.exit(main())
