"""CamVid loading: both layouts, PNG and JPEG, every bad-data error, class weights, real data."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyseg.data import CAMVID_CLASSES, CAMVID_PALETTE, SEGNET_TUTORIAL_WEIGHTS, CamVid, DataError, colorize, median_frequency_weights
from .helpers import assert_close, assert_equal

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL = SHARED / "camvid"
REAL_Q95 = SHARED / "camvid-q95"


def make_camvid(root: Path, split: str = "train", n: int = 3, size: tuple[int, int] = (6, 8),
                image_format: str = "png", write_list: bool = False, seed: int = 0) -> dict[str, tuple]:
    """A tiny CamVid in the SegNet layout; returns {stem: (image, label)} as written."""
    rng = np.random.default_rng(seed)
    (root / split).mkdir(parents=True, exist_ok=True)
    (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
    written, lines = {}, []
    suffix = {"png": ".png", "jpeg": ".jpg"}[image_format]
    for i in range(n):
        stem = f"seq_{i:03d}"
        image = rng.integers(0, 256, size + (3,), dtype=np.uint8)
        label = rng.integers(0, 12, size, dtype=np.uint8)
        Image.fromarray(image).save(root / split / f"{stem}{suffix}")
        Image.fromarray(label).save(root / f"{split}annot" / f"{stem}.png")
        written[stem] = (image, label)
        lines.append(f"/SegNet/CamVid/{split}/{stem}{suffix} /SegNet/CamVid/{split}annot/{stem}.png")
    if write_list:
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return written


def test_folder_layout_reads_png_pairs_exactly(tmp_path):
    written = make_camvid(tmp_path)
    ds = CamVid(tmp_path, "train")
    assert ds.layout == "folders" and len(ds) == 3
    for i, stem in enumerate(sorted(written)):
        image, label = ds[i]
        assert image.dtype == np.uint8 and image.shape == (6, 8, 3)
        assert label.dtype == np.uint8 and label.shape == (6, 8)
        assert_equal(image, written[stem][0])
        assert_equal(label, written[stem][1])
    assert ds.classes.names == CAMVID_CLASSES and ds.num_classes == 11 and ds.ignore_index == 11
    with pytest.raises(IndexError):
        ds[3]
    assert_equal(ds[-1][1], written["seq_002"][1])


def test_list_layout_resolves_segnet_paths_against_root(tmp_path):
    written = make_camvid(tmp_path, write_list=True)
    ds = CamVid(tmp_path, "train")
    assert ds.layout == "list" and len(ds) == 3
    assert ds.pairs[0][0] == tmp_path / "train" / "seq_000.png"
    assert_equal(ds[1][1], written["seq_001"][1])
    assert CamVid(tmp_path, "train", layout="folders").layout == "folders"


def test_list_order_is_kept(tmp_path):
    make_camvid(tmp_path, write_list=True)
    lines = (tmp_path / "train.txt").read_text().splitlines()
    (tmp_path / "train.txt").write_text("\n".join(lines[::-1]))
    assert [p.stem for p, _ in CamVid(tmp_path).pairs] == ["seq_002", "seq_001", "seq_000"]


def test_jpeg_images_pair_with_png_labels_by_stem(tmp_path):
    written = make_camvid(tmp_path, image_format="jpeg")
    ds = CamVid(tmp_path)
    image, label = ds[0]
    assert ds.pairs[0][0].suffix == ".jpg" and image.shape == (6, 8, 3)
    assert_equal(label, written["seq_000"][1])


def test_list_naming_png_finds_the_jpeg_with_the_same_stem(tmp_path):
    make_camvid(tmp_path, image_format="jpeg")
    lines = [f"/SegNet/CamVid/train/seq_{i:03d}.png /SegNet/CamVid/trainannot/seq_{i:03d}.png" for i in range(3)]
    (tmp_path / "train.txt").write_text("\n".join(lines))
    ds = CamVid(tmp_path)
    assert ds.layout == "list" and ds.pairs[2][0].name == "seq_002.jpg"


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_missing_root_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        CamVid(tmp_path / "nowhere")


def test_missing_split_names_the_folder_and_the_splits_present(tmp_path):
    make_camvid(tmp_path)
    with pytest.raises(DataError, match=r"testannot|test.*not found") as err:
        CamVid(tmp_path, "test")
    assert "train" in str(err.value)


def test_missing_annot_folder_is_named(tmp_path):
    make_camvid(tmp_path)
    for f in (tmp_path / "trainannot").iterdir():
        f.unlink()
    (tmp_path / "trainannot").rmdir()
    with pytest.raises(DataError, match="trainannot"):
        CamVid(tmp_path)


def test_image_without_label_is_named(tmp_path):
    make_camvid(tmp_path)
    (tmp_path / "trainannot" / "seq_001.png").unlink()
    with pytest.raises(DataError, match=r"seq_001\.png has no label"):
        CamVid(tmp_path)


def test_label_without_image_is_named(tmp_path):
    make_camvid(tmp_path)
    (tmp_path / "train" / "seq_002.png").unlink()
    with pytest.raises(DataError, match=r"trainannot.seq_002\.png has no image"):
        CamVid(tmp_path)


def test_two_images_with_one_stem_are_named(tmp_path):
    make_camvid(tmp_path)
    Image.new("RGB", (8, 6)).save(tmp_path / "train" / "seq_000.jpg")
    with pytest.raises(DataError, match="seq_000.*share the stem"):
        CamVid(tmp_path)


def test_malformed_list_line_names_file_and_line(tmp_path):
    make_camvid(tmp_path, write_list=True)
    with open(tmp_path / "train.txt", "a") as f:
        f.write("just_one_path.png\n")
    with pytest.raises(DataError, match=r"train\.txt, line 4"):
        CamVid(tmp_path)


def test_list_entry_that_does_not_exist_is_named(tmp_path):
    make_camvid(tmp_path, write_list=True)
    with open(tmp_path / "train.txt", "a") as f:
        f.write("/SegNet/CamVid/train/ghost.png /SegNet/CamVid/trainannot/ghost.png\n")
    with pytest.raises(DataError, match=r"ghost\.png not found \(line 4"):
        CamVid(tmp_path)


def test_missing_list_file_when_asked_for_the_list_layout(tmp_path):
    make_camvid(tmp_path)
    with pytest.raises(DataError, match=r"train\.txt not found"):
        CamVid(tmp_path, layout="list")


def test_unreadable_file_fails_when_read_not_when_built(tmp_path):
    make_camvid(tmp_path)
    (tmp_path / "train" / "seq_001.png").write_bytes(b"this is not a png")
    ds = CamVid(tmp_path)  # construction decodes nothing
    ds[0]
    with pytest.raises(DataError, match=r"seq_001\.png cannot be read"):
        ds[1]


@pytest.mark.parametrize("image_format", ["png", "jpeg"])
def test_truncated_file_is_named(tmp_path, image_format):
    make_camvid(tmp_path, size=(40, 50), image_format=image_format)
    path = next((tmp_path / "train").iterdir())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    ds = CamVid(tmp_path)
    with pytest.raises(DataError, match=path.name + ".*truncated"):
        ds[[p for p, _ in ds.pairs].index(path)]


def test_label_of_another_size_names_both_files(tmp_path):
    make_camvid(tmp_path)
    Image.fromarray(np.zeros((5, 8), np.uint8)).save(tmp_path / "trainannot" / "seq_000.png")
    with pytest.raises(DataError, match=r"seq_000\.png is 5x8.*train.seq_000\.png is 6x8"):
        CamVid(tmp_path)[0]


def test_label_values_above_void_are_named(tmp_path):
    make_camvid(tmp_path)
    label = np.full((6, 8), 3, np.uint8)
    label[0, :2] = 255
    Image.fromarray(label).save(tmp_path / "trainannot" / "seq_002.png")
    with pytest.raises(DataError, match=r"seq_002\.png has values \[255\] above the void index 11 \(2 pixels\)"):
        CamVid(tmp_path)[2]


def test_colour_coded_label_is_refused(tmp_path):
    make_camvid(tmp_path)
    Image.new("RGB", (8, 6), (128, 64, 128)).save(tmp_path / "trainannot" / "seq_000.png")
    with pytest.raises(DataError, match=r"seq_000\.png has mode 'RGB'"):
        CamVid(tmp_path)[0]


def test_not_strict_skips_an_unpaired_image_with_a_warning(tmp_path):
    make_camvid(tmp_path)
    (tmp_path / "trainannot" / "seq_001.png").unlink()
    with pytest.warns(RuntimeWarning, match="seq_001"):
        ds = CamVid(tmp_path, strict=False)
    assert len(ds) == 2 and len(ds.skipped) == 1
    assert "seq_001" in ds.skipped[0][0] and "no label" in ds.skipped[0][1]


def test_not_strict_replaces_an_unreadable_pair_by_the_next_and_counts_it(tmp_path):
    written = make_camvid(tmp_path)
    (tmp_path / "train" / "seq_001.png").write_bytes(b"garbage")
    ds = CamVid(tmp_path, strict=False)
    assert ds.skipped == []
    with pytest.warns(RuntimeWarning, match="seq_001"):
        image, label = ds[1]
    assert_equal(label, written["seq_002"][1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pair already known bad is skipped silently
        ds[1]
    assert len(ds) == 3 and len(ds.skipped) == 1 and "cannot be read" in ds.skipped[0][1]


def test_colorize_uses_the_palette():
    label = np.array([[0, 3], [8, 11]])
    rgb = colorize(label)
    assert rgb.dtype == np.uint8 and rgb.shape == (2, 2, 3)
    assert_equal(rgb[1, 0], [64, 0, 128])  # Car
    assert_equal(rgb[1, 1], [0, 0, 0])     # void
    assert CAMVID_PALETTE.shape == (12, 3)
    with pytest.raises(ValueError, match="0..11"):
        colorize(np.array([[12]]))


def test_median_frequency_weights_by_hand():
    # image 1: 5 non-void pixels, class 0 x2, class 1 x3; image 2: 4 pixels, class 0 x1, class 2 x3.
    # freq0 = 3/9, freq1 = 3/5, freq2 = 3/4, median 3/5; class 3 never appears -> 0.
    labels = [np.array([[0, 0, 1], [1, 1, 11]]), np.array([[0, 2], [2, 2]])]
    w = median_frequency_weights(labels, num_classes=4, ignore_index=11)
    assert w.dtype == np.float32
    assert_close(w, [1.8, 1.0, 0.8, 0.0], rtol=1e-6)
    items = [(np.zeros((2, 2, 3)), lb) for lb in labels]  # a dataset of (image, label) items
    assert_close(median_frequency_weights(items, num_classes=4), w)


def test_median_frequency_weights_of_a_dataset_and_bad_values(tmp_path):
    make_camvid(tmp_path)
    w = median_frequency_weights(CamVid(tmp_path))
    assert w.shape == (11,) and (w > 0).all()
    with pytest.raises(ValueError, match=r"label map 0 has values \[5\]"):
        median_frequency_weights([np.array([5])], num_classes=4)
    with pytest.raises(ValueError, match="no labelled"):
        median_frequency_weights([np.array([11, 11])])


def test_segnet_tutorial_weights_are_the_prototxt_values():
    assert SEGNET_TUTORIAL_WEIGHTS.shape == (11,) and SEGNET_TUTORIAL_WEIGHTS.dtype == np.float32
    assert SEGNET_TUTORIAL_WEIGHTS[6] == np.float32(9.6446) and SEGNET_TUTORIAL_WEIGHTS[3] == np.float32(0.1417)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real CamVid not found at {REAL}")
def test_real_camvid_train_has_367_pairs():
    ds = CamVid(REAL, "train")
    assert len(ds) == 367 and ds.layout == "list"
    assert all(i.stem == lb.stem for i, lb in ds.pairs)
    image, label = ds[0]
    assert image.shape == (360, 480, 3) and image.dtype == np.uint8
    assert label.shape == (360, 480) and label.max() <= 11
    assert len(CamVid(REAL, "val")) == 101


@pytest.mark.skipif(not REAL_Q95.is_dir(), reason=f"JPEG copy of CamVid not found at {REAL_Q95}")
def test_real_camvid_jpeg_copy_pairs_by_stem():
    ds = CamVid(REAL_Q95, "train")
    assert len(ds) == 367 and ds.layout == "folders" and ds.pairs[0][0].suffix == ".jpg"
    image, label = ds[-1]
    assert image.shape == (360, 480, 3) and label.shape == (360, 480)
