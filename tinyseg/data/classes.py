"""What a data set says about its classes: names, colours and the label value nobody scores.

A ``Classes`` travels with every data set (``ds.classes``) and in every checkpoint
(``to_dict`` / ``from_dict``), so no command needs to know that CamVid has 11 classes.

    >>> CAMVID.names[3], CAMVID.colors[3], CAMVID.ignore_index    # ('Road', (128, 64, 128), 11)
    >>> Classes.default(2, ignore_index=255).names                # ('class 0', 'class 1')
    >>> read_classes_json("data/classes.json")                    # {"names": [...], "colors": ..., "ignore_index": 255}
    >>> Classes(("background", "cell"), ((0, 0, 0), (255, 0, 0)), values=(0, 255))   # masks stored as 0/255
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from .errors import DataError

__all__ = [
    "Classes",
    "CAMVID",
    "CAMVID_CLASSES",
    "CAMVID_PALETTE",
    "VOID_INDEX",
    "colorize",
    "default_colors",
    "given_classes",
    "read_classes_json",
]

RGB = tuple[int, int, int]


def default_colors(num_classes: int) -> tuple[RGB, ...]:
    """``num_classes`` distinct colours, none black: PASCAL VOC's colour map from its entry 1 on.

    VOC spreads the bits of an index over the high bits of R, G and B, so neighbouring classes get
    clearly different colours and no two indices share one (up to 2**24). Entry 0 (black) is left
    for ignored pixels.
    """
    colors = []
    for index in range(1, num_classes + 1):
        r = g = b = 0
        for shift in range(7, -1, -1):  # bit 0 of the index -> bit 7 of R, bit 3 -> bit 6, ...
            r |= (index & 1) << shift
            g |= ((index >> 1) & 1) << shift
            b |= ((index >> 2) & 1) << shift
            index >>= 3
        colors.append((r, g, b))
    return tuple(colors)


@dataclass(frozen=True)
class Classes:
    """Class names and colours of a data set, and its ignored label value.

    names: one per class index 0..K-1. colors: one RGB triple (0..255) per class.
    ignore_index: the label value that the loss and the metrics skip (void, unlabelled), or None
        when every pixel counts. It must lie outside the classes (>= K): an ignored class would
        still be predicted, so drop it from ``names`` instead.
    values: None when labels store the class indices 0..K-1 themselves; else the value stored on
        disk for each class: stored value ``values[i]`` is class i (e.g. (0, 255) for binary masks
        saved as 0/255). A reader maps it when a label is read; the ignored value is kept as it is.
    """

    names: tuple[str, ...]
    colors: tuple[RGB, ...]
    ignore_index: int | None = None
    values: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        colors = tuple(tuple(int(v) for v in c) for c in self.colors)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "colors", colors)
        if not names:
            raise ValueError("Classes: names is empty; a data set needs at least one class")
        if len(set(names)) != len(names):
            raise ValueError(f"Classes: names repeat: {sorted({n for n in names if names.count(n) > 1})}")
        if len(colors) != len(names):
            raise ValueError(f"Classes: {len(names)} names but {len(colors)} colors; give one colour per class")
        bad = [c for c in colors if len(c) != 3 or not all(0 <= v <= 255 for v in c)]
        if bad:
            raise ValueError(f"Classes: colours must be [r, g, b] with values 0..255, got {bad[0]}")
        ig = self.ignore_index
        if ig is not None and (isinstance(ig, bool) or not isinstance(ig, (int, np.integer)) or ig < len(names)):
            raise ValueError(
                f"Classes: ignore_index must be None or an integer >= {len(names)} (outside the classes "
                f"0..{len(names) - 1}), got {ig!r}; to ignore a class, drop it from the names"
            )
        if ig is not None:
            object.__setattr__(self, "ignore_index", int(ig))
        if self.values is not None:
            object.__setattr__(self, "values", _stored_values(len(names), self.values, self.ignore_index))

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    @property
    def palette(self) -> np.ndarray:
        """uint8 (K, 3), or (ignore_index + 1, 3) with black from row K on: what colorize indexes."""
        rows = len(self) if self.ignore_index is None else self.ignore_index + 1
        palette = np.zeros((rows, 3), dtype=np.uint8)
        palette[: len(self)] = self.colors
        palette.flags.writeable = False
        return palette

    def colorize(self, label: Any) -> np.ndarray:
        """RGB picture of a label map: (H, W) integers -> uint8 (H, W, 3); ignored pixels black."""
        return colorize(label, self.palette)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form: {"names": [...], "colors": [[r, g, b], ...], "ignore_index": int | None},
        plus "values": [...] when labels store other values than the class indices."""
        obj = {"names": list(self.names), "colors": [list(c) for c in self.colors], "ignore_index": self.ignore_index}
        if self.values is not None:
            obj["values"] = list(self.values)
        return obj

    @classmethod
    def from_dict(cls, obj: Any) -> Classes:
        """Inverse of ``to_dict``: {"names": [...], "colors": [[r, g, b], ...] (optional),
        "ignore_index": int | None (optional), "values": [...] (optional)}."""
        if isinstance(obj, Classes):
            return obj
        if not isinstance(obj, dict) or "names" not in obj:
            raise ValueError(f"Classes.from_dict: expected a dict with 'names', got {obj!r:.80}")
        unknown = set(obj) - {"names", "colors", "ignore_index", "values"}
        if unknown:
            raise ValueError(
                f"Classes.from_dict: unknown keys {sorted(unknown)}; "
                "expected names, colors (optional), ignore_index (optional), values (optional)"
            )
        names = obj["names"]
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"Classes.from_dict: names must be a list of strings, got {names!r:.80}")
        colors = obj.get("colors")
        if colors is None:
            colors = default_colors(len(names))
        elif (
            not isinstance(colors, (list, tuple))
            or not all(isinstance(c, (list, tuple)) for c in colors)
            or not all(isinstance(v, int) and not isinstance(v, bool) for c in colors for v in c)
        ):
            raise ValueError(
                f"Classes.from_dict: colors must be a list of [r, g, b] integer triples, got {colors!r:.80}"
            )
        return cls(tuple(names), tuple(tuple(c) for c in colors), obj.get("ignore_index"), obj.get("values"))

    @classmethod
    def default(cls, num_classes: int, ignore_index: int | None = None) -> Classes:
        """Classes "class 0" .. "class K-1" in the default palette (``default_colors``)."""
        if num_classes < 1:
            raise ValueError(f"Classes.default: num_classes must be at least 1, got {num_classes}")
        return cls(tuple(f"class {i}" for i in range(num_classes)), default_colors(num_classes), ignore_index)

    def __repr__(self) -> str:
        shown = ", ".join(self.names[:4]) + (f", ... ({len(self)} in all)" if len(self) > 4 else "")
        stored = f", values={list(self.values)}" if self.values is not None else ""
        return f"Classes([{shown}], ignore_index={self.ignore_index}{stored})"


