"""Suspicious labels refused or mapped (0/255 masks, one class, > 255 values, JPEG labels), the
classes' ``values`` map, mixed image sizes (``image_sizes``, ``check_same_size``, the loader's
batching), and ``verify``: every pair of a split checked before the first step (issue 25).

Every data set is made here, in tmp_path: tiny PNG (and JPEG) folders. Each error is asserted as
the exact one-line message, naming the file at fault and the fix."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyseg.data import (
    CamVid,
    Classes,
    DataError,
    DataLoader,
    FolderDataset,
    SyntheticScenes,
    check_same_size,
    median_frequency_weights,
    read_classes_json,
    verify,
)
from tinyseg.data.loader import DataLoader as _Loader
from .helpers import assert_equal
from .test_camvid import make_camvid

H, W = 8, 12


def write_pair(root: Path, split: str, stem: str, label: np.ndarray, *, size: tuple[int, int] | None = None,
               label_format: str = "PNG", label_suffix: str = ".png") -> None:
    """images/<split>/<stem>.png (random, ``size`` or the label's) and labels/<split>/<stem><suffix>."""
    (root / "images" / split).mkdir(parents=True, exist_ok=True)
    (root / "labels" / split).mkdir(parents=True, exist_ok=True)
    h, w = size or label.shape
    image = np.random.default_rng(len(stem)).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(image).save(root / "images" / split / f"{stem}.png")
    Image.fromarray(label).save(root / "labels" / split / f"{stem}{label_suffix}", format=label_format)


def binary_mask(seed: int) -> np.ndarray:
    """A 0/255 mask (H, W) uint8, both values present."""
    mask = np.where(np.random.default_rng(seed).random((H, W)) < 0.5, 255, 0).astype(np.uint8)
    mask[0, 0], mask[0, 1] = 0, 255
    return mask


def make_binary(root: Path, n: int = 3) -> list[np.ndarray]:
    masks = [binary_mask(i) for i in range(n)]
    for split in ("train", "val"):
        for i, mask in enumerate(masks):
            write_pair(root, split, f"m{i}", mask)
    return masks


# ---- 0/255 masks, one class, > 255 values -------------------------------------------------------
def test_binary_masks_without_classes_json_are_refused_with_the_fix(tmp_path):
    make_binary(tmp_path)
    with pytest.raises(DataError) as err:
        FolderDataset(tmp_path)
    assert str(err.value) == (
        f"the 3 labels in {tmp_path / 'labels' / 'train'} hold only the values 0 and 255: binary masks, which "
        'would be 1 class with 255 ignored; add "names": ["background", "foreground"], "values": [0, 255] '
        f"to {tmp_path / 'classes.json'} (docs/your-data.md#when-your-masks-are-0255)"
    )


def test_binary_masks_with_values_in_classes_json_load_as_classes_0_and_1(tmp_path):
    masks = make_binary(tmp_path)
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["background", "cell"], "values": [0, 255]}))
    train, val = FolderDataset(tmp_path, "train"), FolderDataset(tmp_path, "val")
    assert train.num_classes == 2 and train.ignore_index is None and train.classes.values == (0, 255)
    for ds in (train, val):
        for i, mask in enumerate(masks):
            label = ds[i][1]
            assert label.dtype == np.uint8
            assert_equal(label, (mask == 255).astype(np.uint8))
    assert verify(val) == 3
    weights = median_frequency_weights(train)
    assert weights.shape == (2,) and (weights > 0).all()
    images, labels = next(iter(DataLoader(train, batch_size=3)))
    assert labels.shape == (3, H, W) and int(labels.max()) == 1


def test_values_map_with_an_ignored_value_kept_as_it_is(tmp_path):
    label = np.array([[0, 128, 255, 64]] * 4, np.uint8)
    write_pair(tmp_path, "train", "a", label)
    (tmp_path / "classes.json").write_text(
        json.dumps({"names": ["bg", "road", "car"], "values": [0, 64, 128], "ignore_index": 255})
    )
    assert_equal(FolderDataset(tmp_path)[0][1], np.array([[0, 2, 255, 1]] * 4, np.uint8))


