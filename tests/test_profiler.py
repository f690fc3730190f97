"""tinyseg.profile(): every op's forward and backward counted and timed inside the block, nothing
outside it, and no hook left behind however the block ends. Times are checked for sense
(non-negative, adding up to at most the block's wall time), never for speed."""

from __future__ import annotations

import importlib
import time

import numpy as np
import pytest

import tinyseg
from tinyseg import nn
from tinyseg.functional import cross_entropy

engine = importlib.import_module("tinyseg.engine.function")


def tiny_model() -> nn.Module:
    tinyseg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))


def batch() -> tuple[tinyseg.Tensor, np.ndarray]:
    rng = np.random.default_rng(0)
    x = tinyseg.tensor(rng.random((2, 3, 6, 5), dtype=np.float32))
    return x, tinyseg.backend.to_device(rng.integers(0, 2, (2, 6, 5)))


def training_step(model: nn.Module) -> None:
    x, labels = batch()
    cross_entropy(model(x), labels).backward()


def test_counts_match_what_the_model_runs():
    model = tiny_model()
    with tinyseg.profile() as p:
        training_step(model)
    conv, relu = p.stats["Conv2d"], p.stats["ReLU"]
    assert (conv.calls, conv.backward_calls) == (2, 2)  # two layers, one step
    assert (relu.calls, relu.backward_calls) == (1, 1)
    assert p.stats["CrossEntropy"].backward_calls == 1
    # per input shape: the first layer sees the image, the second four channels
    assert p.by_shape[("Conv2d", "2x3x6x5")].calls == p.by_shape[("Conv2d", "2x4x6x5")].calls == 1
    assert p.by_shape[("Conv2d", "2x3x6x5")].backward_calls == 1  # backward booked under its forward's shape

    with tinyseg.profile() as q, tinyseg.no_grad():
        model(batch()[0])
    assert (q.stats["Conv2d"].calls, q.stats["Conv2d"].backward_calls) == (2, 0)


def test_times_are_non_negative_and_add_up_to_at_most_the_wall_time():
    model = tiny_model()
    start = time.perf_counter()
    with tinyseg.profile() as p:
        for _ in range(2):
            training_step(model)
    wall = time.perf_counter() - start
    assert all(s.forward_s >= 0 and s.backward_s >= 0 for s in p.by_shape.values())
    assert 0 < sum(s.total_s for s in p.stats.values()) <= p.wall_s <= wall
    assert p.stats["Conv2d"].calls == 4
    totals = [s.total_s for s in p.stats.values()]
    assert totals == sorted(totals, reverse=True)  # most expensive first


def test_nothing_is_recorded_outside_the_block():
    model = tiny_model()
    training_step(model)  # before: not seen
    x, labels = batch()
    loss = cross_entropy(model(x), labels)  # forward before the block ...
    with tinyseg.profile() as p:
        loss.backward()  # ... backward inside: only the backward is booked
    recorded = {name: (s.calls, s.backward_calls) for name, s in p.stats.items()}
    training_step(model)  # after: not seen
    assert {name: (s.calls, s.backward_calls) for name, s in p.stats.items()} == recorded
    assert recorded["Conv2d"] == (0, 2)
    assert engine._hooks == []


def test_nested_profiles_both_see_every_op_and_leave_no_hook():
    model = tiny_model()
    with tinyseg.profile() as outer:
        training_step(model)
        with tinyseg.profile() as inner:
            training_step(model)
        assert len(engine._hooks) == 1
    assert engine._hooks == []
    assert inner.stats["Conv2d"].calls == 2
    assert outer.stats["Conv2d"].calls == 4
    assert inner.wall_s <= outer.wall_s


def test_an_exception_inside_the_block_leaves_no_hook():
    model = tiny_model()
    with pytest.raises(ValueError, match="conv2d"), tinyseg.profile() as p:
        model(tinyseg.tensor(np.zeros((1, 5, 6, 5), np.float32)))  # 5 channels into a 3-channel layer
    assert engine._hooks == []
    assert p.wall_s > 0 and "Conv2d" not in p.stats  # the failed op is not booked
    with pytest.raises(KeyError), tinyseg.profile():
        training_step(model)
        raise KeyError("user code")
    assert engine._hooks == []


def test_table_names_every_op_most_expensive_first():
    model = tiny_model()
    with tinyseg.profile() as p:
        training_step(model)
    text = str(p)
    assert text == p.table()
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["op", "calls"]
    assert [line.split()[0] for line in lines[1:-1]] == list(p.stats)
    assert lines[-1].startswith("(outside ops)")
    by_shape = p.table(by_shape=True)
    assert "input shape" in by_shape and "2x3x6x5" in by_shape


def test_op_hook_sees_forward_and_backward_and_passes_results_through():
    seen = []

    def hook(fn, phase, ctx, args, run):
        out = run()
        seen.append((fn.__name__, phase, len(args)))
        return out

    x = tinyseg.tensor([[1.0, 2.0]], requires_grad=True)
    with engine.op_hook(hook):
        (x * x).sum().backward()
    assert seen == [("Mul", "forward", 2), ("Sum", "forward", 1), ("Sum", "backward", 1), ("Mul", "backward", 1)]
    np.testing.assert_array_equal(tinyseg.backend.to_numpy(x.grad), [[2.0, 4.0]])  # results unchanged


def test_without_a_profile_the_engine_never_calls_a_hook(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a hook ran with none active")

    monkeypatch.setattr(engine, "run_hooked", refuse)
    training_step(tiny_model())


def test_the_example_in_docs_performance_runs(capsys):
    """docs/performance.md, "Profiling your own model": its code block runs as printed."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "performance.md").read_text(encoding="utf-8")
    section = page.split("## Profiling your own model", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/performance.md", "exec"), {})  # noqa: S102 (our own documentation)
    out = capsys.readouterr().out
    assert "Conv2d" in out and "(outside ops)" in out and "input shape" in out
    assert engine._hooks == []
