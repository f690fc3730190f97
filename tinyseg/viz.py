"""Pictures: label maps in colour, overlays, side-by-side samples, training curves, and the
autograd graph of a tensor.

Images are plain uint8 arrays (H, W, 3). Colours come from a palette, an (K, 3) uint8 array with
one row per label value (CamVid's by default; a data set brings its own, ``dataset.classes.palette``).
matplotlib draws the curves (with the non-interactive Agg backend when writing a file, so it
works on a machine without a screen) and the graphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import atomic_write
from .data import CAMVID_PALETTE, colorize
from .tensor import Tensor

__all__ = ["overlay", "side_by_side", "legend", "uncertainty_image", "plot_curves", "GraphNode", "graph_nodes",
           "graph_dot", "draw_graph"]


def overlay(image: np.ndarray, label: np.ndarray, alpha: float = 0.5, palette: np.ndarray | None = None) -> np.ndarray:
    """Blend the colour label map over the image. image (H, W, 3) uint8, label (H, W) -> (H, W, 3) uint8.

    palette: (K, 3) uint8, the colour of each label value (default: CamVid's, void black).
    """
    colours = colorize(label, CAMVID_PALETTE if palette is None else palette).astype(np.float32)
    return (alpha * colours + (1 - alpha) * image.astype(np.float32)).round().astype(np.uint8)


def side_by_side(rows: Sequence[Sequence[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tile images (each (H, W, 3) uint8, same size) into a grid with white gaps between them."""
    h, w = rows[0][0].shape[:2]
    ncols = max(len(r) for r in rows)
    grid = np.full((len(rows) * (h + gap) - gap, ncols * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            grid[i * (h + gap): i * (h + gap) + h, j * (w + gap): j * (w + gap) + w] = img
    return grid


def legend(names: Sequence[str], palette: np.ndarray | None = None, width: int = 480, swatch: int = 14) -> np.ndarray:
    """A colour key (h, width, 3) uint8: a swatch of ``palette[k]`` and ``names[k]`` for each class,
    laid out left to right in as many rows as ``width`` needs.

    palette: (K, 3) uint8 with K >= len(names) (default: CamVid's).
    """
    from PIL import Image, ImageDraw  # noqa: PLC0415

    palette = CAMVID_PALETTE if palette is None else np.asarray(palette)
    if len(palette) < len(names):
        raise ValueError(f"legend: {len(names)} class names but a palette of {len(palette)} colours")

    cell = max(len(n) for n in names) * 7 + swatch + 16
    per_row = max(1, width // cell)
    rows = -(-len(names) // per_row)
    img = Image.new("RGB", (width, rows * (swatch + 8) + 4), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for k, name in enumerate(names):
        x, y = (k % per_row) * cell + 4, (k // per_row) * (swatch + 8) + 4
        draw.rectangle([x, y, x + swatch, y + swatch], fill=tuple(int(c) for c in palette[k]), outline=(0, 0, 0))
        draw.text((x + swatch + 5, y + 1), name, fill=(0, 0, 0))
    return np.asarray(img)


def uncertainty_image(values: np.ndarray) -> np.ndarray:
    """A map of non-negative values (H, W) as a dark-to-bright heat image (H, W, 3) uint8."""
    import matplotlib  # noqa: PLC0415

    v = np.asarray(values, dtype=np.float64)
    top = v.max() if v.size and v.max() > 0 else 1.0
    return (matplotlib.colormaps["magma"](v / top)[..., :3] * 255).round().astype(np.uint8)


def plot_curves(path: str | Path, records: Sequence[dict[str, Any]]) -> None:
    """Training loss and validation scores against the iteration, written as a PNG (atomically).

    records: dicts with "iter" and either "loss" (training) or "miou"/"global_acc"/"class_acc".
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    train = [r for r in records if "loss" in r]
    val = [r for r in records if "miou" in r]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.8))
    if train:
        its = np.array([r["iter"] for r in train])
        loss = np.array([r["loss"] for r in train])
        ax_loss.plot(its, loss, lw=0.5, alpha=0.4, color="tab:blue")
        k = max(1, len(loss) // 50)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax_loss.plot(its[k - 1:], smooth, color="tab:blue", label=f"mean of {k}")
        ax_loss.legend()
    ax_loss.set(xlabel="iteration", ylabel="training loss", title="loss")
    for key, name in [("global_acc", "G"), ("class_acc", "C"), ("miou", "mIoU")]:
        if val:
            ax_val.plot([r["iter"] for r in val], [100 * r[key] for r in val], marker="o", ms=3, label=name)
    ax_val.set(xlabel="iteration", ylabel="%", title="validation")
    if val:
        ax_val.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)


# ---- the autograd graph ---------------------------------------------------------------------------
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
    return "\n".join(lines + ["}"])


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
    boxes = [ax.text(*xy, node.label, ha="center", va="center", fontsize=9,
                     bbox=dict(boxstyle="round", fc="lightyellow" if node.tensor.grad_fn is None else "lightblue"))
             for node, xy in zip(nodes, pos)]
    for i, node in enumerate(nodes):
        for j in node.inputs:
            ax.annotate("", xy=pos[i], xytext=pos[j],
                        arrowprops=dict(arrowstyle="-|>", color="grey", patchA=boxes[j].get_bbox_patch(),
                                        patchB=boxes[i].get_bbox_patch()))
    ax.set_xlim(-0.6, max(rows) + 0.6)
    ax.set_ylim(-max(rows.values()) + 0.4, 0.6)
    ax.axis("off")
    return ax
