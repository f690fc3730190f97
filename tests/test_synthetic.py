"""Synthetic street scenes: deterministic, every class present, street-like layout, fast."""

from __future__ import annotations


import numpy as np
import pytest

from tinyseg.data import CAMVID_CLASSES, SyntheticScenes, median_frequency_weights
from .helpers import assert_equal

SKY, ROAD = 0, 3


@pytest.fixture(scope="module")
def scenes():
    ds = SyntheticScenes(30, size=(96, 128), seed=0)
    return ds, [ds[i] for i in range(len(ds))]


def test_items_have_the_camvid_item_type(scenes):
    ds, items = scenes
    for image, label in items[:5]:
        assert image.shape == (96, 128, 3) and image.dtype == np.uint8 and image.flags.c_contiguous
        assert label.shape == (96, 128) and label.dtype == np.uint8 and label.max() <= 11
    assert ds.classes.names == CAMVID_CLASSES and ds.num_classes == 11 and ds.ignore_index == 11
    assert len(ds) == 30


def test_same_seed_and_index_same_scene():
    a, b = SyntheticScenes(5, seed=3), SyntheticScenes(50, seed=3)
    for i in range(5):
        assert_equal(a[i][0], b[i][0])
        assert_equal(a[i][1], b[i][1])
    assert not np.array_equal(a[0][1], SyntheticScenes(5, seed=4)[0][1])
    assert not np.array_equal(a[0][1], a[1][1])
    with pytest.raises(IndexError):
        a[5]


def test_every_class_appears_in_a_few_dozen_scenes(scenes):
    _, items = scenes
    present = np.zeros(12, bool)
    for _, label in items:
        present[np.unique(label)] = True
    assert present.all(), [CAMVID_CLASSES[c] for c in range(11) if not present[c]]


def test_sky_on_top_road_at_the_bottom(scenes):
    _, items = scenes
    labels = np.stack([label for _, label in items])
    sky_rows = np.nonzero(labels == SKY)[1]
    road_rows = np.nonzero(labels == ROAD)[1]
    assert np.mean(sky_rows < 48) > 0.99 and np.mean(road_rows >= 36) > 0.99
    assert (labels[:, 0] == SKY).mean() > 0.3 and (labels[:, -1] == ROAD).mean() > 0.3


def test_void_is_a_thin_border_and_optional(scenes):
    _, items = scenes
    void = np.mean([(label == 11).mean() for _, label in items])
    assert 0.005 < void < 0.1
    _, label = SyntheticScenes(1, void_borders=False)[0]
    assert (label != 11).all()


def test_colours_vary_within_and_between_scenes(scenes):
    _, items = scenes
    road_means = [image[label == ROAD].mean(axis=0) for image, label in items]
    assert np.std(road_means, axis=0).min() > 5        # roads differ between scenes
    image, label = items[0]
    assert image[label == ROAD].std(axis=0).min() > 3  # and are textured within one


def test_class_weights_of_synthetic_scenes_are_all_positive():
    w = median_frequency_weights(SyntheticScenes(12, seed=1))
    assert w.shape == (11,) and (w > 0).sum() >= 9


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        SyntheticScenes(0)
    with pytest.raises(ValueError, match="size"):
        SyntheticScenes(4, size=(8, 8))
