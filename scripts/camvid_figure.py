"""Draw docs/img/camvid_val.png: CamVid val images | ground truth | prediction, with a class key.

    python scripts/camvid_figure.py --checkpoint weights/segnet_basic_camvid.npz --data ../shared/camvid \
        --out docs/img/camvid_val.png --index 0 40 80

The prediction is made as `python -m tinyseg.evaluate` scores it: the image resized to the
model's input size, the class scores brought back to the label's size bilinearly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import tinyseg
from tinyseg import checkpoint, viz
from tinyseg.cli import save_png
from tinyseg.data import CAMVID_CLASSES, CAMVID_PALETTE, CamVid, colorize
from tinyseg.evaluate import ModelInputs, predict_batch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--index", type=int, nargs="+", default=[0, 40, 80], help="val images to show")
    args = p.parse_args()
    model = checkpoint.load_checkpoint(args.checkpoint).eval()
    size = tuple(model.checkpoint_meta["size"]) if model.checkpoint_meta.get("size") else None
    val = CamVid(args.data, split="val")
    inputs = ModelInputs(val, size)
    rows = []
    for i in args.index:
        image, label = val[i]
        x = tinyseg.backend.to_device(inputs[i][0].transpose(2, 0, 1)[None].copy())
        pred = tinyseg.backend.to_numpy(predict_batch(model, x, out_size=label.shape))[0]
        rows.append([image, colorize(label), colorize(pred)])
    grid = viz.side_by_side(rows)
    key = viz.legend(CAMVID_CLASSES + ("void",), CAMVID_PALETTE, width=grid.shape[1])
    save_png(args.out, np.concatenate([grid, key], axis=0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
