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

from tinyseg import backend, checkpoint
from tinyseg import evaluate as evaluate_cmd
from tinyseg import predict as predict_cmd
from tinyseg import train as train_cmd

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
    assert meta["iteration"] == 4
    assert Image.open(trained / "curves.png").size[0] > 100


def test_resume_continues_exactly(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train_cmd.main([*TINY, "--iters", "6", "--val-every", "3", "--out", str(whole)]) == 0
    assert train_cmd.main([*TINY, "--iters", "3", "--val-every", "3", "--out", str(part)]) == 0
    assert train_cmd.main(["--resume", str(part / "last.npz"), "--iters", "6"]) == 0
    assert len(_losses(whole)) == 6
    assert _losses(part) == _losses(whole)  # bit-for-bit: data order, augmentation, optimiser state


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
    assert meta["iteration"] >= 1
    assert len(_losses(out)) == meta["iteration"]


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
    assert meta["iteration"] < len(losses)  # the checkpoint predates the bad step
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


def test_predict_writes_label_and_overlay(trained, tmp_path):
    img = tmp_path / "street.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(img)
    out = tmp_path / "pred"
    assert predict_cmd.main(["--checkpoint", str(trained / "best.npz"), str(img), "--out", str(out), *BACKEND]) == 0
    label = np.asarray(Image.open(out / "street_label.png"))
    assert label.shape == (30, 40, 3)  # back at the image's own size
    assert (out / "street_overlay.png").is_file()


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
