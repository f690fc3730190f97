"""What a run is built from, by its TrainConfig: the loaders, the optimiser, the class weights.

Each takes the run's TrainConfig:

    >>> train_loader, val_loader = make_loaders(config, train_set, val_set)
    >>> optimizer = build_optimizer(config, model)
    >>> weight = class_weights(config.class_weights, train_set)     # (K,) or None
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import nn, optim
from ..data import SEGNET_TUTORIAL_WEIGHTS, DataLoader, median_frequency_weights, sizes_differ
from ..data import transforms as T
from .config import TrainConfig
from .evaluation import ModelInputs

__all__ = ["make_transforms", "make_loaders", "build_optimizer", "class_weights"]


def make_transforms(size: tuple[int, int] | None, augment: bool = False, ignore_index: int | None = None) -> T.Compose:
    """The training input pipeline: resize (image and label), augment, normalise.

    size: (H, W) or None (keep each image's size). augment: random flips, scale-and-crop, colour
    jitter. ignore_index: the data set's ignored label (``classes.ignore_index``), which
    scale-and-crop pads labels with; None (every pixel is a class): scales from 1 up, no padding.
    """
    steps: list[Any] = [T.Resize(size)] if size is not None else []
    if augment:
        scale = (0.75, 1.5) if ignore_index is not None else (1.0, 1.5)
        steps += [T.RandomHorizontalFlip(), T.RandomScaleCrop(scale, ignore_index=ignore_index), T.ColorJitter()]
    steps.append(T.Normalize())
    return T.Compose(steps)


def make_loaders(
    config: TrainConfig, train_set: Any, val_set: Any, *, fine: bool = False
) -> tuple[DataLoader, DataLoader]:
    """The run's two loaders: shuffled, augmented training batches of ``config.size``, and
    validation batches seen as ``evaluate`` sees them (images at ``config.size``, labels at their own;
    one image a batch when the validation images differ in size). ``fine``: the same at
    ``config.fine_size``, for the run's last ``fine_iters`` steps."""
    size = config.fine_size if fine else config.size
    ignore = train_set.classes.ignore_index
    train = DataLoader(
        train_set,
        config.batch_size,
        shuffle=True,
        seed=config.seed,
        workers=config.workers,
        transforms=make_transforms(size, config.augment, ignore),
        drop_last=True,
    )
    val_batch = 1 if sizes_differ(val_set) else config.batch_size  # labels of several sizes: one at a time
    val = DataLoader(ModelInputs(val_set, size), val_batch, shuffle=False, workers=config.workers)
    return train, val


def build_optimizer(config: TrainConfig, model: nn.Module) -> optim.Optimizer:
    """``config.optimizer`` over the model's parameters, with the config's rate and weight decay."""
    if config.optimizer == "sgd":
        return optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def class_weights(kind: str, dataset: Any) -> np.ndarray | None:
    """Class weights (K,) float32 for the loss, over ``dataset``'s labels and its ``classes``.

    kind: "median" (median frequency balancing, the paper's), "sqrt-median" (its square root, a
    softer push towards rare classes), "segnet-tutorial" (the SegNet tutorial's fixed CamVid table)
    or "none" (returns None).
    """
    classes = dataset.classes
    if kind == "none":
        return None
    if kind == "segnet-tutorial":
        if len(classes) != 11:
            raise ValueError(
                f"class weights 'segnet-tutorial' are CamVid's 11; this data set has {len(classes)} classes"
            )
        return np.asarray(SEGNET_TUTORIAL_WEIGHTS[:11], dtype=np.float32)
    if kind not in ("median", "sqrt-median"):
        raise ValueError(f"class_weights: kind must be median, sqrt-median, segnet-tutorial or none, got {kind!r}")
    weights = np.asarray(median_frequency_weights(dataset, len(classes), classes.ignore_index), dtype=np.float32)
    return np.sqrt(weights) if kind == "sqrt-median" else weights
