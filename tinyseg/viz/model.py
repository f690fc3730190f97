"""A model's encoder-decoder diagram, drawn from the model itself: one forward pass records each
block's input and output shapes, which pooling indices it keeps and which later block uses them.

    >>> stages = model_stages(models.create("segnet_basic"), (1, 3, 360, 480))
    >>> draw_model(models.create("segnet_basic"), (1, 3, 360, 480))   # matplotlib Axes
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..engine import backend
from ..engine.tensor import Tensor, no_grad
from ..models.blocks import ConvBN

__all__ = ["PoolingIndices", "Stage", "model_stages", "draw_model"]


@dataclass(frozen=True)
class PoolingIndices:
    """Pooling indices that one stage hands to a later one: their shape, dtype ("uint8") and bytes."""

    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass(frozen=True)
class Stage:
    """One of a model's top-level layers (``enc1``, ``dec4``, ``classifier``, ...) as a forward pass met it.

    kind: its class ("EncoderBlock"); layers: what it does, one short line per layer (a run of
    alike convs in one line); input_shape, output_shape: of its first input and its output (N, C, H, W);
    level: how many 2x halvings its output lies below the model's input (0 at full size);
    indices: the pooling indices it returns for a later stage (an encoder), else None;
    uses: the name of the stage whose indices it takes (a decoder), else None.
    """

    name: str
    kind: str
    layers: tuple[str, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    level: int
    indices: PoolingIndices | None
    uses: str | None


def _layer_line(m: nn.Module) -> str | None:
    """One short line for a layer tinyseg knows, None for a container."""
    if isinstance(m, ConvBN):
        return f"{_layer_line(m.conv)} + BN" + (" + ReLU" if m.relu else "")
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        kind = "conv" if isinstance(m, nn.Conv2d) else "transposed conv"
        return f"{kind} {m.kernel_size[0]}x{m.kernel_size[1]} {m.in_channels}\u2192{m.out_channels}"
    if isinstance(m, nn.MaxPool2d):
        return f"max-pool {m.kernel_size}x{m.kernel_size}" + (", keep indices" if m.return_indices else "")
    if isinstance(m, nn.MaxUnpool2d):
        return f"max-unpool {m.kernel_size}x{m.kernel_size} with indices"
    if isinstance(m, nn.Dropout):
        return f"dropout {m.p:g}"
    if isinstance(m, nn.LocalResponseNorm):
        return f"LRN (size {m.size})"
    if isinstance(m, nn.BatchNorm2d):
        return "batch norm"
    if isinstance(m, nn.ReLU):
        return "ReLU"
    return None if any(True for _ in m.children()) else type(m).__name__


def _layer_lines(m: nn.Module) -> list[str]:
    """The layers of ``m`` in order; a run of ConvBNs alike in kernel and ReLU in one line
    ("3\u00d7 conv 3x3 128\u2192256\u2192256\u2192256 + BN + ReLU")."""
    line = _layer_line(m)
    if line is not None:
        return [line]
    lines: list[str] = []
    run: list[ConvBN] = []

    def flush() -> None:
        if len(run) == 1:
            lines.append(f"{_layer_line(run[0])}")
        elif run:
            k, chain = run[0].conv.kernel_size, "\u2192".join(str(c.conv.in_channels) for c in run)
            lines.append(
                f"{len(run)}\u00d7 conv {k[0]}x{k[1]} {chain}\u2192{run[-1].conv.out_channels} + BN"
                + (" + ReLU" if run[0].relu else "")
            )
        run.clear()

    for child in m.children():
        if isinstance(child, ConvBN):
            if run and (child.conv.kernel_size, child.relu) != (run[0].conv.kernel_size, run[0].relu):
                flush()
            run.append(child)
        else:
            flush()
            lines += _layer_lines(child)
    flush()
    return lines


def model_stages(model: nn.Module, input_shape: Sequence[int]) -> list[Stage]:
    """Run ``model`` once on zeros of ``input_shape`` (N, C, H, W) and list its top-level layers in
    the order the forward pass called them, with their shapes and the pooling indices they pass.

    Each child's ``forward`` is wrapped for the pass and restored afterwards (exceptions included);
    the pass runs in eval mode without a graph, and every layer's mode is put back. An index tensor
    that stage A returns and stage B is given is recorded on both (``A.indices``, ``B.uses == A``).
    A layer called twice appears twice ("pool", "pool (2)").

    Raises ValueError when the forward pass skips a child with parameters and calls its parts
    instead (FCN-Basic's ``enc1.convs``): its stages would not describe the model.
    """
    calls: list[tuple[str, nn.Module, tuple[Any, ...], Any]] = []
    children = list(model.named_children())

    def recording(name: str, child: nn.Module, forward: Any) -> Any:
        def forward_and_record(*args: Any, **kwargs: Any) -> Any:
            out = forward(*args, **kwargs)
            calls.append((name, child, (*args, *kwargs.values()), out))
            return out

        return forward_and_record

    own = {name: vars(child).get("forward") for name, child in children}  # a forward set on the instance, if any
    param = next(model.parameters(), None)
    x = Tensor(backend.get_xp().zeros(tuple(input_shape), dtype=param.dtype if param is not None else np.float32))
    try:
        for name, child in children:
            child.forward = recording(name, child, child.forward)  # type: ignore[method-assign]  # recording wraps it
        with nn.eval_mode(model), no_grad():
            model(x)
    finally:
        for name, child in children:
            vars(child).pop("forward", None)
            if own[name] is not None:
                vars(child)["forward"] = own[name]

    called = {name for name, *_ in calls}
    skipped = [name for name, child in children if name not in called and next(child.parameters(), None) is not None]
    if skipped:
        raise ValueError(
            f"model_stages: {type(model).__name__}'s forward never calls {', '.join(skipped)} (it "
            "calls their parts instead), so its stages cannot be read off its layers; this works for "
            "models whose forward calls each of its blocks, as SegNetBasic and SegNet do"
        )
    if not calls:
        raise ValueError(f"model_stages: {type(model).__name__} has no layers that its forward calls")

    height = int(input_shape[2])
    produced: dict[int, str] = {}
    stages: list[Stage] = []
    seen: dict[str, int] = {}
    for name, child, args, out in calls:
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"
        main, extra = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
        stored = next((t for t in extra if isinstance(t, Tensor)), None)
        uses = next((produced[id(a)] for a in args[1:] if isinstance(a, Tensor) and id(a) in produced), None)
        if stored is not None:
            produced[id(stored)] = label
        level = round(float(np.log2(height / main.shape[2]))) if main.ndim == 4 else 0
        stages.append(
            Stage(
                label,
                type(child).__name__,
                tuple(_layer_lines(child)),
                tuple(args[0].shape) if args and isinstance(args[0], Tensor) else (),
                tuple(main.shape),
                level,
                None
                if stored is None
                else PoolingIndices(tuple(stored.shape), str(stored.dtype), int(stored.data.nbytes)),
                uses,
            )
        )
    return stages


def _megabytes(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**17 else f"{n / 2**10:.1f} KiB"


def draw_model(model: nn.Module, input_shape: Sequence[int], ax: Any = None) -> Any:
    """Draw ``model`` as its forward pass runs on ``input_shape`` (N, C, H, W): one box per stage
    (:func:`model_stages`) with its layers and output shape; encoders down the left, one row per
    halving of the resolution, decoders back up the right; grey arrows for the data, orange
    dashed arrows for the pooling indices an encoder passes across to its decoder (with their
    shape, dtype and bytes). Returns the matplotlib Axes (a new figure's when ``ax`` is None).
    """
    import matplotlib.pyplot as plt  # noqa: PLC0415

    stages = model_stages(model, input_shape)
    rows, cols, col, previous = [], [], 0, 0
    for stage in stages:  # the left column until the first stage that goes up in resolution
        col = 1 if stage.level < previous else col
        rows.append(max(stage.level, previous))
        cols.append(col)
        previous = stage.level
    top = min(rows) - 1  # the input box, above the first stage
    sizes = {0: tuple(input_shape[2:])} | {s.level: s.output_shape[2:] for s in stages if len(s.output_shape) == 4}
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 1.45 * (max(rows) - top + 1) + 0.4))

    def box(x: float, y: float, text: str, colour: str) -> Any:
        return ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=8.5,
            bbox=dict(boxstyle="round,pad=0.4", fc=colour, ec="grey"),
        )

    def arrow(a: Any, b: Any, xy_a: tuple[float, float], xy_b: tuple[float, float], **style: Any) -> None:
        ax.annotate(
            "",
            xy=xy_b,
            xytext=xy_a,
            arrowprops=dict(arrowstyle="-|>", patchA=a.get_bbox_patch(), patchB=b.get_bbox_patch(), **style),
        )

    pos = [(1.3 * c, -float(r)) for c, r in zip(cols, rows)]
    fill = {0: "#dbe9f6", 1: "#f6e3cf"}
    first = box(0.0, -float(top), f"input\n{tuple(input_shape)}", "lightyellow")
    boxes = [
        box(
            *xy,
            f"{s.name}  ({s.kind})\n" + "\n".join(s.layers) + f"\nout {s.output_shape}",
            "#eeeeee" if s.indices is None and s.uses is None else fill[c],
        )
        for s, xy, c in zip(stages, pos, cols)
    ]
    arrow(first, boxes[0], (0.0, -float(top)), pos[0], color="grey")
    for i in range(1, len(stages)):
        arrow(boxes[i - 1], boxes[i], pos[i - 1], pos[i], color="grey")
    index_of = {s.name: i for i, s in enumerate(stages)}
    total = 0
    dtypes: set[Any] = set()
    for j, s in enumerate(stages):
        if s.uses is None:
            continue
        i = index_of[s.uses]
        idx = stages[i].indices
        if idx is None:  # never: ``uses`` names a stage that returned indices
            continue
        total, dtypes = total + idx.nbytes, dtypes | {idx.dtype}
        beside = j == i + 1  # the deepest encoder feeds this decoder too: bend the index arrow below
        arrow(
            boxes[i],
            boxes[j],
            pos[i],
            pos[j],
            color="tab:orange",
            ls="--",
            lw=1.5,
            connectionstyle="arc3,rad=0.35" if beside else "arc3",
        )
        mid_y = (pos[i][1] + pos[j][1]) / 2 + (-0.45 if beside else 0.2)
        ax.text(
            (pos[i][0] + pos[j][0]) / 2,
            mid_y,
            f"indices {idx.shape}\n{idx.dtype}, {_megabytes(idx.nbytes)}",
            ha="center",
            va="center",
            fontsize=7.5,
            color="tab:orange",
        )
    for level, size in sizes.items():
        ax.text(-0.72, -float(level), "x".join(map(str, size)), ha="left", va="center", fontsize=8, color="grey")
    ax.set_xlim(-0.75, 1.3 * max(cols) + 0.5)
    ax.set_ylim(-max(rows) - 0.75, -top + 0.5)
    ax.axis("off")
    title = f"{type(model).__name__} on {tuple(input_shape)}"
    if total:
        title += f": pooling indices kept for the decoders {_megabytes(total)} ({', '.join(sorted(dtypes))})"
    ax.set_title(title, fontsize=10)
    return ax
