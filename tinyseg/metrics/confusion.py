"""The confusion matrix of a segmentation, and the scores read from it: global accuracy, class
accuracy, mIoU.

The matrix is counted on the active backend with one ``bincount`` per batch; the scores are read
from it on the host, once, when asked for. Definitions: docs/metrics.md.

    >>> cm = ConfusionMatrix(num_classes=11, ignore_index=11)
    >>> cm.update(logits.argmax(axis=1), labels)          # once per batch
    >>> cm.scores()["miou"]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine import backend
from .labels import check_settings, counted, label_pair, nanmean, raise_if_bad

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix:
    """Pixel counts ``matrix[i, j]``: pixels of true class i predicted as class j.

    Pixels whose target equals ``ignore_index`` (void) are not counted. The counts live on the
    active backend and grow with each ``update`` (no read from a GPU); ``matrix`` and ``scores()``
    read them to the host once and turn them into accuracies and IoUs.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = None) -> None:
        check_settings("ConfusionMatrix", num_classes, ignore_index)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        k = self.num_classes
        self._counts = backend.get_xp().zeros(k * k + 2, dtype="int64")  # + void, + values not a class

    def update(self, pred: Any, target: Any) -> None:
        """Count one batch. pred, target: integer (N, H, W) (any equal shapes), arrays or Tensors."""
        pred, target = label_pair(pred, target, "ConfusionMatrix.update")
        xp = backend.xp_of(pred, target)  # the labels are paired where they are (host labels: checked)
        pred, target = xp.asarray(pred).astype(xp.int64), xp.asarray(target).astype(xp.int64)
        k = self.num_classes
        keep, bad = counted(pred, target, k, self.ignore_index, "ConfusionMatrix.update")
        # Pair (true i, predicted j) -> bin i*K + j; void pixels go to bin K*K and, on a GPU, pixels
        # that are not a class to bin K*K + 1: one bincount, no boolean-mask indexing (a GPU sync).
        index = xp.where(keep, target * k + pred, k * k)
        if bad is not None:
            index = xp.where(bad, k * k + 1, index)
        if backend.xp_of(self._counts) is not backend.get_xp():  # the backend changed since reset()
            self._counts = backend.to_device(self._counts)
        self._counts += backend.bincount(backend.to_device(index.ravel()), k * k + 2)

    @property
    def matrix(self) -> np.ndarray:
        """A NumPy copy of the counts, (K, K) int64: rows are true classes, columns predictions.

        Reads the counts from the device (once); raises ValueError if a counted pixel was not a class.
        """
        k = self.num_classes
        counts = backend.to_numpy(self._counts)
        raise_if_bad("ConfusionMatrix", int(counts[k * k + 1]), k, self.ignore_index)
        return counts[: k * k].reshape(k, k).copy()

    def scores(self) -> dict[str, Any]:
        """Global accuracy, class accuracy, mIoU and their per-class parts, as fractions in [0, 1].

        ``per_class_acc[c]`` (recall) is NaN when class c is absent from the truth;
        ``per_class_iou[c]`` is NaN only when c is absent from both truth and prediction
        (a class predicted but absent from the truth has IoU 0, and counts in ``miou``).
        The means skip NaN entries.
        """
        m = self.matrix.astype(np.float64)
        correct, truth, predicted = np.diag(m), m.sum(axis=1), m.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 -> NaN: absent class
            acc = correct / truth
            iou = correct / (truth + predicted - correct)
            global_acc = correct.sum() / m.sum()
        return {
            "global_acc": float(global_acc),
            "class_acc": nanmean(acc),
            "miou": nanmean(iou),
            "per_class_acc": [float(a) for a in acc],
            "per_class_iou": [float(i) for i in iou],
        }

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """Add ``other``'s counts to these (in place, returns self): e.g. from parallel workers."""
        if (other.num_classes, other.ignore_index) != (self.num_classes, self.ignore_index):
            raise ValueError(
                "ConfusionMatrix.merge: matrices differ in (num_classes, ignore_index): "
                f"{(self.num_classes, self.ignore_index)} vs {(other.num_classes, other.ignore_index)}"
            )
        self._counts = backend.to_device(self._counts) + backend.to_device(other._counts)
        return self

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        total = ConfusionMatrix(self.num_classes, self.ignore_index)
        return total.merge(self).merge(other)

    def __repr__(self) -> str:
        k = self.num_classes
        return (
            f"ConfusionMatrix(num_classes={self.num_classes}, ignore_index={self.ignore_index}, "
            f"pixels={int(self._counts[: k * k].sum())})"
        )
