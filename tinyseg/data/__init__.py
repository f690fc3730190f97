"""Data for training: your own folder data set, CamVid, synthetic street scenes, augmentations, batches.

A data set and batches of it:

    >>> from tinyseg.data import open_dataset, SyntheticScenes, DataLoader, Compose, RandomHorizontalFlip
    >>> train = open_dataset("../shared/camvid", split="train")   # CamVid or a folder data set; or SyntheticScenes(200)
    >>> train.classes                                              # names, colours, ignored label (Classes)
    >>> loader = DataLoader(train, batch_size=4, shuffle=True, seed=0, workers=2,
    ...                     transforms=Compose([RandomHorizontalFlip()]))
"""

from .camvid import CAMVID_MEAN, CAMVID_STD, SEGNET_TUTORIAL_WEIGHTS, CamVid
from .checks import check_same_size, sizes_differ, verify
from .classes import CAMVID, CAMVID_CLASSES, CAMVID_PALETTE, VOID_INDEX, Classes, colorize, read_classes_json
from .detect import SYNTHETIC_VAL, open_dataset, open_split
from .errors import DataError
from .files import read_pair
from .folder import FolderDataset
from .loader import DataLoader, time_batches
from .synthetic import SyntheticScenes, draw_scene
from .transforms import (
    ColorJitter,
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomScaleCrop,
    Resize,
    ToFloat,
    resize_image,
    resize_label,
)
from .weights import median_frequency_weights

__all__ = [
    "Classes",
    "CAMVID",
    "read_classes_json",
    "open_dataset",
    "open_split",
    "SYNTHETIC_VAL",
    "FolderDataset",
    "CamVid",
    "DataError",
    "verify",
    "check_same_size",
    "sizes_differ",
    "CAMVID_CLASSES",
    "CAMVID_PALETTE",
    "CAMVID_MEAN",
    "CAMVID_STD",
    "VOID_INDEX",
    "SEGNET_TUTORIAL_WEIGHTS",
    "colorize",
    "median_frequency_weights",
    "read_pair",
    "SyntheticScenes",
    "draw_scene",
    "DataLoader",
    "time_batches",
    "Compose",
    "Normalize",
    "ToFloat",
    "RandomHorizontalFlip",
    "ColorJitter",
    "RandomScaleCrop",
    "Resize",
    "resize_image",
    "resize_label",
]
