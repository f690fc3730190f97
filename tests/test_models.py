"""The models: the two blocks they are built from, registry, exact parameter counts, shapes at
360x480 and at odd sizes, Bayesian SegNet's Monte Carlo sampling, FCN-Basic's decoder, loading
VGG16 weights.

PyTorch comparisons (same outputs and gradients as a torch.nn twin) are in test_models_torch.py.
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyseg
from tinyseg.engine import backend
from tinyseg import interop, models, nn
from tinyseg.models import DecoderBlock, EncoderBlock
from .helpers import assert_close, assert_equal

NAMES = ["bayesian_segnet_basic", "fcn_basic", "segnet", "segnet_basic"]
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))  # (block, convs, channels)


def _image(h: int, w: int, n: int = 1, seed: int = 0) -> tinyseg.Tensor:
    return tinyseg.tensor(np.random.default_rng(seed).uniform(0, 1, (n, 3, h, w)).astype("float32"))


@pytest.fixture(scope="module")
def built():
    """One instance of every model (SegNet's 29M weights take a moment to draw), seeded."""
    tinyseg.manual_seed(0)
    return {name: models.create(name) for name in NAMES}


# ---- blocks -----------------------------------------------------------------------------------
def test_encoder_block_returns_pooled_map_indices_and_size():
    tinyseg.manual_seed(0)
    block = EncoderBlock([3, 8, 6], 3)  # two convs 3x3: 3 -> 8 -> 6 channels
    assert [n for n, _ in block.named_parameters()] == [
        "convs.0.conv.weight", "convs.0.conv.bias", "convs.0.bn.weight", "convs.0.bn.bias",
        "convs.1.conv.weight", "convs.1.conv.bias", "convs.1.bn.weight", "convs.1.bn.bias"]
    x = _image(9, 13)
    with tinyseg.no_grad():
        out, indices, size = block.eval()(x)
        features = block.convs(x)
        assert (backend.to_numpy(features.data) >= 0).all()  # conv -> batch norm -> ReLU
        pooled, expected = tinyseg.functional.max_pool2d_with_indices(features, 2)
    assert out.shape == (1, 6, 4, 6) and size == (9, 13) and indices.dtype == np.uint8
    assert_equal(out.data, pooled.data)
    assert_equal(indices.data, expected.data)
    assert block.dropout is None and not models.has_dropout(block)


def test_decoder_block_unpools_to_the_encoders_size_relu_optional():
    tinyseg.manual_seed(0)
    encoder = EncoderBlock([3, 4], 3).eval()
    x = _image(9, 13)
    with tinyseg.no_grad():
        pooled, indices, size = encoder(x)
        for relu in (False, True):
            decoder = DecoderBlock([4, 5], 3, relu=relu).eval()
            out = decoder(pooled, indices, size)
            assert out.shape == (1, 5, 9, 13)
            unpooled = tinyseg.functional.max_unpool2d(pooled, indices, 2, output_size=size)
            by_hand = decoder.convs[0].bn(decoder.convs[0].conv(unpooled))
            expected = backend.to_numpy(by_hand.data)
            assert_equal(out.data, np.maximum(expected, 0) if relu else expected)
    assert (expected < 0).any()
    with pytest.raises(ValueError, match="at least one conv"):
        DecoderBlock([4], 3)


def test_blocks_take_dropout_after_pooling_and_after_the_convs():
    encoder, decoder = EncoderBlock([3, 4], 3, dropout=0.25), DecoderBlock([4, 4], 3, dropout=0.5)
    assert [(n, m.p) for n, m in (*encoder.named_modules(), *decoder.named_modules())
            if isinstance(m, nn.Dropout)] == [("dropout", 0.25), ("dropout", 0.5)]


def test_models_are_built_from_blocks_named_like_the_figure(built):
    children = {name: [(n, type(m).__name__) for n, m in model.named_children()] for name, model in built.items()}
    basic = ([("norm", "LocalResponseNorm")] + [(f"enc{i}", "EncoderBlock") for i in range(1, 5)]
             + [(f"dec{i}", "DecoderBlock") for i in range(4, 0, -1)] + [("classifier", "Conv2d")])
    assert children["segnet_basic"] == children["bayesian_segnet_basic"] == basic
    assert children["segnet"] == ([(f"enc{i}", "EncoderBlock") for i in range(1, 6)]
                                  + [(f"dec{i}", "DecoderBlock") for i in range(5, 0, -1)] + [("classifier", "Conv2d")])
    encoders = [p for i in range(1, 5) for p in ((f"enc{i}", "EncoderBlock"), (f"score{i}", "Conv2d"))]
    decoders = [(f"upscore{i}", "Upsample2x") for i in range(4, 0, -1)]
    assert children["fcn_basic"] == [("norm", "LocalResponseNorm")] + encoders + [("score_pool4", "Conv2d")] + decoders
    segnet = built["segnet"]
    assert [len(b.convs) for b in (segnet.enc1, segnet.enc2, segnet.enc3, segnet.enc4, segnet.enc5)] == [2, 2, 3, 3, 3]
    assert [len(b.convs) for b in (segnet.dec5, segnet.dec4, segnet.dec3, segnet.dec2, segnet.dec1)] == [3, 3, 3, 2, 1]
    relus = {name: {m.relu for n, m in model.named_modules() if isinstance(m, models.ConvBN) and n.startswith("dec")}
             for name, model in built.items() if name != "fcn_basic"}
    assert relus == {"segnet": {True}, "segnet_basic": {False}, "bayesian_segnet_basic": {False}}


# ---- registry ---------------------------------------------------------------------------------
def test_registry_lists_creates_and_records_config(built):
    assert models.available() == NAMES
    for name, model in built.items():
        assert model.config["name"] == name
        assert model.config["kwargs"]["num_classes"] == 11
    again = models.create("segnet_basic", **built["segnet_basic"].config["kwargs"])
    assert type(again) is models.SegNetBasic
    small = models.create("fcn_basic", num_classes=5, in_channels=1)
    assert small.config == {"name": "fcn_basic", "kwargs": {"num_classes": 5, "in_channels": 1}}


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="segnett.*bayesian_segnet_basic, fcn_basic, segnet, segnet_basic"):
        models.create("segnett")


