"""Image/label pairs on disk: decoding, label checks, pairing by file stem, skipping bad pairs.

CamVid and FolderDataset differ only in where their pairs are; both are a ``PairedImages``, which
reads them. Existence and pairing are checked when a data set is built (nothing is decoded then);
pixel contents (a readable file, the label's format, size, mode and values) when an item is read,
or for a whole split at once by ``verify()``. The label contract (every value a class or the
ignored value, after the classes' ``values`` map stored values to classes) is checked here, once,
where labels enter. Every problem is a one-line DataError naming the file.

Why this file is longer than the others (about 370 lines): it is the one reader of pairs on
disk, and every check of a user's files lives in it, each next to the read it guards.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from .classes import VOID_INDEX, Classes
from .errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "PairedImages",
    "decode",
    "image_size",
    "images_by_stem",
    "pair_by_stem",
    "read_label",
    "read_pair",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
LOSSY_FORMATS = ("JPEG", "MPO")  # Pillow's format names for JPEG files (MPO: a camera's multi-picture JPEG)
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def _refuse_lossy_label(path: Path, file_format: str | None) -> None:
    if file_format in LOSSY_FORMATS:
        raise DataError(
            f"label {path} is a JPEG file: JPEG compression changes pixel values, so they are not class "
            "indices any more; save labels as PNG (lossless)"
        )


def decode(path: Path, what: str) -> Image.Image:
    """Open and fully decode one file, turning any Pillow failure into a DataError naming it.
    A label (``what == "label"``) stored in a lossy format (JPEG, whatever its suffix) is refused."""
    try:
        with Image.open(path) as im:
            file_format = im.format
            im.load()
            decoded = im.copy()
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist (was it moved after the dataset was built?)") from None
    except _READ_ERRORS as exc:
        raise DataError(f"{what} {path} cannot be read, it is truncated or not an image: {exc}") from None
    if what == "label":
        _refuse_lossy_label(path, file_format)
    return decoded


def _indices_from_colours(rgb: np.ndarray, path: Path, classes: Classes) -> np.ndarray:
    """A colour-coded label (H, W, 3) uint8 -> class indices (H, W). Black is the ignored value
    when there is one and no class is black; any other colour that is no class's is an error."""
    table = {c: i for i, c in enumerate(classes.colors)}
    if classes.ignore_index is not None:
        table.setdefault((0, 0, 0), classes.ignore_index)
    keys = np.array([(r << 16) | (g << 8) | b for r, g, b in table], dtype=np.int64)
    order = np.argsort(keys)
    keys, values = keys[order], np.array(list(table.values()), dtype=np.int64)[order]
    code = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    pos = np.minimum(np.searchsorted(keys, code), len(keys) - 1)
    unknown = keys[pos] != code
    if unknown.any():
        y, x = (int(v) for v in np.argwhere(unknown)[0])
        black = " or black (ignored)" if classes.ignore_index is not None else ""
        raise DataError(
            f"label {path}: pixel (y={y}, x={x}) has colour {tuple(int(v) for v in rgb[y, x])}, which is "
            f"no class's colour{black} ({int(unknown.sum())} such pixels); add it to the colors of classes.json"
        )
    return values[pos]


def _map_values(label: np.ndarray, path: Path, classes: Classes) -> np.ndarray:
    """Stored values -> class indices by ``classes.values`` (stored ``values[i]`` is class i); the
    ignored value stays as it is. Any other stored value is a DataError naming the file."""
    assert classes.values is not None
    ignore = classes.ignore_index
    top = max(*classes.values, -1 if ignore is None else ignore, int(label.max()) if label.size else 0)
    lut = np.full(top + 1, -1, dtype=np.int64)
    lut[list(classes.values)] = np.arange(len(classes.values))
    if ignore is not None:
        lut[ignore] = ignore
    mapped = lut[np.maximum(label, 0)]
    bad = (mapped < 0) | (label < 0)
    if bad.any():
        ignored = f" nor the ignored value {ignore}" if ignore is not None else ""
        raise DataError(
            f"label {path} has values {np.unique(label[bad])[:8].tolist()} ({int(bad.sum())} pixels) that are not "
            f'in the classes\' values {list(classes.values)}{ignored}; add each to "values" (with a name) '
            "or make it the ignore_index in classes.json"
        )
    return mapped


def _check_values(label: np.ndarray, path: Path, classes: Classes) -> None:
    """DataError naming the file and the values when a label holds a value that is neither a class
    nor the ignored value."""
    k, ignore = len(classes), classes.ignore_index
    bad = (label < 0) | (label >= k)
    if ignore is not None:
        bad &= label != ignore
    if not bad.any():
        return
    values, pixels = np.unique(label[bad])[:8].tolist(), int(bad.sum())
    if ignore == k:  # CamVid's convention: void right after the classes
        raise DataError(
            f"label {path} has values {values} above the void index {ignore} ({pixels} pixels); classes are "
            f"0..{ignore - 1} and {ignore} is void (if void is stored as 255, map it: label[label == 255] = {ignore})"
        )
    ignored = f"{ignore} is ignored" if ignore is not None else "no value is ignored"
    raise DataError(
        f"label {path} has values {values} outside the classes 0..{k - 1} ({pixels} pixels; {ignored}); "
        "do the classes (classes.json) list every class and the ignored value?"
    )


