"""Label arrays in, checked: integer dtype, equal shapes, values that are classes or the ignored label.

Shared by the confusion matrix and the BF score. On the host a value that is not a class raises at
once, naming the values; on a GPU it is counted on the device and reported when scores are read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine import backend
from ..engine.tensor import Tensor

__all__ = ["as_labels", "check_settings", "counted", "label_pair", "nanmean", "raise_if_bad"]


def as_labels(x: Any, what: str, where: str) -> Any:
    """The integer array inside ``x`` (a Tensor, NumPy/CuPy array or nested list)."""
    if isinstance(x, Tensor):
        x = x.data
    if not backend.is_array(x):
        x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise TypeError(
            f"{where}: {what} must hold integer class indices, got dtype {x.dtype}. "
            "From scores of shape (N, K, H, W), take the best class first: scores.argmax(axis=1)."
        )
    return x


def counted(
    pred: Any,
    target: Any,
    num_classes: int,
    ignore_index: int | None,
    where: str,
    names: tuple[str, str] = ("pred", "target"),
) -> tuple[Any, Any]:
    """(keep, bad): ``keep`` is True where ``target`` is not ``ignore_index``; ``bad`` is True where a
    kept pixel of ``pred`` or ``target`` is not a class.

    On the host a bad pixel raises a ValueError naming the values, and ``bad`` is None. On a GPU
    the check would wait for the device every batch, so ``bad`` is returned for the caller to count.
    """
    xp = backend.xp_of(target)
    keep = target != ignore_index if ignore_index is not None else xp.ones(target.shape, dtype=bool)
    bad_target = keep & ((target < 0) | (target >= num_classes))
    bad_pred = keep & ((pred < 0) | (pred >= num_classes))
    if backend.is_cupy_array(target):
        return keep, bad_target | bad_pred
    if (bad_target | bad_pred).any():
        for name, values, bad in ((names[1], target, bad_target), (names[0], pred, bad_pred)):
            found = np.unique(backend.to_numpy(values)[backend.to_numpy(bad)])
            if found.size:
                hint = (
                    ""
                    if name == names[0]
                    else (
                        f" (ignore_index={ignore_index}); if they mark unlabelled (void) pixels, "
                        "pass their value as ignore_index"
                    )
                )
                raise ValueError(
                    f"{where}: {name} holds values {found[:10].tolist()} outside the classes 0..{num_classes - 1}{hint}"
                )
    return keep, None


def raise_if_bad(where: str, count: int, num_classes: int, ignore_index: int | None) -> None:
    """The deferred form of :func:`counted`'s check, for counts read back from a GPU."""
    if count:
        raise ValueError(
            f"{where}: {count} counted pixel(s) of pred or target hold values outside the classes "
            f"0..{num_classes - 1} (ignore_index={ignore_index}); on a GPU they are found when the "
            "scores are read, not at update"
        )


def check_settings(where: str, num_classes: int, ignore_index: int | None, tolerance: float = 0.0) -> None:
    """At least one class, a void label outside the classes, a tolerance >= 0."""
    if num_classes < 1:
        raise ValueError(f"{where}: num_classes must be at least 1, got {num_classes}")
    if ignore_index is not None and 0 <= ignore_index < num_classes:
        raise ValueError(
            f"{where}: ignore_index={ignore_index} is one of the classes 0..{num_classes - 1}; "
            "the void label must lie outside them (CamVid: 11)"
        )
    if not tolerance >= 0:
        raise ValueError(f"{where}: tolerance must be >= 0 (a fraction of the diagonal), got {tolerance}")


def label_pair(pred: Any, target: Any, where: str, names: tuple[str, str] = ("pred", "target")) -> tuple[Any, Any]:
    """Both label arrays, checked for dtype and equal shapes."""
    pred, target = as_labels(pred, names[0], where), as_labels(target, names[1], where)
    if pred.shape != target.shape:
        raise ValueError(
            f"{where}: {names[0]} {tuple(pred.shape)} and {names[1]} {tuple(target.shape)} "
            "must have the same shape (N, H, W)"
        )
    return pred, target


def nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN entries; NaN (without a warning) when there are none."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else math.nan
