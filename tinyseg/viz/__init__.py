"""Pictures: label maps in colour, overlays, side-by-side samples and curves (pictures.py), the
autograd graph of a tensor (graph.py), and a model's encoder-decoder diagram (model.py).

    >>> from tinyseg.viz import overlay, draw_graph, draw_model
"""

from .graph import GraphNode, draw_graph, graph_dot, graph_nodes
from .model import PoolingIndices, Stage, draw_model, model_stages
from .pictures import legend, overlay, plot_curves, side_by_side, uncertainty_image

__all__ = [
    "overlay",
    "side_by_side",
    "legend",
    "uncertainty_image",
    "plot_curves",
    "GraphNode",
    "graph_nodes",
    "graph_dot",
    "draw_graph",
    "PoolingIndices",
    "Stage",
    "model_stages",
    "draw_model",
]