def read_label(path: str | Path, classes: Classes, colour_labels: bool = False) -> np.ndarray:
    """Decode and check one label: (H, W) uint8 (int64 if a value does not fit a byte).

    A single-channel image holds class indices (a palette PNG, as PASCAL VOC's, is read as its
    indices), or the stored values ``classes.values`` maps to them. An RGB(A) picture is accepted
    only with ``colour_labels``, mapped by ``classes.colors``. A JPEG label is refused (lossy).
    """
    path = Path(path)
    im = decode(path, "label")
    if colour_labels and im.mode in ("RGB", "RGBA"):
        label = _indices_from_colours(np.asarray(im.convert("RGB")), path, classes)
    elif len(im.getbands()) != 1 or im.mode in ("1", "F"):
        top = len(classes) - 1 if classes.ignore_index is None else classes.ignore_index
        how = "a classes.json that gives the colours" if not colour_labels else "mode RGB"
        raise DataError(
            f"label {path} has mode {im.mode!r}; expected a single-channel image of class indices 0..{top}, "
            f"not a colour-coded picture (colour-coded labels need the folder layout and {how})"
        )
    else:
        label = np.asarray(im)
        if classes.values is not None:
            label = _map_values(label, path, classes)
    _check_values(label, path, classes)
    small = label.size == 0 or label.max() <= 255
    return label.astype(np.uint8 if small else np.int64)


def _read_pair(
    image_path: Path, label_path: Path, classes: Classes, colour_labels: bool
) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(decode(image_path, "image").convert("RGB"))
    label = read_label(label_path, classes, colour_labels)
    _check_sizes(image_path, image.shape[:2], label_path, label.shape)
    return image, label


def _check_sizes(image_path: Path, image_hw: tuple[int, ...], label_path: Path, label_hw: tuple[int, ...]) -> None:
    if tuple(label_hw) != tuple(image_hw):
        raise DataError(
            f"label {label_path} is {label_hw[0]}x{label_hw[1]} (H x W) but its image "
            f"{image_path} is {image_hw[0]}x{image_hw[1]}; a label must match its image"
        )


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image from its header alone (nothing decoded); a DataError naming it if unreadable."""
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except FileNotFoundError:
        raise DataError(f"image {path} does not exist (was it moved after the dataset was built?)") from None
    except _READ_ERRORS as exc:
        raise DataError(f"image {path} cannot be read, it is truncated or not an image: {exc}") from None


def read_pair(
    image_path: str | Path,
    label_path: str | Path,
    ignore_index: int = VOID_INDEX,
    *,
    classes: Classes | None = None,
    colour_labels: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode and check one pair: image uint8 (H, W, 3), label (H, W) uint8. Raises DataError.

    Without ``classes`` the labels are CamVid-like: classes 0..ignore_index - 1, void ignore_index.
    """
    classes = classes or Classes.default(ignore_index, ignore_index)
    return _read_pair(Path(image_path), Path(label_path), classes, colour_labels)


def images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files of ``folder`` keyed by stem; two files with one stem are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.stem in found:
            raise DataError(f"{found[path.stem]} and {path} share the stem {path.stem!r}: keep one of them")
        found[path.stem] = path
    return found


def pair_by_stem(image_dir: Path, label_dir: Path) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """(pairs sorted by stem, problems): each problem is (file, reason) for an unpaired file."""
    images, labels = images_by_stem(image_dir), images_by_stem(label_dir)
    problems = [
        (str(p), f"image {p} has no label in {label_dir} (expected {s}.png)")
        for s, p in images.items()
        if s not in labels
    ]
    problems += [(str(p), f"label {p} has no image in {image_dir}") for s, p in labels.items() if s not in images]
    return [(images[s], labels[s]) for s in sorted(images) if s in labels], problems


