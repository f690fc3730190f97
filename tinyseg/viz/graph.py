"""The autograd graph of a tensor, drawn: every tensor it was made from and the op that made it,
walked through the engine's public graph (``Tensor.grad_fn``, ``Tensor.inputs``, ``Tensor.is_leaf``).

    >>> draw_graph(loss, names={"x": x, "w": w})     # matplotlib Axes
    >>> print(graph_dot(loss))                       # the same graph as Graphviz dot text
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.tensor import Tensor

__all__ = ["GraphNode", "graph_nodes", "graph_dot", "draw_graph"]


@dataclass(frozen=True, eq=False)
class GraphNode:
    """One tensor of a graph: ``label`` (its name or op, and its shape), the positions of its
    ``inputs`` in the node list, and its ``depth`` (0 for a leaf, else 1 + its deepest input's)."""

    tensor: Tensor
    label: str
    inputs: tuple[int, ...]
    depth: int


def graph_nodes(root: Tensor, names: dict[str, Tensor] | None = None) -> list[GraphNode]:
    """Every tensor ``root`` was computed from, inputs before the ops that use them, read through
    the engine's public graph (``grad_fn``, ``inputs``). Walk it before ``backward()`` frees it,
    or call ``backward(retain_graph=True)``.

    names: labels for some tensors, e.g. ``{"x": x, "w": w}``; other leaves are called "leaf", and
    an op node is called by its Function's name (Mul, Add, Sum, ...). Each label ends with the
    shape, e.g. "Mul\\n(2, 3)".
    """
    label_of = {id(t): name for name, t in (names or {}).items()}
    order: list[Tensor] = []
    index: dict[int, int] = {}
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:  # depth first, each tensor listed after all of its inputs
        t, inputs_done = stack.pop()
        if inputs_done:
            if id(t) not in index:
                index[id(t)] = len(order)
                order.append(t)
            continue
        if id(t) in index:
            continue
        stack.append((t, True))
        stack.extend((p, False) for p in reversed(t.inputs) if id(p) not in index)
    nodes: list[GraphNode] = []
    for t in order:
        inputs = tuple(index[id(p)] for p in t.inputs)
        depth = 1 + max((nodes[i].depth for i in inputs), default=-1)
        name = label_of.get(id(t)) or ("leaf" if t.grad_fn is None else t.grad_fn.__name__)
        if id(t) in label_of and t.grad_fn is not None:
            name = f"{name} = {t.grad_fn.__name__}"
        nodes.append(GraphNode(t, f"{name}\n{t.shape}", inputs, depth))
    return nodes


def graph_dot(root: Tensor, names: dict[str, Tensor] | None = None) -> str:
    """The graph in Graphviz's dot language (paste it into any dot viewer; nothing is installed)."""
    lines = ["digraph tinyseg {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for i, node in enumerate(graph_nodes(root, names)):
        fill = "lightyellow" if node.tensor.grad_fn is None else "lightblue"
        label = node.label.replace("\n", "\\n")
        lines.append(f'  n{i} [label="{label}", style="rounded,filled", fillcolor={fill}];')
        lines.extend(f"  n{j} -> n{i};" for j in node.inputs)
    return "\n".join([*lines, "}"])


def draw_graph(root: Tensor, names: dict[str, Tensor] | None = None, ax: Any = None) -> Any:
    """Draw the graph that made ``root`` with matplotlib: leaves in yellow, ops in blue, an arrow
    from each input to the op that used it, one column per depth (inputs on the left).

    Returns the matplotlib Axes (a new figure's when ``ax`` is None). See :func:`graph_nodes`
    for ``names`` and for when the graph is still there to draw.
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    nodes = graph_nodes(root, names)
    rows: dict[int, int] = {}
    pos = []
    for node in nodes:
        pos.append((node.depth, -rows.get(node.depth, 0)))
        rows[node.depth] = rows.get(node.depth, 0) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 * (max(rows) + 1), 1.1 * max(rows.values()) + 0.6))
    boxes = [
        ax.text(
            *xy,
            node.label,
            ha="center",
            va="center",
            fontsize=9,
            bbox=dict(boxstyle="round", fc="lightyellow" if node.tensor.grad_fn is None else "lightblue"),
        )
        for node, xy in zip(nodes, pos)
    ]
    for i, node in enumerate(nodes):
        for j in node.inputs:
            ax.annotate(
                "",
                xy=pos[i],
                xytext=pos[j],
                arrowprops=dict(
                    arrowstyle="-|>", color="grey", patchA=boxes[j].get_bbox_patch(), patchB=boxes[i].get_bbox_patch()
                ),
            )
    ax.set_xlim(-0.6, max(rows) + 0.6)
    ax.set_ylim(-max(rows.values()) + 0.4, 0.6)
    ax.axis("off")
    return ax
