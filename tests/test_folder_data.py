"""The folder layout (images/<split>/, labels/<split>/, classes.json): 2 to 20 classes, with and
without an ignored label, index and colour labels, discovery, every bad-data error, skip_bad,
and open_dataset telling the folder layout from CamVid's."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyseg.data import CAMVID, CamVid, Classes, DataError, DataLoader, FolderDataset, median_frequency_weights, open_dataset
from .helpers import assert_equal
from .test_camvid import make_camvid

H, W = 16, 24


def make_folder(root: Path, k: int, ignore: int | None = None, splits: dict[str, int] | None = None,
                colours: Classes | None = None, classes_json: bool = False, seed: int = 0) -> dict:
    """A tiny folder data set with ``k`` classes; returns {(split, stem): (image, label)} as written.

    Every class appears in the first training label (so discovery finds them all); about 10% of the
    pixels are ``ignore`` when given. With ``colours`` the labels are written as RGB pictures.
    """
    rng = np.random.default_rng(seed)
    written = {}
    for split, n in (splits or {"train": 3, "val": 2}).items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
            label = rng.integers(0, k, (H, W)).astype(np.uint8)
            label.flat[:k] = np.arange(k)
            if ignore is not None:
                label[rng.random((H, W)) < 0.1] = ignore
            stem = f"img{i}"
            Image.fromarray(image).save(root / "images" / split / f"{stem}.png")
            if colours is not None:
                drawn = np.asarray(colours.palette)[label]
                Image.fromarray(drawn).save(root / "labels" / split / f"{stem}.png")
            else:
                Image.fromarray(label).save(root / "labels" / split / f"{stem}.png")
            written[split, stem] = (image, label)
    if classes_json:
        cls = colours or Classes.default(k, ignore)
        (root / "classes.json").write_text(json.dumps(cls.to_dict()))
    return written


def single_line_naming(err: pytest.ExceptionInfo, path: Path | str) -> None:
    message = str(err.value)
    assert str(path) in message and "\n" not in message, message


# ---- reading -------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 4, 20])
@pytest.mark.parametrize("ignore", [None, 255])
def test_index_labels_are_read_exactly_and_classes_discovered(tmp_path, k, ignore):
    written = make_folder(tmp_path, k, ignore)
    ds = FolderDataset(tmp_path, "train")
    assert len(ds) == 3 and ds.num_classes == k == len(ds.classes) and ds.ignore_index == ignore
    assert ds.classes == Classes.default(k, ignore)
    ignored = "255 ignored" if ignore is not None else "nothing ignored"
    assert ds.classes_source == f"discovered from 3 training labels: classes 0..{k - 1}, {ignored} (no classes.json)"
    for i in range(3):
        image, label = ds[i]
        assert image.dtype == np.uint8 and image.shape == (H, W, 3) and label.dtype == np.uint8 and label.shape == (H, W)
        assert_equal(image, written["train", f"img{i}"][0])
        assert_equal(label, written["train", f"img{i}"][1])
    val = FolderDataset(tmp_path, "val")  # discovers from the training split, whatever split it reads
    assert val.classes == ds.classes and len(val) == 2
    weights = median_frequency_weights(ds)  # the data set's own classes and ignored value
    assert weights.shape == (k,) and (weights > 0).all()
    images, labels = next(iter(DataLoader(ds, batch_size=2)))
    assert images.shape == (2, 3, H, W) and labels.shape == (2, H, W)


@pytest.mark.parametrize("k", [2, 4, 20])
@pytest.mark.parametrize("ignore", [None, 255])
def test_classes_json_names_the_classes(tmp_path, k, ignore):
    make_folder(tmp_path, k, ignore)
    names = [f"thing{i}" for i in range(k)]
    (tmp_path / "classes.json").write_text(json.dumps({"names": names, "ignore_index": ignore}))
    ds = FolderDataset(tmp_path, "val")
    assert list(ds.classes) == names and ds.ignore_index == ignore
    assert ds.classes_source == f"from {tmp_path / 'classes.json'}"
    ds[0], ds[1]


def test_discovery_notes_classes_that_never_appear(tmp_path):
    make_folder(tmp_path, 2, splits={"train": 1})
    label = np.full((H, W), 5, np.uint8)
    label[0, 0] = 0
    Image.fromarray(label).save(tmp_path / "labels" / "train" / "img0.png")
    ds = FolderDataset(tmp_path)
    assert len(ds.classes) == 6 and "classes 0..5 (4 never appear), nothing ignored" in ds.classes_source


def test_classes_argument_as_object_or_file(tmp_path):
    make_folder(tmp_path, 3, 255)
    given = Classes(("a", "b", "c"), ((1, 1, 1), (2, 2, 2), (3, 3, 3)), 255)
    ds = FolderDataset(tmp_path, classes=given)
    assert ds.classes is given and ds.classes_source == "given by the caller"
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps(given.to_dict()))
    (tmp_path / "classes.json").write_text("{broken")  # the argument wins over root/classes.json
    ds = open_dataset(tmp_path, "val", classes=str(other))
    assert ds.classes == given and ds.classes_source == f"from {other}"


def test_jpeg_images_pair_with_png_labels(tmp_path):
    written = make_folder(tmp_path, 2)
    for path in (tmp_path / "images" / "train").iterdir():
        Image.open(path).save(path.with_suffix(".jpg"), quality=95)
        path.unlink()
    ds = FolderDataset(tmp_path)
    assert ds.pairs[0][0].suffix == ".jpg"
    assert_equal(ds[0][1], written["train", "img0"][1])


@pytest.mark.parametrize(("k", "ignore"), [(2, None), (4, 255), (20, 255)])
def test_colour_labels_are_mapped_to_indices(tmp_path, k, ignore):
    colours = Classes.default(k, ignore)
    written = make_folder(tmp_path, k, ignore, colours=colours, classes_json=True)
    ds = FolderDataset(tmp_path, "train")
    for i in range(3):
        label = ds[i][1]
        assert label.dtype == np.uint8
        assert_equal(label, written["train", f"img{i}"][1])  # black -> ignored value
    assert median_frequency_weights(ds).shape == (k,)


def test_an_unknown_colour_names_the_file_pixel_and_colour(tmp_path):
    colours = Classes(("bg", "cell"), ((10, 10, 10), (255, 0, 0)), None)
    make_folder(tmp_path, 2, colours=colours, classes_json=True)
    path = tmp_path / "labels" / "train" / "img1.png"
    drawn = np.array(Image.open(path))
    drawn[3, 5] = (0, 200, 0)
    Image.fromarray(drawn).save(path)
    ds = FolderDataset(tmp_path)
    with pytest.raises(DataError, match=r"pixel \(y=3, x=5\) has colour \(0, 200, 0\)") as err:
        ds[1]
    single_line_naming(err, path)


def test_colour_labels_without_classes_json_are_refused_when_discovering(tmp_path):
    make_folder(tmp_path, 2, colours=Classes.default(2))
    with pytest.raises(DataError, match="mode 'RGB': colour-coded labels need .*classes.json") as err:
        FolderDataset(tmp_path)
    single_line_naming(err, tmp_path / "labels" / "train")


# ---- bad data ------------------------------------------------------------------------------------
def test_label_values_outside_the_declared_classes(tmp_path):
    make_folder(tmp_path, 4, 255)
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b", "c"], "ignore_index": 255}))
    ds = FolderDataset(tmp_path)  # classes.json disagrees with the labels: found when a label is read
    with pytest.raises(DataError, match=r"has values \[3\] outside the classes 0\.\.2 \(\d+ pixels; 255 is ignored\)") as err:
        ds[0]
    single_line_naming(err, tmp_path / "labels" / "train" / "img0.png")
    with pytest.raises(DataError, match=r"values \[3\]"):
        median_frequency_weights(ds)


def test_255_without_an_ignored_value_is_outside_the_classes(tmp_path):
    make_folder(tmp_path, 2, 255)
    (tmp_path / "classes.json").write_text(json.dumps({"names": ["a", "b"], "ignore_index": None}))
    with pytest.raises(DataError, match=r"values \[255\] outside the classes 0\.\.1 .*nothing|no value is ignored"):
        FolderDataset(tmp_path)[0]


def test_image_and_label_of_different_sizes(tmp_path):
    make_folder(tmp_path, 2)
    label = tmp_path / "labels" / "train" / "img2.png"
    Image.fromarray(np.zeros((H - 1, W), np.uint8)).save(label)
    with pytest.raises(DataError, match=r"is 15x24 \(H x W\) but its image .*img2\.png is 16x24") as err:
        FolderDataset(tmp_path)[2]
    single_line_naming(err, label)


def test_image_without_label_and_label_without_image(tmp_path):
    make_folder(tmp_path, 2)
    (tmp_path / "labels" / "val" / "img1.png").unlink()
    with pytest.raises(DataError, match=r"img1\.png has no label in") as err:
        FolderDataset(tmp_path, "val")
    single_line_naming(err, tmp_path / "images" / "val" / "img1.png")
    (tmp_path / "images" / "train" / "img0.png").unlink()
    with pytest.raises(DataError, match=r"img0\.png has no image in") as err:
        FolderDataset(tmp_path, "train")
    single_line_naming(err, tmp_path / "labels" / "train" / "img0.png")


def test_missing_or_empty_split_lists_the_splits(tmp_path):
    make_folder(tmp_path, 2)
    with pytest.raises(DataError, match=r"split 'test'.*not found \(splits .*: train, val\)") as err:
        FolderDataset(tmp_path, "test")
    single_line_naming(err, tmp_path / "images" / "test")
    (tmp_path / "images" / "test").mkdir()
    (tmp_path / "labels" / "test").mkdir()
    with pytest.raises(DataError, match=r"split 'test' under .* is empty.*splits here: test, train, val") as err:
        FolderDataset(tmp_path, "test")
    single_line_naming(err, tmp_path / "images" / "test")


def test_broken_classes_json_is_named(tmp_path):
    make_folder(tmp_path, 2)
    (tmp_path / "classes.json").write_text('{"names": ["a", "b"], "colors": [[1, 2, 3]]}')
    with pytest.raises(DataError, match="2 names but 1 colors") as err:
        FolderDataset(tmp_path)
    single_line_naming(err, tmp_path / "classes.json")
    (tmp_path / "classes.json").write_text("not json")
    with pytest.raises(DataError, match="does not parse") as err:
        open_dataset(tmp_path)
    single_line_naming(err, tmp_path / "classes.json")


def test_unreadable_image_fails_when_read_not_when_built(tmp_path):
    make_folder(tmp_path, 2, classes_json=True)
    path = tmp_path / "images" / "train" / "img1.png"
    path.write_bytes(b"not a png")
    ds = FolderDataset(tmp_path)
    with pytest.raises(DataError, match="cannot be read") as err:
        ds[1]
    single_line_naming(err, path)


def test_skip_bad_counts_and_lists_what_it_skipped(tmp_path):
    written = make_folder(tmp_path, 3, 255, splits={"train": 4})
    (tmp_path / "labels" / "train" / "img0.png").rename(tmp_path / "labels" / "train" / "orphan.png")
    Image.fromarray(np.zeros((H, W - 2), np.uint8)).save(tmp_path / "labels" / "train" / "img2.png")
    with pytest.raises(DataError, match="img0.png has no label.*and 1 more problems"):
        FolderDataset(tmp_path)
    with pytest.warns(RuntimeWarning, match="FolderDataset: skipping"):
        ds = FolderDataset(tmp_path, skip_bad=True)
    assert len(ds) == 3 and [Path(p).name for p, _ in ds.skipped] == ["img0.png", "orphan.png"]
    with pytest.warns(RuntimeWarning, match="img2"):
        image, label = ds[1]  # img2's label has the wrong size: replaced by the next readable pair
    assert_equal(label, written["train", "img3"][1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds[1]  # known bad: skipped silently
    assert len(ds.skipped) == 3 and "but its image" in ds.skipped[2][1]


def test_skip_bad_skips_unreadable_labels_while_discovering(tmp_path):
    make_folder(tmp_path, 2, splits={"train": 3})
    (tmp_path / "labels" / "train" / "img1.png").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"img1\.png cannot be read"):
        FolderDataset(tmp_path)
    with pytest.warns(RuntimeWarning):
        ds = FolderDataset(tmp_path, skip_bad=True)
    assert "from 2 training labels" in ds.classes_source and len(ds.skipped) == 1


# ---- open_dataset --------------------------------------------------------------------------------
def test_open_dataset_recognises_both_layouts(tmp_path):
    make_folder(tmp_path / "mine", 2)
    mine = open_dataset(tmp_path / "mine", "val")
    assert isinstance(mine, FolderDataset) and len(mine) == 2
    make_camvid(tmp_path / "camvid", write_list=True)
    camvid = open_dataset(tmp_path / "camvid", "train")
    assert isinstance(camvid, CamVid) and camvid.classes is CAMVID and len(camvid) == 3
    assert camvid.classes_source.startswith("CamVid's 11 classes")
    make_camvid(tmp_path / "folders_only")
    assert open_dataset(tmp_path / "folders_only").layout == "folders"


def test_open_dataset_passes_skip_bad_to_camvid(tmp_path):
    make_camvid(tmp_path)
    (tmp_path / "trainannot" / "seq_001.png").unlink()
    with pytest.raises(DataError, match="no label"):
        open_dataset(tmp_path)
    with pytest.warns(RuntimeWarning):
        ds = open_dataset(tmp_path, skip_bad=True)
    assert len(ds) == 2 and len(ds.skipped) == 1


def test_camvid_layout_with_its_own_classes_json(tmp_path):
    make_camvid(tmp_path)  # labels 0..11
    names = [f"c{i}" for i in range(12)]
    (tmp_path / "classes.json").write_text(json.dumps({"names": names, "ignore_index": None}))
    ds = open_dataset(tmp_path)
    assert list(ds.classes) == names and ds.ignore_index is None and ds[0][1].max() <= 11


def test_open_dataset_on_neither_layout_says_what_it_looked_for(tmp_path):
    (tmp_path / "pictures").mkdir()
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(DataError) as err:
        open_dataset(tmp_path)
    single_line_naming(err, tmp_path)
    assert all(s in str(err.value) for s in ("images/ and labels/", "trainannot/", "found notes.txt, pictures/"))
    with pytest.raises(DataError, match="does not exist"):
        open_dataset(tmp_path / "nowhere")
