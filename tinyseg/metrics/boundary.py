"""The BF (boundary F1) score: how well predicted class boundaries line up with the true ones,
within a tolerance of 0.75% of the image diagonal (SegNet paper, after Csurka et al. 2013).

Counted on the active backend, per image and class, with one bit per class so that one dilation
serves 64 classes; read to the host once, when the score is asked for. Definitions: docs/metrics.md.

    >>> bf_score(pred, labels, num_classes=11, ignore_index=11)
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..engine import backend
from .labels import check_settings, counted, label_pair, nanmean, raise_if_bad

__all__ = ["BFScore", "bf_score"]


@functools.lru_cache(maxsize=16)
def _disk_rows(radius: float) -> tuple[tuple[int, int], ...]:
    """A disk of ``radius`` pixels as rows (dy, w): (dy, dx) with |dx| <= w, i.e. dx^2 + dy^2 <= r^2.

    At 360x480 (radius 4.5): widths 2, 3, 4, 4, 4, 4, 4, 3, 2 for dy = -4..4, 69 pixels.
    """
    r = math.floor(radius + 1e-9)  # 1e-9: a distance equal to the radius counts, despite rounding
    half_widths = (math.floor(math.sqrt(max(radius**2 - dy**2, 0.0)) + 1e-9) for dy in range(-r, r + 1))
    return tuple(zip(range(-r, r + 1), half_widths))


def _dilate(bits: Any, rows: tuple[tuple[int, int], ...]) -> Any:
    """OR of ``bits`` (N, H, W) over a disk: out[y, x] = OR of bits[y + dy, x + dx], (dy, dx) in it.

    Rows first: ``wide[k]`` ORs each pixel with its k left and k right neighbours (2k shifted ORs
    in all); then one shifted OR of the right ``wide[w]`` per disk row: 8 + 9 ORs for radius 4.5,
    instead of 69 for the disk's pixels one by one.
    """
    xp = backend.xp_of(bits)
    n, h, w = bits.shape
    r, wmax = rows[-1][0], max(width for _, width in rows)
    padded = xp.zeros((n, h + 2 * r, w + 2 * wmax), dtype=bits.dtype)
    padded[:, r : r + h, wmax : wmax + w] = bits
    wide = [padded[:, :, wmax : wmax + w]]
    for k in range(1, wmax + 1):
        wide.append(wide[-1] | padded[:, :, wmax - k : wmax - k + w] | padded[:, :, wmax + k : wmax + k + w])
    out = xp.zeros_like(bits)
    for dy, width in rows:
        out |= wide[width][:, r + dy : r + dy + h]
    return out


def _boundaries(labels: Any, labelled: Any) -> Any:
    """True at labelled pixels with a labelled 4-neighbour of another class: (N, H, W) -> bool.

    Such a pixel lies on the boundary of its own class's mask (the mask's inner boundary).
    Void pixels are as good as cut out of the image: they are never boundary pixels and never
    make a neighbour one. Nor does the image border: outside the image is not "outside the mask".
    """
    xp = backend.xp_of(labels)
    edge = xp.zeros(labels.shape, dtype=bool)
    across = (labels[:, :, 1:] != labels[:, :, :-1]) & labelled[:, :, 1:] & labelled[:, :, :-1]
    edge[:, :, 1:] |= across
    edge[:, :, :-1] |= across
    down = (labels[:, 1:, :] != labels[:, :-1, :]) & labelled[:, 1:, :] & labelled[:, :-1, :]
    edge[:, 1:, :] |= down
    edge[:, :-1, :] |= down
    return edge & labelled


_BIT_TYPES = ((8, "uint8"), (16, "uint16"), (32, "uint32"), (64, "uint64"))


def _class_bits(num_classes: int, start: int, stop: int, xp: Any) -> Any:
    """A table (K,): class c in [start, stop) -> the bit 1 << (c - start); other classes -> 0.

    Built where it is used (on the device, no copy from the host)."""
    dtype = next(name for bits, name in _BIT_TYPES if bits >= stop - start)
    table = xp.zeros(num_classes, dtype=dtype)
    table[start:stop] = xp.left_shift(xp.ones((), dtype=dtype), xp.arange(stop - start, dtype=dtype))
    return table


def _per_class(labels: Any, state: Any, num_states: int, where: Any, num_classes: int) -> Any:
    """Pixels ``where``, counted per image, class and state: (N, H, W) -> (N, K, S), one bincount.

    state: integers (N, H, W) in 0..S-1, e.g. 1 for a matched boundary pixel, 0 for the others.
    """
    xp = backend.xp_of(labels)
    n, size = labels.shape[0], labels.shape[0] * num_classes * num_states
    image = xp.arange(n).reshape(n, 1, 1)
    index = xp.where(where, (image * num_classes + labels) * num_states + state, size)  # extra bin
    return backend.bincount(index.ravel(), size + 1)[:size].reshape(n, num_classes, num_states)


_STATES = 5  # per image and class: predicted boundary (unmatched, matched), labelled (inside, boundary
#              unmatched, boundary matched)


def _bf_counts(pred: Any, label: Any, num_classes: int, ignore_index: int | None, tolerance: float, where: str) -> Any:
    """Everything the BF score of each image needs, counted on the active backend: (N, K*5 + 1) int64.

    Per image: K x 5 counts (see ``_STATES``), then the number of pixels that are not a class (counted
    on a GPU only; on the host they raise at once). :func:`_bf_scores` turns a host copy into scores.
    """
    pred, label = label_pair(pred, label, where, names=("pred", "label"))
    if pred.ndim == 2:
        pred, label = pred[None], label[None]
    if pred.ndim != 3:
        raise ValueError(f"{where}: pred and label must be (H, W) or (N, H, W), got {tuple(pred.shape)}")
    xp = backend.xp_of(pred, label)
    pred, label = xp.asarray(pred).astype(xp.int64), xp.asarray(label).astype(xp.int64)
    check_settings(where, num_classes, ignore_index, tolerance)
    k, n = num_classes, pred.shape[0]
    labelled, bad = counted(pred, label, k, ignore_index, where, names=("pred", "label"))
    if bad is not None:  # not a class: counted, then left out like void
        labelled &= ~bad
    # Void (in the label) is cut out of both maps: what is predicted there never matters.
    pred_edge, true_edge = _boundaries(pred, labelled), _boundaries(label, labelled)
    # Void pixels (masked out above) become class 0, a safe index into the bit table below.
    pred, label = xp.where(labelled, pred, 0), xp.where(labelled, label, 0)
    rows = _disk_rows(tolerance * math.hypot(*label.shape[1:]))
    pred_hit = xp.zeros(label.shape, dtype=bool)
    true_hit = xp.zeros(label.shape, dtype=bool)
    # One bit per class, so that one dilation serves up to 64 classes: a predicted boundary pixel
    # of class c is matched when a true boundary pixel of class c lies in its disk, and vice versa.
    for start in range(0, k, 64):
        own = _class_bits(k, start, min(start + 64, k), xp)
        pred_bits, true_bits = own[pred], own[label]  # each pixel's own class bit (0: other group)
        near_true = _dilate(true_bits * true_edge, rows)
        near_pred = _dilate(pred_bits * pred_edge, rows)
        pred_hit |= pred_edge & ((near_true & pred_bits) != 0)
        true_hit |= true_edge & ((near_pred & true_bits) != 0)
    pred_counts = _per_class(pred, pred_hit, 2, pred_edge, k)
    true_counts = _per_class(label, true_edge.astype(xp.int64) + true_hit, 3, labelled, k)
    n_bad = (
        xp.zeros((n, 1), dtype=xp.int64)
        if bad is None
        else bad.reshape(n, -1).sum(axis=1, keepdims=True).astype(xp.int64)
    )
    counts = xp.concatenate([pred_counts, true_counts], axis=2).reshape(n, k * _STATES)
    return xp.concatenate([counts, n_bad], axis=1)


def _bf_scores(counts: np.ndarray, num_classes: int, ignore_index: int | None, where: str) -> np.ndarray:
    """The BF score of each image from :func:`_bf_counts` (on the host): (N,) float64, NaN for an image
    without any labelled pixel."""
    raise_if_bad(where, int(counts[:, -1].sum()), num_classes, ignore_index)
    counts = counts[:, :-1].reshape(len(counts), num_classes, _STATES).astype(np.float64)
    pred_counts, true_counts = counts[..., :2], counts[..., 2:]
    n_pred, pred_matched = pred_counts.sum(axis=2), pred_counts[..., 1]
    present = true_counts.sum(axis=2) > 0
    n_true, true_matched = true_counts[..., 1:].sum(axis=2), true_counts[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = pred_matched / n_pred, true_matched / n_true
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall), nan=0.0)
    f1 = np.where((n_pred == 0) & (n_true == 0), 1.0, f1)  # neither side has a boundary: agree
    n_classes = present.sum(axis=1)
    mean = np.where(present, f1, 0.0).sum(axis=1) / np.maximum(n_classes, 1)
    return np.where(n_classes > 0, mean, np.nan)


def bf_score(
    pred: Any, label: Any, num_classes: int, ignore_index: int | None = None, tolerance: float = 0.0075
) -> float:
    """Boundary F1 score (SegNet paper, after Csurka et al. 2013), a fraction in [0, 1].

    pred, label: integer (H, W) or (N, H, W), NumPy/CuPy arrays or Tensors. Per image and class
    present in the label: F1 of boundary precision and recall, with a boundary pixel matched when
    one of the other side lies within ``tolerance`` x image diagonal (4.5 px at 360x480). Averaged
    over the classes present in the label, then over images; NaN when no image has a labelled pixel.
    """
    counts = _bf_counts(pred, label, num_classes, ignore_index, tolerance, "bf_score")
    return nanmean(_bf_scores(backend.to_numpy(counts), num_classes, ignore_index, "bf_score"))


class BFScore:
    """The BF score, streamed: ``update(pred, label)`` per batch, ``score()`` at the end.

    ``update`` counts on the active backend and reads nothing back; the counts of every batch so far
    come to the host in one read when ``image_scores`` or ``score()`` is asked for.
    ``image_scores`` holds one score per image seen (NaN for an image without labelled pixels).
    """

    _pending: list[Any]  # (N, K, 5) counts per batch, on the backend, not yet read back
    _scores: list[float]

    def __init__(self, num_classes: int, ignore_index: int | None = None, tolerance: float = 0.0075) -> None:
        check_settings("BFScore", num_classes, ignore_index, tolerance)
        self.num_classes, self.ignore_index, self.tolerance = num_classes, ignore_index, tolerance
        self.reset()

    def update(self, pred: Any, label: Any) -> None:
        """Score one batch. pred, label: integer (N, H, W) or (H, W), arrays or Tensors."""
        self._pending.append(
            _bf_counts(pred, label, self.num_classes, self.ignore_index, self.tolerance, "BFScore.update")
        )

    @property
    def image_scores(self) -> list[float]:
        """The score of every image seen so far, in order."""
        if self._pending:
            if all(backend.is_cupy_array(c) for c in self._pending):
                counts = backend.to_numpy(backend.xp_of(*self._pending).concatenate(self._pending))
            else:
                counts = np.concatenate([backend.to_numpy(c) for c in self._pending])
            self._pending = []
            self._scores += _bf_scores(counts, self.num_classes, self.ignore_index, "BFScore").tolist()
        return self._scores

    def score(self) -> float:
        """Mean BF score over the images seen so far (NaN before any labelled image)."""
        return nanmean(np.array(self.image_scores, dtype=np.float64))

    def reset(self) -> None:
        """Forget every image."""
        self._pending = []
        self._scores = []
