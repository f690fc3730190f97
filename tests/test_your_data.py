"""Train, evaluate and predict on a user's own folder data set (docs/your-data.md), end to end.

Each data set is made here in a temporary folder: ``images/<split>/*.png`` and
``labels/<split>/*.png`` with matching stems, and optionally ``classes.json``. The scenes are
easy on purpose (each class a flat colour band), so a few steps of training already score above
chance; what is checked is that every command follows the data set's classes: their number,
names, colours and ignored label.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from tinyseg.io import checkpoint
from tinyseg import evaluate as evaluate_cmd
from tinyseg import predict as predict_cmd
from tinyseg import train as train_cmd

BACKEND = ["--backend", os.environ.get("TINYSEG_BACKEND") or "numpy"]
FAST = ["--size", "16x16", "--batch-size", "2", "--workers", "0", "--log-every", "1", *BACKEND]


def make_folder_dataset(root, num_classes: int, *, ignore: int | None = 255, n: int = 4, size=(16, 24),
                        colour_labels: bool = False, classes_json: bool = True, seed: int = 0) -> dict:
    """A data set of ``n`` images per split (train, val) whose class k is a horizontal band of
    colour ``colors[k]``; a few pixels carry the ignored value. Returns the classes.json content."""
    rng = np.random.default_rng(seed)
    colors = [[(37 * k + 20) % 256, (91 * k + 60) % 256, (53 * k + 140) % 256] for k in range(num_classes)]
    classes = {"names": [f"thing{k}" for k in range(num_classes)], "colors": colors, "ignore_index": ignore}
    h, w = size
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            label = np.zeros((h, w), np.uint8)
            order = rng.permutation(num_classes)
            bands = np.array_split(np.arange(h), min(num_classes, h))
            for band, k in zip(bands, order):
                label[band] = k
            if i == 0:  # every class appears in the training split at least once
                label[:] = np.arange(w)[None, :] % num_classes
            if ignore is not None:
                label[0, :3] = ignore
            image = np.array(colors, np.uint8)[np.minimum(label, num_classes - 1)]
            image = np.clip(image.astype(int) + rng.integers(-10, 10, image.shape), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / "images" / split / f"img{i}.png")
            if colour_labels:
                drawn = np.zeros((h, w, 3), np.uint8)
                known = label < num_classes
                drawn[known] = np.array(colors, np.uint8)[label[known]]
                Image.fromarray(drawn).save(root / "labels" / split / f"img{i}.png")
            else:
                Image.fromarray(label).save(root / "labels" / split / f"img{i}.png")
    if classes_json:
        (root / "classes.json").write_text(json.dumps(classes))
    return classes


def _run_all_three(tmp_path, data, capsys, extra=()):
    out = tmp_path / "run"
    assert train_cmd.main(["--data", str(data), *FAST, "--iters", "2", "--val-every", "2", *extra,
                           "--out", str(out)]) == 0
    err = capsys.readouterr().err
    scores = tmp_path / "scores.json"
    assert evaluate_cmd.main(["--checkpoint", str(out / "best.npz"), "--data", str(data), "--workers", "0",
                              "--json", str(scores), *BACKEND]) == 0
    table = capsys.readouterr().out
    image = sorted((data / "images" / "val").iterdir())[0]
    assert predict_cmd.main(["--checkpoint", str(out / "best.npz"), str(image), "--out", str(tmp_path / "pred"),
                             *BACKEND]) == 0
    return out, err, json.loads(scores.read_text()), table


@pytest.mark.parametrize("num_classes", [2, 4, 20])
def test_the_three_commands_follow_the_data_sets_classes(tmp_path, capsys, num_classes):
    data = tmp_path / "data"
    classes = make_folder_dataset(data, num_classes, ignore=255)
    out, err, scores, table = _run_all_three(tmp_path, data, capsys)
    meta = checkpoint.read_meta(out / "best.npz")
    assert meta["model"]["kwargs"]["num_classes"] == num_classes
    assert meta["classes"] == classes  # names, colours and the ignored label travel in the checkpoint
    assert list(scores["per_class"]) == classes["names"]
    assert "thing1" in table and "mIoU" in table
    assert f"{num_classes} classes" in err and "classes.json" in err  # train says what it read
    label = np.asarray(Image.open(tmp_path / "pred" / "img0_label.png"))
    allowed = {tuple(c) for c in classes["colors"]}
    assert {tuple(p) for p in label.reshape(-1, 3)} <= allowed  # drawn in the data set's own colours


def test_no_classes_json_discovers_the_classes_and_says_so(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, 3, ignore=255, classes_json=False)
    out, err, scores, _ = _run_all_three(tmp_path, data, capsys)
    assert "3 classes" in err and "255" in err
    meta = checkpoint.read_meta(out / "best.npz")
    assert meta["classes"]["ignore_index"] == 255 and len(meta["classes"]["names"]) == 3
    assert len(scores["per_class"]) == 3


def test_without_an_ignored_label_every_pixel_counts(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, 4, ignore=None)
    out, _, scores, _ = _run_all_three(tmp_path, data, capsys)
    assert checkpoint.read_meta(out / "best.npz")["classes"]["ignore_index"] is None
    assert 0.0 <= scores["global_acc"] <= 1.0


def test_binary_masks_0_255_train_with_values_in_classes_json(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, 2, ignore=None, classes_json=False)
    for split in ("train", "val"):
        for path in (data / "labels" / split).iterdir():
            Image.fromarray(np.where(np.asarray(Image.open(path)) == 1, 255, 0).astype(np.uint8)).save(path)
    (data / "classes.json").write_text(json.dumps({"names": ["background", "cell"], "values": [0, 255]}))
    out, err, scores, _ = _run_all_three(tmp_path, data, capsys)
    assert "2 classes" in err
    assert checkpoint.read_meta(out / "best.npz")["classes"]["values"] == [0, 255]  # travels to evaluate
    assert list(scores["per_class"]) == ["background", "cell"]


def test_colour_labels_are_mapped_to_classes(tmp_path, capsys):
    data = tmp_path / "data"
    classes = make_folder_dataset(data, 4, ignore=None, colour_labels=True)
    out, _, scores, _ = _run_all_three(tmp_path, data, capsys)
    assert checkpoint.read_meta(out / "best.npz")["classes"]["colors"] == classes["colors"]
    assert list(scores["per_class"]) == classes["names"]


def _bad(tmp_path, capsys, data, *extra):
    out = tmp_path / "out"
    code = train_cmd.main(["--data", str(data), *FAST, "--iters", "1", *extra, "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("tinyseg.train: error:")]
    return code, errors if code == 2 else lines, out


def test_bad_data_is_one_line_and_exit_2(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, 3, ignore=255)
    bad = data / "labels" / "train" / "img2.png"
    Image.fromarray(np.full((16, 24), 7, np.uint8)).save(bad)  # a value outside 0..2 and not 255
    code, err, out = _bad(tmp_path, capsys, data)
    assert code == 2 and len(err) == 1 and "img2.png" in err[0] and "7" in err[0], err
    assert not (out / "last.npz").exists()

    code, err, _ = _bad(tmp_path, capsys, data, "--skip-bad")  # goes on, and says what it skipped
    assert code == 0 and any("skipped 1" in line and "img2.png" in line for line in err), err


def test_a_missing_label_and_a_broken_classes_json_are_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    make_folder_dataset(data, 2, ignore=None)
    (data / "labels" / "train" / "img1.png").unlink()
    code, err, _ = _bad(tmp_path, capsys, data)
    assert code == 2 and len(err) == 1 and "img1" in err[0], err
    make_folder_dataset(data, 2, ignore=None)
    (data / "classes.json").write_text("{not json")
    code, err, _ = _bad(tmp_path, capsys, data)
    assert code == 2 and len(err) == 1 and "classes.json" in err[0], err


def test_classes_option_points_at_a_classes_file(tmp_path, capsys):
    data = tmp_path / "data"
    classes = make_folder_dataset(data, 2, ignore=255, classes_json=False)
    elsewhere = tmp_path / "my_classes.json"
    elsewhere.write_text(json.dumps(classes | {"names": ["background", "cell"]}))
    out = tmp_path / "run"
    assert train_cmd.main(["--data", str(data), "--classes", str(elsewhere), *FAST, "--iters", "1",
                           "--out", str(out)]) == 0
    assert checkpoint.read_meta(out / "last.npz")["classes"]["names"] == ["background", "cell"]


def _break_sizes(data):
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(data / "labels" / "train" / "img3.png")
    return "img3"


def _break_empty_split(data):
    for f in (data / "images" / "val").iterdir():
        f.unlink()
    return "val"


def _break_orphan_label(data):
    Image.fromarray(np.zeros((16, 24), np.uint8)).save(data / "labels" / "train" / "stray.png")
    return "stray"


def _break_unknown_colour(data):
    (data / "classes.json").write_text(json.dumps({"names": ["a", "b"], "colors": [[1, 2, 3], [4, 5, 6]]}))
    rgb = np.zeros((16, 24, 3), np.uint8)
    rgb[:] = (1, 2, 3)
    rgb[5, 7] = (200, 100, 50)
    Image.fromarray(rgb).save(data / "labels" / "train" / "img0.png")
    return "(200, 100, 50)"


def _break_classes_json_disagrees(data):
    (data / "classes.json").write_text(json.dumps({"names": ["only"], "ignore_index": 255}))  # labels hold 0 and 1
    return "img"


def _break_layout(data):
    (data / "images").rename(data / "pictures")
    return str(data)


def _break_binary_masks(data):
    (data / "classes.json").unlink()
    for split in ("train", "val"):
        for path in (data / "labels" / split).iterdir():
            Image.fromarray(np.where(np.asarray(Image.open(path)) == 1, 255, 0).astype(np.uint8)).save(path)
    return '"values": [0, 255]'


def _break_jpeg_label(data):
    path = data / "labels" / "train" / "img1.png"
    Image.open(path).save(path.with_suffix(".jpg"), quality=100)
    path.unlink()
    return "img1.jpg is a JPEG file"


@pytest.mark.parametrize("breaker", [_break_sizes, _break_empty_split, _break_orphan_label, _break_unknown_colour,
                                     _break_classes_json_disagrees, _break_layout, _break_binary_masks,
                                     _break_jpeg_label], ids=lambda f: f.__name__[7:])
def test_every_bad_data_case_is_one_line_and_exit_2(tmp_path, capsys, breaker):
    data = tmp_path / "data"
    make_folder_dataset(data, 2, ignore=255)
    named = breaker(data)
    code, err, out = _bad(tmp_path, capsys, data)
    assert code == 2 and len(err) == 1 and named in err[0], err
    assert not (out / "last.npz").exists()


def test_bn_stats_reads_a_folder_data_set_with_the_checkpoints_classes(tmp_path, capsys):
    from tinyseg import bn_stats as bn_stats_cmd

    data = tmp_path / "data"
    make_folder_dataset(data, 4, ignore=None, colour_labels=True)  # colour labels: readable only with the classes
    out = tmp_path / "run"
    assert train_cmd.main(["--data", str(data), *FAST, "--iters", "1", "--out", str(out)]) == 0
    (data / "classes.json").unlink()  # bn_stats must take the classes from the checkpoint
    assert bn_stats_cmd.main(["--checkpoint", str(out / "last.npz"), "--data", str(data), "--workers", "0",
                              "--out", str(tmp_path / "bn.npz"), *BACKEND]) == 0
    assert checkpoint.read_meta(tmp_path / "bn.npz")["classes"]["names"] == [f"thing{k}" for k in range(4)]
