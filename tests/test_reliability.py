"""What a user's machine or files do to the commands (issue 25): each case ends in a correct result
or one line on stderr and exit 2, found before work that would be lost, with nothing left behind.

Each row of the tables below is one case: the command line (placeholders as in test_cli_errors.py:
{run} a tiny trained run, {out} a fresh path), and what must come of it.
"""

from __future__ import annotations

import errno
import json
import os

import numpy as np
import pytest
from PIL import Image

from tinyseg import bn_stats as bn_stats_cmd
from tinyseg import evaluate as evaluate_cmd
from tinyseg import models
from tinyseg import predict as predict_cmd
from tinyseg import train as train_cmd
from tinyseg.cli import options
from tinyseg.io import checkpoint, storage

BACKEND = ["--backend", os.environ.get("TINYSEG_BACKEND") or "numpy"]
TINY = ["--size", "24x32", "--synthetic", "8", "--batch-size", "2", "--workers", "0", "--log-every", "1", *BACKEND]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run trained on the synthetic scenes: its folder, with best.npz and last.npz."""
    out = tmp_path_factory.mktemp("run")
    assert train_cmd.main([*TINY, "--iters", "2", "--val-every", "2", "--out", str(out)]) == 0
    return out


def _one_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"tinyseg.{prog}: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _image(path, h: int, w: int, seed: int = 0):
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


# ---- output that cannot be written, found before the work ------------------------------------------
def _refuse_writes(monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(options.tempfile, "TemporaryFile", read_only)


@pytest.mark.parametrize(
    ("prog", "argv", "option"),
    [
        ("train", [*TINY, "--iters", "1", "--out", "{out}"], "--out"),
        ("evaluate", ["--checkpoint", "{run}/last.npz", "--json", "{out}/scores.json", "--workers", "0"], "--json"),
        ("predict", ["--checkpoint", "{run}/last.npz", "{image}", "--out", "{out}"], "--out"),
        ("bn_stats", ["--checkpoint", "{run}/last.npz", "--out", "{out}/bn.npz", "--workers", "0"], "--out"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_before_any_work(prog, argv, option, run, tmp_path, capsys,
                                                                       monkeypatch):
    image = _image(tmp_path / "street.png", 24, 32)
    out = tmp_path / "out"
    argv = [a.format(run=run, out=out, image=image) for a in argv]
    _refuse_writes(monkeypatch)
    command = {"train": train_cmd, "evaluate": evaluate_cmd, "predict": predict_cmd, "bn_stats": bn_stats_cmd}[prog]
    assert command.main(argv) == 2
    line = _one_line(capsys, prog)
    assert f"{option} {out}" in line and "cannot write there (Read-only file system)" in line, line
    assert not out.exists()


def test_a_full_disk_mid_run_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    out = tmp_path / "run"
    monkeypatch.setattr(storage, "atomic_write", full)
    monkeypatch.setattr("tinyseg.training.loop.atomic_write", full)
    assert train_cmd.main([*TINY, "--iters", "2", "--val-every", "2", "--out", str(out)]) == 2
    line = _one_line(capsys, "train")
    assert "No space left on device" in line and str(out) in line, line


# ---- run folders: not reused by accident, no debris -------------------------------------------------
def test_a_run_folder_is_not_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cmd.main([*TINY, "--iters", "1", "--out", str(out)]) == 0
    before = (out / "last.npz").read_bytes()
    assert train_cmd.main([*TINY, "--iters", "1", "--seed", "3", "--out", str(out)]) == 2
    line = _one_line(capsys, "train")
    assert "already holds a run" in line and "--resume" in line and "--overwrite" in line, line
    assert (out / "last.npz").read_bytes() == before  # untouched
    assert train_cmd.main([*TINY, "--iters", "1", "--seed", "3", "--out", str(out), "--overwrite"]) == 0
    assert checkpoint.read(out / "last.npz").config["seed"] == 3


def test_a_resume_clears_the_debris_of_a_killed_write_and_survives_a_lost_log(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cmd.main([*TINY, "--iters", "2", "--val-every", "2", "--out", str(out)]) == 0
    debris = out / ".last.npz.k1ll3d.tmp"
    debris.write_bytes(b"half a checkpoint")
    (out / "metrics.jsonl").unlink()  # the log is gone: the resumed run starts a new one
    assert train_cmd.main(["--resume", str(out / "last.npz"), "--iters", "4"]) == 0
    assert not debris.exists()
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if "loss" in r] == [3, 4]
    assert "done: 4 iterations" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_non_finite_loss_before_any_checkpoint_says_there_is_none(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cmd.main([*TINY, "--iters", "40", "--val-every", "40", "--lr", "1e30", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no checkpoint was saved before it" in err and "lower --lr" in err, err
    assert not (out / "last.npz").exists()


# ---- checkpoints and the data they were trained on ------------------------------------------------------
def test_a_float64_checkpoint_evaluates_and_predicts(run, tmp_path, capsys):
    ckpt = checkpoint.read(run / "last.npz")
    model = ckpt.build_model().astype("float64")
    f64 = checkpoint.save_checkpoint(tmp_path / "f64.npz", model, meta=ckpt.user_meta())
    assert checkpoint.read(f64).meta["dtype"] == "float64"
    assert evaluate_cmd.main(["--checkpoint", str(f64), "--workers", "0", *BACKEND]) == 0
    image = _image(tmp_path / "street.png", 24, 32)
    assert predict_cmd.main(["--checkpoint", str(f64), str(image), "--out", str(tmp_path / "p"), *BACKEND]) == 0
    assert (tmp_path / "p" / "street_label.png").is_file()


def test_evaluate_without_data_refuses_a_model_trained_on_a_folder(run, tmp_path, capsys):
    ckpt = checkpoint.read(run / "last.npz")
    mine = checkpoint.save_checkpoint(tmp_path / "mine.npz", ckpt.build_model(),
                                      meta={**ckpt.user_meta(), "config": {**ckpt.config, "data": "my-cars"}})
    assert evaluate_cmd.main(["--checkpoint", str(mine), "--workers", "0", *BACKEND]) == 2
    line = _one_line(capsys, "evaluate")
    assert "--data is required" in line and "my-cars" in line, line


# ---- predict: small images, folders, names that clash, index masks -------------------------------------------
def test_predict_names_a_too_small_image_and_the_option_that_fixes_it(tmp_path, capsys):
    path = checkpoint.save_checkpoint(tmp_path / "nosize.npz", models.create("segnet_basic", num_classes=3))
    tiny = _image(tmp_path / "tiny.png", 10, 12)
    out = tmp_path / "p"
    assert predict_cmd.main(["--checkpoint", str(path), str(tiny), "--out", str(out), *BACKEND]) == 2
    line = _one_line(capsys, "predict")
    assert "tiny.png is 10x12, too small for segnet_basic" in line and "--size HxW" in line, line
    assert not out.exists()
    assert predict_cmd.main(["--checkpoint", str(path), str(tiny), "--out", str(out), "--size", "16x16", *BACKEND]) == 0
    assert Image.open(out / "tiny_label.png").size == (12, 10)  # at the image's own size


def test_predict_reads_folders_and_keeps_outputs_of_the_same_name_apart(run, tmp_path):
    a, b = _image(tmp_path / "a" / "x.png", 24, 32, 1), _image(tmp_path / "b" / "x.png", 24, 32, 2)
    _image(tmp_path / "a" / "y.jpg", 24, 32, 3)
    out = tmp_path / "p"
    argv = ["--checkpoint", str(run / "last.npz"), str(tmp_path / "a"), str(b), "--out", str(out), "--index-masks"]
    assert predict_cmd.main([*argv, *BACKEND]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}_{kind}.png" for stem in ("a_x", "b_x", "y") for kind in ("label", "overlay", "classes"))
    classes = np.asarray(Image.open(out / "a_x_classes.png"))
    assert classes.shape == (24, 32) and classes.max() < 11
    colours = np.asarray(Image.open(out / "a_x_label.png").convert("RGB"))
    palette = np.asarray(checkpoint.read(run / "last.npz").classes.colors, dtype=np.uint8)
    np.testing.assert_array_equal(colours, palette[classes])  # the index mask is the colour map's classes
    assert a.exists()
