"""tinyseg's models against their PyTorch twins: same parameter names and counts, same outputs
and gradients (train and eval mode), state dicts that move both ways
(tinyseg.interop.from_torch_state_dict / to_torch_state_dict), VGG16 files.

The twins (tinyseg/interop/twins.py; ``python -m tinyseg.bench --compare torch`` times the same
ones) run each model's own code on torch.nn layers under the same names: tinyseg's parameter
"dec3.convs.0.bn.running_var" is TorchSegNetBasic().dec3.convs[0].bn.running_var. So these
tests hold every op of tinyseg (convolution, batch norm, pooling, unpooling, LRN, transposed
convolution) against PyTorch's, inside the models.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from tinyseg import interop, models
from tinyseg.functional.pool import indices_to_torch
from tinyseg.interop import from_torch_state_dict, to_torch_state_dict
from .helpers import assert_close, assert_equal, import_torch

torch = import_torch(reason="PyTorch is the reference these tests compare against")
pytestmark = pytest.mark.torch
tnn = torch.nn


TorchSegNetBasic = interop.TorchSegNetBasic
TorchSegNet = interop.TorchSegNet
TorchFCNBasic = interop.TorchFCNBasic

TWINS = {"segnet_basic": (TorchSegNetBasic, (1, 3, 32, 48)), "segnet": (TorchSegNet, (1, 3, 32, 32)),
         "fcn_basic": (TorchFCNBasic, (1, 3, 45, 61))}
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))  # (block, convs, channels)


@pytest.fixture(scope="module")
def pairs():
    """name -> (tinyseg model, torch twin), built once (SegNet has 29M weights); each test copies
    the weights it needs from one to the other first, so the tests do not depend on each other."""
    tinyseg.manual_seed(0)
    torch.manual_seed(0)
    return {name: (models.create(name, num_classes=11), twin(num_classes=11)) for name, (twin, _) in TWINS.items()}


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else backend.to_numpy(t)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_same_parameter_names_order_and_counts(pairs, name):
    ours, twin = pairs[name]
    assert type(twin) is interop.twin_class(name) and type(twin).__name__ == interop.TWINS[name]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert sorted(ours.state_dict()) == sorted(k for k in twin.state_dict() if not k.endswith("num_batches_tracked"))
    assert models.count_parameters(ours) == sum(p.numel() for p in twin.parameters())
    expected = {"segnet_basic": 1_416_587, "segnet": 29_449_355, "fcn_basic": 623_607}[name]
    assert models.count_parameters(ours) == expected


@pytest.mark.parametrize("name", sorted(TWINS))
def test_train_mode_outputs_gradients_and_running_stats_match(pairs, name):
    """float64, so that no near-tie in max pooling can pick different windows in the two."""
    ours, twin = pairs[name]
    ours.astype("float64"), twin.double()
    try:
        twin.load_state_dict(to_torch_state_dict(ours))  # strict: every name matches
        x = np.random.default_rng(1).uniform(0, 1, TWINS[name][1])
        ours.train(), twin.train()
        ours.zero_grad(), twin.zero_grad()
        out, tout = ours(tinyseg.tensor(x)), twin(torch.tensor(x))
        assert_close(_numpy(out.data), _numpy(tout), rtol=1e-9, atol=1e-9)
        g = np.random.default_rng(2).standard_normal(out.shape)
        (out * tinyseg.tensor(g)).sum().backward()
        (tout * torch.tensor(g)).sum().backward()
        theirs = dict(twin.named_parameters())
        # conv biases in front of train-mode batch norm have gradient 0 (up to roundoff): compare on
        # the scale of the largest gradient, not their own
        scale = max(float(np.abs(_numpy(p.grad)).max()) for p in twin.parameters())
        for pname, p in ours.named_parameters():
            _assert_close(_numpy(p.grad), _numpy(theirs[pname].grad), 1e-7, 1e-10 * scale, pname)
        tbuffers = dict(twin.named_buffers())
        for key, value in ours.named_buffers():  # the running statistics, updated by the batch
            _assert_close(_numpy(value), _numpy(tbuffers[key]), 1e-9, 1e-12, key)
    finally:
        ours.zero_grad(), twin.zero_grad()
        ours.astype("float32"), twin.float()


def _assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, name: str) -> None:
    """assert_allclose's test, |a - e| <= atol + rtol |e|, fast enough for SegNet's 29M gradients."""
    assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
    err = np.abs(actual - expected) - rtol * np.abs(expected)
    worst = int(err.argmax())
    assert err.flat[worst] <= atol, (f"{name}: {actual.flat[worst]} vs {expected.flat[worst]} at flat index {worst} "
                                     f"(rtol {rtol}, atol {atol:.3g})")


def _torch_indices(skips) -> list:
    """tinyseg's within-window pooling indices as PyTorch's flat ones, per encoder."""
    return [torch.from_numpy(_numpy(indices_to_torch(idx, 2, input_size=size).data)) for idx, size in skips]


@pytest.mark.parametrize("name", sorted(TWINS))
def test_eval_mode_float32_outputs_match(pairs, name):
    """float32 within float32 tolerance. Two float32 implementations can resolve a near-tie in a
    pooling window differently (values 1e-7 apart), and one such flip moves a value to another
    pixel; so the twin unpools with tinyseg's pooling decisions here (the float64 tests above
    check those decisions). FCN-Basic needs no such help: its pooled values do not move."""
    ours, twin = pairs[name]
    with torch.no_grad():
        for m in twin.modules():  # non-trivial running statistics, copied to tinyseg
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    from_torch_state_dict(ours, twin.state_dict())
    ours.eval(), twin.eval()
    x = np.random.default_rng(4).uniform(0, 1, TWINS[name][1]).astype("float32")
    with tinyseg.no_grad(), torch.no_grad():
        deepest, skips = ours.encode(tinyseg.tensor(x))
        out = _numpy(ours.decode(deepest, skips).data)
        if name == "fcn_basic":
            ref = _numpy(twin(torch.tensor(x)))
        else:  # the twin's own pooled values, unpooled where tinyseg's pooling put them
            twin_deepest, twin_skips = twin.encode(torch.tensor(x))
            ref = _numpy(twin.decode(twin_deepest, list(zip(_torch_indices(skips), [s for _, s in twin_skips]))))
    assert out.dtype == np.float32
    assert_close(out, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


def test_torch_trained_weights_run_in_tinyseg_and_back():
    torch.manual_seed(0)
    twin = TorchSegNetBasic(num_classes=5)
    ours = from_torch_state_dict(models.SegNetBasic(num_classes=5), twin.state_dict())
    for key, value in twin.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert_equal(_numpy(ours.state_dict()[key]), _numpy(value))
    back = TorchSegNetBasic(num_classes=5)
    back.load_state_dict(to_torch_state_dict(ours))
    for key, value in twin.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    with pytest.raises(RuntimeError, match=r"size mismatch for classifier\.weight"):
        from_torch_state_dict(models.SegNetBasic(num_classes=4), twin.state_dict())
    wrong = {("encoder." + k): v for k, v in twin.state_dict().items()}
    with pytest.raises(RuntimeError, match=r"missing key\(s\): enc1\.convs\.0\.conv\.weight"):
        from_torch_state_dict(models.SegNetBasic(num_classes=5), wrong)


def test_load_vgg16_encoder_from_a_torch_file(pairs, tmp_path):
    """A file laid out like torchvision's vgg16_bn state_dict (random values, no download); the
    plain vgg16 layout is tested with a dict in test_models.py."""
    batch_norm = True
    layers, c = [], 3
    for _, n, w in VGG16_BLOCKS:
        for _ in range(n):
            layers += [tnn.Conv2d(c, w, 3, padding=1)] + ([tnn.BatchNorm2d(w)] if batch_norm else []) + [tnn.ReLU()]
            c = w
        layers.append(tnn.MaxPool2d(2))
    vgg = tnn.Module()
    vgg.features = tnn.Sequential(*layers)
    vgg.classifier = tnn.Sequential(tnn.Linear(8, 4))
    if batch_norm:
        for m in vgg.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "vgg16.pth"
    torch.save(vgg.state_dict(), path)
    ours = pairs["segnet"][0]
    interop.load_vgg16_encoder(ours, str(path))
    convs = [m for m in vgg.features if isinstance(m, tnn.Conv2d)]
    bns = [m for m in vgg.features if isinstance(m, tnn.BatchNorm2d)]
    units = [unit for block in (ours.enc1, ours.enc2, ours.enc3, ours.enc4, ours.enc5) for unit in block.convs]
    assert len(units) == len(convs) == 13
    for unit, conv, bn in zip(units, convs, bns):
        assert_equal(_numpy(unit.conv.weight.data), _numpy(conv.weight))
        if batch_norm:
            assert_equal(_numpy(unit.bn.running_var), _numpy(bn.running_var))


# ---- the twins themselves ---------------------------------------------------------------------
def test_twins_run_the_models_code_on_torch_layers(pairs):
    """Same module tree, each tinyseg layer replaced by its torch.nn namesake; blocks and models
    keep tinyseg's methods."""
    ours, twin = pairs["segnet_basic"]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in twin.named_modules()]
    assert isinstance(twin.enc1.convs[0].conv, tnn.Conv2d) and isinstance(twin.enc1.pool, tnn.MaxPool2d)
    assert isinstance(twin.dec1.unpool, tnn.MaxUnpool2d) and isinstance(twin.norm, tnn.LocalResponseNorm)
    assert type(twin).encode is models.SegNetBasic.encode and type(twin.enc1).__name__ == "TorchEncoderBlock"
    assert twin.in_channels == 3 and twin.dec1.convs[0].relu is False and twin.enc1.dropout is None
    assert isinstance(pairs["fcn_basic"][1].upscore1, tnn.ConvTranspose2d)
    with pytest.raises(ValueError, match="no PyTorch twin for model 'bayesian_segnet_basic'"):
        interop.twin_class("bayesian_segnet_basic")
    bayes = interop.from_tinyseg(models.create("bayesian_segnet_basic", num_classes=5))  # mirrored all the same
    assert {n: m.p for n, m in bayes.named_modules() if isinstance(m, tnn.Dropout)} == {
        "enc3.dropout": 0.5, "enc4.dropout": 0.5, "dec4.dropout": 0.5, "dec3.dropout": 0.5}
    with pytest.raises(ValueError, match=r"TorchSegNetBasic: expected input \(N, 3, H, W\)"):
        twin(torch.zeros(1, 4, 32, 32))
