"""Every basic op's gradient against central differences, on hypothesis-drawn shapes and values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
import tinyseg.functional as F
from tinyseg.engine.gradcheck import gradcheck

from .helpers import assert_close, assert_equal
from .strategies import arrays, broadcast_pairs, shapes, tensors

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}


@pytest.mark.parametrize("op", sorted(BINARY))
@given(data=st.data(), pair=broadcast_pairs())
def test_binary_ops_with_broadcasting(op, data, pair):
    sa, sb = pair
    # div and pow need b (resp. a) away from 0; pow needs a > 0 for a real log.
    a = data.draw(tensors(sa, low=0.5 if op == "pow" else -2.0, high=2.0, away_from=0.0, margin=0.3))
    b = data.draw(tensors(sb, away_from=0.0, margin=0.3))
    assert gradcheck(BINARY[op], [a, b])


@given(data=st.data(), shape=shapes())
def test_scalar_operands_and_rsub_rdiv(data, shape):
    x = data.draw(tensors(shape, away_from=0.0, margin=0.3))
    assert gradcheck(lambda t: (3.0 - t) * 2.0 / t + 1.5 - (-t) ** 2 + 2.0 ** t, [x])


UNARY = {
    "exp": (F.exp, {}),
    "log": (F.log, {"low": 0.2, "high": 3.0}),
    "sqrt": (F.sqrt, {"low": 0.2, "high": 3.0}),
    "abs": (F.abs, {"away_from": 0.0}),
    "neg": (F.neg, {}),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@given(data=st.data(), shape=shapes())
def test_unary_ops(op, data, shape):
    fn, kw = UNARY[op]
    assert gradcheck(fn, [data.draw(tensors(shape, **kw))])


@given(data=st.data(), batch=shapes(min_dims=0, max_dims=2, max_side=3),
       n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4))
def test_matmul(data, batch, n, k, m):
    a = data.draw(tensors(batch + (n, k)))
    b = data.draw(tensors((k, m)))  # (k, m) broadcasts against the batch
    assert gradcheck(lambda x, y: x @ y, [a, b])


def test_matmul_shape_error_names_both_shapes():
    a, b = tinyseg.tensor(np.ones((2, 3))), tinyseg.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        a @ b


def _axes(ndim):
    return st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                     st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))


@pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
@given(data=st.data(), shape=shapes(), keepdims=st.booleans())
def test_reductions(reduction, data, shape, keepdims):
    axis = data.draw(_axes(len(shape)))
    x = data.draw(tensors(shape, distinct=True))  # distinct: max has one winner per slice
    out = getattr(x, reduction)(dim=axis, keepdim=keepdims)
    expected = getattr(np, {"max": "amax"}.get(reduction, reduction))(x.numpy(), axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    assert_close(out.numpy(), expected)
    assert gradcheck(lambda t: getattr(t, reduction)(axis, keepdims), [x])


def test_reductions_take_pytorch_names():
    x = tinyseg.tensor(np.arange(6.0).reshape(2, 3))
    assert_equal(x.sum(1).numpy(), [3.0, 12.0]) and assert_equal(F.mean(x, dim=0, keepdim=True).numpy(), [[1.5, 2.5, 3.5]])
    assert x.sum(dim=1, keepdim=True).shape == (2, 1) and F.sum(x, 0).shape == (3,)
    assert_equal(x.max(dim=0).numpy(), [3.0, 4.0, 5.0])
    with pytest.raises(TypeError):
        x.sum(axis=1)  # NumPy's names are not PyTorch's


def test_max_shares_gradient_between_ties():
    x = tinyseg.tensor(np.array([[1.0, 3.0, 3.0]]), requires_grad=True)
    x.max(dim=1).sum().backward()
    assert_equal(x.grad, [[0.0, 0.5, 0.5]])


@given(data=st.data(), shape=shapes(min_dims=2, max_dims=4))
def test_reshape_permute_transpose(data, shape):
    x = data.draw(tensors(shape))
    perm = data.draw(st.permutations(range(len(shape))))
    assert gradcheck(lambda t: t.permute(*perm).reshape(-1, shape[0]).T, [x])
    assert gradcheck(lambda t: t.transpose(0, -1).flatten(), [x])


@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3, max_side=5))
def test_indexing_slices_and_repeated_integer_indices(data, shape):
    x = data.draw(tensors(shape))
    index = data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6))
    # a repeated index must receive the sum of its gradients
    assert gradcheck(lambda t: t[np.array(index)] * 2.0, [x])
    assert gradcheck(lambda t: t[::2], [x])


def test_cast_gradient_returns_to_the_input_dtype():
    x = tinyseg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float32
    assert_equal(x.grad, [2.0, 2.0, 2.0])


@given(a=arrays((3, 4)), b=arrays((3, 4)))
def test_comparisons_have_no_gradient(a, b):
    x, y = tinyseg.tensor(a, requires_grad=True), tinyseg.tensor(b, requires_grad=True)
    for result, expected in [(x < y, a < b), (x <= y, a <= b), (x > y, a > b),
                             (x >= y, a >= b), (x == y, a == b), (x != y, a != b)]:
        assert not result.requires_grad
        assert_equal(result.numpy(), expected)
