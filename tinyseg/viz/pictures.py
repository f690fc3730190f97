"""Pictures of data and runs: label maps in colour, overlays, side-by-side samples, uncertainty
maps, training curves.

Images are plain uint8 arrays (H, W, 3). Colours come from a palette, an (K, 3) uint8 array with
one row per label value (CamVid's by default; a data set brings its own, ``dataset.classes.palette``).
matplotlib draws the curves (with the non-interactive Agg backend when writing a file, so it
works on a machine without a screen).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import CAMVID_PALETTE, colorize
from ..io.storage import atomic_write

__all__ = ["overlay", "side_by_side", "legend", "uncertainty_image", "plot_curves"]


def overlay(image: np.ndarray, label: np.ndarray, alpha: float = 0.5, palette: np.ndarray | None = None) -> np.ndarray:
    """Blend the colour label map over the image. image (H, W, 3) uint8, label (H, W) -> (H, W, 3) uint8.

    palette: (K, 3) uint8, the colour of each label value (default: CamVid's, void black).
    """
    colours = colorize(label, CAMVID_PALETTE if palette is None else palette).astype(np.float32)
    return (alpha * colours + (1 - alpha) * image.astype(np.float32)).round().astype(np.uint8)


def side_by_side(rows: Sequence[Sequence[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tile images (each (H, W, 3) uint8, same size) into a grid with white gaps between them."""
    h, w = rows[0][0].shape[:2]
    ncols = max(len(r) for r in rows)
    grid = np.full((len(rows) * (h + gap) - gap, ncols * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            grid[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = img
    return grid


def legend(names: Sequence[str], palette: np.ndarray | None = None, width: int = 480, swatch: int = 14) -> np.ndarray:
    """A colour key (h, width, 3) uint8: a swatch of ``palette[k]`` and ``names[k]`` for each class,
    laid out left to right in as many rows as ``width`` needs.

    palette: (K, 3) uint8 with K >= len(names) (default: CamVid's).
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415

    palette = CAMVID_PALETTE if palette is None else np.asarray(palette)
    if len(palette) < len(names):
        raise ValueError(f"legend: {len(names)} class names but a palette of {len(palette)} colours")

    cell = max(len(n) for n in names) * 7 + swatch + 16
    per_row = max(1, width // cell)
    rows = -(-len(names) // per_row)
    img = Image.new("RGB", (width, rows * (swatch + 8) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for k, name in enumerate(names):
        x, y = (k % per_row) * cell + 4, (k // per_row) * (swatch + 8) + 4
        draw.rectangle([x, y, x + swatch, y + swatch], fill=tuple(int(c) for c in palette[k]), outline=(0, 0, 0))
        draw.text((x + swatch + 5, y + 1), name, fill=(0, 0, 0))
    return np.asarray(img)


def uncertainty_image(values: np.ndarray) -> np.ndarray:
    """A map of non-negative values (H, W) as a dark-to-bright heat image (H, W, 3) uint8."""
    import matplotlib  # noqa: PLC0415

    v = np.asarray(values, dtype=np.float64)
    top = v.max() if v.size and v.max() > 0 else 1.0
    return (matplotlib.colormaps["magma"](v / top)[..., :3] * 255).round().astype(np.uint8)


def plot_curves(path: str | Path, records: Sequence[dict[str, Any]]) -> None:
    """Training loss and validation scores against the iteration, written as a PNG (atomically).

    records: dicts with "iter" and either "loss" (training) or "miou"/"global_acc"/"class_acc".
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    train = [r for r in records if "loss" in r]
    val = [r for r in records if "miou" in r]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.8))
    if train:
        its = np.array([r["iter"] for r in train])
        loss = np.array([r["loss"] for r in train])
        ax_loss.plot(its, loss, lw=0.5, alpha=0.4, color="tab:blue")
        k = max(1, len(loss) // 50)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax_loss.plot(its[k - 1 :], smooth, color="tab:blue", label=f"mean of {k}")
        ax_loss.legend()
    ax_loss.set(xlabel="iteration", ylabel="training loss", title="loss")
    for key, name in [("global_acc", "G"), ("class_acc", "C"), ("miou", "mIoU")]:
        if val:
            ax_val.plot([r["iter"] for r in val], [100 * r[key] for r in val], marker="o", ms=3, label=name)
    ax_val.set(xlabel="iteration", ylabel="%", title="validation")
    if val:
        ax_val.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
