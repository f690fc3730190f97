"""CamVid as the SegNet tutorial ships it: image/label pairs, class names, colours, class weights.

The layout (``root`` is the folder that holds the split folders)::

    root/
      train/  trainannot/  val/  valannot/  test/  testannot/
      train.txt  val.txt  test.txt      one "<image> <label>" pair per line, paths that begin
                                        with /SegNet/CamVid/ (resolved against root)

Images and labels are paired by file stem, whatever format Pillow reads (PNG, JPEG, ...).
Existence and pairing are checked when the dataset is built; pixel contents (readable file,
label size, label values) when an item is read, so building it decodes nothing.

    >>> ds = CamVid("../shared/camvid", split="train")
    >>> image, label = ds[0]          # uint8 (360, 480, 3), uint8 (360, 480)
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import backend

__all__ = [
    "CamVid",
    "DataError",
    "CAMVID_CLASSES",
    "CAMVID_PALETTE",
    "CAMVID_MEAN",
    "CAMVID_STD",
    "VOID_INDEX",
    "SEGNET_TUTORIAL_WEIGHTS",
    "colorize",
    "median_frequency_weights",
    "read_pair",
]

CAMVID_CLASSES: tuple[str, ...] = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)
"""The 11 classes SegNet-Basic predicts, in label order 0..10. Label 11 is void ("Unlabelled")."""

VOID_INDEX = 11
"""Label value of void ("Unlabelled") pixels: ignored by the loss and by every metric."""

CAMVID_PALETTE: np.ndarray = np.array(
    [
        [128, 128, 128],  # 0 Sky
        [128, 0, 0],      # 1 Building
        [192, 192, 128],  # 2 Pole
        [128, 64, 128],   # 3 Road
        [60, 40, 222],    # 4 Pavement
        [128, 128, 0],    # 5 Tree
        [192, 128, 128],  # 6 SignSymbol
        [64, 64, 128],    # 7 Fence
        [64, 0, 128],     # 8 Car
        [64, 64, 0],      # 9 Pedestrian
        [0, 128, 192],    # 10 Bicyclist
        [0, 0, 0],        # 11 Unlabelled (void)
    ],
    dtype=np.uint8,
)
"""RGB colour of each label 0..11, as the SegNet tutorial's scripts draw them (12 rows)."""
CAMVID_PALETTE.flags.writeable = False

# Per-channel RGB mean and standard deviation of ../shared/camvid train (367 images), in [0, 1].
CAMVID_MEAN: tuple[float, float, float] = (0.4119, 0.4251, 0.4327)
CAMVID_STD: tuple[float, float, float] = (0.3071, 0.3116, 0.3072)

SEGNET_TUTORIAL_WEIGHTS: np.ndarray = np.array(
    [0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614],
    dtype=np.float32,
)
"""Class weights of SegNet-Tutorial's Models/segnet_basic_train.prototxt (``class_weighting``),
one per class 0..10. The Caffe model has 11 outputs and ignores label 11 (``ignore_label: 11``),
so there is no weight for void."""
SEGNET_TUTORIAL_WEIGHTS.flags.writeable = False

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")
LIST_PREFIX = "/SegNet/CamVid/"
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class DataError(ValueError):
    """Bad data on disk: a missing folder, an unpaired or unreadable file, a wrong label.

    The message names the file at fault.
    """


def colorize(label: Any, palette: np.ndarray = CAMVID_PALETTE) -> np.ndarray:
    """RGB picture of a label map. label: (H, W) integers 0..11 -> uint8 (H, W, 3)."""
    label = backend.to_numpy(label)
    if label.size and (label.min() < 0 or label.max() >= len(palette)):
        raise ValueError(
            f"colorize: label values must lie in 0..{len(palette) - 1}, "
            f"got min {label.min()} and max {label.max()} (shape {label.shape})"
        )
    return np.asarray(palette, dtype=np.uint8)[label.astype(np.intp)]


