"""tinyseg.random, the one home of random state: seeds repeat weights and masks, fork_rng scopes a
stream and gives the outer one back untouched (nested, and through exceptions), and mc_predict's
seed repeats its samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg import models, nn
from tinyseg.functional import dropout
from tinyseg.engine.random import dropout_generator, fork_rng, init_generator, manual_seed

from .helpers import assert_equal

P = 0.5


@pytest.fixture(autouse=True)
def _unseeded_afterwards():
    yield
    manual_seed(None)


def _mask(**kwargs) -> np.ndarray:
    """One dropout mask over 64 ones, as 0/1 on the host."""
    x = tinyseg.tensor(np.ones(64, dtype=np.float32))
    return (dropout(x, P, **kwargs).numpy() != 0).astype(np.uint8)


def _expected_mask(seed, draws: int = 1) -> np.ndarray:
    """The mask that draw number ``draws`` of ``backend.default_rng(seed)`` gives (the numbers pinned
    before tinyseg.random existed: u >= p for u uniform in [0, 1), float32)."""
    rng = backend.default_rng(seed)
    for _ in range(draws):
        u = backend.to_numpy(rng.random((64,), dtype=backend.get_xp().float32))
    return (u >= P).astype(np.uint8)


def test_the_same_seed_gives_the_same_weights_as_before():
    manual_seed(0)
    a = nn.Conv2d(3, 4, 3)
    manual_seed(0)
    b = nn.Conv2d(3, 4, 3)
    assert_equal(a.weight.numpy(), b.weight.numpy())
    expected = np.random.default_rng(0).standard_normal((4, 3, 3, 3)) * math.sqrt(2.0 / 27)
    assert_equal(a.weight.numpy(), expected.astype(np.float32))
    assert init_generator() is init_generator()
    manual_seed(0)
    assert_equal(nn.Conv2d(3, 4, 3).weight.numpy(), a.weight.numpy())


def test_the_same_seed_gives_the_same_masks_as_before():
    manual_seed(7)
    first, second = _mask(), _mask()
    assert_equal(first, _expected_mask(7, draws=1))
    assert_equal(second, _expected_mask(7, draws=2))  # the stream moves on
    assert (first != second).any()
    tinyseg.manual_seed(7)
    assert dropout_generator() is dropout_generator()
    assert_equal(_mask(), first)


def test_fork_rng_draws_from_its_seed_and_gives_the_outer_stream_back():
    manual_seed(1)
    plain = [_mask(), _mask()]
    manual_seed(1)
    before = _mask()
    with fork_rng(5) as g:
        assert dropout_generator() is g
        forked = _mask()
    after = _mask()
    assert_equal(forked, _expected_mask(5))
    assert_equal(before, plain[0])
    assert_equal(after, plain[1])  # as if the block had never run


def test_fork_rng_takes_a_sequence_of_ints_and_leaves_weights_alone():
    manual_seed(2)
    w = init_generator().standard_normal(3)
    manual_seed(2)
    with fork_rng([2, 10]):
        assert_equal(_mask(), _expected_mask([2, 10]))
        assert_equal(init_generator().standard_normal(3), w)


def test_fork_rng_nests():
    with fork_rng(1):
        outer = _mask()
        with fork_rng(2):
            inner = _mask()
        outer_again = _mask()
    assert_equal(outer, _expected_mask(1, draws=1))
    assert_equal(inner, _expected_mask(2, draws=1))
    assert_equal(outer_again, _expected_mask(1, draws=2))


def test_fork_rng_restores_on_an_exception():
    manual_seed(3)
    outer = dropout_generator()
    with pytest.raises(RuntimeError, match="boom"):
        with fork_rng(4):
            raise RuntimeError("boom")
    assert dropout_generator() is outer


def test_fork_rng_can_lend_a_given_generator():
    g = backend.default_rng(9)
    with fork_rng(generator=g) as inside:
        assert inside is g
        assert_equal(_mask(), _expected_mask(9))


def test_an_explicit_generator_still_wins():
    """dropout(generator=...) beats the streams."""
    with fork_rng(1):
        assert_equal(_mask(generator=backend.default_rng(6)), _expected_mask(6))


# ---- Monte Carlo dropout ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def net():
    manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Dropout(P))


def _image() -> tinyseg.Tensor:
    return tinyseg.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 5)).astype(np.float32))


def test_mc_predict_with_a_seed_repeats_and_leaves_the_global_stream_alone(net):
    x = _image()
    manual_seed(11)
    a = models.mc_predict(net, x, samples=4, seed=3)
    untouched = _mask()
    b = models.mc_predict(net, x, samples=4, seed=3)
    c = models.mc_predict(net, x, samples=4, generator=backend.default_rng(3))  # the same stream
    d = models.mc_predict(net, x, samples=4, seed=[3, 1])
    assert_equal(untouched, _expected_mask(11))
    for other in (b, c):
        assert_equal(backend.to_numpy(a.mean), backend.to_numpy(other.mean))
        assert_equal(backend.to_numpy(a.variance), backend.to_numpy(other.variance))
    assert not np.array_equal(backend.to_numpy(a.mean), backend.to_numpy(d.mean))
    with pytest.raises(ValueError, match="a seed or a generator, not both"):
        models.mc_predict(net, x, seed=1, generator=backend.default_rng(1))


def test_mc_predict_without_a_seed_draws_from_the_global_stream(net):
    x = _image()
    manual_seed(12)
    a = models.mc_predict(net, x, samples=2)
    manual_seed(12)
    b = models.mc_predict(net, x, samples=2)
    assert_equal(backend.to_numpy(a.mean), backend.to_numpy(b.mean))
