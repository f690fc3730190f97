"""Bilinear resizing: values by hand, PyTorch's align_corners=False, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
import tinyseg.functional as F
from tinyseg.engine.gradcheck import gradcheck
from .helpers import assert_close, import_torch


def test_doubling_a_row_by_hand():
    x = tinyseg.tensor(np.array([0.0, 4.0, 8.0]).reshape(1, 1, 1, 3))
    y = F.interpolate(x, (1, 6))
    # output q samples source (q + 0.5) / 2 - 0.5: -0.25 (clamped to 0), 0.25, 0.75, 1.25, 1.75, 2.25 (edge)
    assert_close(y.data.ravel(), [0.0, 1.0, 3.0, 5.0, 7.0, 8.0])


def test_same_size_is_the_identity_and_halving_averages_pairs():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    assert_close(F.interpolate(tinyseg.tensor(x), (3, 4)).data, x)
    y = F.interpolate(tinyseg.tensor(x), (3, 2)).data  # columns (0, 1) and (2, 3) averaged
    assert_close(y, (x[..., 0::2] + x[..., 1::2]) / 2)


@given(h=st.integers(1, 6), w=st.integers(1, 6), ho=st.integers(1, 9), wo=st.integers(1, 9))
def test_gradient_checks(h, w, ho, wo):
    x = tinyseg.tensor(np.random.default_rng(h * 10 + w).standard_normal((2, 2, h, w)), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, (ho, wo)), [x])


@pytest.mark.torch
@pytest.mark.parametrize("sizes", [((5, 7), (10, 14)), ((45, 60), (360, 480)), ((6, 4), (3, 9)), ((1, 1), (3, 2))])
def test_equal_to_torch(sizes):
    torch = import_torch(reason="PyTorch is not installed (pip install torch==2.13.0)")
    (h, w), size = sizes
    x = np.random.default_rng(0).standard_normal((2, 3, h, w))
    expected = torch.nn.functional.interpolate(torch.tensor(x), size, mode="bilinear", align_corners=False)
    assert_close(F.interpolate(tinyseg.tensor(x), size).data, expected.numpy(), rtol=1e-12, atol=1e-12)


def test_errors_name_the_problem():
    x = tinyseg.tensor(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="only mode='bilinear'"):
        F.interpolate(x, (4, 4), mode="nearest")
    with pytest.raises(ValueError, match=r"expected x \(N, C, H, W\) and a positive size"):
        F.interpolate(x, (0, 4))
    with pytest.raises(ValueError, match=r"expected x \(N, C, H, W\)"):
        F.interpolate(tinyseg.tensor(np.zeros((2, 2))), (4, 4))
