"""tinyseg.viz: overlays and legends in any palette, and the autograd graph drawn from the engine's public API."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import tinyseg
from tinyseg.data import CAMVID_PALETTE
from tinyseg.viz import draw_graph, graph_dot, graph_nodes, legend, overlay

matplotlib.use("Agg")


def _expression():
    x = tinyseg.tensor(np.ones((2, 3)), requires_grad=True)
    w = tinyseg.tensor(np.ones(3), requires_grad=True)
    loss = ((x * w).exp() + x).sum()  # x is used twice: one node, two arrows out
    return x, w, loss


def test_graph_nodes_lists_each_tensor_once_inputs_first():
    x, w, loss = _expression()
    nodes = graph_nodes(loss, names={"x": x, "w": w, "loss": loss})
    assert [n.label for n in nodes] == ["x\n(2, 3)", "w\n(3,)", "Mul\n(2, 3)", "Exp\n(2, 3)", "Add\n(2, 3)",
                                        "loss = Sum\n()"]
    assert nodes[0].tensor is x and nodes[-1].tensor is loss
    assert [n.inputs for n in nodes] == [(), (), (0, 1), (2,), (3, 0), (4,)]
    assert [n.depth for n in nodes] == [0, 0, 1, 2, 3, 4]
    assert graph_nodes(x)[0].label == "leaf\n(2, 3)"


def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_input():
    x, w, loss = _expression()
    ax = draw_graph(loss, names={"x": x, "w": w})
    boxes = [t.get_text() for t in ax.texts if t.get_text()]
    assert sorted(boxes) == sorted(["x\n(2, 3)", "w\n(3,)", "Mul\n(2, 3)", "Exp\n(2, 3)", "Add\n(2, 3)", "Sum\n()"])
    arrows = [t for t in ax.texts if not t.get_text()]
    assert len(arrows) == 6  # x->Mul, w->Mul, Mul->Exp, Exp->Add, x->Add, Add->Sum
    matplotlib.pyplot.close(ax.figure)


def test_graph_dot_and_a_freed_graph():
    x, w, loss = _expression()
    dot = graph_dot(loss, names={"x": x})
    assert dot.startswith("digraph") and dot.count("->") == 6 and 'label="x\\n(2, 3)"' in dot
    loss.backward()  # frees the graph: only the root is left
    assert len(graph_nodes(loss)) == 1


def test_overlay_and_legend_take_any_palette():
    image = np.full((2, 3, 3), 100, np.uint8)
    label = np.array([[0, 1, 1], [0, 0, 1]])
    palette = np.array([[0, 0, 0], [200, 50, 250]], np.uint8)
    out = overlay(image, label, alpha=0.5, palette=palette)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert (out[0, 1] == [150, 75, 175]).all() and (out[0, 0] == [50, 50, 50]).all()
    default = overlay(image, label)  # CamVid's colours, as before
    assert (default[0, 0] == np.round(0.5 * CAMVID_PALETTE[0] + 50)).all()
    key = legend(["road", "tree"], palette, width=200)
    assert key.ndim == 3 and key.shape[1] == 200 and key.dtype == np.uint8
    assert (key.reshape(-1, 3) == palette[1]).all(axis=1).any()  # the swatch is in the palette's colour
    assert legend(["sky", "road"], width=200).shape[1] == 200  # default palette: CamVid's
    with pytest.raises(ValueError, match="2 class names but a palette of 1"):
        legend(["a", "b"], palette[:1], width=200)


# ---- the encoder-decoder diagram ---------------------------------------------------------------------
def test_model_stages_of_segnet_basic_at_360x480():
    from tinyseg import models
    from tinyseg.viz import model_stages

    model = models.create("segnet_basic", num_classes=11)
    model.train()
    stages = model_stages(model, (1, 3, 360, 480))
    assert [s.name for s in stages] == ["norm", "enc1", "enc2", "enc3", "enc4", "dec4", "dec3", "dec2", "dec1",
                                        "classifier"]
    shapes = {s.name: s.output_shape for s in stages}
    assert shapes["enc1"] == (1, 64, 180, 240) and shapes["enc4"] == (1, 64, 22, 30)
    assert shapes["dec4"] == (1, 64, 45, 60) and shapes["dec1"] == (1, 64, 360, 480)
    assert shapes["classifier"] == (1, 11, 360, 480)
    assert [s.level for s in stages] == [0, 1, 2, 3, 4, 3, 2, 1, 0, 0]
    enc1 = stages[1]
    assert enc1.kind == "EncoderBlock" and enc1.indices is not None
    assert enc1.indices.shape == (1, 64, 180, 240) and enc1.indices.dtype == "uint8"
    assert enc1.indices.nbytes == 64 * 180 * 240  # one byte per pooled value
    assert enc1.layers == ("conv 7x7 3\u219264 + BN + ReLU", "max-pool 2x2, keep indices")
    assert stages[5].layers == ("max-unpool 2x2 with indices", "conv 7x7 64\u219264 + BN")  # no ReLU in SegNet-Basic
    # the model is left as it was: its mode, and no wrapper on any layer
    assert all(m.training for m in model.modules())
    assert not any("forward" in vars(m) for m in model.modules())


@pytest.mark.parametrize("name, size, pools", [("segnet_basic", (1, 3, 45, 61), 4),
                                               ("bayesian_segnet_basic", (2, 3, 32, 48), 4),
                                               ("segnet", (1, 3, 64, 64), 5)])
def test_the_indices_producers_and_consumers_pair_up(name, size, pools):
    from tinyseg import models
    from tinyseg.viz import model_stages

    stages = model_stages(models.create(name, num_classes=3), size)
    producers = [s.name for s in stages if s.indices is not None]
    consumers = {s.uses: s.name for s in stages if s.uses is not None}
    assert producers == [f"enc{i}" for i in range(1, pools + 1)]
    assert consumers == {f"enc{i}": f"dec{i}" for i in range(1, pools + 1)}  # each used once, by its own decoder
    by_name = {s.name: s for s in stages}
    for i in range(1, pools + 1):  # the decoder restores the size its encoder pooled
        assert by_name[f"dec{i}"].output_shape[2:] == by_name[f"enc{i}"].input_shape[2:]
        assert by_name[f"enc{i}"].indices.shape == by_name[f"dec{i}"].input_shape
    if name == "bayesian_segnet_basic":
        assert "dropout 0.5" in by_name["enc3"].layers and "dropout 0.5" not in by_name["enc1"].layers


def test_model_stages_says_why_it_cannot_read_fcn_basic_and_restores_the_model_on_error():
    from tinyseg import models
    from tinyseg.viz import model_stages

    with pytest.raises(ValueError, match="FCNBasic's forward never calls enc1, enc2, enc3, enc4"):
        model_stages(models.create("fcn_basic", num_classes=3), (1, 3, 32, 32))
    model = models.create("segnet_basic", num_classes=3)
    with pytest.raises(ValueError, match="too small for 4 poolings"):
        model_stages(model, (1, 3, 8, 8))
    assert not any("forward" in vars(m) for m in model.modules())


def test_draw_model_returns_an_axes_with_a_box_per_stage_and_an_arrow_per_index_handoff():
    from tinyseg import models
    from tinyseg.viz import draw_model

    ax = draw_model(models.create("segnet_basic", num_classes=11), (1, 3, 64, 96))
    assert isinstance(ax, matplotlib.axes.Axes)
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith(("enc", "dec")) for t in texts) == 8
    assert any(t.startswith("enc1  (EncoderBlock)") and "out (1, 64, 32, 48)" in t for t in texts)
    assert sum(t.startswith("indices (1, 64,") and "uint8" in t for t in texts) == 4
    arrows = [a for a in ax.texts if isinstance(a, matplotlib.text.Annotation)]
    assert len(arrows) == 10 + 4  # input -> norm -> ... -> classifier, and enc_i -> dec_i
    assert "pooling indices kept for the decoders" in ax.get_title()
    matplotlib.pyplot.close(ax.figure)


def test_model_stages_of_a_model_that_calls_one_layer_twice():
    from tinyseg import nn
    from tinyseg.viz import model_stages

    class Tiny(nn.Module):  # one pool and one unpool layer, each used at two depths
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.pool, self.unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)

        def forward(self, x):
            x, i1 = self.pool(self.conv(x))
            x, i2 = self.pool(x)
            return self.unpool(self.unpool(x, i2), i1)

    stages = model_stages(Tiny(), (1, 1, 8, 8))
    assert [s.name for s in stages] == ["conv", "pool", "pool (2)", "unpool", "unpool (2)"]
    assert [s.uses for s in stages] == [None, None, None, "pool (2)", "pool"]
    assert [s.level for s in stages] == [0, 1, 2, 1, 0]
    assert stages[1].indices.shape == (1, 2, 4, 4) and stages[1].layers == ("max-pool 2x2, keep indices",)
