"""The released SegNet-Basic CamVid weights: they load, and evaluate reproduces their recorded val scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyseg.io import checkpoint
from tinyseg import evaluate as evaluate_cmd

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights" / "segnet_basic_camvid.npz"
RECORD = json.loads((ROOT / "weights" / "segnet_basic_camvid.json").read_text())
CAMVID = ROOT.parent / "shared" / "camvid"


def test_weights_load_without_optimiser_state_and_describe_themselves():
    """The released file is in the checkpoint format of 0.2.0, which every later tinyseg keeps loading."""
    ckpt = checkpoint.read(WEIGHTS)
    meta = ckpt.meta
    assert (meta["format_version"], meta["tinyseg_version"]) == (3, "0.2.0")
    assert meta["model"]["name"] == "segnet_basic" and meta["optimizer"] is None
    assert list(ckpt.input_size) == RECORD["input_size"] == [180, 240] and meta["step"] == RECORD["iterations"]
    assert ckpt.config["recipe"] == RECORD["recipe"] and ckpt.classes.names[2] == "Pole" and ckpt.classes.ignore_index == 11
    model = checkpoint.load_checkpoint(WEIGHTS)
    assert sum(p.size for p in model.parameters()) == 1_416_587


@pytest.mark.slow
@pytest.mark.skipif(not (CAMVID / "val").is_dir(), reason=f"CamVid is not at {CAMVID}")
def test_evaluate_reproduces_the_recorded_val_scores(tmp_path):
    out = tmp_path / "val.json"
    assert evaluate_cmd.main(["--checkpoint", str(WEIGHTS), "--data", str(CAMVID), "--split", "val",
                              "--json", str(out), "--workers", "0"]) == 0
    result = json.loads(out.read_text())
    assert result["label_size"] == [360, 480] and result["input_size"] == [180, 240]
    for key, value in RECORD["val_360x480"].items():
        assert round(result[key], 6) == value, key
