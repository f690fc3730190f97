"""tinyseg.nn: registration, names, state dicts, train/eval, initialisation, repr, and the
layers against torch.nn with the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg import nn
from tinyseg.engine.gradcheck import gradcheck
from .helpers import assert_close, assert_equal, import_torch


class Block(nn.Module):
    def __init__(self, rng=None):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, rng=rng)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 2, 1, bias=False, rng=rng))
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        return self.head(self.bn(self.conv(x))) * self.scale


NAMES = ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias", "head.1.weight"]


def test_parameters_are_registered_in_definition_order_with_pytorch_names():
    m = Block()
    assert [n for n, _ in m.named_parameters()] == NAMES
    assert [p.shape for p in m.parameters()] == [(1,), (4, 3, 3, 3), (4,), (4,), (4,), (2, 4, 1, 1)]
    assert all(p.requires_grad and p.dtype == np.float32 for p in m.parameters())
    assert [n for n, _ in m.named_buffers()] == ["bn.running_mean", "bn.running_var"]
    assert [n for n, _ in m.named_modules()] == ["", "conv", "bn", "head", "head.0", "head.1"]
    assert list(m.children()) == [m.conv, m.bn, m.head]
    assert list(m.state_dict()) == ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                    "bn.running_mean", "bn.running_var", "head.1.weight"]


def test_shared_parameters_and_modules_are_listed_once():
    m = nn.Module()
    m.a = nn.ReLU()
    m.b = m.a
    m.w = nn.Parameter(np.zeros(2))
    m.v = m.w
    assert len(list(m.parameters())) == 1 and len(list(m.modules())) == 2


def test_reassigning_and_deleting_attributes_keeps_the_registry_right():
    m = Block()
    m.conv = nn.ReLU()  # a module replaces the conv: its parameters are gone
    assert [n for n, _ in m.named_parameters()] == ["scale", "bn.weight", "bn.bias", "head.1.weight"]
    del m.scale
    assert "scale" not in dict(m.named_parameters())
    m.bn.running_mean = np.full(4, 3.0, dtype=np.float32)  # assigning to a buffer name updates the buffer
    assert_equal(m.state_dict()["bn.running_mean"], np.full(4, 3.0))
    with pytest.raises(TypeError, match=r"Block.conv is a submodule"):
        m.conv = 3
    with pytest.raises(TypeError, match=r"BatchNorm2d.weight is a parameter: assign a Parameter"):
        m.bn.weight = np.ones(4)
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nothing'"):
        m.nothing  # noqa: B018


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.conv = nn.ReLU()

    with pytest.raises(AttributeError, match=r"Broken: call super\(\).__init__\(\) before assigning 'conv'"):
        Broken()


def test_state_dict_round_trip_and_copies():
    a, b = Block(rng=np.random.default_rng(1)), Block(rng=np.random.default_rng(2))
    state = a.state_dict()
    state["conv.weight"][...] = 0.0  # a copy: the model is untouched
    assert (a.conv.weight.numpy() != 0).any()
    state = a.state_dict()
    b.load_state_dict({k: backend.to_numpy(v) for k, v in state.items()})
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert_equal(x, y, err_msg=name)
        assert y.dtype == np.float32
    b.conv.weight.data[...] = 5.0  # loaded values were copied, not aliased
    assert (state["conv.weight"] != 5.0).all()


def test_load_state_dict_errors_name_keys_and_shapes():
    m = Block()
    state = m.state_dict()
    del state["bn.bias"]
    state["bn.extra"] = np.zeros(4)
    state["conv.weight"] = np.zeros((4, 3, 5, 5))
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(state)
    message = str(info.value)
    assert "missing key(s): bn.bias" in message
    assert "unexpected key(s): bn.extra" in message
    assert ("size mismatch for conv.weight: checkpoint has shape (4, 3, 5, 5), "
            "the model has shape (4, 3, 3, 3)") in message
    state["conv.weight"] = np.zeros((4, 3, 3, 3))
    result = m.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bn.bias"] and result.unexpected_keys == ["bn.extra"]
    assert (m.conv.weight.numpy() == 0).all()


def test_train_eval_switches_batch_norm_behaviour():
    m = Block()
    x = tinyseg.tensor(np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(np.float32) * 3 + 2)
    assert m.training and m.head[1].training
    y = m.bn(m.conv(x)).numpy()  # training: batch statistics -> mean 0, var 1 per channel
    assert_close(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    assert_close(y.var(axis=(0, 2, 3)), 1.0, atol=1e-3)
    running = backend.to_numpy(m.bn.running_mean)
    assert (running != 0).any()
    assert m.eval() is m and not any(mod.training for mod in m.modules())
    y_eval = m.bn(m.conv(x)).numpy()
    assert_equal(m.bn.running_mean, running)  # eval leaves the statistics alone
    conv = m.conv(x).numpy()
    expected = (conv - running[:, None, None]) / np.sqrt(backend.to_numpy(m.bn.running_var)[:, None, None] + 1e-5)
    assert_close(y_eval, expected, rtol=1e-4, atol=1e-5)
    m.train()
    assert all(mod.training for mod in m.modules())


def test_he_init_std_and_seeding():
    tinyseg.manual_seed(0)
    conv = nn.Conv2d(64, 64, 7)
    assert_close(conv.weight.numpy().std(), np.sqrt(2 / (64 * 49)), rtol=0.02)
    assert abs(conv.weight.numpy().mean()) < 0.002
    assert_equal(conv.bias.numpy(), np.zeros(64))
    up = nn.ConvTranspose2d(16, 64, 4)  # weight (C_in, C_out, kh, kw): fan_in = C_out * kh * kw
    assert up.weight.shape == (16, 64, 4, 4)
    assert_close(up.weight.numpy().std(), np.sqrt(2 / (64 * 16)), rtol=0.03)
    tinyseg.manual_seed(0)
    assert_equal(nn.Conv2d(64, 64, 7).weight.numpy(), conv.weight.numpy())
    a = nn.Conv2d(3, 8, 3, rng=np.random.default_rng(5)).weight.numpy()
    b = nn.Conv2d(3, 8, 3, rng=np.random.default_rng(5)).weight.numpy()
    assert_equal(a, b)
    assert (a != nn.Conv2d(3, 8, 3, rng=np.random.default_rng(6)).weight.numpy()).any()
    bn = nn.BatchNorm2d(5)
    assert_equal(bn.weight.numpy(), np.ones(5))
    assert_equal(bn.bias.numpy(), np.zeros(5))


def test_repr_prints_the_layer_tree_like_pytorch():
    assert repr(Block()) == (
        "Block(\n"
        "  (conv): Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (bn): BatchNorm2d(4, eps=1e-05, momentum=0.1)\n"
        "  (head): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Conv2d(4, 2, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0), bias=False)\n"
        "  )\n"
        ")"
    )
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3)"
    assert repr(nn.MaxPool2d(return_indices=False)) == "MaxPool2d(kernel_size=2, stride=2)"
    assert repr(nn.MaxPool2d(return_indices=True)) == "MaxPool2d(kernel_size=2, stride=2, return_indices=True)"
    assert repr(nn.LocalResponseNorm(5)) == "LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=1.0)"


def test_zero_grad_astype_and_a_gradcheck_through_layers():
    m = nn.Sequential(nn.LocalResponseNorm(3, alpha=0.5), nn.BatchNorm2d(3), nn.ReLU()).astype("float64")
    assert all(p.dtype == np.float64 for p in m.parameters()) and m[1].running_var.dtype == np.float64
    m[1].weight.data = backend.to_device(np.array([1.0, -2.0, 0.5]))
    x = tinyseg.tensor(np.random.default_rng(0).permutation(36).reshape(2, 3, 2, 3) * 0.1 - 1.75, requires_grad=True)
    # the parameters are inputs of the check: it nudges them in place; ReLU's kink is left out
    assert gradcheck(lambda x, w, b: m[1](m[0](x)), [x, m[1].weight, m[1].bias], names=["x", "bn.weight", "bn.bias"])
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    assert len(m) == 3 and isinstance(m[2], nn.ReLU) and list(m) == list(m.children())


def test_to_device_keeps_arrays_on_the_active_backend():
    m = Block().to_device()
    xp = backend.get_xp()
    assert all(backend.xp_of(p.data) is xp for p in m.parameters())
    assert all(backend.xp_of(b) is xp for b in m.buffers())


def test_dropout_module_modes_and_seeded_masks():
    d = nn.Dropout(0.5)
    x = tinyseg.tensor(np.ones((4, 16)))
    with tinyseg.random.fork_rng(3):
        a = d(x).numpy()
    with tinyseg.random.fork_rng(3):
        assert_equal(d(x).numpy(), a)
    assert set(np.unique(a)) <= {0.0, 2.0} and (a == 0).any()
    d.eval()
    assert d(x) is x
    with pytest.raises(ValueError, match="Dropout: p must be in"):
        nn.Dropout(2.0)


# ---- layers against torch.nn, same weights ------------------------------------------------------


def _copy_into_torch(ours, theirs, torch):
    theirs.load_state_dict({k: torch.from_numpy(backend.to_numpy(v)) for k, v in ours.state_dict().items()},
                           strict=False)


@pytest.mark.torch
@pytest.mark.parametrize("transpose", [False, True])
def test_conv_layers_match_torch(transpose):
    torch = import_torch(reason="torch.nn is the reference for the layers")
    if transpose:
        ours = nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1, output_padding=1)
        theirs = torch.nn.ConvTranspose2d(3, 5, 4, stride=2, padding=1, output_padding=1)
    else:
        ours, theirs = nn.Conv2d(3, 5, 3, stride=2, padding=1), torch.nn.Conv2d(3, 5, 3, stride=2, padding=1)
    ours.bias.data = backend.to_device(np.random.default_rng(0).standard_normal(5).astype(np.float32))
    _copy_into_torch(ours, theirs, torch)
    x = np.random.default_rng(1).standard_normal((2, 3, 7, 6)).astype(np.float32)
    t, tt = tinyseg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(t), theirs(tt)
    g = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    assert_close(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert_close(t.grad, tt.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_close(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert_close(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.torch
def test_pool_unpool_and_batch_norm_layers_match_torch():
    torch = import_torch(reason="torch.nn is the reference for the layers")
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7)).astype(np.float32)
    out, idx = nn.MaxPool2d(2, return_indices=True)(tinyseg.tensor(x))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.from_numpy(x))
    assert_equal(out.numpy(), t_out.numpy())
    assert idx.dtype == np.uint8 and idx.shape == (2, 3, 2, 3)
    up = nn.MaxUnpool2d(2)(out, idx, output_size=(5, 7))
    t_up = torch.nn.MaxUnpool2d(2)(t_out, t_idx, output_size=(5, 7))
    assert_equal(up.numpy(), t_up.numpy())

    ours, theirs = nn.BatchNorm2d(3, momentum=0.2), torch.nn.BatchNorm2d(3, momentum=0.2)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        assert_close(ours(tinyseg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    theirs_state = {k: v.numpy() for k, v in theirs.state_dict().items() if k != "num_batches_tracked"}
    assert list(theirs_state) == list(ours.state_dict())
    for k, v in ours.state_dict().items():
        assert_close(v, theirs_state[k], rtol=1e-5, err_msg=k)


def test_eval_mode_puts_every_layer_back_also_after_an_exception():
    model = nn.Sequential(nn.BatchNorm2d(2), nn.Dropout(0.5))
    model[1].eval()  # a mixed state
    with pytest.raises(RuntimeError), nn.eval_mode(model):
        assert not any(m.training for m in model.modules())
        raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == [True, True, False]
