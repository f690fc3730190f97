"""Data for training: CamVid from disk, synthetic street scenes, augmentations, batches.

    >>> from tinyseg.data import CamVid, SyntheticScenes, DataLoader, Compose, RandomHorizontalFlip
    >>> train = CamVid("../shared/camvid", split="train")        # or SyntheticScenes(200)
    >>> loader = DataLoader(train, batch_size=4, shuffle=True, seed=0, workers=2,
    ...                     transforms=Compose([RandomHorizontalFlip()]))
"""

from .camvid import (
    CAMVID_CLASSES,
    CAMVID_MEAN,
    CAMVID_PALETTE,
    CAMVID_STD,
    SEGNET_TUTORIAL_WEIGHTS,
    VOID_INDEX,
    CamVid,
    DataError,
    colorize,
    median_frequency_weights,
    read_pair,
)
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

__all__ = [
    "CamVid", "DataError", "CAMVID_CLASSES", "CAMVID_PALETTE", "CAMVID_MEAN", "CAMVID_STD", "VOID_INDEX",
    "SEGNET_TUTORIAL_WEIGHTS", "colorize", "median_frequency_weights", "read_pair",
    "SyntheticScenes", "draw_scene", "DataLoader", "time_batches",
    "Compose", "Normalize", "ToFloat", "RandomHorizontalFlip", "ColorJitter", "RandomScaleCrop", "Resize",
    "resize_image", "resize_label",
]