# ---- parameter counts -------------------------------------------------------------------------
def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_out * c_in * k * k + (c_out if bias else 0)


def test_segnet_basic_has_the_papers_parameter_count(built):
    assert models.count_parameters(built["segnet_basic"]) == 1_416_587
    assert models.count_parameters(built["bayesian_segnet_basic"]) == 1_416_587  # dropout adds none
    # by hand: 8 convs 7x7 and 8 batch norms (scale + shift) of 64 channels, a 1x1 classifier
    by_hand = _conv(3, 64, 7) + 7 * _conv(64, 64, 7) + 8 * 2 * 64 + _conv(64, 11, 1)
    assert by_hand == 1_416_587
    assert models.count_parameters(models.SegNetBasic(num_classes=12)) == 1_416_587 + 65


def test_segnet_and_fcn_basic_parameter_counts(built):
    widths = [w for _, n, w in VGG16_BLOCKS for _ in range(n)]  # 64 64 128 128 256 x3 512 x6
    encoder = sum(_conv(c_in, c_out, 3) + 2 * c_out for c_in, c_out in zip([3] + widths[:-1], widths))
    outs = [512, 512, 512, 512, 512, 256, 256, 256, 128, 128, 64, 64]  # conv5_3_D ... conv1_2_D
    ins = [512] + outs[:-1]
    decoder = sum(_conv(c_in, c_out, 3) + 2 * c_out for c_in, c_out in zip(ins, outs)) + _conv(64, 11, 3)
    assert encoder == 14_723_136  # VGG16's 14,714,688 conv weights + 8,448 batch-norm parameters
    assert models.count_parameters(built["segnet"]) == encoder + decoder == 29_449_355
    # FCN-Basic: SegNet-Basic's encoder, 5 1x1 score convs, 4 bilinear 4x4 transposed convs (no bias)
    fcn = _conv(3, 64, 7) + 3 * _conv(64, 64, 7) + 4 * 2 * 64 + 5 * _conv(64, 11, 1) + 4 * 11 * 11 * 16
    assert models.count_parameters(built["fcn_basic"]) == fcn == 623_607


