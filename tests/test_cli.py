"""End-to-end runs of train, evaluate and predict on tiny synthetic data, and their errors."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tinyseg.engine import backend
from tinyseg.io import checkpoint
from tinyseg import cli
from tinyseg import evaluate as evaluate_cmd
from tinyseg import predict as predict_cmd
from tinyseg import train as train_cmd
from tinyseg.data import CAMVID_PALETTE, SYNTHETIC_VAL, SyntheticScenes
from tinyseg.data.transforms import Normalize, resize_image
from tinyseg.functional import interpolate
from tinyseg.metrics import BFScore, ConfusionMatrix
from tinyseg.engine.tensor import Tensor, no_grad

BACKEND = ["--backend", os.environ.get("TINYSEG_BACKEND") or "numpy"]  # the suite's backend, for every command
TINY = ["--size", "24x32", "--synthetic", "8", "--batch-size", "2", "--workers", "0", "--log-every", "1", *BACKEND]


def _losses(out):
    return [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny training run shared by the evaluate and predict tests."""
    out = tmp_path_factory.mktemp("run")
    assert train_cmd.main([*TINY, "--iters", "4", "--val-every", "2", "--out", str(out)]) == 0
    return out


def test_train_writes_checkpoints_logs_and_pictures(trained, capsys):
    for name in ("best.npz", "last.npz", "metrics.jsonl", "curves.png", "val_samples.png", "config.json"):
        assert (trained / name).is_file(), name
        assert stat.S_IMODE((trained / name).stat().st_mode) == 0o644, name  # ordinary files, not private
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert [r["iter"] for r in records if "miou" in r] == [2, 4]
    assert all(0.0 <= r["miou"] <= 1.0 for r in records if "miou" in r)
    meta = checkpoint.read_meta(trained / "last.npz")
    assert meta["step"] == 4
    assert Image.open(trained / "curves.png").size[0] > 100