class PairedImages:
    """Image/label pairs read from disk: ``ds[i]`` is (image uint8 (H, W, 3), label uint8 (H, W)).

    A subclass finds ``pairs`` and calls ``_keep``. ``strict`` True stops on the first bad pair
    with a DataError. False skips it with a warning and records (file, reason) in ``skipped``;
    a pair found bad when read is replaced by the next readable pair, so ``len`` and batch shapes
    stay fixed.
    """

    classes: Classes
    classes_source: str
    colour_labels = False
    checks_labels = True  # every label is checked when read: DataLoader need not check again
    pairs: list[tuple[Path, Path]]
    root: Path  # set by the subclass
    split: str

    def _start(self, strict: bool) -> None:
        self.strict = strict
        self.skipped: list[tuple[str, str]] = []
        self._bad: set[int] = set()
        self._lock = threading.Lock()

    def _where(self) -> str:
        """Which data set, for messages: "CamVid split 'train' under /data"."""
        return f"{type(self).__name__} split {self.split!r} under {self.root}"

    def _keep(self, pairs: list[tuple[Path, Path]], problems: list[tuple[str, str]]) -> None:
        """Keep the good pairs; raise for the first problem (strict) or skip every one."""
        for path, reason in problems:
            if self.strict:
                more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
                raise DataError(reason + more)
            self._skip(path, reason)
        if not pairs:
            raise DataError(f"{self._where()} has no usable image/label pairs")
        self.pairs = pairs

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def ignore_index(self) -> int | None:
        return self.classes.ignore_index

    @property
    def palette(self) -> np.ndarray:
        return self.classes.palette

    def __len__(self) -> int:
        return len(self.pairs)

    def _skip(self, path: str, reason: str) -> None:
        with self._lock:
            if any(p == path for p, _ in self.skipped):
                return
            self.skipped.append((path, reason))
        warnings.warn(f"{type(self).__name__}: skipping {path}: {reason}", RuntimeWarning, stacklevel=3)

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode and check pair ``index``; raises DataError whatever ``strict`` says."""
        image_path, label_path = self.pairs[index]
        return _read_pair(image_path, label_path, self.classes, self.colour_labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        index = range(len(self))[index]  # IndexError out of range; negative indices allowed
        if self.strict:
            return self.read(index)
        for step in range(len(self)):
            i = (index + step) % len(self)
            if i in self._bad:
                continue
            try:
                return self.read(i)
            except DataError as exc:
                with self._lock:
                    self._bad.add(i)
                self._skip(str(self.pairs[i][0]), str(exc))
        raise DataError(f"{self._where()}: no pair could be read")

    def _stand_in(self, index: int) -> int:
        """``index``, or when that pair is known to be bad, the next pair not known to be bad."""
        index = range(len(self))[index]
        for step in range(len(self)):
            i = (index + step) % len(self)
            if i not in self._bad:
                return i
        raise DataError(f"{self._where()}: no pair could be read")

    def source(self, index: int) -> tuple[Path, Path]:
        """The (image, label) files that ``ds[index]`` reads: pair ``index``, or, when that pair was
        found bad (``skip_bad`` / ``strict=False``), the next pair not known to be bad."""
        return self.pairs[self._stand_in(index)]

    def image_sizes(self) -> list[tuple[int, int]]:
        """(H, W) of every item's image, from the file headers (Pillow opens lazily: nothing is
        decoded). An unreadable header raises its DataError, or under skip_bad skips the pair as
        reading it would; a skipped pair's entry is the size of the pair read in its place."""
        sizes: dict[int, tuple[int, int]] = {}
        for i, (image_path, _) in enumerate(self.pairs):
            if i in self._bad:
                continue
            try:
                sizes[i] = image_size(image_path)
            except DataError as exc:
                self._bad_pair(i, exc)
        return [sizes[self._stand_in(i)] for i in range(len(self))]

    def _bad_pair(self, index: int, exc: DataError) -> None:
        """Raise ``exc`` (strict), or skip pair ``index`` for good, as ``ds[index]`` would."""
        if self.strict:
            raise exc
        with self._lock:
            self._bad.add(index)
        self._skip(str(self.pairs[index][0]), str(exc))

    def _check_label(self, index: int) -> np.ndarray:
        """Pair ``index``'s label, decoded and checked as ``read`` checks it (format, mode, values),
        and its size against its image's, read from the image's header: (H, W) uint8."""
        image_path, label_path = self.pairs[index]
        label = read_label(label_path, self.classes, self.colour_labels)
        _check_sizes(image_path, image_size(image_path), label_path, label.shape)
        return label

    def iter_labels(self) -> Iterator[np.ndarray]:
        """Every label map ((H, W) uint8), decoding labels only (for class statistics), each checked
        against its image's size read from the image's header, so one pass finds every bad label.
        A bad pair raises (strict) or is skipped as ``ds[i]`` would skip it."""
        for i in range(len(self)):
            if i in self._bad:
                continue
            try:
                yield self._check_label(i)
            except DataError as exc:
                self._bad_pair(i, exc)

    def verify(self) -> int:
        """Check every pair once, before any work that a bad pair would waste: each label decoded
        and checked as ``read`` checks it, each image by its header (size, readable). Raises the
        first bad pair's DataError (strict), or skips and records every bad pair (``skipped``) as
        reading it would. Returns the number of good pairs."""
        good = sum(1 for _ in self.iter_labels())
        if not good:
            raise DataError(f"{self._where()}: no pair could be read")
        return good
