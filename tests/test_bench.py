"""python -m tinyseg.bench on a tiny image: it runs, prints every figure, writes them as JSON.
Speed is never asserted; the FLOP count and the storage figures are, since they follow from shapes."""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinyseg import bench, models
from tinyseg.engine import backend
from .helpers import assert_equal, import_torch

SMALL = ["--model", "segnet_basic", "--size", "32x48", "--batch-size", "1", "--repeats", "1", "--warmup", "0"]


def test_bench_prints_and_writes_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main([*SMALL, "--profile", "--storage", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for figure in ("inference", "training", "time (s)", "images/s", "GFLOP/s", "peak RSS", "profile:",
                   "Conv2d", "SGD.step", "SegNet-Basic (pooling indices, uint8)"):
        assert figure in text, figure
    result = json.loads(out.read_text())
    for mode in ("inference", "training"):
        fig = result["figures"]["tinyseg"][mode]
        assert fig["time_s"] > 0 and fig["images_per_s"] > 0 and fig["peak_bytes"] > fig["step_bytes"] >= 0
    # SegNet-Basic's convolutions at 32x48, counted by hand: 7x7 convs 3->64 at full size, 64->64 at
    # full size and at 1/2, 1/4, 1/8 (two each, conv_decode1 included), the 1x1 classifier
    pixels = 32 * 48
    macs = pixels * 64 * 3 * 49 + pixels * 64 * 64 * 49 + 2 * (pixels // 4 + pixels // 16 + pixels // 64) * 64 * 64 * 49
    macs += pixels * 11 * 64
    assert result["flops"]["inference"] == 2 * macs
    first_input = pixels * 64 * 3 * 49  # conv1's input gradient is not needed: the image has none
    assert result["flops"]["training"] == 3 * 2 * macs - 2 * first_input
    storage = result["storage"]
    assert storage["pool_indices_bytes"] == (16 * 24 + 8 * 12 + 4 * 6 + 2 * 3) * 64  # one byte per pooled value
    assert storage["pool_indices_torch_int64_bytes"] == 8 * storage["pool_indices_bytes"]
    assert storage["segnet_basic_decoder_bytes"] < storage["fcn_basic_decoder_bytes"]


def test_bench_gemm_ceiling_times_the_convolutions_products(tmp_path, capsys):
    out = tmp_path / "ceiling.json"
    assert bench.main([*SMALL, "--mode", "inference", "--no-memory", "--ceiling", "--json", str(out)]) == 0
    assert "GEMM ceiling" in capsys.readouterr().out
    rows = {r["name"]: r for r in json.loads(out.read_text())["ceiling"]}
    assert set(rows) == {"square", "forward tile", "weight-gradient tile"}
    assert all(r["gflops"] > 0 for r in rows.values())
    # the tile is a whole 32x48 image (with its padding rows) at this size: (rows * 48) x 448 @ 448 x 448
    p, k, n = rows["forward tile"]["shape"]
    assert (k, n) == (7 * 64, 7 * 64) and p % 48 == 0 and p >= 32 * 48
    assert rows["weight-gradient tile"]["shape"] == [7 * 64, p, 64, 7]


@pytest.mark.torch
def test_bench_compares_with_torch_and_profiles_inference(capsys):
    import_torch(reason="--compare torch runs the PyTorch twin")
    assert bench.main([*SMALL, "--mode", "inference", "--compare", "torch", "--no-memory", "--profile"]) == 0
    text = capsys.readouterr().out
    assert "torch" in text and "ratio" in text and "profile: one inference step" in text
    assert not any(line.startswith("training") for line in text.splitlines())  # --mode inference only


def test_profile_rows_cover_forward_and_backward_of_every_op():
    x, labels = bench.make_batch(2, (16, 16), 11, seed=0)
    work = bench.make_workload("tinyseg", "segnet_basic", x, labels, 11, seed=0)
    rows, total = bench.profile_step(work, "training")
    ops = {r["op"] for r in rows}
    # encoders: batch norm + ReLU fused; decoders: batch norm alone (no ReLU in SegNet-Basic)
    assert {"Conv2d", "BatchNormReLU", "BatchNorm", "MaxPool2d", "MaxUnpool2d", "CrossEntropy", "SGD.step"} <= ops
    assert all(r["backward_s"] > 0 for r in rows if r["op"] == "Conv2d")
    assert 0 < sum(r["forward_s"] + r["backward_s"] for r in rows) <= total
    # timed through the engine's op hook: no class is patched, no hook is left behind
    from tinyseg.functional.conv import Conv2d
    from tinyseg.engine.function import _hooks
    assert Conv2d.__dict__["forward"].__func__.__name__ == "forward" and _hooks == []
    assert "step" not in vars(work.opt)  # the optimizer's timer is taken off again


def test_bench_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
        bench.main(["--size", "32by48"])
    assert exit_info.value.code == 2
    assert "must look like HEIGHTxWIDTH" in capsys.readouterr().err
    assert bench.main(["--model", "bayesian_segnet_basic", "--compare", "torch"]) == 2
    assert "no PyTorch twin" in capsys.readouterr().err


@pytest.mark.torch
def test_torch_twin_has_the_tinyseg_weights():
    torch = import_torch(reason="the twins are PyTorch models")
    from tinyseg import interop

    ours = models.create("segnet_basic", num_classes=5)
    twin = interop.from_tinyseg(ours)  # what interop.TorchWorkload, the bench's PyTorch side, times
    assert isinstance(twin, interop.TorchSegNetBasic)
    assert_equal(twin.classifier.weight.detach().numpy(), ours.classifier.weight.numpy())
    with pytest.raises(ValueError, match="no PyTorch twin"):
        interop.twin_class("bayesian_segnet_basic")
    assert torch.is_tensor(twin.classifier.bias)


@pytest.mark.torch
def test_torch_workload_starts_from_the_tinyseg_weights_and_trains():
    torch = import_torch(reason="the PyTorch workload steps a twin")
    if backend.name() == "cupy" and not torch.cuda.is_available():
        pytest.skip("on the cupy backend the twin runs on CUDA, and this PyTorch has none")
    x, labels = bench.make_batch(1, (16, 16), 5, seed=3)
    ours = bench.make_workload("tinyseg", "segnet_basic", x, labels, 5, seed=3)
    theirs = bench.make_workload("torch", "segnet_basic", x, labels, 5, seed=3)
    assert theirs.framework == "torch" and not isinstance(theirs, bench.TinysegWorkload)
    start = ours.model.classifier.weight.numpy()
    assert_equal(theirs.model.classifier.weight.detach().numpy(), start)  # the same seed, the same weights
    theirs.run("training")
    assert not (theirs.model.classifier.weight.detach().numpy() == start).all()  # an SGD step happened


def test_bench_reaches_torch_only_through_interop():
    """No module of the bench imports torch, at load time or inside a function: PyTorch is
    tinyseg.interop's (TorchWorkload, its threads and memory), and ``import tinyseg.bench`` and a
    run without --compare never load it."""
    package = Path(bench.__file__).parent
    for path in sorted(package.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        imports = [n for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name.split(".")[0] for n in imports if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in imports if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert "torch" not in names, f"{path.name} imports torch: go through tinyseg.interop"
        assert len(text.splitlines()) < 300, f"{path.name} is too long to read whole"
    code = ("import sys; from tinyseg import bench; "
            f"assert bench.main({[*SMALL, '--mode', 'inference', '--no-memory']!r}) == 0; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_docs_table_lists_every_option():
    """docs/performance.md's table of options ("How to measure") matches ``--help``."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
    section = docs.read_text(encoding="utf-8").split("## How to measure", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(--[a-z-]+)", section, flags=re.MULTILINE))
    parser = bench.build_parser()
    options = {s for a in parser._actions if a.help != argparse.SUPPRESS for s in a.option_strings if s.startswith("--")}
    assert documented == options - {"--help"}
