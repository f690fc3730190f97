"""The cupy backend on the strict CuPy double (tests/cupy_double): the double is as strict as CuPy,
mixed devices fail with one line, and a training step crosses between host and device only where
it must: 2 copies in (images, uint8 labels), one loss read every --log-every steps, one read of
the confusion matrix per validation pass. Its losses equal the NumPy run's, through a resume.

These tests need the double in place of CuPy, i.e. the second leg of the CI command:
TINYSEG_BACKEND=cupy TINYSEG_CUPY_DOUBLE=1 python -m pytest
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg.io import checkpoint
from tinyseg.training import loop as training_loop
from tinyseg import train as train_cmd
from tinyseg.functional import conv2d, cross_entropy
from tinyseg.metrics import BFScore, ConfusionMatrix

from .helpers import assert_close, assert_equal, cupy_double

cupy = cupy_double()
pytestmark = pytest.mark.skipif(
    cupy is None, reason="needs the CuPy double: TINYSEG_BACKEND=cupy TINYSEG_CUPY_DOUBLE=1 python -m pytest")


@pytest.fixture
def counters():
    backend.use("cupy")
    cupy._double.counters.reset()
    return cupy._double.counters


# ---- the double is as strict as CuPy -----------------------------------------------------------
def test_the_double_is_not_a_numpy_array_and_refuses_numpy(counters):
    x = cupy.asarray(np.arange(6.0).reshape(2, 3))
    assert not isinstance(x, np.ndarray) and backend.is_cupy_array(x)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        x + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        np.ones(3) * x
    with pytest.raises(TypeError, match="Unsupported type <class 'numpy.ndarray'>"):
        cupy.maximum(x, np.zeros(3))
    with pytest.raises(TypeError, match="Unsupported type"):
        x[np.array([0, 1])]
    assert not hasattr(cupy, "fromfunction") and not hasattr(x, "itemset")  # only CuPy's names
    assert callable(cupy.random.default_rng(0).bit_generator.state)  # a method, as in CuPy


def test_the_double_counts_copies_reads_and_launches(counters):
    x = cupy.asarray(np.ones((4, 4), np.float32))
    y = (x * 2).sum()
    assert [n for _, n in counters.copies] == [64] and counters.reads == []
    assert counters.launches >= 3
    float(y), x.get(), x[x > 0], bool(x.any()), cupy.bincount(cupy.arange(3))
    assert [r.split(" at ")[0] for r in counters.reads] == [
        "float()", "ndarray.get()", "boolean-mask indexing", "bool()", "cupy.bincount()"]
    assert all(" at test_cupy_double.py:" in r for r in counters.reads)


# ---- mixed devices and host gradients ------------------------------------------------------------
def test_mixed_devices_fail_in_apply_with_one_line_naming_both():
    backend.use("numpy")
    weight = tinyseg.tensor(np.ones((2, 3, 3, 3), np.float32))  # made on the CPU
    backend.use("cupy")
    x = tinyseg.tensor(np.ones((1, 3, 5, 5), np.float32))
    with pytest.raises(RuntimeError) as info:
        conv2d(x, weight)
    message = str(info.value)
    assert "\n" not in message
    assert re.match(r"Conv2d: argument '(w|weight)' is on the CPU \(numpy\) but 'x' is on the GPU \(cupy\)", message)
    assert "tinyseg.tensor" in message


def test_tensor_moves_data_and_backward_takes_host_or_list_gradients(counters):
    t = tinyseg.Tensor(np.arange(3.0), requires_grad=True)
    assert backend.is_cupy_array(t.data)
    for grad in (np.ones(3), [1.0, 1.0, 1.0], cupy.ones(3)):
        t.grad = None
        (t * 2).backward(grad)
        assert backend.is_cupy_array(t.grad)
        assert_equal(t.grad, [2.0, 2.0, 2.0])


# ---- labels on the device are not read back per batch -------------------------------------------
def test_device_labels_are_not_read_back_and_bad_values_surface_later(counters):
    logits = tinyseg.tensor(np.zeros((1, 3, 1, 2)))
    loss = cross_entropy(logits, cupy.asarray(np.array([[[0, 7]]], np.uint8)))
    cm, bf = ConfusionMatrix(3, ignore_index=255), BFScore(3, ignore_index=255)
    pred, target = cupy.zeros((1, 4, 4), dtype=cupy.int64), cupy.asarray(np.full((1, 4, 4), 1, np.uint8))
    target[0, 0, 0] = 7  # not a class, not void
    cm.update(pred, target)
    bf.update(pred, target)
    assert counters.reads == []  # nothing waited for the device
    assert math.isnan(loss.item())  # the unchecked class 7 turned the loss NaN
    with pytest.raises(ValueError, match=r"ConfusionMatrix: 1 counted pixel\(s\) .* outside the classes 0\.\.2"):
        cm.scores()
    with pytest.raises(ValueError, match=r"BFScore: 1 counted pixel"):
        bf.score()


# ---- a training run: what crosses, and the same losses as NumPy ----------------------------------
TINY = ["--size", "24x32", "--synthetic", "8", "--batch-size", "2", "--workers", "0", "--model", "segnet_basic"]


def _losses(out):
    return [r["loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


def test_training_on_cupy_syncs_only_where_it_must_and_equals_numpy(tmp_path, monkeypatch, counters):
    steps, passes = [], []  # counters at each loss call (one per step) and around each validation
    real_loss, real_validate = training_loop.cross_entropy, training_loop.evaluate

    def loss_spy(*args, **kwargs):
        steps.append((len(counters.copies), len(counters.reads)))
        return real_loss(*args, **kwargs)

    def validate_spy(*args, **kwargs):
        before = len(counters.reads)
        result = real_validate(*args, **kwargs)
        passes.append(counters.reads[before:])
        return result

    monkeypatch.setattr(training_loop, "cross_entropy", loss_spy)
    monkeypatch.setattr(training_loop, "evaluate", validate_spy)
    gpu = tmp_path / "gpu"
    args = [*TINY, "--log-every", "2", "--val-every", "3"]
    assert train_cmd.main([*args, "--backend", "cupy", "--iters", "3", "--out", str(gpu)]) == 0
    assert train_cmd.main(["--resume", str(gpu / "last.npz"), "--iters", "6"]) == 0  # a CuPy resume

    # between two loss calls: one whole step (backward, update, next batch, forward)
    first_run = steps[:3]
    copies = [b[0] - a[0] for a, b in zip(first_run, first_run[1:])]
    reads = [b[1] - a[1] for a, b in zip(first_run, first_run[1:])]
    assert copies == [2, 2], counters.copies
    assert reads == [0, 1], counters.reads  # step 2 ends with the loss read (--log-every 2)
    step_copies = counters.copies[first_run[1][0]:first_run[2][0]]
    assert sorted(n for _, n in step_copies) == [2 * 24 * 32, 2 * 3 * 24 * 32 * 4]  # uint8 labels, float32 images
    assert all("loader.py" in where for where, _ in step_copies)
    assert len(passes) == 2 and all(len(p) == 1 and "confusion.py" in p[0] for p in passes), passes

    assert checkpoint.read_meta(gpu / "last.npz")["step"] == 6 and (gpu / "best.npz").is_file()
    cpu = tmp_path / "cpu"
    assert train_cmd.main([*args, "--backend", "numpy", "--iters", "6", "--out", str(cpu)]) == 0
    assert len(_losses(gpu)) == 6
    assert_close(_losses(gpu), _losses(cpu), rtol=1e-5)  # tiles differ by backend: rounding only
