"""Transforms: image and label move together, labels are never interpolated, seeds fix results."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinyseg.data import CAMVID_PALETTE, ColorJitter, Compose, Normalize, RandomHorizontalFlip, RandomScaleCrop, Resize, ToFloat, resize_label
from .helpers import assert_close, assert_equal

GEOMETRIC = [RandomHorizontalFlip(1.0), RandomScaleCrop((0.8, 1.6)), RandomScaleCrop((0.5, 1.0), size=(40, 56)),
             Resize((24, 100)), Compose([RandomScaleCrop((0.9, 1.3)), RandomHorizontalFlip()])]


def blocks(seed: int, shape=(48, 72), block=12) -> tuple[np.ndarray, np.ndarray]:
    """A label of constant blocks (classes 0..10) and the image that paints each class its colour."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 11, (shape[0] // block, shape[1] // block), dtype=np.uint8)
    label = np.kron(coarse, np.ones((block, block), np.uint8))
    return CAMVID_PALETTE[label], label


def interior(label: np.ndarray) -> np.ndarray:
    """Pixels whose 5x5 neighbourhood has one class (where bilinear colour must equal the class's),
    away from the edges (a crop may cut a class boundary just outside the picture)."""
    pad = np.pad(label, 2, mode="edge")
    same = np.zeros(label.shape, bool)
    same[2:-2, 2:-2] = True
    for dy in range(5):
        for dx in range(5):
            same &= pad[dy:dy + label.shape[0], dx:dx + label.shape[1]] == label
    return same & (label != 11)


@pytest.mark.parametrize("transform", GEOMETRIC, ids=repr)
@given(seed=st.integers(0, 2**31))
def test_image_and_label_stay_aligned(transform, seed):
    image, label = blocks(seed % 1000)
    out_image, out_label = transform(image, label, np.random.default_rng(seed))
    assert out_image.shape[:2] == out_label.shape and out_label.dtype == label.dtype
    inside = interior(out_label)
    assert inside.any()
    diff = np.abs(out_image[inside].astype(int) - CAMVID_PALETTE[out_label[inside]].astype(int))
    assert diff.max() <= 1


@pytest.mark.parametrize("transform", GEOMETRIC, ids=repr)
def test_labels_are_never_interpolated(transform):
    image, label = blocks(1)
    label = np.where(label % 2 == 0, 2, 9).astype(np.uint8)  # two classes: a blend would show up as 5 or so
    for seed in range(5):
        _, out = transform(image, label, np.random.default_rng(seed))
        assert set(np.unique(out)) <= {2, 9, 11}


@pytest.mark.parametrize("transform", GEOMETRIC + [ColorJitter(), Compose([ColorJitter(), Normalize()])], ids=repr)
def test_same_seed_same_result(transform):
    image, label = blocks(2)
    a = transform(image, label, np.random.default_rng(7))
    b = transform(image, label, np.random.default_rng(7))
    assert_equal(a[0], b[0])
    assert_equal(a[1], b[1])


def test_different_seeds_give_different_augmentations():
    image, label = blocks(3)
    t = Compose([RandomScaleCrop((0.7, 1.4)), RandomHorizontalFlip(), ColorJitter()])
    outs = {t(image, label, np.random.default_rng(s))[0].tobytes() for s in range(6)}
    assert len(outs) == 6


def test_flip_mirrors_both():
    image, label = blocks(4)
    out_image, out_label = RandomHorizontalFlip(p=1.0)(image, label, np.random.default_rng(0))
    assert_equal(out_image, image[:, ::-1])
    assert_equal(out_label, label[:, ::-1])
    same = RandomHorizontalFlip(p=0.0)(image, label, np.random.default_rng(0))
    assert_equal(same[1], label)


def test_scale_crop_pads_with_void_when_the_image_shrinks():
    image, label = blocks(5)
    out_image, out_label = RandomScaleCrop((0.5, 0.5), size=(48, 72))(image, label, np.random.default_rng(0))
    assert out_label.shape == (48, 72) and out_image.shape == (48, 72, 3)
    assert (out_label[24:] == 11).all() and (out_label[:, 36:] == 11).all()
    assert (out_image[24:] == 0).all()


def test_resize_label_is_nearest_neighbour():
    label = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert_equal(resize_label(label, (6, 8)), np.repeat(np.repeat(label, 2, 0), 2, 1))
    assert_equal(resize_label(np.repeat(np.repeat(label, 2, 0), 2, 1), (3, 4)), label)


def test_normalize_and_to_float_values_and_dtypes():
    image = np.array([[[0, 128, 255]]], np.uint8)
    label = np.zeros((1, 1), np.uint8)
    out, same = Normalize(mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))(image, label, None)
    assert out.dtype == np.float32 and same is label
    assert_close(out[0, 0], [-2.0, (128 / 255 - 0.5) / 0.5, 0.5], atol=1e-6)
    raw, _ = ToFloat()(image, label, None)
    assert raw.dtype == np.float32 and raw.tolist() == [[[0.0, 128.0, 255.0]]]


def test_color_jitter_keeps_dtypes_and_labels():
    image, label = blocks(6)
    out, out_label = ColorJitter(0.5, 0.5)(image, label, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out_label is label and not np.array_equal(out, image)
    out_f, _ = ColorJitter()(image.astype(np.float32), label, np.random.default_rng(0))
    assert out_f.dtype == np.float32


def test_float_images_resize_in_float32():
    image, label = blocks(7)
    out, _ = Resize((20, 30))(image.astype(np.float32), label, None)
    assert out.dtype == np.float32 and out.shape == (20, 30, 3)


def test_compose_names_a_transform_that_breaks_shapes():
    def crop_image_only(image, label, rng):
        return image[1:], label

    image, label = blocks(8)
    with pytest.raises(ValueError, match=r"after crop_image_only: .*image \(47, 72, 3\) and label \(48, 72\)"):
        Compose([RandomHorizontalFlip(), crop_image_only])(image, label, np.random.default_rng(0))


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="RandomScaleCrop"):
        RandomScaleCrop((1.5, 0.5))
