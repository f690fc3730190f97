"""gradcheck itself: it must catch wrong gradients and say where."""

from __future__ import annotations

import numpy as np
import pytest

import tinyseg
from tinyseg.engine.gradcheck import GradcheckError, gradcheck, numerical_grad
from tinyseg.engine.tensor import Function
from .helpers import assert_close, assert_equal


class TransposedGrad(Function):
    """x * w with a deliberately wrong backward (the gradient of w is transposed)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, (grad * x).T


def test_gradcheck_catches_a_transposed_gradient_and_names_the_input():
    rng = np.random.default_rng(0)
    x = tinyseg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    w = tinyseg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"gradient of w .*index \(\d, \d\).*analytic .* numerical"):
        gradcheck(TransposedGrad.apply, [x, w], names=["x", "w"])


def test_gradcheck_passes_a_correct_gradient_and_skips_constant_inputs():
    rng = np.random.default_rng(1)
    x = tinyseg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = tinyseg.tensor(rng.standard_normal((2, 3)))
    assert gradcheck(lambda a, b: (a * b).exp(), [x, c])


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2, [tinyseg.tensor([1.0], requires_grad=True)])


def test_numerical_grad_of_a_square():
    x = tinyseg.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    (g,) = numerical_grad(lambda t: t * t, [x], upstream=np.ones(3))
    assert_close(g, [2.0, -4.0, 1.0], atol=1e-6)
    assert_equal(x.numpy(), [1.0, -2.0, 0.5])  # inputs restored