def _stored_values(num_classes: int, values: Any, ignore: int | None) -> tuple[int, ...]:
    """``values`` checked: one distinct non-negative integer per class, none of them the ignored value."""
    if not isinstance(values, (list, tuple)) or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in values
    ):
        raise ValueError(f"Classes: values must be a list of non-negative integers, one per class, got {values!r:.80}")
    if len(values) != num_classes:
        raise ValueError(f"Classes: {num_classes} names but {len(values)} values; give one stored value per class")
    if len(set(values)) != len(values):
        raise ValueError(f"Classes: values repeat: {sorted({v for v in values if list(values).count(v) > 1})}")
    if ignore is not None and ignore in values:
        raise ValueError(
            f"Classes: the ignored value {ignore} is also in values {list(values)}; a stored value is a class "
            "or ignored, not both"
        )
    return tuple(int(v) for v in values)


def colorize(label: Any, palette: np.ndarray | None = None) -> np.ndarray:
    """RGB picture of a label map. label: (H, W) integers -> uint8 (H, W, 3); palette (P, 3),
    CamVid's by default (values 0..11)."""
    palette = CAMVID_PALETTE if palette is None else np.asarray(palette, dtype=np.uint8)
    label = backend.to_numpy(label)
    if label.size and (label.min() < 0 or label.max() >= len(palette)):
        raise ValueError(
            f"colorize: label values must lie in 0..{len(palette) - 1}, "
            f"got min {label.min()} and max {label.max()} (shape {label.shape})"
        )
    return palette[label.astype(np.intp)]


def read_classes_json(path: str | Path) -> Classes:
    """Classes from a JSON file: {"names": [...], "colors": [[r, g, b], ...] (optional),
    "ignore_index": 255 | null (optional), "values": [0, 255] (optional: the stored value of each
    class)}. DataError naming the file when it is missing, does not parse, or its names, colours,
    ignored value and values do not fit together (duplicate colours too: a colour-coded label could
    not be read back)."""
    path = Path(path).expanduser()
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"classes file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"classes file {path} does not parse as JSON: {exc}") from None
    if isinstance(obj, list):
        raise DataError(
            f"classes file {path} holds a list; write an object: "
            '{"names": [...], "colors": [[r, g, b], ...], "ignore_index": 255}'
        )
    try:
        classes = Classes.from_dict(obj)
    except ValueError as exc:
        raise DataError(f"classes file {path}: {str(exc).split(': ', 1)[-1]}") from None
    repeated = sorted({c for c in classes.colors if classes.colors.count(c) > 1})
    if repeated:
        raise DataError(
            f"classes file {path}: colour {list(repeated[0])} belongs to more than one class; "
            "each class needs its own colour"
        )
    return classes


CAMVID_CLASSES: tuple[str, ...] = (
    "Sky",
    "Building",
    "Pole",
    "Road",
    "Pavement",
    "Tree",
    "SignSymbol",
    "Fence",
    "Car",
    "Pedestrian",
    "Bicyclist",
)
"""The 11 classes SegNet-Basic predicts, in label order 0..10. Label 11 is void ("Unlabelled")."""

VOID_INDEX = 11
"""Label value of void ("Unlabelled") pixels: ignored by the loss and by every metric."""

CAMVID = Classes(
    CAMVID_CLASSES,
    (
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (60, 40, 222),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
    VOID_INDEX,
)
"""CamVid's classes in the colours of the SegNet tutorial's scripts; void (11) drawn black."""

CAMVID_PALETTE: np.ndarray = CAMVID.palette
"""RGB colour of each label 0..11, as the SegNet tutorial's scripts draw them (12 rows)."""


def given_classes(classes: Classes | str | Path | None, root: Path) -> tuple[Classes, str] | None:
    """The classes a user gave, with a line saying where from: the argument (Classes, or a JSON
    file's path), else ``root/classes.json``; None when there are neither."""
    if isinstance(classes, Classes):
        return classes, "given by the caller"
    path = Path(classes).expanduser() if classes is not None else root / "classes.json"
    if classes is None and not path.is_file():
        return None
    return read_classes_json(path), f"from {path}"
