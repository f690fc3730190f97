"""Batch-norm statistics recomputed after training: the averages by hand, dropout off, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg.io import checkpoint
from tinyseg import nn
from tinyseg import bn_stats as bn_stats_cmd
from tinyseg import evaluate as evaluate_cmd
from tinyseg import train as train_cmd
from tinyseg.bn_stats import recompute_batch_norm
from .helpers import assert_close

TINY = ["--size", "32x48", "--synthetic", "8", "--batch-size", "2", "--workers", "0"]


def _batches(k: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((4, 2, 3, 5)) * (i + 1) + i).astype(np.float32) for i in range(k)]


def test_running_stats_become_the_average_of_batch_stats_with_dropout_off():
    tinyseg.manual_seed(0)
    first, second = nn.BatchNorm2d(2), nn.BatchNorm2d(2)
    model = nn.Sequential(first, nn.Dropout(0.5), second)
    batches = _batches()
    assert recompute_batch_norm(model, batches) == 3
    n = batches[0].size // 2
    means = [b.mean(axis=(0, 2, 3)) for b in batches]
    variances = [b.var(axis=(0, 2, 3), ddof=1) for b in batches]
    assert_close(first.running_mean, np.mean(means, axis=0), rtol=1e-5)
    assert_close(first.running_var, np.mean(variances, axis=0), rtol=1e-5)
    # the second layer sees the first one's batch-normalised output (unit variance, up to eps),
    # untouched by dropout, which would double it
    assert_close(second.running_mean, np.zeros(2), atol=1e-5)
    expected = np.mean([n / (n - 1) * v * (n - 1) / n / (v * (n - 1) / n + 1e-5) for v in variances], axis=0)
    assert_close(second.running_var, expected, rtol=1e-4)
    assert not model.training and first.momentum == 0.1 and second.momentum == 0.1


def test_no_batch_norm_or_no_batches_is_an_error():
    with pytest.raises(ValueError, match="has no batch-norm layers"):
        recompute_batch_norm(nn.Sequential(nn.ReLU()), _batches())
    with pytest.raises(ValueError, match="got no batches"):
        recompute_batch_norm(nn.Sequential(nn.BatchNorm2d(2)), [])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert train_cmd.main([*TINY, "--iters", "3", "--val-every", "3", "--out", str(out)]) == 0
    return out


def test_command_writes_a_new_checkpoint_that_evaluates(run, tmp_path, capsys):
    out = tmp_path / "bn.npz"
    assert bn_stats_cmd.main(["--checkpoint", str(run / "last.npz"), "--out", str(out), "--workers", "0"]) == 0
    assert "over 8 training images (2 batches)" in capsys.readouterr().out
    meta = checkpoint.read_meta(out)
    assert meta["bn_recomputed"]["images"] == 8 and meta["bn_recomputed"]["size"] == [32, 48]
    assert meta["optimizer"] is None and meta["step"] == 3 and meta["config"]["size"] == [32, 48]
    before, after = checkpoint.load_checkpoint(run / "last.npz"), checkpoint.load_checkpoint(out)
    old, new = before.state_dict(), after.state_dict()
    changed = [k for k in old if "running" in k and not np.allclose(backend.to_numpy(old[k]), backend.to_numpy(new[k]))]
    assert changed and all("running" in k for k in changed)
    assert all(np.array_equal(backend.to_numpy(old[k]), backend.to_numpy(new[k])) for k in old if "running" not in k)
    scores = tmp_path / "s.json"
    assert evaluate_cmd.main(["--checkpoint", str(out), "--json", str(scores), "--workers", "0"]) == 0
    assert 0.0 <= json.loads(scores.read_text())["miou"] <= 1.0


def test_command_errors_are_one_line(run, tmp_path, capsys):
    same = run / "last.npz"
    assert bn_stats_cmd.main(["--checkpoint", str(same), "--out", str(same)]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert bn_stats_cmd.main(["--checkpoint", str(same), "--out", str(tmp_path / "o.npz"), "--batch-size", "1"]) == 2
    assert "--batch-size must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
    assert bn_stats_cmd.main(["--checkpoint", str(tmp_path / "none.npz"), "--out", str(tmp_path / "o.npz")]) == 2
    assert "none.npz" in capsys.readouterr().err
