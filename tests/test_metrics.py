"""Confusion-matrix scores and the BF score: hand-computed examples, naive loops as oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg.metrics import boundary
from tinyseg.metrics import BFScore, ConfusionMatrix, bf_score
from .helpers import assert_close, assert_equal

VOID = 255


@st.composite
def label_maps(draw, max_classes: int = 4, max_side: int = 10, void: bool = True):
    """(num_classes, pred, target): (N, H, W) int64 maps of blobs and noise, target with VOID pixels."""
    k = draw(st.integers(1, max_classes))
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def blobs():
        coarse = rng.integers(0, k, (n, (h + 2) // 3, (w + 2) // 3))
        out = np.repeat(np.repeat(coarse, 3, axis=1), 3, axis=2)[:, :h, :w]
        noise = rng.random((n, h, w)) < 0.15
        return np.where(noise, rng.integers(0, k, (n, h, w)), out)

    target, pred = blobs(), blobs()
    pred = np.where(rng.random((n, h, w)) < 0.5, target, pred)  # half right, so scores vary
    if void:
        target[rng.random((n, h, w)) < draw(st.sampled_from([0.0, 0.1, 0.4]))] = VOID
    return k, pred, target


def naive_confusion(pred, target, k, ignore_index):
    """The confusion matrix, one pixel at a time."""
    m = np.zeros((k, k), dtype=np.int64)
    for p, t in zip(pred.ravel().tolist(), target.ravel().tolist()):
        if t != ignore_index:
            m[t, p] += 1
    return m


# ---- confusion matrix: by hand ---------------------------------------------------------------
def test_scores_of_a_hand_computed_example():
    target = np.array([[[0, 0, 1], [1, 2, VOID]]])
    pred = np.array([[[0, 1, 1], [2, 2, 0]]])
    cm = ConfusionMatrix(3, ignore_index=VOID)
    cm.update(pred, target)
    # Rows: truth, columns: prediction. The void pixel (predicted 0) is not counted.
    assert_equal(cm.matrix, [[1, 1, 0],
                                              [0, 1, 1],
                                              [0, 0, 1]])
    s = cm.scores()
    assert s["global_acc"] == pytest.approx(3 / 5)  # 3 right of 5 counted pixels
    assert_close(s["per_class_acc"], [1 / 2, 1 / 2, 1 / 1])
    assert s["class_acc"] == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)
    # IoU = TP / (truth + predicted - TP)
    assert_close(s["per_class_iou"], [1 / (2 + 1 - 1), 1 / (2 + 2 - 1), 1 / (1 + 2 - 1)])
    assert s["miou"] == pytest.approx((1 / 2 + 1 / 3 + 1 / 2) / 3)
    assert all(type(s[key]) is float for key in ("global_acc", "class_acc", "miou"))
    assert all(type(v) is float for v in s["per_class_acc"] + s["per_class_iou"])


def test_classes_absent_from_truth_and_prediction_do_not_count():
    target = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    three, five = ConfusionMatrix(2), ConfusionMatrix(5)  # classes 2, 3, 4 never appear
    three.update(pred, target)
    five.update(pred, target)
    s2, s5 = three.scores(), five.scores()
    for key in ("global_acc", "class_acc", "miou"):
        assert s5[key] == pytest.approx(s2[key])
    assert all(math.isnan(v) for v in s5["per_class_acc"][2:] + s5["per_class_iou"][2:])


def test_a_class_predicted_but_absent_from_truth_has_iou_0_and_no_accuracy():
    target = np.array([[0, 0, 0, 1]])
    pred = np.array([[0, 0, 2, 1]])  # class 2 is predicted once, never true
    cm = ConfusionMatrix(3)
    cm.update(pred, target)
    s = cm.scores()
    assert math.isnan(s["per_class_acc"][2]) and s["per_class_iou"][2] == 0.0
    assert s["class_acc"] == pytest.approx((2 / 3 + 1) / 2)  # over classes 0 and 1 only
    assert s["miou"] == pytest.approx((2 / 3 + 1 + 0) / 3)  # class 2 counts, with IoU 0


def test_ignored_pixels_do_not_count_whatever_is_predicted_there():
    target = np.array([[0, VOID, 1, VOID]])
    a, b = ConfusionMatrix(2, ignore_index=VOID), ConfusionMatrix(2, ignore_index=VOID)
    a.update(np.array([[0, 0, 1, 1]]), target)
    b.update(np.array([[0, 1, 1, 7]]), target)  # any value, even no class, on void
    assert_equal(a.matrix, b.matrix)
    assert a.matrix.sum() == 2 and a.scores()["global_acc"] == 1.0


def test_two_batches_equal_one_concatenated_batch_and_merge_adds():
    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 4, (2, 3, 5, 6)), rng.integers(0, 4, (2, 3, 5, 6))
    target[target == 3] = VOID
    whole, parts = ConfusionMatrix(4, VOID), ConfusionMatrix(4, VOID)
    whole.update(pred.reshape(6, 5, 6), target.reshape(6, 5, 6))
    parts.update(pred[0], target[0])
    parts.update(tinyseg.tensor(pred[1]), tinyseg.tensor(target[1]))  # Tensors work too
    assert_equal(parts.matrix, whole.matrix)
    first, second = ConfusionMatrix(4, VOID), ConfusionMatrix(4, VOID)
    first.update(pred[0], target[0])
    second.update(pred[1], target[1])
    assert_equal((first + second).matrix, whole.matrix)
    assert first.matrix.sum() < whole.matrix.sum()  # __add__ left its operands alone
    assert_equal(first.merge(second).matrix, whole.matrix)
    for key, value in whole.scores().items():
        assert_equal(parts.scores()[key], value)  # NaN equals NaN here


def test_matrix_is_a_copy_and_reset_forgets():
    cm = ConfusionMatrix(2)
    cm.update(np.array([[1, 1]]), np.array([[0, 1]]))
    m = cm.matrix
    m[:] = 100
    assert cm.matrix.sum() == 2 and "pixels=2" in repr(cm)
    cm.reset()
    assert cm.matrix.sum() == 0
    s = cm.scores()
    assert math.isnan(s["global_acc"]) and math.isnan(s["miou"])  # nothing counted yet


def test_errors_name_the_fault():
    cm = ConfusionMatrix(3, ignore_index=VOID)
    with pytest.raises(ValueError, match=r"ConfusionMatrix.update.*\(2, 4, 4\).*\(2, 4, 5\)"):
        cm.update(np.zeros((2, 4, 4), int), np.zeros((2, 4, 5), int))
    with pytest.raises(TypeError, match=r"integer class indices.*float32.*argmax\(axis=1\)"):
        cm.update(np.zeros((1, 3, 2, 2), np.float32), np.zeros((1, 2, 2), int))
    with pytest.raises(ValueError, match=r"target holds values \[3, 11\] outside the classes 0\.\.2"
                                         r".*ignore_index"):
        cm.update(np.zeros((1, 2, 2), int), np.array([[[0, 3], [11, VOID]]]))
    with pytest.raises(ValueError, match=r"pred holds values \[-1\]"):
        cm.update(np.array([[[0, -1]]]), np.array([[[0, 1]]]))
    with pytest.raises(ValueError, match="ignore_index=1 is one of the classes"):
        ConfusionMatrix(3, ignore_index=1)
    with pytest.raises(ValueError, match="differ"):
        cm.merge(ConfusionMatrix(4, ignore_index=VOID))
    assert cm.matrix.sum() == 0  # a refused batch adds nothing


def test_uint8_labels_with_void_255():
    cm = ConfusionMatrix(2, ignore_index=255)
    cm.update(np.array([[0, 1, 1]], np.uint8), np.array([[0, 255, 1]], np.uint8))
    assert_equal(cm.matrix, [[1, 0], [0, 1]])


# ---- confusion matrix: properties ------------------------------------------------------------
@given(case=label_maps())
def test_confusion_matrix_matches_a_pixel_loop(case):
    k, pred, target = case
    cm = ConfusionMatrix(k, ignore_index=VOID)
    cm.update(pred, target)
    m = cm.matrix
    assert_equal(m, naive_confusion(pred, target, k, VOID))
    assert m.sum() == np.count_nonzero(target != VOID)
    s = cm.scores()
    for key in ("global_acc", "class_acc", "miou"):
        assert math.isnan(s[key]) or 0.0 <= s[key] <= 1.0
    present = np.bincount(target[target != VOID], minlength=k) > 0
    assert np.isnan(s["per_class_acc"]).tolist() == (~present).tolist()


@given(case=label_maps())
def test_perfect_prediction_scores_1(case):
    k, _, target = case
    if np.all(target == VOID):
        target[..., 0, 0] = 0
    cm = ConfusionMatrix(k, ignore_index=VOID)
    cm.update(np.where(target == VOID, 0, target), target)
    s = cm.scores()
    assert s["global_acc"] == s["class_acc"] == s["miou"] == 1.0


@given(case=label_maps(void=False))
def test_scores_match_a_numpy_reference(case):
    k, pred, target = case
    cm = ConfusionMatrix(k)
    cm.update(pred, target)
    # Reference: a 2-D histogram of (truth, prediction) pairs, then the textbook formulas.
    m, _, _ = np.histogram2d(target.ravel(), pred.ravel(), bins=k, range=[[0, k], [0, k]])
    truth, predicted, tp = m.sum(1), m.sum(0), np.diag(m)
    s = cm.scores()
    assert s["global_acc"] == pytest.approx(tp.sum() / m.sum())
    assert s["class_acc"] == pytest.approx(np.mean(tp[truth > 0] / truth[truth > 0]))
    union = truth + predicted - tp
    assert s["miou"] == pytest.approx(np.mean(tp[union > 0] / union[union > 0]))


# ---- BF score: by hand -----------------------------------------------------------------------
def halves(h: int = 20, w: int = 20, split: int = 10) -> np.ndarray:
    """Class 0 in rows < split, class 1 below: one straight horizontal boundary."""
    return (np.arange(h)[:, None] >= split).repeat(w, axis=1).astype(np.int64)


def tol(px: float, h: int = 20, w: int = 20) -> float:
    """The tolerance (fraction of the diagonal) that makes a disk of ``px`` pixels at (h, w)."""
    return px / math.hypot(h, w)


def test_identical_maps_score_1():
    label = halves()
    assert bf_score(label, label, 2) == 1.0
    assert bf_score(np.zeros((5, 5), int), np.zeros((5, 5), int), 3) == 1.0  # no boundary on either side


@pytest.mark.parametrize(("shift", "expected"), [(1, 1.0), (2, 1.0), (3, 0.0), (6, 0.0)])
def test_a_shifted_boundary_scores_1_within_the_tolerance_and_0_beyond(shift, expected):
    label = halves(split=8)
    pred = halves(split=8 + shift)  # every boundary pixel moves `shift` rows down
    assert bf_score(pred, label, 2, tolerance=tol(2.5)) == expected


def test_a_hand_checkable_partial_match():
    label = halves()
    pred = label.copy()
    pred[3, 10] = 1  # one stray pixel of class 1, far (6 rows) from the true boundary
    # Class 0: 20 true boundary pixels (row 9), all matched; 24 predicted (row 9 and the stray
    # pixel's 4 neighbours), 20 matched: P = 20/24, R = 1, F1 = 10/11.
    # Class 1: 20 true (row 10), all matched; 21 predicted (row 10 and the stray pixel), 20
    # matched: P = 20/21, R = 1, F1 = 40/41.
    assert bf_score(pred, label, 2, tolerance=tol(1.5)) == pytest.approx((10 / 11 + 40 / 41) / 2)


def test_a_class_predicted_but_absent_from_the_label_does_not_count():
    label = np.zeros((10, 10), int)  # one class, no boundary
    pred = label.copy()
    pred[4:6, 4:6] = 1
    # Class 1 is not in the label: not averaged. Class 0 has predicted boundary pixels but no
    # true ones: precision 0, F1 0.
    assert bf_score(pred, label, 2) == 0.0


def test_void_is_cut_out_of_both_maps():
    label, pred = halves(), halves()
    label[:6] = VOID
    pred[:6] = 1  # on void: a whole wrong region ...
    pred[2, 3] = 0  # ... and a stray pixel, neither of which is scored
    assert bf_score(pred, label, 2, ignore_index=VOID, tolerance=tol(1.5)) == 1.0
    # Without the void, rows 0..5 are class 0, and the prediction's boundary at rows 5/6 is wrong.
    assert bf_score(pred, halves(), 2, tolerance=tol(1.5)) < 1.0


def test_a_void_band_between_classes_hides_their_boundary():
    label = halves()
    label[9:11] = VOID  # class 0 in rows 0..8, class 1 in rows 11..19, no labelled pair differs
    for split in (9, 10, 11):  # wherever inside the band the prediction switches: no boundary
        assert bf_score(halves(split=split), label, 2, VOID) == 1.0
    # Switching outside the band puts boundaries (rows 5 and 6) where the label has none: F1 0.
    assert bf_score(halves(split=6), label, 2, VOID) == 0.0


def test_images_without_labelled_pixels_are_skipped():
    label = np.stack([halves(), np.full((20, 20), VOID)])
    pred = np.stack([halves(), halves()])
    acc = BFScore(2, ignore_index=VOID)
    acc.update(pred, label)
    assert acc.image_scores[0] == 1.0 and math.isnan(acc.image_scores[1])
    assert acc.score() == 1.0 and bf_score(pred, label, 2, VOID) == 1.0
    assert math.isnan(bf_score(pred[1], label[1], 2, VOID))
    acc.reset()
    assert math.isnan(acc.score())


def test_the_disk_at_360x480_has_radius_4_5_and_69_pixels():
    rows = boundary._disk_rows(0.0075 * math.hypot(360, 480))
    disk = {(dy, dx) for dy, w in rows for dx in range(-w, w + 1)}
    every = {(dy, dx) for dy in range(-5, 6) for dx in range(-5, 6) if dy * dy + dx * dx <= 4.5**2}
    assert disk == every and len(disk) == 69


def test_bf_errors_name_the_fault():
    with pytest.raises(ValueError, match=r"bf_score.*\(4, 4\).*\(4, 5\)"):
        bf_score(np.zeros((4, 4), int), np.zeros((4, 5), int), 2)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(N, H, W\)"):
        bf_score(np.zeros((1, 1, 4, 4), int), np.zeros((1, 1, 4, 4), int), 2)
    with pytest.raises(TypeError, match="BFScore.update: pred must hold integer"):
        BFScore(2).update(np.zeros((4, 4)), np.zeros((4, 4), int))
    with pytest.raises(ValueError, match=r"label holds values \[255\].*ignore_index"):
        bf_score(np.zeros((4, 4), int), np.full((4, 4), 255), 2)
    with pytest.raises(ValueError, match="BFScore: tolerance must be >= 0"):
        BFScore(2, tolerance=-0.01)
    with pytest.raises(ValueError, match="bf_score: ignore_index=0 is one of the classes"):
        bf_score(np.zeros((4, 4), int), np.zeros((4, 4), int), 2, ignore_index=0)


# ---- BF score: against a naive loop ----------------------------------------------------------
def naive_bf(pred, label, k, ignore_index, tol_px):
    """Per-image BF by the definition: boundary pixels by a loop (a labelled pixel of class c with a
    labelled 4-neighbour of another class), matching by all pairwise distances."""
    scores = []
    for p, t in zip(pred, label):
        h, w = t.shape

        def boundary(a, c):
            pts = [(y, x) for y in range(h) for x in range(w)
                   if a[y, x] == c and t[y, x] != ignore_index
                   and any(0 <= y + dy < h and 0 <= x + dx < w and a[y + dy, x + dx] != c
                           and t[y + dy, x + dx] != ignore_index
                           for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)))]
            return np.array(pts, dtype=np.float64).reshape(-1, 2)

        f1 = []
        for c in range(k):
            if not (t == c).any():
                continue
            pb, tb = boundary(p, c), boundary(t, c)
            if len(pb) == 0 or len(tb) == 0:
                f1.append(float(len(pb) == len(tb)))
                continue
            d = np.sqrt(((pb[:, None] - tb[None]) ** 2).sum(-1))
            prec, rec = (d.min(1) <= tol_px).mean(), (d.min(0) <= tol_px).mean()
            f1.append(0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec))
        scores.append(np.mean(f1) if f1 else np.nan)
    return np.array(scores)


# Radii away from every distance sqrt(integer), so that rounding cannot decide a match.
TOL_PX = st.sampled_from([0.5, 1.2, 1.6, 2.1, 2.5, 3.3])


@given(case=label_maps(), tol_px=TOL_PX)
def test_bf_matches_a_naive_loop(case, tol_px):
    k, pred, label = case
    h, w = label.shape[1:]
    acc = BFScore(k, ignore_index=VOID, tolerance=tol(tol_px, h, w))
    acc.update(pred, label)
    assert_close(acc.image_scores, naive_bf(pred, label, k, VOID, tol_px))
    assert math.isnan(acc.score()) or 0.0 <= acc.score() <= 1.0


@given(case=label_maps(max_classes=6))
def test_bf_of_a_perfect_prediction_is_1(case):
    k, _, label = case
    label[..., 0, 0] = 0  # every image has a labelled pixel
    assert bf_score(np.where(label == VOID, 0, label), label, k, VOID) == 1.0


def test_more_than_64_classes_use_several_bit_groups():
    rng = np.random.default_rng(1)
    classes = np.array([0, 5, 63, 64, 100, 129])  # in the 1st, 2nd and 3rd group of 64
    label = classes[rng.integers(0, 6, (2, 12, 12))]
    pred = np.where(rng.random((2, 12, 12)) < 0.7, label, classes[rng.integers(0, 6, (2, 12, 12))])
    acc = BFScore(130, tolerance=tol(1.6, 12, 12))
    acc.update(pred, label)
    assert_close(acc.image_scores, naive_bf(pred, label, 130, None, 1.6))


def test_streaming_equals_one_call_and_2d_equals_3d():
    k, pred, label = 3, *np.random.default_rng(2).integers(0, 3, (2, 4, 9, 9))
    acc = BFScore(k)
    acc.update(pred[:1], label[:1])
    acc.update(tinyseg.tensor(pred[1:]), tinyseg.tensor(label[1:]))
    assert acc.score() == pytest.approx(bf_score(pred, label, k))
    assert acc.image_scores[0] == pytest.approx(bf_score(pred[0], label[0], k))


# ---- GPU ---------------------------------------------------------------------------------
@pytest.mark.gpu
def test_cupy_matches_numpy():
    try:
        backend.use("cupy")
    except backend.BackendError as exc:
        pytest.skip(f"needs CuPy with a CUDA GPU: {exc}")
    rng = np.random.default_rng(3)
    pred, target = rng.integers(0, 4, (2, 30, 40)), rng.integers(0, 4, (2, 30, 40))
    target[:, :5] = VOID
    cm = ConfusionMatrix(4, VOID)
    cm.update(backend.to_device(pred), backend.to_device(target))
    assert backend.is_cupy_array(cm._counts)
    assert_equal(cm.matrix, naive_confusion(pred, target, 4, VOID))
    on_gpu = bf_score(backend.to_device(pred), backend.to_device(target), 4, VOID)
    backend.use("numpy")
    assert on_gpu == pytest.approx(bf_score(pred, target, 4, VOID))


# ---- any number of classes, any ignored value ------------------------------------------------
def random_labels(k: int, ignore: int | None, dtype, seed: int = 0, shape=(2, 12, 16)):
    """(pred, target) of dtype with classes 0..k-1, target with about 20% ``ignore`` pixels."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, k, shape)
    pred = np.where(rng.random(shape) < 0.6, target, rng.integers(0, k, shape))
    if ignore is not None:
        target[rng.random(shape) < 0.2] = ignore
    return pred.astype(dtype), target.astype(dtype)


