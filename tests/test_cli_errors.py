"""Bad input to the four commands: one line on stderr, exit status 2, nothing written.

Every case is an error the command must find before it reads any data or builds a model, so
each runs in milliseconds. Placeholders in argv: {out} a path in the test's empty folder (which
must stay empty), {ckpt} a small SegNet-Basic checkpoint, {image} a PNG, {file} and {dir} an
existing file and folder, {missing} a path that does not exist.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from tinyseg import bn_stats as bn_stats_cmd
from tinyseg.io import checkpoint
from tinyseg import models
from tinyseg import evaluate as evaluate_cmd
from tinyseg import predict as predict_cmd
from tinyseg import train as train_cmd

BACKEND = ["--backend", os.environ.get("TINYSEG_BACKEND") or "numpy"]
COMMANDS = {"train": train_cmd, "evaluate": evaluate_cmd, "predict": predict_cmd, "bn_stats": bn_stats_cmd}

TRAIN = [
    # the three from issue 17
    (["--lr", "-1"], "--lr must be greater than 0, got -1"),
    (["--size", "7x9"], "--size 7x9 is too small for segnet_basic (4 poolings): height and width must be at least 16"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    # rates
    (["--lr", "0"], "--lr must be greater than 0, got 0"),
    (["--lr", "nan"], "--lr must be a finite number greater than 0"),
    (["--lr", "inf", "--optimizer", "adam"], "--lr must be a finite number greater than 0"),
    (["--momentum", "1"], "--momentum must be at least 0 and below 1, got 1"),
    (["--momentum", "-0.5"], "--momentum must be at least 0 and below 1, got -0.5"),
    (["--weight-decay=-1e-4"], "--weight-decay must be at least 0, got -0.0001"),
    # counts
    (["--iters", "0"], "--iters must be at least 1, got 0"),
    (["--epochs", "0"], "--epochs must be greater than 0, got 0"),
    (["--epochs", "-2.5"], "--epochs must be greater than 0, got -2.5"),
    (["--epochs", "inf"], "--epochs must be a finite number greater than 0"),
    (["--batch-size", "-3"], "--batch-size must be at least 1, got -3"),
    (["--val-every", "0"], "--val-every must be at least 1, got 0"),
    (["--log-every", "0"], "--log-every must be at least 1, got 0"),
    (["--synthetic", "0"], "--synthetic must be at least 1, got 0"),
    (["--synthetic", "3", "--batch-size", "4"], "--synthetic 3 is fewer than one batch"),
    (["--workers", "-1"], "--workers must be at least 0, got -1"),
    (["--warmup-iters", "-1"], "--warmup-iters must be at least 0, got -1"),
    (["--warmup-iters", "10", "--iters", "10"], "--warmup-iters must be below --iters (10), got 10"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
    # sizes the model can pool
    (["--size", "16x15"], "--size 16x15 is too small for segnet_basic"),
    (["--model", "fcn_basic", "--size", "8x64"], "--size 8x64 is too small for fcn_basic (4 poolings)"),
    (["--model", "segnet", "--size", "24x32"], "--size 24x32 is too small for segnet (5 poolings): "
                                              "height and width must be at least 32"),
    (["--model", "bayesian_segnet_basic", "--size", "12x12"], "too small for bayesian_segnet_basic"),
    # files and folders
    (["--data", "{missing}"], "--data {missing}: no such folder"),
    (["--data", "{file}"], "--data {file}: not a folder"),
    (["--resume", "{missing}"], "--resume {missing}: no such file"),
    (["--resume", "{dir}"], "--resume {dir}: not a file"),
    (["--out", "{file}"], "--out {file} is a file; it must be a folder"),
    # combinations
    (["--recipe", "camvid-cpu"], "--recipe camvid-cpu needs --data"),
    (["--tf32", "--backend", "numpy"], "--tf32 needs --backend cupy"),
]

EVALUATE = [
    (["--checkpoint", "{missing}"], "--checkpoint {missing}: no such file"),
    (["--checkpoint", "{dir}"], "--checkpoint {dir}: not a file"),
    (["--checkpoint", "{ckpt}", "--data", "{missing}"], "--data {missing}: no such folder"),
    (["--checkpoint", "{ckpt}", "--split", "test"], "--split test needs --data"),
    (["--checkpoint", "{ckpt}", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--checkpoint", "{ckpt}", "--mc-samples", "-1"], "--mc-samples must be at least 0, got -1"),
    (["--checkpoint", "{ckpt}", "--workers", "-2"], "--workers must be at least 0, got -2"),
    (["--checkpoint", "{ckpt}", "--json", "{dir}"], "--json {dir} is a folder; it must be a file name"),
    (["--checkpoint", "{ckpt}", "--size", "7x9"], "--size 7x9 is too small for segnet_basic (4 poolings)"),
]

PREDICT = [
    (["--checkpoint", "{missing}", "{image}"], "--checkpoint {missing}: no such file"),
    (["--checkpoint", "{ckpt}", "--mc-samples", "-1", "{image}"], "--mc-samples must be at least 0, got -1"),
    (["--checkpoint", "{ckpt}", "{missing}"], "cannot read image {missing}"),
    (["--checkpoint", "{ckpt}", "{file}"], "cannot read image {file}"),
    (["--checkpoint", "{ckpt}", "--out", "{file}", "{image}"], "--out {file} is a file; it must be a folder"),
]

BN_STATS = [
    (["--checkpoint", "{missing}"], "--checkpoint {missing}: no such file"),
    (["--checkpoint", "{ckpt}", "--data", "{missing}"], "--data {missing}: no such folder"),
    (["--checkpoint", "{ckpt}", "--batch-size", "1"], "--batch-size must be at least 2"),
    (["--checkpoint", "{ckpt}", "--workers", "-1"], "--workers must be at least 0, got -1"),
    (["--checkpoint", "{ckpt}", "--size", "15x480"], "--size 15x480 is too small for segnet_basic"),
    (["--checkpoint", "{ckpt}", "--out", "{ckpt}"], "would overwrite the checkpoint it reads"),
    (["--checkpoint", "{ckpt}", "--out", "{dir}"], "--out {dir} is a folder; it must be a file name"),
]

CASES = [
    *(("train", [*argv, "--out", "{out}"] if "--out" not in argv else argv, msg) for argv, msg in TRAIN),
    *(("evaluate", [*argv, "--json", "{out}"] if "--json" not in argv else argv, msg) for argv, msg in EVALUATE),
    *(("predict", [*argv, "--out", "{out}"] if "--out" not in argv else argv, msg) for argv, msg in PREDICT),
    *(("bn_stats", [*argv, "--out", "{out}"] if "--out" not in argv else argv, msg) for argv, msg in BN_STATS),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The existing things the cases point at (never written to by the commands)."""
    root = tmp_path_factory.mktemp("inputs")
    ckpt = root / "model.npz"
    checkpoint.save_checkpoint(ckpt, models.create("segnet_basic", num_classes=11), meta={"size": [32, 32]})
    image = root / "street.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    text = root / "notes.txt"
    text.write_text("not an image, not a folder\n")
    folder = root / "folder"
    folder.mkdir()
    return {"ckpt": ckpt, "image": image, "file": text, "dir": folder, "missing": root / "missing" / "nothing.npz"}


def _fill(text, values):
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@pytest.mark.parametrize(("command", "argv", "message"), CASES,
                         ids=[f"{c}:{' '.join(a)}" for c, a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2(command, argv, message, files, tmp_path, capsys):
    values = {**files, "out": tmp_path / "out"}
    before = sorted(p.name for p in files["ckpt"].parent.iterdir())
    code = COMMANDS[command].main(BACKEND + [_fill(a, values) for a in argv])  # a case's --backend wins
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith(f"tinyseg.{command}: error: ")
    assert _fill(message, values) in lines[0]
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "nothing may be written to --out"
    assert sorted(p.name for p in files["ckpt"].parent.iterdir()) == before


@pytest.mark.parametrize(("command", "argv"), [
    ("train", ["--size", "0x9"]),
    ("train", ["--iters", "3", "--epochs", "1"]),
    ("train", ["--batch-size", "two"]),
    ("evaluate", []),
])
def test_argparse_errors_still_exit_2(command, argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        COMMANDS[command].main([*argv, "--out" if command == "train" else "--json", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
