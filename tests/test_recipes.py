"""Training recipes and schedules in the train command; scoring at the labels' own resolution."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

import tinyseg
from tinyseg.io import checkpoint
from tinyseg import training
from tinyseg.training import RECIPES, ConfigError, TrainConfig
from tinyseg import optim
from tinyseg import evaluate as evaluate_cmd
from tinyseg import train as train_cmd
from tinyseg.data import CamVid
from tinyseg.data import transforms as T
from tinyseg.functional import interpolate
from tinyseg.metrics import ConfusionMatrix
from .test_camvid import make_camvid

TINY = ["--size", "24x32", "--synthetic", "8", "--batch-size", "2", "--workers", "0", "--log-every", "1"]


def _losses(out):
    return [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


def test_a_scheduled_run_stopped_half_way_resumes_exactly(tmp_path, monkeypatch):
    args = [*TINY, "--lr-schedule", "poly", "--warmup-iters", "2", "--lr", "0.05", "--val-every", "3", "--iters", "6"]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert train_cmd.main([*args, "--out", str(whole)]) == 0
    step = optim.LRScheduler.step

    def step_then_ctrl_c(self):  # Ctrl-C during the third step: the run saves and stops after it
        step(self)
        if self.last_epoch == 3:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(optim.LRScheduler, "step", step_then_ctrl_c)
    assert train_cmd.main([*args, "--out", str(part)]) == 130
    monkeypatch.undo()
    assert checkpoint.read_meta(part / "last.npz")["step"] == 3
    assert train_cmd.main(["--resume", str(part / "last.npz")]) == 0
    assert len(_losses(whole)) == 6 and _losses(part) == _losses(whole)
    config = json.loads((part / "config.json").read_text())
    assert config["lr_schedule"] == "poly" and config["warmup_iters"] == 2


def test_a_schedule_changes_the_run_from_its_second_step(tmp_path):
    fixed, poly = tmp_path / "fixed", tmp_path / "poly"
    assert train_cmd.main([*TINY, "--iters", "4", "--val-every", "4", "--out", str(fixed)]) == 0
    assert train_cmd.main([*TINY, "--iters", "4", "--val-every", "4", "--lr-schedule", "poly", "--out", str(poly)]) == 0
    a, b = _losses(fixed), _losses(poly)
    assert a[:2] == b[:2]  # both take their first step at the full rate
    assert a[2] != b[2] and a[3] != b[3]


def _camvid(tmp_path, n: int):
    """A tiny CamVid (train and val, n images each, 32x48) under tmp_path; returns its root."""
    root = tmp_path / "camvid"
    for split in ("train", "val"):
        make_camvid(root, split, n=n, size=(32, 48))
    return root


def test_recipe_fills_in_what_is_left_out_and_typed_options_win(tmp_path):
    root = _camvid(tmp_path, n=4)
    out = tmp_path / "run"
    assert train_cmd.main(["--data", str(root), "--recipe", "camvid-cpu", "--size", "16x32", "--iters", "2",
                           "--batch-size", "2", "--workers", "0", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    recipe = RECIPES["camvid-cpu"]
    assert config["recipe"] == "camvid-cpu" and config["size"] == [16, 32] and config["batch_size"] == 2
    assert (config["augment"], config["lr_schedule"], config["val_every"], config["class_weights"]) == (
        recipe["augment"], recipe["lr_schedule"], recipe["val_every"], recipe["class_weights"])
    assert recipe["warmup_iters"] == 50 and config["warmup_iters"] == 1  # the recipe's warm-up, cut to fit 2 steps
    assert checkpoint.read(out / "last.npz").config == config  # the checkpoint keeps the same settings


def test_a_train_config_is_the_recipe_under_what_is_given_and_round_trips():
    config = TrainConfig.from_recipe("camvid-cpu", data="x", lr=0.05, iters=None)
    assert (config.lr, config.size, config.iters, config.warmup_iters) == (0.05, (180, 240), 1500, 50)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.replace(epochs=2.0).total_iters(batches_per_epoch=91) == 182
    assert TrainConfig.from_recipe(optimizer="adam").lr == 1e-3  # Adam's usual rate when none is given
    with pytest.raises(ConfigError, match=r"^warmup_iters must be below iters \(10\), got 10$"):
        TrainConfig.from_recipe(iters=10, warmup_iters=10).check()
    with pytest.raises(ConfigError) as info:
        TrainConfig.from_recipe(lr=-1.0).check()
    assert (info.value.field, info.value.message(as_option=True)) == ("lr", "--lr must be greater than 0, got -1")
    with pytest.raises(ConfigError, match="recipe camvid needs data"):
        TrainConfig.from_recipe("camvid")



def test_sqrt_median_weights_are_the_square_roots_of_median_frequency_weights(tmp_path):
    train_set = CamVid(_camvid(tmp_path, n=4), split="train")
    median = training.class_weights("median", train_set)
    soft = training.class_weights("sqrt-median", train_set)
    np.testing.assert_allclose(soft, np.sqrt(median), rtol=1e-6)
    assert soft.dtype == np.float32 and not np.allclose(soft, median)  # a softer push, not the same one


def test_a_camvid_recipe_without_data_is_one_line(tmp_path, capsys):
    assert train_cmd.main(["--recipe", "camvid-cpu", "--out", str(tmp_path / "o")]) == 2
    assert "--recipe camvid-cpu needs --data" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_evaluate_scores_at_the_labels_resolution(tmp_path):
    root = _camvid(tmp_path, n=3)
    run = tmp_path / "run"
    assert train_cmd.main(["--data", str(root), "--size", "16x16", "--iters", "1", "--batch-size", "2",
                           "--workers", "0", "--out", str(run)]) == 0
    path = tmp_path / "val.json"
    assert evaluate_cmd.main(["--checkpoint", str(run / "last.npz"), "--data", str(root), "--json", str(path),
                              "--workers", "0"]) == 0
    result = json.loads(path.read_text())
    assert result["label_size"] == [32, 48] and result["input_size"] == [16, 16]
    # the same by hand: the model at 16x16, its scores brought up to 32x48, the labels untouched
    model = checkpoint.load_checkpoint(run / "last.npz").eval()
    cm = ConfusionMatrix(11, 11)
    with tinyseg.no_grad():
        for image, label in CamVid(root, split="val"):
            x = T.Normalize()(T.resize_image(image, (16, 16)), label, None)[0]
            scores = interpolate(model(tinyseg.tensor(x.transpose(2, 0, 1)[None])), (32, 48))
            cm.update(scores.data.argmax(axis=1), label[None].astype(np.int64))
    assert result["miou"] == pytest.approx(cm.scores()["miou"], abs=1e-12)
    assert result["global_acc"] == pytest.approx(cm.scores()["global_acc"], abs=1e-12)


def test_tf32_needs_the_cupy_backend_and_sets_cupys_switch(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CUPY_TF32", raising=False)
    assert train_cmd.main([*TINY, "--tf32", "--backend", "numpy", "--out", str(tmp_path / "o")]) == 2
    assert "--tf32 needs --backend cupy" in capsys.readouterr().err
    assert "CUPY_TF32" not in os.environ and not (tmp_path / "o").exists()
    tinyseg.backend.allow_tf32()
    assert os.environ["CUPY_TF32"] == "1"
    tinyseg.backend.allow_tf32(False)
    assert os.environ["CUPY_TF32"] == "0"


def test_the_last_fine_iters_steps_train_and_validate_at_fine_size_and_resume_across_the_switch(
    tmp_path, monkeypatch
):
    args = [*TINY, "--iters", "5", "--fine-iters", "2", "--fine-size", "32x48", "--val-every", "2", "--lr", "0.05"]
    shapes, rates, step = [], [], training.loop.train_step

    def recording_step(model, optimizer, images, labels, **kwargs):
        shapes.append((tuple(images.shape[2:]), tuple(labels.shape[1:])))
        rates.append((optimizer.lr, len(optimizer.state)))  # the rate, and whether momentum is held
        return step(model, optimizer, images, labels, **kwargs)

    monkeypatch.setattr(training.loop, "train_step", recording_step)
    whole = tmp_path / "whole"
    assert train_cmd.main([*args, "--out", str(whole)]) == 0
    assert shapes == [((24, 32), (24, 32))] * 3 + [((32, 48), (32, 48))] * 2  # labels follow the images
    held = rates[1][1]  # parameters with a momentum buffer after the first step
    assert held > 0 and rates == [(0.05, 0), (0.05, held), (0.05, held), (0.005, 0), (0.005, held)]
    assert checkpoint.read(whole / "last.npz").input_size == (32, 48)  # what evaluate and predict run it at
    config = json.loads((whole / "config.json").read_text())
    assert (config["fine_iters"], config["fine_size"]) == (2, [32, 48])

    # stopped at step 2, before the switch, and resumed: the same losses, the same batch sizes
    part, scheduler_step = tmp_path / "part", optim.LRScheduler.step

    def step_then_ctrl_c(self):
        scheduler_step(self)
        if self.last_epoch == 2:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(optim.LRScheduler, "step", step_then_ctrl_c)
    shapes.clear()
    assert train_cmd.main([*args, "--out", str(part)]) == 130
    assert checkpoint.read(part / "last.npz").input_size == (24, 32)  # stopped before the switch
    monkeypatch.setattr(optim.LRScheduler, "step", scheduler_step)
    assert train_cmd.main(["--resume", str(part / "last.npz")]) == 0
    assert shapes == [((24, 32), (24, 32))] * 3 + [((32, 48), (32, 48))] * 2
    assert _losses(part) == _losses(whole)

    # a model saved without its optimiser, at the switch, is fine-tuned as the whole run was
    whole_config = checkpoint.read(whole / "last.npz").config
    assert train_cmd.main([*args, "--iters", "3", "--fine-iters", "0", "--out", str(tmp_path / "first")]) == 0
    first = checkpoint.read(tmp_path / "first" / "last.npz")
    model = first.build_model()
    bare = tmp_path / "bare.npz"
    checkpoint.save_checkpoint(bare, model, meta={"step": 3, "config": whole_config})
    assert train_cmd.main(["--resume", str(bare), "--out", str(tmp_path / "tuned")]) == 0
    assert _losses(tmp_path / "tuned")[-2:] == _losses(whole)[-2:]


def test_a_full_size_finish_runs_at_each_images_own_size_and_evaluate_follows(tmp_path):
    root = _camvid(tmp_path, n=3)
    run = tmp_path / "run"
    assert train_cmd.main(["--data", str(root), "--size", "16x16", "--iters", "2", "--fine-iters", "1",
                           "--batch-size", "2", "--workers", "0", "--out", str(run)]) == 0
    assert checkpoint.read(run / "last.npz").input_size is None  # the images' own 32x48
    path = tmp_path / "val.json"
    assert evaluate_cmd.main(["--checkpoint", str(run / "last.npz"), "--data", str(root), "--json", str(path),
                              "--workers", "0"]) == 0
    result = json.loads(path.read_text())
    assert result["input_size"] == [32, 48] == result["label_size"]


def test_a_recipes_full_size_finish_keeps_its_share_of_a_shorter_run(monkeypatch):
    monkeypatch.setitem(RECIPES, "camvid-cpu", RECIPES["camvid-cpu"] | {"iters": 1900, "fine_iters": 400})
    assert TrainConfig.from_recipe("camvid-cpu", data="x").fine_iters == 400
    assert TrainConfig.from_recipe("camvid-cpu", data="x", iters=190).fine_iters == 40
    short = TrainConfig.from_recipe("camvid-cpu", data="x", iters=2)
    assert (short.fine_iters, short.warmup_iters) == (0, 1)  # rounded down; the warm-up cut to fit
    assert TrainConfig.from_recipe("camvid-cpu", data="x", iters=60).warmup_iters == 47  # below 60 - 12
    assert TrainConfig.from_recipe("camvid-cpu", data="x", iters=190, fine_iters=5).fine_iters == 5  # given wins
    assert TrainConfig.from_recipe("camvid-cpu", data="x", epochs=1.0).fine_iters == 400  # checked by fit
    sized = TrainConfig.from_recipe(iters=10, fine_iters=3, fine_size=(48, 64))
    assert TrainConfig.from_dict(json.loads(json.dumps(sized.to_dict()))) == sized
    assert [sized.size_at(s, 10) for s in (1, 7, 8, 10)] == [(96, 128), (96, 128), (48, 64), (48, 64)]
    with pytest.raises(ConfigError, match=r"^fine_iters must be below iters \(10\), got 10$"):
        TrainConfig.from_recipe(iters=10, fine_iters=10).check()
    with pytest.raises(ConfigError, match=r"^warmup_iters must be below iters \(10\) - fine_iters \(3\), got 7$"):
        TrainConfig.from_recipe(iters=10, fine_iters=3, warmup_iters=7).check()
    assert TrainConfig.from_recipe(iters=10, fine_iters=3).fine_rate == pytest.approx(0.01)  # a tenth of lr
    with pytest.raises(ConfigError, match=r"^fine_iters must be at least 0, got -1$"):
        TrainConfig.from_recipe(fine_iters=-1).check()


def test_fit_needs_the_fine_loaders_and_a_run_long_enough_for_them():
    train_set = tinyseg.data.SyntheticScenes(4, size=(24, 32), seed=0)
    config = TrainConfig.from_recipe(epochs=1.0, batch_size=2, workers=0, fine_iters=3)
    loaders = training.make_loaders(config, train_set, train_set)
    model = tinyseg.models.create("segnet_basic", num_classes=len(train_set.classes))
    optimizer = training.build_optimizer(config, model)
    with pytest.raises(ConfigError, match="fine_iters must be below the run's 2 steps, got 3"):
        training.fit(model, optimizer, *loaders, config, classes=train_set.classes, fine_loaders=loaders)
    with pytest.raises(ValueError, match="pass fine_loaders"):
        training.fit(model, optimizer, *loaders, config.replace(fine_iters=1), classes=train_set.classes)
