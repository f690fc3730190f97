"""Storage: what SegNet-Basic's decoders keep from the encoders (pooling indices) against FCN-Basic's."""

from __future__ import annotations

import argparse
from typing import Any

from .. import backend, models
from ..tensor import Tensor, no_grad
from .memory import measure_memory
from .workloads import make_batch

__all__ = ["storage_report"]


def storage_report(args: argparse.Namespace) -> dict[str, Any]:
    """Bytes each decoder keeps from its encoder (SegNet-Basic: pooling indices; FCN-Basic: score
    maps), what full feature maps or PyTorch's int64 indices would take, and inference peak memory
    (unless ``args.no_memory``), for a batch (args.batch_size, 3, *args.size)."""
    x = Tensor(backend.to_device(make_batch(args.batch_size, args.size, args.num_classes, args.seed)[0]))
    segnet = models.create("segnet_basic", num_classes=args.num_classes)
    fcn = models.create("fcn_basic", num_classes=args.num_classes)
    segnet.eval()
    with no_grad():
        _, skips = segnet.encode(x)
    indices = sum(int(idx.data.nbytes) for idx, _ in skips)
    n_values = sum(int(idx.size) for idx, _ in skips)
    # the encoder's feature maps before pooling: what a decoder that kept whole maps would hold
    maps = sum(args.batch_size * 64 * h * w * 4 for _, (h, w) in skips)
    report = {
        "segnet_basic_decoder_bytes": models.decoder_storage_bytes(segnet, x),
        "fcn_basic_decoder_bytes": models.decoder_storage_bytes(fcn, x),
        "pool_indices_bytes": indices,
        "pool_indices_torch_int64_bytes": 8 * n_values,
        "feature_maps_before_pooling_bytes": maps,
    }
    if not args.no_memory:
        for name in ("segnet_basic", "fcn_basic"):
            report[f"{name}_inference_peak"] = measure_memory("tinyseg", "inference", args, model=name)
    return report
