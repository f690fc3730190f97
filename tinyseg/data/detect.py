"""Open a data set whatever its layout: the folder layout, the SegNet tutorial's CamVid, or the
built-in synthetic scenes when there is no folder."""

from __future__ import annotations

from pathlib import Path

from .camvid import CamVid
from .classes import Classes
from .errors import DataError
from .folder import SPLITS, FolderDataset
from .synthetic import SyntheticScenes

__all__ = ["open_dataset", "open_split", "layout_of", "SYNTHETIC_VAL"]

SYNTHETIC_VAL = 40  # synthetic validation scenes, drawn from seed + 10,000


def layout_of(root: str | Path) -> str:
    """ "folder" (images/ and labels/) or "camvid" (<split>/ with <split>annot/, or <split>.txt).
    DataError naming root and what was looked for when it is neither."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"data set root {root} does not exist or is not a folder")
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return "folder"
    if any(p.is_dir() and (root / f"{p.name}annot").is_dir() for p in root.iterdir()) or any(
        (root / f"{s}.txt").is_file() for s in SPLITS
    ):
        return "camvid"
    found = ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())[:12]) or "nothing"
    raise DataError(
        f"{root} is not a data set tinyseg knows: looked for images/ and labels/ (the folder layout) and for "
        f"train/ with trainannot/ or train.txt (the SegNet tutorial's CamVid layout), found {found} (docs/data.md)"
    )


def open_dataset(
    root: str | Path, split: str = "train", classes: Classes | str | Path | None = None, skip_bad: bool = False
) -> CamVid | FolderDataset:
    """The data set under ``root`` in whichever layout it has. classes: a Classes or a JSON file
    (default: root/classes.json, else CamVid's own or discovered); skip_bad: skip and list bad pairs."""
    if layout_of(root) == "folder":
        return FolderDataset(root, split, classes=classes, skip_bad=skip_bad)
    return CamVid(root, split, strict=not skip_bad, classes=classes)


def open_split(
    root: str | Path | None,
    split: str,
    *,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    synthetic: int = 400,
    classes: Classes | str | Path | None = None,
    skip_bad: bool = False,
) -> CamVid | FolderDataset | SyntheticScenes:
    """The ``split`` of the data set under ``root`` (:func:`open_dataset`), or, with root None, of
    the built-in synthetic scenes at ``size``: ``synthetic`` training scenes drawn from ``seed``,
    or SYNTHETIC_VAL validation scenes drawn from ``seed + 10_000``."""
    if root is not None:
        return open_dataset(root, split=split, classes=classes, skip_bad=skip_bad)
    if split not in ("train", "val"):
        raise DataError(f"the synthetic scenes have a train and a val split, not {split!r}; give a data folder")
    if size is None:
        raise DataError("the synthetic scenes need a size; give a data folder for a model not trained on them")
    if split == "train":
        return SyntheticScenes(synthetic, size=size, seed=seed)
    return SyntheticScenes(SYNTHETIC_VAL, size=size, seed=seed + 10_000)