def test_values_map_16_bit_labels(tmp_path):
    write_pair(tmp_path, "train", "a", np.array([[0, 1000, 2000, 1000]] * 4, np.uint16))
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b", "c"], "values": [2000, 0, 1000]}))
    label = FolderDataset(tmp_path)[0][1]
    assert label.dtype == np.uint8
    assert_equal(label, np.array([[1, 2, 0, 2]] * 4, np.uint8))


def test_a_stored_value_not_in_values_names_the_label_and_the_fix(tmp_path):
    label = np.array([[0, 255, 7, 7]] * 4, np.uint8)
    write_pair(tmp_path, "train", "a", label)
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["bg", "fg"], "values": [0, 255]}))
    with pytest.raises(DataError) as err:
        FolderDataset(tmp_path)[0]
    assert str(err.value) == (
        f"label {tmp_path / 'labels' / 'train' / 'a.png'} has values [7] (8 pixels) that are not in the classes' "
        'values [0, 255]; add each to "values" (with a name) or make it the ignore_index in classes.json'
    )


def test_values_travel_in_to_dict_and_are_checked(tmp_path):
    classes = Classes(("bg", "fg"), ((0, 0, 0), (255, 255, 255)), None, (0, 255))
    obj = json.loads(json.dumps(classes.to_dict()))
    assert obj["values"] == [0, 255] and Classes.from_dict(obj) == classes
    assert "values" not in Classes.default(2).to_dict()  # no mapping, no key: checkpoints as before
    for values, message in (([0], "2 names but 1 values"), ([1, 1], "values repeat: [1]"),
                            ([0, -1], "values must be a list of non-negative integers"),
                            ([0, 255], "the ignored value 255 is also in values [0, 255]")):
        path = tmp_path / "classes.json"
        path.write_text(json.dumps({"names": ["bg", "fg"], "values": values, "ignore_index": 255}))
        with pytest.raises(DataError, match=rf"^classes file {re.escape(str(path))}: .*{re.escape(message)}"):
            read_classes_json(path)


def test_one_class_is_refused_naming_the_values(tmp_path):
    for i in range(2):
        write_pair(tmp_path, "train", f"a{i}", np.zeros((H, W), np.uint8))
    with pytest.raises(DataError) as err:
        FolderDataset(tmp_path)
    assert str(err.value) == (
        f"the 2 labels in {tmp_path / 'labels' / 'train'} hold only the values [0]: fewer than 2 classes, nothing "
        f'to tell apart; write {tmp_path / "classes.json"} with "names" (and "values" when the stored values are '
        "not 0, 1, ...) (docs/your-data.md#when-something-is-wrong-with-the-data)"
    )
    write_pair(tmp_path, "train", "a0", np.array([[1, 255]] * 4, np.uint8))
    write_pair(tmp_path, "train", "a1", np.full((H, W), 255, np.uint8))
    with pytest.raises(DataError, match=r"hold only the values \[1, 255\] \(255 taken as ignored\): fewer than 2"):
        FolderDataset(tmp_path)


def test_more_than_255_values_are_refused(tmp_path):
    label = (np.arange(H * W * 4).reshape(2 * H, 2 * W) * 7).astype(np.uint16)
    write_pair(tmp_path, "train", "deep", label)  # a 16-bit PNG (mode "I;16")
    with pytest.raises(DataError) as err:
        FolderDataset(tmp_path)
    assert str(err.value) == (
        f"the one label in {tmp_path / 'labels' / 'train'} holds 384 distinct values up to 2681: labels must be "
        "class indices 0..254 plus the ignored value 255 (a greyscale photo or a 16-bit image is not a label); or "
        f'map stored values to classes with "values" in {tmp_path / "classes.json"} '
        "(docs/your-data.md#when-something-is-wrong-with-the-data)"
    )


def test_two_to_255_classes_still_discovered(tmp_path):
    label = np.arange(H * W * 4).reshape(2 * H, 2 * W) % 255
    label[0, 0] = 255
    write_pair(tmp_path, "train", "many", label.astype(np.uint8))
    ds = FolderDataset(tmp_path)
    assert ds.num_classes == 255 and ds.ignore_index == 255
    write_pair(tmp_path, "train", "many", np.array([[0, 1]] * 4, np.uint8))
    assert FolderDataset(tmp_path).num_classes == 2


