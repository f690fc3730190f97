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

from tinyseg.io import checkpoint
from tinyseg import training
from tinyseg import viz
from tinyseg.cli import save_png
from tinyseg.data import CAMVID_CLASSES, CAMVID_PALETTE, CamVid, colorize


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--index", type=int, nargs="+", default=[0, 40, 80], help="val images to show")
    args = p.parse_args()
    ckpt = checkpoint.read(args.checkpoint)
    model = ckpt.build_model().eval()
    size = ckpt.input_size
    val = CamVid(args.data, split="val")
    rows = []
    for i in args.index:
        image, label = val[i]
        pred = training.predict(model, [image], size)[0].label
        rows.append([image, colorize(label), colorize(pred)])
    grid = viz.side_by_side(rows)
    key = viz.legend(CAMVID_CLASSES + ("void",), CAMVID_PALETTE, width=grid.shape[1])
    save_png(args.out, np.concatenate([grid, key], axis=0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