def _decode(path: Path, what: str) -> Image.Image:
    """Open and fully decode one file, turning any Pillow failure into a DataError naming it."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist (was it moved after the dataset was built?)") from None
    except _READ_ERRORS as exc:
        raise DataError(f"{what} {path} cannot be read, it is truncated or not an image: {exc}") from None


def _label_array(im: Image.Image, path: Path, ignore_index: int) -> np.ndarray:
    """A decoded label image as uint8 (H, W), checked to be single channel with values <= void."""
    if len(im.getbands()) != 1 or im.mode in ("1", "F"):
        raise DataError(
            f"label {path} has mode {im.mode!r}; expected a single-channel image of class "
            f"indices 0..{ignore_index} (the *annot folders), not a colour-coded picture"
        )
    label = np.asarray(im)
    top = int(label.max()) if label.size else 0
    if top > ignore_index:
        bad = np.unique(label[label > ignore_index])
        raise DataError(
            f"label {path} has values {bad[:8].tolist()} above the void index {ignore_index} "
            f"({int((label > ignore_index).sum())} pixels); classes are 0..{ignore_index - 1} and "
            f"{ignore_index} is void (if void is stored as 255, map it: label[label == 255] = {ignore_index})"
        )
    return label.astype(np.uint8)


def read_pair(image_path: str | Path, label_path: str | Path,
              ignore_index: int = VOID_INDEX) -> tuple[np.ndarray, np.ndarray]:
    """Decode and check one pair: image uint8 (H, W, 3), label uint8 (H, W). Raises DataError."""
    image_path, label_path = Path(image_path), Path(label_path)
    image = np.asarray(_decode(image_path, "image").convert("RGB"))
    label = _label_array(_decode(label_path, "label"), label_path, ignore_index)
    if label.shape != image.shape[:2]:
        raise DataError(
            f"label {label_path} is {label.shape[0]}x{label.shape[1]} (H x W) but its image "
            f"{image_path} is {image.shape[0]}x{image.shape[1]}; a label must match its image"
        )
    return image, label


def _images_by_stem(folder: Path) -> dict[str, Path]:
    """Image files of ``folder`` keyed by stem; two files with one stem are an error."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        if path.stem in found:
            raise DataError(f"{found[path.stem]} and {path} share the stem {path.stem!r}: keep one of them")
        found[path.stem] = path
    return found