def test_count_parameters_skips_frozen_parameters_and_buffers():
    model = models.SegNetBasic()
    model.classifier.bias.requires_grad = False
    assert models.count_parameters(model) == 1_416_587 - 11
    assert sum(b.size for b in model.buffers()) == 8 * 2 * 64  # running stats are not parameters


# ---- shapes -----------------------------------------------------------------------------------
def test_camvid_size_forward_segnet_basic(built):
    """360 = 45 x 8: the fourth pooling floors 45 to 22, and
    unpooling must give 45 back."""
    model = built["segnet_basic"].eval()
    with tinyseg.no_grad():
        deepest, skips = model.encode(_image(360, 480))
        assert deepest.shape == (1, 64, 22, 30)
        assert [size for _, size in skips] == [(360, 480), (180, 240), (90, 120), (45, 60)]
        assert [idx.shape[2:] for idx, _ in skips] == [(180, 240), (90, 120), (45, 60), (22, 30)]
        assert all(idx.dtype == np.uint8 for idx, _ in skips)
        # what SegNet-Basic keeps for its decoders at CamVid size: 64 x 57,360 one-byte indices
        assert sum(idx.data.nbytes for idx, _ in skips) == 64 * (180 * 240 + 90 * 120 + 45 * 60 + 22 * 30)
        out = model.decode(deepest, skips)
    assert out.shape == (1, 11, 360, 480) and out.dtype == np.float32
    assert np.isfinite(backend.to_numpy(out.data)).all()


@pytest.mark.parametrize("name", ["bayesian_segnet_basic", "fcn_basic", "segnet"])
def test_camvid_size_forward_other_models(built, name):
    model = built[name].eval()
    with tinyseg.no_grad():
        out = model(_image(360, 480))
    assert out.shape == (1, 11, 360, 480) and out.dtype == np.float32
    assert np.isfinite(backend.to_numpy(out.data)).all()


@pytest.mark.parametrize("name", ["segnet_basic", "fcn_basic"])
@given(h=st.integers(16, 40), w=st.integers(16, 40))
def test_any_size_comes_back_at_full_resolution(built, name, h, w):
    with tinyseg.no_grad():
        assert built[name].eval()(_image(h, w)).shape == (1, 11, h, w)


@pytest.mark.parametrize("name", NAMES)
def test_odd_sizes(built, name):
    """Heights and widths not divisible by 16 (or 32): 36x52 forward; 45x61 forward and backward,
    where every parameter gets a finite gradient."""
    model = built[name].train()
    with tinyseg.no_grad():
        assert model(_image(36, 52)).shape == (1, 11, 36, 52)
    model.zero_grad()
    out = model(_image(45, 61))
    assert out.shape == (1, 11, 45, 61)
    g = np.random.default_rng(1).standard_normal(out.shape).astype("float32")
    (out * tinyseg.tensor(g)).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.isfinite(backend.to_numpy(p.grad)).all(), pname
    model.zero_grad()