def test_resume_continues_exactly(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train_cmd.main([*TINY, "--iters", "6", "--val-every", "3", "--out", str(whole)]) == 0
    assert train_cmd.main([*TINY, "--iters", "3", "--val-every", "3", "--out", str(part)]) == 0
    assert train_cmd.main(["--resume", str(part / "last.npz"), "--iters", "6"]) == 0
    assert len(_losses(whole)) == 6
    assert _losses(part) == _losses(whole)  # bit-for-bit: data order, augmentation, optimiser state
    for name in ("best.npz", "last.npz"):  # the best so far travels through the resume
        got, want = checkpoint.read_meta(part / name), checkpoint.read_meta(whole / name)
        assert (got["step"], got["best_miou"]) == (want["step"], want["best_miou"]), name


def test_resume_keeps_the_best_miou_and_does_not_overwrite_best_with_a_worse_one(tmp_path, monkeypatch):
    """best.npz is replaced only by a better validation, before and after a resume: the resumed run
    starts from the checkpoint's best_miou, not from scratch. The validation mIoUs are scripted (a tiny
    run's real ones rise or fall by chance); everything else about the runs is real."""
    scripted = iter([0.2, 0.5, 0.4,  # the first run: best at iteration 2
                     0.3, 0.45,      # resumed to 5: both worse than 0.5, both better than nothing
                     0.6])           # resumed to 6: better, so best.npz moves on
    real_scores = ConfusionMatrix.scores
    monkeypatch.setattr(ConfusionMatrix, "scores", lambda self: {**real_scores(self), "miou": next(scripted)})
    out = tmp_path / "run"
    assert train_cmd.main([*TINY, "--iters", "3", "--val-every", "1", "--out", str(out)]) == 0
    best = (out / "best.npz").read_bytes()
    meta = checkpoint.read_meta(out / "best.npz")
    assert (meta["step"], meta["best_miou"]) == (2, 0.5)
    assert checkpoint.read_meta(out / "last.npz")["best_miou"] == 0.5

    assert train_cmd.main(["--resume", str(out / "last.npz"), "--iters", "5"]) == 0
    meta = checkpoint.read_meta(out / "best.npz")
    assert (meta["step"], meta["best_miou"]) == (2, 0.5), "a worse validation after the resume replaced best.npz"
    assert (out / "best.npz").read_bytes() == best  # untouched
    meta = checkpoint.read_meta(out / "last.npz")
    assert (meta["step"], meta["best_miou"]) == (5, 0.5)

    assert train_cmd.main(["--resume", str(out / "last.npz"), "--iters", "6"]) == 0
    for name in ("best.npz", "last.npz"):
        meta = checkpoint.read_meta(out / name)
        assert (meta["step"], meta["best_miou"]) == (6, 0.6), name
    assert [r["miou"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "miou" in r] \
        == [0.2, 0.5, 0.4, 0.3, 0.45, 0.6]
    assert next(scripted, None) is None  # one validation per iteration, no more


def test_resume_with_augmentation_and_dropout_continues_exactly(tmp_path):
    args = [*TINY, "--model", "bayesian_segnet_basic", "--augment", "--val-every", "2"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train_cmd.main([*args, "--iters", "5", "--out", str(whole)]) == 0
    assert train_cmd.main([*args, "--iters", "2", "--out", str(part)]) == 0
    assert train_cmd.main(["--resume", str(part / "last.npz"), "--iters", "5"]) == 0
    assert _losses(part) == _losses(whole)


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinyseg.train", *TINY, "--iters", "100000", "--val-every", "100000", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "TINYSEG_BACKEND"},
    )
    deadline = time.time() + 60
    while not (out / "config.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # a few steps in
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err and "last.npz" in err
    meta = checkpoint.read_meta(out / "last.npz")
    assert meta["step"] >= 1
    assert len(_losses(out)) == meta["step"]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    code = train_cmd.main([*TINY, "--iters", "40", "--val-every", "1", "--lr", "1e30", "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "loss became" in err and "lower --lr" in err
    meta = checkpoint.read_meta(out / "last.npz")
    losses = _losses(out)
    assert not np.isfinite(losses[-1])
    assert meta["step"] < len(losses)  # the checkpoint predates the bad step
    model = checkpoint.load_checkpoint(out / "last.npz")
    assert all(np.isfinite(backend.to_numpy(p.data)).all() for p in model.parameters())


def test_evaluate_prints_a_table_and_writes_json(trained, tmp_path, capsys):
    path = tmp_path / "scores.json"
    assert evaluate_cmd.main(["--checkpoint", str(trained / "best.npz"), "--json", str(path), "--workers", "0",
                              *BACKEND]) == 0
    out = capsys.readouterr().out
    assert "mIoU" in out and "BF" in out and "Sky" in out
    result = json.loads(path.read_text())
    for key in ("global_acc", "class_acc", "miou", "bf"):
        assert 0.0 <= result[key] <= 1.0
    assert len(result["per_class"]) == 11


def _model_inputs(images, size):
    """uint8 images (H, W, 3) -> float32 (N, 3, h, w) on the device, as the commands feed the model:
    resized (bilinear) to the size it was trained at, normalised with the CamVid statistics."""
    batch = [Normalize()(resize_image(im, size) if im.shape[:2] != size else im, None, None)[0] for im in images]
    return backend.to_device(np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2), dtype=np.float32))


def _predictions(model, images, size):
    """Class per pixel (N, H, W) at the images' own size: the model's class scores upsampled bilinearly."""
    with no_grad():
        scores = model(Tensor(_model_inputs(images, size)))
        if tuple(scores.shape[2:]) != images[0].shape[:2]:
            scores = interpolate(scores, images[0].shape[:2])
    return scores.data.argmax(axis=1)


def _scores_by_hand(ckpt, pairs, batch_size):
    """G, C, mIoU, BF and per-class IoU of ``ckpt`` on ``pairs`` [(image, label)], with tinyseg.metrics."""
    saved = checkpoint.read(ckpt)
    model = saved.build_model()
    model.eval()
    size = saved.input_size
    cm, bf = ConfusionMatrix(11, 11), BFScore(11, 11)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        pred = _predictions(model, [im for im, _ in chunk], size)
        labels = backend.to_device(np.stack([lb for _, lb in chunk]))
        cm.update(pred, labels)
        bf.update(pred, labels)
    scores = cm.scores()
    return {"global_acc": scores["global_acc"], "class_acc": scores["class_acc"], "miou": scores["miou"],
            "bf": bf.score(), "iou": [None if v != v else float(v) for v in scores["per_class_iou"]]}


def _reported(result):
    return {**{k: result[k] for k in ("global_acc", "class_acc", "miou", "bf")},
            "iou": [c["iou"] for c in result["per_class"].values()]}


def test_evaluate_scores_the_synthetic_validation_scenes_not_the_training_ones(trained, tmp_path):
    """Without --data, evaluate scores the 40 validation scenes that training validated on (seed + 10000),
    number for number; the training scenes (seed 0) would score otherwise."""
    path = tmp_path / "scores.json"
    assert evaluate_cmd.main(["--checkpoint", str(trained / "best.npz"), "--json", str(path), "--workers", "0",
                              "--batch-size", "8", *BACKEND]) == 0
    result = json.loads(path.read_text())
    assert result["images"] == SYNTHETIC_VAL == 40 and result["label_size"] == [24, 32]
    val = SyntheticScenes(40, size=(24, 32), seed=10_000)
    expected = _scores_by_hand(trained / "best.npz", [val[i] for i in range(len(val))], 8)
    assert _reported(result) == expected
    for seed, n in ((0, 8), (0, 40)):  # the training scenes, and 40 from the training seed
        scenes = SyntheticScenes(n, size=(24, 32), seed=seed)
        assert _scores_by_hand(trained / "best.npz", [scenes[i] for i in range(n)], 8) != expected


def _write_split(root, split, scenes):
    """A CamVid split in the SegNet layout (<split>/, <split>annot/) holding ``scenes``' pictures."""
    (root / split).mkdir(parents=True)
    (root / f"{split}annot").mkdir()
    pairs = [scenes[i] for i in range(len(scenes))]
    for i, (image, label) in enumerate(pairs):
        Image.fromarray(image).save(root / split / f"{split}_{i}.png")
        Image.fromarray(label).save(root / f"{split}annot" / f"{split}_{i}.png")
    return pairs


def test_evaluate_scores_the_split_it_is_asked_for(trained, tmp_path):
    """--data with --split val (the default) and --split test score those folders, number for number,
    at the labels' size (30x40; the model runs at 24x32); the train folder would score otherwise."""
    root = tmp_path / "camvid"
    splits = {name: _write_split(root, name, SyntheticScenes(n, size=(30, 40), seed=seed))
              for name, n, seed in (("train", 5, 1), ("val", 3, 2), ("test", 4, 3))}
    by_hand = {name: _scores_by_hand(trained / "best.npz", pairs, 2) for name, pairs in splits.items()}
    assert by_hand["val"] != by_hand["train"] and by_hand["test"] != by_hand["train"]
    for split_args, split in (([], "val"), (["--split", "test"], "test")):
        path = tmp_path / f"{split}.json"
        assert evaluate_cmd.main(["--checkpoint", str(trained / "best.npz"), "--data", str(root), *split_args,
                                  "--json", str(path), "--workers", "0", "--batch-size", "2", *BACKEND]) == 0
        result = json.loads(path.read_text())
        assert (result["split"], result["images"], result["label_size"], result["input_size"]) \
            == (split, len(splits[split]), [30, 40], [24, 32])
        assert _reported(result) == by_hand[split], split


def test_predict_writes_label_and_overlay(trained, tmp_path):
    img = tmp_path / "street.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(img)
    out = tmp_path / "pred"
    assert predict_cmd.main(["--checkpoint", str(trained / "best.npz"), str(img), "--out", str(out), *BACKEND]) == 0
    label = np.asarray(Image.open(out / "street_label.png"))
    assert label.shape == (30, 40, 3)  # back at the image's own size
    assert (out / "street_overlay.png").is_file()


def test_predict_writes_the_models_labels_pixel_for_pixel(trained, tmp_path):
    """The label picture is the palette colour of the model's class at every pixel (scores computed at
    the training size 24x32, upsampled to the image's 30x40, argmax), and the overlay is the half-and-half
    blend of that picture with the image, rounded."""
    scene, _ = SyntheticScenes(1, size=(30, 40), seed=5)[0]
    Image.fromarray(scene).save(tmp_path / "scene.png")
    out = tmp_path / "pred"
    assert predict_cmd.main(["--checkpoint", str(trained / "best.npz"), str(tmp_path / "scene.png"),
                             "--out", str(out), *BACKEND]) == 0
    model = checkpoint.load_checkpoint(trained / "best.npz")
    model.eval()
    label = backend.to_numpy(_predictions(model, [scene], (24, 32)))[0]
    assert len(np.unique(label)) >= 2  # a picture with structure, not one colour
    colours = CAMVID_PALETTE[label]
    np.testing.assert_array_equal(np.asarray(Image.open(out / "scene_label.png").convert("RGB")), colours)
    blend = np.round((colours.astype(np.float64) + scene) / 2).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "scene_overlay.png").convert("RGB")), blend)


