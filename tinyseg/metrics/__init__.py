"""Segmentation scores: a confusion matrix (global accuracy, class accuracy, mIoU) and the BF score.

Any number of classes (1 and up), with or without an ignored label value, which must lie outside
the classes (``ignore_index >= num_classes``, e.g. CamVid's 11 or 255); labels of any integer dtype.
Definitions, the treatment of absent classes and void pixels: docs/metrics.md.

    >>> cm = ConfusionMatrix(num_classes=11, ignore_index=11)
    >>> cm.update(logits.argmax(axis=1), labels)          # once per batch
    >>> cm.scores()["miou"]
    >>> bf_score(pred, labels, num_classes=11, ignore_index=11)
"""

from .boundary import BFScore, bf_score
from .confusion import ConfusionMatrix

__all__ = ["ConfusionMatrix", "bf_score", "BFScore"]
