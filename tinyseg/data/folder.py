"""Your own data set as folders: images/<split>/ and labels/<split>/, paired by file stem.

    root/
      images/train/a.jpg  images/val/...  images/test/...     PNG or JPEG (any Pillow format)
      labels/train/a.png  labels/val/...  labels/test/...     single-channel PNG of class indices
      classes.json        optional: {"names": [...], "colors": [[r, g, b], ...], "ignore_index": 255}

Without classes.json (or a ``classes`` argument) the classes are discovered from the label values
of the training split: 0..max, with 255 taken as ignored if present, in the default palette.
With classes that the user gave, labels may also be colour-coded RGB pictures in their colours.

    >>> ds = FolderDataset("cells", split="train")
    >>> image, label = ds[0]            # uint8 (H, W, 3), uint8 (H, W)
    >>> ds.classes, ds.classes_source   # Classes([...], ignore_index=255), "discovered from 12 ..."
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .classes import Classes, given_classes
from .errors import DataError
from .files import IMAGE_SUFFIXES, PairedImages, decode, images_by_stem, pair_by_stem

__all__ = ["FolderDataset", "discover_classes", "SPLITS"]

SPLITS = ("train", "val", "test")
DISCOVERED_IGNORE = 255


def _splits(root: Path) -> str:
    """The splits of ``root`` that have both an images/ and a labels/ folder, for messages."""
    found = (
        sorted(p.name for p in (root / "images").glob("*") if p.is_dir() and (root / "labels" / p.name).is_dir())
        if (root / "images").is_dir()
        else []
    )
    return ", ".join(found) or "none"


def _refuse_suspicious(values: set[int], count: int, root: Path, label_dir: Path) -> None:
    """DataError, naming the folder, the values found and the fix, when label values found while
    discovering cannot be classes 0..K-1 (with 255 ignored): binary 0/255 masks, fewer than 2
    classes, or values above 254 (greyscale photos or 16-bit images, not class indices)."""
    classes_json = root / "classes.json"
    if not count:
        raise DataError(f"{label_dir} holds no readable label to discover the classes from; write {classes_json}")
    found_in = f"the {count} labels in {label_dir} hold" if count > 1 else f"the one label in {label_dir} holds"
    if values == {0, DISCOVERED_IGNORE}:
        raise DataError(
            f"{found_in} only the values 0 and 255: binary masks, which would be 1 class with 255 ignored; "
            f'add "names": ["background", "foreground"], "values": [0, 255] to {classes_json} '
            "(docs/your-data.md#when-your-masks-are-0255)"
        )
    found = sorted(values)
    classes = [v for v in found if v != DISCOVERED_IGNORE]
    if len(classes) < 2:
        ignored = f" ({DISCOVERED_IGNORE} taken as ignored)" if DISCOVERED_IGNORE in values else ""
        raise DataError(
            f"{found_in} only the values {found}{ignored}: fewer than 2 classes, nothing to tell apart; "
            f'write {classes_json} with "names" (and "values" when the stored values are not 0, 1, ...) '
            "(docs/your-data.md#when-something-is-wrong-with-the-data)"
        )
    if classes[-1] > DISCOVERED_IGNORE - 1:
        raise DataError(
            f"{found_in} {len(found)} distinct values up to {classes[-1]}: labels must be class indices "
            f"0..{DISCOVERED_IGNORE - 1} plus the ignored value {DISCOVERED_IGNORE} (a greyscale photo or a "
            f'16-bit image is not a label); or map stored values to classes with "values" in {classes_json} '
            "(docs/your-data.md#when-something-is-wrong-with-the-data)"
        )


def discover_classes(root: str | Path, skip: Callable[[str, str], None] | None = None) -> tuple[Classes, str]:
    """Classes from the label values of ``root/labels/train``: 0..max, 255 ignored if present.

    Decodes every training label (once, when a data set without classes.json is built). A label
    that cannot be read (or is a JPEG) is skipped through ``skip(path, reason)`` when given, else
    raises. Values that cannot be classes are refused with the fix: binary 0/255 masks (classes.json
    with "values": [0, 255]), fewer than 2 classes, values above 254.
    Returns (classes, a one-line description of what was found).
    """
    root = Path(root).expanduser()
    label_dir = root / "labels" / "train"
    if not label_dir.is_dir():
        raise DataError(
            f"{root} has no classes.json and no labels/train/ folder to discover the classes from; "
            f"write {root / 'classes.json'} (docs/data.md)"
        )
    values: set[int] = set()
    count = 0
    for path in images_by_stem(label_dir).values():
        try:
            im = decode(path, "label")
            if len(im.getbands()) != 1 or im.mode in ("1", "F"):
                raise DataError(
                    f"label {path} has mode {im.mode!r}: colour-coded labels need {root / 'classes.json'} with "
                    "the colours (without it, classes are discovered from single-channel labels of class indices)"
                )
        except DataError as exc:
            if skip is None:
                raise
            skip(str(path), str(exc))
            continue
        values.update(np.unique(np.asarray(im)).tolist())
        count += 1
    _refuse_suspicious(values, count, root, label_dir)
    ignore = DISCOVERED_IGNORE if DISCOVERED_IGNORE in values else None
    values.discard(DISCOVERED_IGNORE)
    k = max(values) + 1
    unused = k - len(values)
    source = (
        f"discovered from {count} training labels: classes 0..{k - 1}"
        + (f" ({unused} never appear)" if unused else "")
        + (f", {ignore} ignored" if ignore is not None else ", nothing ignored")
        + " (no classes.json)"
    )
    return Classes.default(k, ignore), source


class FolderDataset(PairedImages):
    """A folder data set: ``ds[i]`` is (image uint8 (H, W, 3), label uint8 (H, W)).

    root: folder holding images/ and labels/ (and optionally classes.json).
    split: "train", "val" or "test": the folders images/<split>/ and labels/<split>/.
    classes: a Classes or the path of a JSON file; default root/classes.json, else discovered
        from the training labels (pass ``train.classes`` to the other splits to discover once).
        ``classes_source`` says, in one line, where they came from.
    skip_bad: False stops on the first bad pair with a DataError; True skips bad pairs with a
        warning and lists them in ``skipped`` as (file, reason), as CamVid's strict=False does.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        classes: Classes | str | Path | None = None,
        skip_bad: bool = False,
    ) -> None:
        self.root, self.split = Path(root).expanduser(), split
        self._start(strict=not skip_bad)
        if not self.root.is_dir():
            raise DataError(f"data set root {self.root} does not exist or is not a folder")
        image_dir, label_dir = self.root / "images" / split, self.root / "labels" / split
        for folder in (image_dir, label_dir):
            if not folder.is_dir():
                raise DataError(
                    f"split {split!r}: folder {folder} not found "
                    f"(splits with images/ and labels/ folders here: {_splits(self.root)})"
                )
        given = given_classes(classes, self.root)
        if given is None:
            self.classes, self.classes_source = discover_classes(self.root, None if self.strict else self._skip)
        else:
            (self.classes, self.classes_source), self.colour_labels = given, True
        pairs, problems = pair_by_stem(image_dir, label_dir)
        if not pairs and not problems:
            raise DataError(
                f"split {split!r} under {self.root} is empty: {image_dir} and {label_dir} hold no "
                f"images ({', '.join(IMAGE_SUFFIXES)}); splits here: {_splits(self.root)}"
            )
        self._keep(pairs, problems)

    def __repr__(self) -> str:
        return (
            f"FolderDataset(root={str(self.root)!r}, split={self.split!r}, pairs={len(self)}, "
            f"classes={len(self.classes)}, skipped={len(self.skipped)})"
        )