# ---- JPEG labels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".jpg", ".png"])  # a JPEG saved under a .png name is a JPEG too
def test_jpeg_labels_are_refused_discovered_or_declared(tmp_path, suffix):
    write_pair(tmp_path, "train", "ok", np.array([[0, 1]] * 4, np.uint8))
    write_pair(tmp_path, "train", "lossy", np.array([[0, 1]] * 4, np.uint8) * 100, label_format="JPEG",
               label_suffix=suffix)
    path = tmp_path / "labels" / "train" / f"lossy{suffix}"
    expected = (f"label {path} is a JPEG file: JPEG compression changes pixel values, so they are not class "
                "indices any more; save labels as PNG (lossless)")
    with pytest.raises(DataError) as err:
        FolderDataset(tmp_path)  # discovering
    assert str(err.value) == expected
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b"]}))
    ds = FolderDataset(tmp_path)  # declared: found when the label is read, or by verify
    with pytest.raises(DataError) as err:
        verify(ds)
    assert str(err.value) == expected
    with pytest.raises(DataError, match="is a JPEG file"):
        ds.read(0)


def test_jpeg_labels_are_refused_in_the_camvid_layout(tmp_path):
    make_camvid(tmp_path, n=2)
    label = tmp_path / "trainannot" / "seq_000.png"
    Image.open(label).save(label.with_suffix(".jpg"), quality=95)
    label.unlink()
    with pytest.raises(DataError, match=rf"^label {label.with_suffix('.jpg')} is a JPEG file: .* save labels as PNG"):
        CamVid(tmp_path)[0]


# ---- mixed sizes ---------------------------------------------------------------------------------
def test_image_sizes_come_from_the_headers_and_check_same_size_names_two_files(tmp_path):
    write_pair(tmp_path, "val", "a", np.array([[0, 1]] * 4, np.uint8), size=(4, 2))
    write_pair(tmp_path, "val", "b", np.array([[0, 1] * 3] * 5, np.uint8), size=(5, 6))
    write_pair(tmp_path, "val", "c", np.array([[0, 1]] * 4, np.uint8), size=(4, 2))
    ds = FolderDataset(tmp_path, "val", classes=Classes.default(2))
    assert ds.image_sizes() == [(4, 2), (5, 6), (4, 2)]
    with pytest.raises(DataError) as err:
        check_same_size(ds, "val")
    folder = tmp_path / "images" / "val"
    assert str(err.value) == (
        f"the val images differ in size (2 sizes among 3 images): {folder / 'a.png'} is 4x2 but {folder / 'b.png'} "
        "is 5x6 (H x W); give --size HxW (resizes every image), or transforms.Resize((h, w)) in Python"
    )
    (folder / "b.png").unlink()
    (tmp_path / "labels" / "val" / "b.png").unlink()
    assert check_same_size(FolderDataset(tmp_path, "val", classes=Classes.default(2)), "val") == (4, 2)


def test_image_sizes_of_camvid_and_synthetic_scenes(tmp_path):
    make_camvid(tmp_path, size=(6, 8))
    assert CamVid(tmp_path).image_sizes() == [(6, 8)] * 3 and check_same_size(CamVid(tmp_path), "train") == (6, 8)
    assert SyntheticScenes(3, size=(32, 48)).image_sizes() == [(32, 48)] * 3
    assert check_same_size(SyntheticScenes(3, size=(32, 48)), "train") == (32, 48)
    assert check_same_size([(np.zeros((2, 2, 3)), np.zeros((2, 2)))], "train") is None  # no headers to read


def test_image_sizes_under_skip_bad_skip_an_unreadable_image_as_reading_would(tmp_path):
    for stem, size in (("a", (4, 2)), ("b", (4, 2)), ("c", (6, 2))):
        write_pair(tmp_path, "val", stem, np.array([[0, 1]] * size[0], np.uint8), size=size)
    bad = tmp_path / "images" / "val" / "a.png"
    bad.write_bytes(b"not a picture")
    classes = Classes.default(2)
    with pytest.raises(DataError, match=rf"^image {bad} cannot be read"):
        FolderDataset(tmp_path, "val", classes=classes).image_sizes()
    ds = FolderDataset(tmp_path, "val", classes=classes, skip_bad=True)
    with pytest.warns(RuntimeWarning, match="skipping"):
        sizes = ds.image_sizes()
    assert sizes == [(4, 2), (4, 2), (6, 2)] and [Path(p).name for p, _ in ds.skipped] == ["a.png"]
    assert ds.source(0)[0].name == "b.png"
    with pytest.raises(DataError, match=r"b\.png is 4x2 but .*c\.png is 6x2"):
        check_same_size(ds, "val")


