"""Class weights for an unbalanced data set: median-frequency balancing, as SegNet weights its loss."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..engine import backend
from .classes import VOID_INDEX, Classes

__all__ = ["median_frequency_weights"]

_FROM_DATA: Any = object()  # default: the data set's own classes (CamVid's 11 and void 11 for plain labels)


def median_frequency_weights(
    labels: Iterable[Any], num_classes: int | None = None, ignore_index: int | None = _FROM_DATA
) -> np.ndarray:
    """Median-frequency class weights (Eigen & Fergus), as SegNet weights its loss.

    labels: label maps (H, W) of integers, or a dataset (its ``iter_labels()`` when it has one,
        else the label of each (image, label) item).
    num_classes, ignore_index: by default the data set's (``labels.classes``), else CamVid's 11 and 11.
    freq(c) = pixels of class c / total pixels of the images in which c appears, where an
        image's total counts its non-void pixels only; weight(c) = median(freq) / freq(c), the
        median taken over the classes that appear. A class that never appears gets weight 0.
    Returns float32 (num_classes,).
    """
    classes = getattr(labels, "classes", None)
    classes = classes if isinstance(classes, Classes) else None
    if num_classes is None:
        num_classes = len(classes) if classes is not None else 11
    if ignore_index is _FROM_DATA:
        ignore_index = classes.ignore_index if classes is not None else VOID_INDEX
    if hasattr(labels, "iter_labels"):
        labels = labels.iter_labels()
    class_pixels = np.zeros(num_classes, dtype=np.int64)
    image_pixels = np.zeros(num_classes, dtype=np.int64)
    for n, item in enumerate(labels):
        label = backend.to_numpy(item[1] if isinstance(item, tuple) else item).ravel()
        if ignore_index is not None:
            label = label[label != ignore_index]
        if label.size and (label.min() < 0 or label.max() >= num_classes):
            bad = np.unique(label[(label < 0) | (label >= num_classes)])
            raise ValueError(
                f"median_frequency_weights: label map {n} has values {bad[:8].tolist()} outside "
                f"0..{num_classes - 1} (ignore_index={ignore_index})"
            )
        counts = np.bincount(label.astype(np.intp), minlength=num_classes)
        class_pixels += counts
        image_pixels[counts > 0] += label.size
    seen = class_pixels > 0
    if not seen.any():
        raise ValueError("median_frequency_weights: no labelled (non-void) pixels in the labels given")
    freq = class_pixels[seen] / image_pixels[seen]
    weights = np.zeros(num_classes, dtype=np.float64)
    weights[seen] = np.median(freq) / freq
    return weights.astype(np.float32)
