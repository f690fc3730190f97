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