def test_the_loader_refuses_items_of_different_sizes_naming_the_shapes():
    items = [(np.zeros((4, 6, 3), np.uint8), np.zeros((4, 6), np.uint8)),
             (np.zeros((5, 6, 3), np.uint8), np.zeros((5, 6), np.uint8))]
    with pytest.raises(DataError) as err:
        next(iter(DataLoader(items, batch_size=2)))
    assert str(err.value) == (
        "DataLoader: cannot batch items of different sizes: item 0 is image (4, 6, 3) label (4, 6), item 1 is "
        "image (5, 6, 3) label (5, 6); give --size HxW (resizes every image), or add transforms.Resize(size) in Python"
    )
    grey = [(np.zeros((4, 6), np.uint8), np.zeros((4, 6), np.uint8))]
    with pytest.raises(DataError, match=r"^DataLoader: item 0 has an image of shape \(4, 6\); expected \(H, W, 3\)"):
        next(iter(DataLoader(grey)))


# ---- verify --------------------------------------------------------------------------------------
def make_val(root: Path, n: int = 4) -> None:
    for i in range(n):
        write_pair(root, "val", f"v{i}", np.array([[0, 1, 2, 255]] * 4, np.uint8))
    (root / "classes.json").write_text(json.dumps({"names": ["a", "b", "c"], "ignore_index": 255}))


def test_verify_raises_the_readers_error_for_the_first_bad_pair(tmp_path):
    make_val(tmp_path)
    assert verify(FolderDataset(tmp_path, "val")) == 4
    write_pair(tmp_path, "val", "v2", np.array([[0, 1, 5, 255]] * 4, np.uint8))
    write_pair(tmp_path, "val", "v3", np.array([[0, 1, 2, 255]] * 4, np.uint8), size=(4, 5))
    ds = FolderDataset(tmp_path, "val")
    with pytest.raises(DataError) as err:
        verify(ds)
    with pytest.raises(DataError) as read:
        ds.read(2)
    assert str(err.value) == str(read.value) == (
        f"label {tmp_path / 'labels' / 'val' / 'v2.png'} has values [5] outside the classes 0..2 (4 pixels; 255 is "
        "ignored); do the classes (classes.json) list every class and the ignored value?"
    )


def test_verify_with_skip_bad_records_every_bad_pair_once(tmp_path):
    make_val(tmp_path)
    write_pair(tmp_path, "val", "v1", np.array([[0, 1, 5, 255]] * 4, np.uint8))
    write_pair(tmp_path, "val", "v3", np.array([[0, 1, 2, 255]] * 4, np.uint8), size=(4, 5))
    ds = FolderDataset(tmp_path, "val", skip_bad=True)
    with pytest.warns(RuntimeWarning):
        assert verify(ds) == 2
    assert [Path(p).name for p, _ in ds.skipped] == ["v1.png", "v3.png"]
    assert "outside the classes" in ds.skipped[0][1] and "but its image" in ds.skipped[1][1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known bad pairs are not tried (nor warned about) again
        batches = list(DataLoader(ds, batch_size=2))
    assert len(batches) == 2 and len(ds.skipped) == 2
    assert_equal(ds[1][0], ds[2][0])  # v1 is read as the next good pair, v2


def test_verify_on_data_without_files_checks_nothing():
    assert verify(SyntheticScenes(3, size=(16, 16))) == 3


def test_the_loader_leaves_label_checks_to_readers_that_check_their_own(tmp_path, monkeypatch):
    make_val(tmp_path, n=2)
    calls = []
    monkeypatch.setattr(_Loader, "_check_labels", lambda self, labels, indices: calls.append(len(indices)))
    list(DataLoader(FolderDataset(tmp_path, "val"), batch_size=2))
    list(DataLoader(SyntheticScenes(2, size=(16, 16)), batch_size=2))
    assert calls == []
    list(DataLoader([(np.zeros((2, 2, 3)), np.zeros((2, 2), np.uint8))]))  # no classes, nothing to check against
    assert calls == [1]