class CamVid:
    """CamVid (SegNet split): ``ds[i]`` is (image uint8 (H, W, 3), label uint8 (H, W)).

    root: folder holding train/, trainannot/, ... (and optionally train.txt, ...).
    split: "train", "val" or "test" (any name with folders <split>/ and <split>annot/).
    strict: True stops on the first bad pair with a DataError. False skips it with a warning
        and records (file, reason) in ``self.skipped``; a pair found bad when read is replaced
        by the next readable pair, so ``len`` and batch shapes stay fixed.
    layout: "list" reads <split>.txt, "folders" pairs the files of <split>/ and <split>annot/ by
        stem, "auto" uses the list when it exists.
    """

    classes = CAMVID_CLASSES
    num_classes = len(CAMVID_CLASSES)
    ignore_index = VOID_INDEX
    palette = CAMVID_PALETTE

    def __init__(self, root: str | Path, split: str = "train", strict: bool = True,
                 layout: str = "auto") -> None:
        if layout not in ("auto", "list", "folders"):
            raise ValueError(f"CamVid: layout must be 'auto', 'list' or 'folders', got {layout!r}")
        self.root, self.split, self.strict = Path(root).expanduser(), split, strict
        self.skipped: list[tuple[str, str]] = []
        self._bad: set[int] = set()
        self._lock = threading.Lock()
        if not self.root.is_dir():
            raise DataError(f"CamVid root {self.root} does not exist or is not a folder")
        list_file = self.root / f"{split}.txt"
        if layout == "list" or (layout == "auto" and list_file.is_file()):
            self.layout = "list"
            pairs, problems = self._pairs_from_list(list_file)
        else:
            self.layout = "folders"
            pairs, problems = self._pairs_from_folders()
        for path, reason in problems:
            if strict:
                more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
                raise DataError(reason + more)
            self._skip(path, reason)
        if not pairs:
            raise DataError(f"CamVid split {split!r} under {self.root} has no usable image/label pairs")
        self.pairs: list[tuple[Path, Path]] = pairs

    # -- construction: existence and pairing -------------------------------------------------

    def _available_splits(self) -> str:
        names = sorted(p.name for p in self.root.iterdir()
                       if p.is_dir() and (self.root / f"{p.name}annot").is_dir())
        return ", ".join(names) or "none"

    def _pairs_from_folders(self) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
        image_dir, label_dir = self.root / self.split, self.root / f"{self.split}annot"
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise DataError(
                    f"CamVid split {self.split!r}: folder {folder} not found "
                    f"(splits with an image and an annot folder here: {self._available_splits()})"
                )
        images, labels = _images_by_stem(image_dir), _images_by_stem(label_dir)
        problems = [(str(p), f"image {p} has no label in {label_dir} (expected {s}.png)")
                    for s, p in images.items() if s not in labels]
        problems += [(str(p), f"label {p} has no image in {image_dir}")
                     for s, p in labels.items() if s not in images]
        pairs = [(images[s], labels[s]) for s in sorted(images) if s in labels]
        return pairs, problems

    def _resolve(self, token: str) -> Path:
        """A path from a list file: /SegNet/CamVid/... (or any .../CamVid/...) against root."""
        if token.startswith(LIST_PREFIX):
            return self.root / token[len(LIST_PREFIX):]
        path = Path(token)
        if path.is_absolute():
            if not path.exists() and "/CamVid/" in token:
                return self.root / token.rsplit("/CamVid/", 1)[1]
            return path
        return self.root / path

    @staticmethod
    def _same_stem(path: Path) -> Path | None:
        """``path`` if it exists, else the one image with its stem in its folder (x.png -> x.jpg)."""
        if path.is_file():
            return path
        if not path.parent.is_dir():
            return None
        matches = [p for p in path.parent.iterdir() if p.stem == path.stem and p.suffix.lower() in IMAGE_SUFFIXES]
        return matches[0] if len(matches) == 1 else None

    def _pairs_from_list(self, list_file: Path) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
        if not list_file.is_file():
            raise DataError(
                f"CamVid split {self.split!r}: list file {list_file} not found "
                f"(splits with an image and an annot folder here: {self._available_splits()})"
            )
        pairs, problems = [], []
        for n, line in enumerate(list_file.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            tokens = line.split()
            where = f"(line {n} of {list_file})"
            if len(tokens) != 2:
                raise DataError(f"{list_file}, line {n}: expected '<image path> <label path>', got {line!r}")
            listed = [self._resolve(t) for t in tokens]
            found = [self._same_stem(p) for p in listed]
            if found[0] is None:
                problems.append((str(listed[0]), f"image {listed[0]} not found {where}"))
            elif found[1] is None:
                problems.append((str(listed[1]), f"label {listed[1]} of image {found[0]} not found {where}"))
            elif found[0].stem != found[1].stem:
                problems.append((str(found[0]), f"image {found[0]} is paired with label {found[1]}, "
                                                f"whose stem differs {where}"))
            else:
                pairs.append((found[0], found[1]))
        return pairs, problems

    # -- reading: pixel contents -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.pairs)

    def __repr__(self) -> str:
        return (f"CamVid(root={str(self.root)!r}, split={self.split!r}, layout={self.layout!r}, "
                f"pairs={len(self)}, skipped={len(self.skipped)})")

    def _skip(self, path: str, reason: str) -> None:
        with self._lock:
            if any(p == path for p, _ in self.skipped):
                return
            self.skipped.append((path, reason))
        warnings.warn(f"CamVid: skipping {path}: {reason}", RuntimeWarning, stacklevel=3)

    def read(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode and check pair ``index``; raises DataError whatever ``strict`` says."""
        image_path, label_path = self.pairs[index]
        return read_pair(image_path, label_path, self.ignore_index)

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
        raise DataError(f"CamVid split {self.split!r} under {self.root}: no pair could be read")

    def iter_labels(self) -> Iterator[np.ndarray]:
        """Every label map (uint8 (H, W)), decoding labels only: for class statistics."""
        for i, (_, label_path) in enumerate(self.pairs):
            try:
                yield _label_array(_decode(label_path, "label"), label_path, self.ignore_index)
            except DataError as exc:
                if self.strict:
                    raise
                self._skip(str(self.pairs[i][0]), str(exc))


def median_frequency_weights(labels: Iterable[Any], num_classes: int = 11,
                             ignore_index: int | None = VOID_INDEX) -> np.ndarray:
    """Median-frequency class weights (Eigen & Fergus), as SegNet weights its loss.

    labels: label maps (H, W) of integers, or a dataset (its ``iter_labels()`` when it has one,
        else the label of each (image, label) item).
    freq(c) = pixels of class c / total pixels of the images in which c appears, where an
        image's total counts its non-void pixels only; weight(c) = median(freq) / freq(c), the
        median taken over the classes that appear. A class that never appears gets weight 0.
    Returns float32 (num_classes,).
    """
    if hasattr(labels, "iter_labels"):
        labels = labels.iter_labels()
    class_pixels = np.zeros(num_classes, dtype=np.int64)
    image_pixels = np.zeros(num_classes, dtype=np.int64)
    for n, item in enumerate(labels):
        label = backend.to_numpy(item[1] if isinstance(item, tuple) else item).ravel()
        if ignore_index is not None:
            label = label[label != ignore_index]
        if label.size and (label.min() < 0 or label.max() >= num_classes):
            bad = np.unique(label[(label < 0) | (label >= num_classes)])
            raise ValueError(
                f"median_frequency_weights: label map {n} has values {bad[:8].tolist()} outside "
                f"0..{num_classes - 1} (ignore_index={ignore_index})"
            )
        counts = np.bincount(label.astype(np.intp), minlength=num_classes)
        class_pixels += counts
        image_pixels[counts > 0] += label.size
    seen = class_pixels > 0
    if not seen.any():
        raise ValueError("median_frequency_weights: no labelled (non-void) pixels in the labels given")
    freq = class_pixels[seen] / image_pixels[seen]
    weights = np.zeros(num_classes, dtype=np.float64)
    weights[seen] = np.median(freq) / freq
    return weights.astype(np.float32)