@pytest.mark.parametrize("k", [2, 4, 20, 255])
@pytest.mark.parametrize(("ignore", "dtype"), [(None, np.uint8), (255, np.uint8), ("k", np.uint8),
                                               (-1, np.int64), (1000, np.int32)])
def test_confusion_and_bf_for_2_to_255_classes_with_and_without_ignore(k, ignore, dtype):
    ignore = k if ignore == "k" else ignore  # "k": just after the classes, as CamVid's 11
    pred, target = random_labels(k, ignore, dtype)
    cm = ConfusionMatrix(k, ignore_index=ignore)
    cm.update(pred, target)
    assert_equal(cm.matrix, naive_confusion(pred.astype(np.int64), target.astype(np.int64), k, ignore))
    s = cm.scores()
    assert len(s["per_class_iou"]) == k and 0.0 <= s["miou"] <= 1.0
    h, w = target.shape[1:]
    acc = BFScore(k, ignore_index=ignore, tolerance=tol(1.6, h, w))
    acc.update(pred, target)
    assert_close(acc.image_scores, naive_bf(pred.astype(np.int64), target.astype(np.int64), k, ignore, 1.6))
    perfect = np.where(target == ignore, 0, target).astype(dtype) if ignore is not None else target
    assert bf_score(perfect, target, k, ignore) == 1.0


def test_256_classes_without_ignore_fill_a_byte():
    pred, target = random_labels(256, None, np.uint8, seed=4)
    cm = ConfusionMatrix(256)
    cm.update(pred, target)
    assert cm.matrix.sum() == target.size
    assert bf_score(target, target, 256) == 1.0


def test_an_ignore_index_inside_the_classes_is_refused():
    # An ignored class would still be predicted (and scored as a false positive elsewhere): ambiguous,
    # so refused. Drop the class from the classes instead, or ignore a value >= num_classes.
    for make in (lambda: ConfusionMatrix(4, ignore_index=3), lambda: BFScore(20, ignore_index=0),
                 lambda: bf_score(np.zeros((2, 2), int), np.zeros((2, 2), int), 255, ignore_index=254)):
        with pytest.raises(ValueError, match="is one of the classes"):
            make()
    ConfusionMatrix(255, ignore_index=255)  # just outside: fine


def test_uint8_255_without_an_ignore_index_is_named_as_outside_the_classes():
    with pytest.raises(ValueError, match=r"target holds values \[255\] outside the classes 0\.\.3"):
        ConfusionMatrix(4).update(np.zeros((1, 2), np.uint8), np.array([[0, 255]], np.uint8))
