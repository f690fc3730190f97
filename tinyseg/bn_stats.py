"""python -m tinyseg.bn_stats: recompute a trained model's batch-norm statistics over its training set.

During training every batch-norm layer keeps an exponential running average (momentum 0.1) of
the batch statistics it saw, most of them produced by weights that have since moved on. The
SegNet authors' ``compute_bn_statistics.py`` therefore makes one more pass over the training
set with the weights frozen and gives each layer the statistics that the final weights
produce. :func:`recompute_batch_norm` does that pass: each layer normalises with its batch's own
statistics (as in training) and its running mean and variance become the plain average, over
all batches, of the batch mean and the unbiased batch variance.

    python -m tinyseg.bn_stats --checkpoint runs/camvid/best.npz --data ../shared/camvid --out best_bn.npz

The images go through the evaluation pipeline (resized to the size the model was trained at,
no augmentation). The new checkpoint holds the weights and metadata, no optimiser state.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import nn
from .cli import CLIError, check_exists, check_number, check_size, check_writable, parse_size, run_command
from .data import DataLoader, open_split
from .engine import backend
from .engine.tensor import Tensor, no_grad
from .io import checkpoint
from .training import make_transforms


def batch_norm_layers(model: nn.Module) -> list[nn.Module]:
    """The modules of ``model`` that keep running statistics (``running_mean``, ``running_var``)."""
    return [m for m in model.modules() if hasattr(m, "running_mean") and hasattr(m, "momentum")]


def recompute_batch_norm(model: nn.Module, batches: Iterable[Any]) -> int:
    """Replace every batch-norm layer's running statistics by their average over ``batches``.

    batches: image arrays (N, C, H, W) (NumPy or device). Batch k sets each layer's momentum to
    1/k, so that after K batches ``running = (1/K) sum_k stat_k``, the cumulative average. Other
    layers stay in eval mode (dropout off). Returns the number of batches; the model is left in
    eval mode with its momenta restored.
    """
    layers = batch_norm_layers(model)
    if not layers:
        raise ValueError(f"recompute_batch_norm: {type(model).__name__} has no batch-norm layers")
    momenta = [m.momentum for m in layers]
    model.eval()
    for m in layers:
        m.training = True
    k = 0
    try:
        with no_grad():
            for k, images in enumerate(batches, 1):
                for m in layers:
                    m.momentum = 1.0 / k
                model(Tensor(backend.to_device(images)))
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
    if k == 0:
        raise ValueError("recompute_batch_norm: got no batches")
    return k


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tinyseg.bn_stats",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="the trained model (.npz)")
    p.add_argument("--out", type=Path, required=True, help="where to write the model with the new statistics")
    p.add_argument(
        "--data",
        type=Path,
        help="a folder data set or the CamVid root, its train split (default: the synthetic scenes the model saw)",
    )
    p.add_argument("--size", type=parse_size, help="resize to HxW (default: the size the model was trained at)")
    p.add_argument("--batch-size", type=int, default=4, help="images per batch, at least 2 (default: 4)")
    p.add_argument("--backend", default="numpy", choices=["numpy", "cupy"], help="where the ops run (default: numpy)")
    p.add_argument("--workers", type=int, default=2, help="background threads decoding images (default: 2)")
    return p


def bn_stats(args: argparse.Namespace) -> Path:
    """Load, recompute over the training split, save to ``args.out``; returns the path written."""
    check_exists("--checkpoint", args.checkpoint, folder=False)
    check_exists("--data", args.data, folder=True)
    if args.batch_size < 2:
        raise CLIError(f"--batch-size must be at least 2 (batch statistics need 2 images), got {args.batch_size}")
    check_number("--workers", args.workers, low=0)
    if args.out.resolve() == args.checkpoint.resolve():
        raise CLIError(f"--out {args.out} would overwrite the checkpoint it reads; choose another file")
    check_writable("--out", args.out, folder=False)
    ckpt = checkpoint.read(args.checkpoint)  # read once: the size check needs the model's name
    check_size(args.size, ckpt.model_name)
    backend.use(args.backend)
    backend.keep_freed_host_memory()
    model, config = ckpt.build_model(), ckpt.config
    size = args.size or ckpt.input_size
    if args.data is None and (not config or config.get("data") is not None):
        raise CLIError(f"--data is required: {args.checkpoint} was not trained on the synthetic scenes")
    classes = ckpt.classes
    dataset = open_split(
        args.data,
        "train",
        size=size,
        seed=int(config.get("seed", 0)),
        classes=classes,
        synthetic=int(config.get("synthetic", 400)),
    )
    loader = DataLoader(dataset, args.batch_size, shuffle=False, transforms=make_transforms(size), workers=args.workers)
    from tqdm import tqdm  # noqa: PLC0415

    batches = (images for images, _ in tqdm(loader, desc="bn_stats", unit="batch", file=sys.stderr))
    count = recompute_batch_norm(model, batches)
    keep = ckpt.user_meta()
    keep["bn_recomputed"] = {
        "split": "train",
        "images": len(dataset),
        "batches": count,
        "size": list(size) if size else None,
        "from": str(args.checkpoint),
    }
    path = checkpoint.save_checkpoint(args.out, model, meta=keep)
    print(
        f"recomputed {len(batch_norm_layers(model))} batch-norm layers over {len(dataset)} training "
        f"images ({count} batches); wrote {path}"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def run() -> int:
        bn_stats(args)
        return 0

    return run_command("tinyseg.bn_stats", run)


if __name__ == "__main__":
    sys.exit(main())
