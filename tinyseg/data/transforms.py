"""Augmentations that move an image and its label together, on NumPy arrays.

Every transform is a callable ``(image, label, rng) -> (image, label)``:
image (H, W, 3) uint8 or float32 with values on the 0..255 scale (until Normalize), label (H, W)
integers, rng a ``numpy.random.Generator``. All randomness comes from ``rng``, and each transform
draws the same number of values whatever the data, so a seed fixes the result. Geometry is applied
identically to both arrays; labels are only ever indexed (flipped, cropped, nearest-neighbour
resized), never interpolated, so every output label value is one of the input's.

    >>> t = Compose([RandomScaleCrop((0.75, 1.5)), RandomHorizontalFlip(), ColorJitter(), Normalize()])
    >>> image, label = t(image, label, numpy.random.default_rng(0))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .camvid import CAMVID_MEAN, CAMVID_STD
from .classes import VOID_INDEX

__all__ = [
    "Compose",
    "Normalize",
    "ToFloat",
    "RandomHorizontalFlip",
    "ColorJitter",
    "RandomScaleCrop",
    "Resize",
    "resize_image",
    "resize_label",
    "normalize",
]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize (antialiased when shrinking). image: (H, W, 3) uint8 or float -> size (h, w)."""
    h, w = size
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))
    channels = [
        Image.fromarray(image[..., c].astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR)
        for c in range(image.shape[2])
    ]
    return np.stack([np.asarray(c) for c in channels], axis=-1).astype(image.dtype)


def resize_label(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize by indexing (pixel centres, as Pillow's NEAREST). label: (H, W)."""
    h, w = size
    rows = np.minimum(((np.arange(h) + 0.5) * label.shape[0] / h).astype(np.intp), label.shape[0] - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * label.shape[1] / w).astype(np.intp), label.shape[1] - 1)
    return label[rows[:, None], cols[None, :]]


def _check(where: str, image: np.ndarray, label: np.ndarray) -> None:
    if image.ndim != 3 or label.ndim != 2 or image.shape[:2] != label.shape:
        raise ValueError(
            f"{where}: expected image (H, W, C) and label (H, W) of the same H, W, "
            f"got image {image.shape} and label {label.shape}"
        )


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order, sharing one rng; checks the shapes after each step."""

    transforms: Sequence

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        _check("Compose input", image, label)
        for t in self.transforms:
            image, label = t(image, label, rng)
            _check(f"after {getattr(t, '__name__', None) or repr(t)}", image, label)
        return image, label


@dataclass(frozen=True)
class Normalize:
    """float32 (image / 255 - mean) / std per channel; mean and std on the 0..1 scale.

    The defaults are the RGB statistics of CamVid train. The label passes through.
    """

    mean: Sequence[float] = CAMVID_MEAN
    std: Sequence[float] = CAMVID_STD

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return normalize(image, self.mean, self.std), label


def normalize(image: np.ndarray, mean: Sequence[float] = CAMVID_MEAN, std: Sequence[float] = CAMVID_STD) -> np.ndarray:
    """uint8 image (H, W, 3) -> float32 (image / 255 - mean) / std per channel (what Normalize does
    in a pipeline; for an image without a label)."""
    mean_, std_ = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    return (image.astype(np.float32) / np.float32(255) - mean_) / std_


@dataclass(frozen=True)
class ToFloat:
    """float32 image with its raw 0..255 values: the reference SegNet-Basic input.

    The Caffe model feeds raw pixels to its first layer, a local response norm (LRN), which does
    the normalising. The DataLoader casts to float32 anyway; this makes the choice explicit.
    """

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return image.astype(np.float32), label


@dataclass(frozen=True)
class RandomHorizontalFlip:
    """Mirror image and label left-right with probability ``p``."""

    p: float = 0.5

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if rng.random() < self.p:
            return image[:, ::-1], label[:, ::-1]
        return image, label


@dataclass(frozen=True)
class ColorJitter:
    """Scale brightness by U(1 - b, 1 + b), then contrast about the mean by U(1 - c, 1 + c).

    uint8 images are clipped to 0..255 and stay uint8; float images stay float32, unclipped.
    """

    brightness: float = 0.25
    contrast: float = 0.25

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        b = np.float32(1.0 + rng.uniform(-self.brightness, self.brightness))
        c = np.float32(1.0 + rng.uniform(-self.contrast, self.contrast))
        x = image.astype(np.float32) * b
        mean = x.mean(dtype=np.float32)
        x = (x - mean) * c + mean
        if image.dtype == np.uint8:
            return np.clip(np.rint(x), 0, 255).astype(np.uint8), label
        return x, label


@dataclass(frozen=True)
class RandomScaleCrop:
    """Resize by a factor drawn from U(scale), then crop ``size`` (h, w) at a random place.

    size None crops back to the input size. Where the scaled image is smaller than the crop it
    is padded: image with ``fill``, label with ``ignore_index`` (void, so padding costs no loss;
    give the data set's ``classes.ignore_index``). With ignore_index None nothing may be padded:
    a scale below 1 is refused, as padded pixels would need a class.
    The image is resized bilinearly, the label by nearest neighbour.
    """

    scale: tuple[float, float] = (0.75, 1.5)
    size: tuple[int, int] | None = None
    fill: float = 0
    ignore_index: int | None = VOID_INDEX

    def __post_init__(self) -> None:
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"RandomScaleCrop: scale must be (low, high) with 0 < low <= high, got {self.scale}")
        if self.ignore_index is None and self.scale[0] < 1:
            raise ValueError(
                f"RandomScaleCrop: scale {self.scale} goes below 1, which pads the label, but "
                "ignore_index is None (no label value to pad with); use scales >= 1"
            )

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        H, W = label.shape
        ch, cw = self.size or (H, W)
        s = rng.uniform(*self.scale)
        u, v = rng.random(), rng.random()  # crop position, drawn always (fixed draw count)
        sh, sw = max(1, round(H * s)), max(1, round(W * s))
        image, label = resize_image(image, (sh, sw)), resize_label(label, (sh, sw))
        if sh < ch or sw < cw:
            if self.ignore_index is None:
                raise ValueError(
                    f"RandomScaleCrop: the image scaled to {sh}x{sw} is smaller than the crop "
                    f"{ch}x{cw} and ignore_index is None (no label value to pad with)"
                )
            ph, pw = max(ch - sh, 0), max(cw - sw, 0)
            image = np.pad(image, ((0, ph), (0, pw), (0, 0)), constant_values=self.fill)
            label = np.pad(label, ((0, ph), (0, pw)), constant_values=self.ignore_index)
        y0 = int(u * (image.shape[0] - ch + 1))
        x0 = int(v * (image.shape[1] - cw + 1))
        return image[y0 : y0 + ch, x0 : x0 + cw], label[y0 : y0 + ch, x0 : x0 + cw]


@dataclass(frozen=True)
class Resize:
    """Resize to a fixed ``size`` (h, w): image bilinear, label nearest neighbour."""

    size: tuple[int, int]

    def __call__(self, image: np.ndarray, label: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if image.shape[:2] == tuple(self.size):
            return image, label
        return resize_image(image, self.size), resize_label(label, self.size)