def test_predict_bayesian_writes_an_uncertainty_map(tmp_path):
    run = tmp_path / "run"
    assert train_cmd.main([*TINY, "--model", "bayesian_segnet_basic", "--iters", "1", "--out", str(run)]) == 0
    img = tmp_path / "a.jpg"
    Image.fromarray(np.full((24, 32, 3), 120, dtype=np.uint8)).save(img)
    out = tmp_path / "pred"
    assert predict_cmd.main(["--checkpoint", str(run / "last.npz"), str(img), "--out", str(out),
                             "--mc-samples", "2", *BACKEND]) == 0
    assert (out / "a_uncertainty.png").is_file()


def _one_line_error(capsys, prog):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith(f"{prog}: error: ")
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def test_errors_are_one_line_with_exit_code_2(trained, tmp_path, capsys):
    assert train_cmd.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere" in _one_line_error(capsys, "tinyseg.train")
    assert not (tmp_path / "o").exists()

    assert evaluate_cmd.main(["--checkpoint", str(trained / "best.npz"), "--data", str(tmp_path),
                              "--split", "test"]) == 2
    _one_line_error(capsys, "tinyseg.evaluate")

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "pred"
    assert predict_cmd.main(["--checkpoint", str(trained / "best.npz"), str(bad), "--out", str(out)]) == 2
    assert "broken.png" in _one_line_error(capsys, "tinyseg.predict")
    assert not out.exists()

    assert evaluate_cmd.main(["--checkpoint", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz" in _one_line_error(capsys, "tinyseg.evaluate")

    # a checkpoint of another model: resuming it into SegNet must name both
    assert train_cmd.main(["--resume", str(trained / "last.npz"), "--model", "fcn_basic"]) == 2
    _one_line_error(capsys, "tinyseg.train")


def test_a_bad_size_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_cmd.main(["--size", "abc"])
    assert exit_info.value.code == 2
    assert "argument --size: must look like HEIGHTxWIDTH" in capsys.readouterr().err


def test_cupy_backend_without_cupy_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # as on a machine without CuPy (or its double)
    assert train_cmd.main([*TINY, "--backend", "cupy", "--out", str(tmp_path / "o")]) == 2
    assert "CuPy" in _one_line_error(capsys, "tinyseg.train")
