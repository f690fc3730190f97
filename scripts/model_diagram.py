"""Draw docs/img/segnet_basic.png: SegNet-Basic's diagram, read off the model by one forward pass.

    python scripts/model_diagram.py --model segnet_basic --size 360x480 --out docs/img/segnet_basic.png

``tinyseg.viz.draw_model`` runs the model once on zeros of (1, 3, H, W) (eval mode, no graph) and
draws what it met: each block with its layers and output shape, encoders going down in resolution,
decoders coming back up, and the pooling indices each encoder hands to its decoder (shape, dtype,
bytes). Nothing is typed in by hand, so the picture follows the code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tinyseg import models, viz
from tinyseg.io.storage import atomic_write


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="segnet_basic", choices=models.available())
    p.add_argument("--classes", type=int, default=11, help="number of classes (CamVid's 11)")
    p.add_argument("--size", default="360x480", help="input H x W (default: CamVid's 360x480)")
    p.add_argument("--out", type=Path, default=Path("docs/img/segnet_basic.png"))
    p.add_argument("--dpi", type=int, default=80)
    args = p.parse_args()
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    height, width = (int(v) for v in args.size.lower().split("x"))
    ax = viz.draw_model(models.create(args.model, num_classes=args.classes), (1, 3, height, width))
    atomic_write(args.out, lambda tmp: ax.figure.savefig(tmp, format="png", dpi=args.dpi, bbox_inches="tight"))
    print(f"{args.out}: {args.model} at {height}x{width}")


if __name__ == "__main__":
    main()