def test_segnet_basic_decoder_has_no_relu(built):
    """The classifier sees batch-norm outputs of both signs: no ReLU after the decoders."""
    model = built["segnet_basic"].eval()
    seen = {}
    classifier = model.classifier
    original = type(classifier).forward

    def spy(x):
        seen["x"] = backend.to_numpy(x.data)
        return original(classifier, x)

    classifier.forward = spy
    try:
        with tinyseg.no_grad():
            model(_image(36, 52))
    finally:
        del classifier.forward
    assert (seen["x"] < 0).mean() > 0.2 and (seen["x"] > 0).mean() > 0.2


def test_wrong_input_shapes_name_the_model_and_shape(built):
    with pytest.raises(ValueError, match=r"SegNetBasic.*\(N, 3, H, W\).*\(1, 4, 32, 32\)"):
        built["segnet_basic"](tinyseg.tensor(np.zeros((1, 4, 32, 32), "float32")))
    with pytest.raises(ValueError, match=r"SegNet.*at least 32"):
        built["segnet"](_image(16, 64))


# ---- Bayesian SegNet-Basic --------------------------------------------------------------------
def test_bayesian_dropout_sits_where_the_caffe_model_puts_it():
    """After pool3 and pool4 (the Caffe model's encdrop3, encdrop4) and after decoders 4 and 3
    (decdrop4, decdrop3): SegNet-Basic with dropout rates (0, 0, 0.5, 0.5)."""
    model = models.bayesian_segnet_basic()
    assert type(model) is models.SegNetBasic
    drops = {name: m.p for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
    assert drops == {"enc3.dropout": 0.5, "enc4.dropout": 0.5, "dec4.dropout": 0.5, "dec3.dropout": 0.5}
    assert model.config == {"name": "bayesian_segnet_basic", "kwargs": {"num_classes": 11, "in_channels": 3, "p": 0.5}}
    same = models.SegNetBasic(dropout=(0, 0, 0.5, 0.5))
    assert {n: m.p for n, m in same.named_modules() if isinstance(m, nn.Dropout)} == drops
    assert same.config == {"name": "segnet_basic", "kwargs": {"num_classes": 11, "in_channels": 3,
                                                              "dropout": [0.0, 0.0, 0.5, 0.5]}}
    assert models.create(same.config["name"], **same.config["kwargs"]).config == same.config  # as a checkpoint does
    assert models.has_dropout(model) and not models.has_dropout(models.SegNetBasic())
    with pytest.raises(ValueError, match="4 rates"):
        models.SegNetBasic(dropout=(0.5, 0.5))
    plain = models.SegNetBasic()
    plain.load_state_dict(model.state_dict())  # same parameters, same names
    x = _image(32, 48)
    with tinyseg.no_grad():
        a, b = model.eval()(x), plain.eval()(x)
        assert_equal(backend.to_numpy(a.data), backend.to_numpy(b.data))
        model.train()
        for m in model.modules():  # train-mode batch norm would also differ; isolate dropout
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        assert not np.array_equal(backend.to_numpy(model(x).data), backend.to_numpy(model(x).data))


@pytest.fixture(scope="module")
def bayesian():
    tinyseg.manual_seed(3)
    return models.create("bayesian_segnet_basic", num_classes=5)


def test_mc_predict_is_reproducible_with_a_seeded_generator(bayesian):
    x = _image(16, 24, n=2)
    a = models.mc_predict(bayesian, x, samples=3, generator=backend.default_rng(7))
    b = models.mc_predict(bayesian, x, samples=3, generator=backend.default_rng(7))
    c = models.mc_predict(bayesian, x, samples=3, generator=backend.default_rng(8))
    for field in ("mean", "prediction", "variance", "entropy"):
        assert_equal(backend.to_numpy(getattr(a, field)), backend.to_numpy(getattr(b, field)))
    assert not np.array_equal(backend.to_numpy(a.mean), backend.to_numpy(c.mean))


def test_mc_predict_outputs_are_probabilities_and_uncertainties(bayesian):
    x = _image(16, 24, n=2)
    bayesian.train()
    before = {k: backend.to_numpy(v) for k, v in bayesian.state_dict().items()}
    out = models.mc_predict(bayesian, x, samples=5, generator=backend.default_rng(0))
    mean, var, ent = (backend.to_numpy(v) for v in (out.mean, out.variance, out.entropy))
    assert mean.shape == (2, 5, 16, 24) and var.shape == ent.shape == (2, 16, 24) and out.samples == 5
    assert_close(mean.sum(axis=1), 1.0, rtol=1e-5)
    assert_equal(backend.to_numpy(out.prediction), mean.argmax(axis=1))
    assert (var >= -1e-7).all() and (var <= 0.25 + 1e-6).all() and var.max() > 0  # a [0, 1] variable
    assert (ent >= -1e-6).all() and (ent <= math.log(5) + 1e-5).all()
    # the same numbers by hand: sample with the same seed, one pass at a time
    drops = [m for m in bayesian.modules() if isinstance(m, nn.Dropout)]
    bayesian.eval()
    for m in drops:
        m.train()
    with tinyseg.no_grad(), tinyseg.random.fork_rng(generator=backend.default_rng(0)):
        probs = np.stack([backend.to_numpy(tinyseg.functional.activation.softmax(bayesian(x), dim=1).data)
                          for _ in range(5)])
    # the model uncertainty (Kendall et al.): each class's variance over the samples, averaged over the classes
    per_class = ((probs - probs.mean(axis=0)) ** 2).mean(axis=0)  # (N, K, H, W), the biased variance
    assert_close(mean, probs.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert_close(var, per_class.mean(axis=1), rtol=1e-4, atol=1e-7)
    assert_close(ent, -(mean * np.log(mean)).sum(axis=1), rtol=1e-4, atol=1e-6)
    # modes restored, running statistics untouched (batch norm ran in eval mode)
    bayesian.train()
    models.mc_predict(bayesian, x, samples=2)
    assert all(m.training for m in bayesian.modules())
    after = bayesian.state_dict()
    assert all(np.array_equal(before[k], backend.to_numpy(after[k])) for k in before)


def test_mc_predict_needs_dropout():
    with pytest.raises(ValueError, match="SegNetBasic has no Dropout"):
        models.mc_predict(models.SegNetBasic(), _image(32, 32))


# ---- FCN-Basic --------------------------------------------------------------------------------
def test_bilinear_kernel_upsamples_a_ramp_linearly():
    w = models.bilinear_kernel(2)
    assert w.shape == (2, 2, 4, 4) and w[0, 1].sum() == 0 == w[1, 0].sum()
    assert_close(w[0, 0][1], [0.1875, 0.5625, 0.5625, 0.1875])
    model = models.FCNBasic(num_classes=2)
    x = tinyseg.tensor(np.tile(np.arange(6.0, dtype="float32"), (1, 2, 6, 1)))  # (1, 2, 6, 6), ramp along W
    up = model.upscore1(x, output_size=(12, 12))  # kernel 4, stride 2, pad 1: 6 -> 12, interior is linear
    assert model.upscore1(x, output_size=(13, 12)).shape == (1, 2, 13, 12)  # 2h + 1 for odd sizes
    row = backend.to_numpy(up.data)[0, 0, 5]
    assert_close(np.diff(row[1:-1]), 0.5, atol=1e-6)


def test_decoder_storage_indices_versus_feature_maps(built):
    """SegNet keeps uint8 indices (64 channels, pooled sizes); FCN keeps float32 score maps
    (11 channels, encoder sizes). Sizes at 45x61: 45x61 -> 22x30 -> 11x15 -> 5x7 -> 2x3."""
    x = _image(45, 61)
    sizes = [(45, 61), (22, 30), (11, 15), (5, 7), (2, 3)]
    pooled = sum(h * w for h, w in sizes[1:])
    full = sum(h * w for h, w in sizes[:-1])
    assert models.decoder_storage_bytes(built["segnet_basic"], x) == 64 * pooled * 1
    assert models.decoder_storage_bytes(built["fcn_basic"], x) == 11 * full * 4
    built["fcn_basic"].train()
    models.decoder_storage_bytes(built["fcn_basic"], x)
    assert built["fcn_basic"].training and built["fcn_basic"].enc1.convs[0].bn.training


# ---- VGG16 encoder weights ------------------------------------------------------------------
def _fake_vgg16(batch_norm: bool, seed: int = 0) -> dict[str, np.ndarray]:
    """A state_dict with torchvision's vgg16 (or vgg16_bn) layout and random values."""
    rng = np.random.default_rng(seed)
    state, i, c_in = {}, 0, 3
    for _, n, width in VGG16_BLOCKS:
        for _ in range(n):
            state[f"features.{i}.weight"] = rng.standard_normal((width, c_in, 3, 3)).astype("float32")
            state[f"features.{i}.bias"] = rng.standard_normal(width).astype("float32")
            if batch_norm:
                i += 1
                for field in ("weight", "bias", "running_mean", "running_var"):
                    state[f"features.{i}.{field}"] = rng.uniform(0.5, 1.5, width).astype("float32")
                state[f"features.{i}.num_batches_tracked"] = np.array(7)
            i += 2  # conv (+ bn), relu
            c_in = width
        i += 1  # pool
    state["classifier.0.weight"] = np.zeros((4, 8), "float32")  # ignored
    return state


@pytest.mark.parametrize("batch_norm", [False, True])
def test_load_vgg16_encoder_maps_the_13_convolutions_in_order(built, batch_norm):
    model = built["segnet"]
    state = _fake_vgg16(batch_norm)
    untouched = backend.to_numpy(model.classifier.weight.data).copy()
    names = interop.load_vgg16_encoder(model, state)  # a dict: no PyTorch needed
    assert len(names) == (13 * 6 if batch_norm else 26)
    assert names[:2] == ["enc1.convs.0.conv.weight", "enc1.convs.0.conv.bias"]
    last = 40 if batch_norm else 28  # vgg16: conv, relu (, pool); vgg16_bn: conv, bn, relu (, pool)
    assert_equal(backend.to_numpy(model.enc1.convs[0].conv.weight.data), state["features.0.weight"])
    assert_equal(backend.to_numpy(model.enc5.convs[2].conv.bias.data), state[f"features.{last}.bias"])
    if batch_norm:
        assert_equal(backend.to_numpy(model.enc5.convs[2].bn.running_var), state["features.41.running_var"])
    assert_equal(backend.to_numpy(model.classifier.weight.data), untouched)


def test_load_vgg16_encoder_rejects_other_networks(built):
    state = _fake_vgg16(False)
    del state["features.28.weight"], state["features.28.bias"]
    with pytest.raises(ValueError, match="13 convolutions.*found 12"):
        interop.load_vgg16_encoder(built["segnet"], state)
    state = _fake_vgg16(False)
    state["features.0.weight"] = np.zeros((64, 4, 3, 3), "float32")  # a 4-channel input
    with pytest.raises(ValueError, match=r"enc1\.convs\.0\.conv\.weight: VGG16 \(64, 4, 3, 3\) vs model \(64, 3, 3, "):
        interop.load_vgg16_encoder(built["segnet"], state)


# ---- PyTorch stays in tinyseg/interop ---------------------------------------------------------
def test_only_interop_imports_torch():
    """Everything that touches PyTorch is in tinyseg/interop (the bench included: it times the
    twins through interop), and importing tinyseg, its models, checkpoints or interop does not import torch."""
    root = Path(tinyseg.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("interop/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            found += [f"{rel}: import {n}" for n in names if n.split(".")[0] == "torch"]
    assert not found, found
    code = "import sys, tinyseg, tinyseg.models, tinyseg.io.checkpoint, tinyseg.interop; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
