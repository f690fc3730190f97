"""Checks of a whole split before any work a bad file would waste: every pair readable, one size.

    >>> verify(val)                      # every pair once: labels decoded and checked, images by header
    >>> check_same_size(val, "val")      # (H, W) shared by every image, from the headers; else DataError

Both read what the readers read and raise what the readers raise (one-line DataErrors naming the
file), so a problem a run would meet at its first validation stops it before its first step.
"""

from __future__ import annotations

from typing import Any

from .errors import DataError

__all__ = ["verify", "check_same_size", "sizes_differ"]


def verify(dataset: Any) -> int:
    """Check every pair of ``dataset`` once: each label decoded and checked as the reader checks it
    (format, mode, values, size against its image), each image by its header. Raises the first bad
    pair's DataError, or with ``skip_bad`` (``strict=False``) skips and records every bad pair in
    ``dataset.skipped`` as reading it would. A data set with nothing on disk (SyntheticScenes, arrays
    in memory) has nothing to check. Returns the number of good pairs."""
    if hasattr(dataset, "verify"):
        return int(dataset.verify())
    return len(dataset)


def _name(dataset: Any, index: int) -> str:
    """The image file item ``index`` is read from, or "item <index>" for a data set without files."""
    if hasattr(dataset, "source"):
        return str(dataset.source(index)[0])
    return f"item {index}"


def check_same_size(dataset: Any, split_name: str) -> tuple[int, int] | None:
    """The (H, W) every image of ``dataset`` shares, read from the file headers (nothing decoded).
    DataError naming two files of different sizes, with the fix (``--size``; ``transforms.Resize``
    in Python). None for a data set that cannot tell its sizes without reading its items."""
    if not hasattr(dataset, "image_sizes"):
        return None
    sizes = dataset.image_sizes()
    first = sizes[0]
    for i, size in enumerate(sizes):
        if size != first:
            count = len(set(sizes))
            raise DataError(
                f"the {split_name} images differ in size ({count} sizes among {len(sizes)} images): "
                f"{_name(dataset, 0)} is {first[0]}x{first[1]} but {_name(dataset, i)} is {size[0]}x{size[1]} "
                "(H x W); give --size HxW (resizes every image), or transforms.Resize((h, w)) in Python"
            )
    return first


def sizes_differ(dataset: Any) -> bool:
    """True when the images of ``dataset`` are not all one (H, W), read from the file headers; False
    for a data set that cannot tell its sizes without reading its items. A batch needs one size:
    evaluation scores such a split one image at a time."""
    return hasattr(dataset, "image_sizes") and len(set(dataset.image_sizes())) > 1
