"""The autograd engine: accumulation, order, broadcasting, dtypes, no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import tinyseg
from tinyseg.engine.function import sum_to_shape
from .helpers import assert_close, assert_equal


def test_value_used_twice_accumulates_both_gradients():
    a = tinyseg.tensor([2.0, -1.0], requires_grad=True)
    (a + a).sum().backward()
    assert_equal(a.grad, [2.0, 2.0])
    b = tinyseg.tensor([3.0], requires_grad=True)
    c = b * b  # b feeds one op through both operands
    d = c * b + c
    d.backward(np.ones(1, dtype=np.float32))
    assert_close(b.grad, [3 * 9 + 2 * 3])  # d = b^3 + b^2


def test_diamond_graph_visits_shared_node_once():
    x = tinyseg.tensor([1.5], requires_grad=True)
    y = x.exp()
    z = y * 2.0 + y * 3.0  # y used by two branches
    z.sum().backward()
    assert_close(x.grad, [5 * np.exp(1.5)], rtol=1e-6)


def test_5000_op_chain_does_not_hit_the_recursion_limit():
    x = tinyseg.tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    assert_close(x.grad, [1.0001 ** 5000], rtol=1e-9)


def test_broadcast_gradient_is_summed_back_to_the_input_shape():
    w = tinyseg.tensor(np.ones((1, 3)), requires_grad=True)
    x = tinyseg.tensor(np.arange(6.0).reshape(2, 3))
    (x * w).sum().backward()
    assert w.grad.shape == (1, 3)
    assert_equal(w.grad, [[3.0, 5.0, 7.0]])


def test_sum_to_shape_handles_added_and_stretched_axes():
    g = np.ones((4, 2, 3))
    assert sum_to_shape(g, (2, 1)).shape == (2, 1)
    assert_equal(sum_to_shape(g, (3,)), [8.0, 8.0, 8.0])
    assert_equal(sum_to_shape(g, ()), 24.0)


def test_defaults_are_float32_and_float64_is_kept():
    assert tinyseg.tensor([1.0, 2.0]).dtype == np.float32
    assert tinyseg.tensor(3.5).dtype == np.float32
    assert tinyseg.tensor([1, 2]).dtype.kind == "i"
    assert tinyseg.tensor(np.zeros(2)).dtype == np.float64
    x = tinyseg.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert (x * 2.5 + 1).dtype == np.float32  # Python scalars do not promote


def test_no_grad_records_nothing_and_detach_cuts_the_graph():
    x = tinyseg.tensor([1.0], requires_grad=True)
    with tinyseg.no_grad():
        y = x * 2.0
    assert not y.requires_grad
    assert tinyseg.is_grad_enabled()
    z = (x * 2.0).detach() * x
    z.sum().backward()
    assert_equal(x.grad, [2.0])  # only the undetached factor


def test_grad_accumulates_across_backward_calls():
    x = tinyseg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3.0).sum().backward()
    (x * 3.0).sum().backward()
    assert_equal(x.grad, [6.0, 6.0])


def test_backward_errors_are_clear():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tinyseg.tensor([1.0]).backward()
    x = tinyseg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element.*\(2,\)"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(np.ones(3))


def test_tensor_facts():
    x = tinyseg.tensor(np.zeros((2, 3)), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert isinstance(x.numpy(), np.ndarray)
    assert tinyseg.tensor([[4.0]]).item() == 4.0
    assert "requires_grad=True" in repr(x)
    t = tinyseg.tensor([[1.0, 5.0, 2.0]])
    assert_equal(t.argmax(dim=1).numpy(), [1]) and assert_equal(t.argmax(1, keepdim=True).numpy(), [[1]])
    assert int(t.argmax().item()) == 1


def test_numpy_array_on_the_left_of_an_operator_gives_a_tensor():
    x = tinyseg.tensor(np.ones(2), requires_grad=True)
    y = np.full(2, 3.0) * x
    assert isinstance(y, tinyseg.Tensor)
    y.sum().backward()
    assert_equal(x.grad, [3.0, 3.0])


def test_the_graph_is_public_grad_fn_is_leaf_inputs():
    x = tinyseg.tensor([1.0, 2.0], requires_grad=True)
    w = tinyseg.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    loss = (y + 2.0).sum()
    assert x.is_leaf and x.grad_fn is None and x.inputs == ()
    assert y.grad_fn.__name__ == "Mul" and not y.is_leaf
    assert y.inputs[0] is x and y.inputs[1] is w and len(y.inputs) == 2
    add = loss.inputs[0]
    assert add.grad_fn.__name__ == "Add" and add.inputs[0] is y and len(add.inputs) == 2  # 2.0 became a tensor
    with tinyseg.no_grad():
        assert (x * w).grad_fn is None  # nothing recorded
    loss.backward(retain_graph=True)
    assert loss.grad_fn is not None and y.inputs[0] is x  # kept
    loss.backward()
    assert loss.inputs == () and y.inputs == ()  # freed as it was walked...
    assert loss.grad_fn.__name__ == "Sum" and y.grad_fn.__name__ == "Mul" and not y.is_leaf  # ...grad_fn kept


SECOND_BACKWARD = (
    r"^Trying to backward through the graph a second time: Sum's saved arrays were freed by the first "
    r"backward\(\)\. Specify retain_graph=True in the first backward\(\) if you need to backward through "
    r"the graph a second time\.$"
)


def test_a_second_backward_through_a_freed_graph_raises_with_pytorchs_advice():
    x = tinyseg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert_equal(x.grad, [2.0, 4.0])
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        loss.backward()
    assert_equal(x.grad, [2.0, 4.0])  # raised before anything changed


def test_a_new_graph_through_a_freed_node_raises_before_touching_any_grad():
    x = tinyseg.tensor([1.0, 2.0], requires_grad=True)
    w = tinyseg.tensor([3.0, 4.0], requires_grad=True)
    h = x.exp()
    h.sum().backward()
    first = tinyseg.tensor(x.grad).numpy()
    with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second time: Exp's saved"):
        (h * w).sum().backward()  # Mul is new, but h's Exp was freed
    assert w.grad is None
    assert_equal(x.grad, first)


def test_retain_graph_keeps_the_graph_and_gradients_accumulate():
    x = tinyseg.tensor(np.array([1.0, 2.0]), requires_grad=True)  # float64
    y = x.exp()
    loss = (y * y).sum()
    loss.backward(retain_graph=True)
    loss.backward(retain_graph=True)
    assert_close(x.grad, 2 * 2 * np.exp(2 * np.array([1.0, 2.0])))  # twice d/dx e^(2x)
    loss.backward()  # a third walk, which frees it
    assert_close(x.grad, 3 * 2 * np.exp(2 * np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        loss.backward()


INTEGER_GRAD = r"^only Tensors of floating point dtype can require gradients, got dtype {}"


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_and_bool_tensors_cannot_require_gradients(dtype):
    data = np.array([1, 0, 1]).astype(dtype)
    message = INTEGER_GRAD.format(dtype) + r" \(cast it first: x\.astype\('float32'\)\)$"
    with pytest.raises(RuntimeError, match=message):
        tinyseg.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match=message):
        tinyseg.Tensor(data, requires_grad=True)
    t = tinyseg.tensor(data)
    with pytest.raises(RuntimeError, match=message):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match=message):
        t.requires_grad = True
    assert not t.requires_grad and t.requires_grad_(False) is t  # turning it off is always fine
    with pytest.raises(RuntimeError, match=INTEGER_GRAD.format("int64")):
        tinyseg.tensor([1, 2], requires_grad=True)  # Python ints stay ints, as torch.tensor's
    assert tinyseg.tensor(data.astype("float32")).requires_grad_().requires_grad


def test_an_integer_result_records_nothing():
    """Casting to int is not differentiable: the result is a constant, as in PyTorch (no truncated gradients)."""
    x = tinyseg.tensor([1.7, -2.2], requires_grad=True)
    i = x.astype("int64")
    assert not i.requires_grad and i.grad_fn is None and i.inputs == ()
    y = (x * 2.0).astype("float32")  # float to float still records
    assert y.requires_grad and y.grad_fn.__name__ == "Cast"


def test_tensor_defines_its_operators_in_its_own_class():
    """A reader finds ``__add__`` by reading Tensor (engine/tensor.py): nothing is attached from outside."""
    for name in ("__add__", "__rmul__", "__matmul__", "__neg__", "__getitem__", "sum", "max", "reshape",
                 "permute", "exp", "astype"):
        assert name in vars(tinyseg.Tensor), name
        assert getattr(tinyseg.Tensor, name).__module__ == "tinyseg.engine.tensor", name
