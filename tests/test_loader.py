"""DataLoader: shapes and dtypes, determinism whatever the threads, exact mid-epoch resumption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyseg.engine import backend
from tinyseg.data import CamVid, ColorJitter, Compose, DataError, DataLoader, RandomHorizontalFlip, RandomScaleCrop, Resize, SyntheticScenes, time_batches
from .helpers import assert_equal

REAL = Path(__file__).resolve().parents[2] / "shared" / "camvid"
SCENES = SyntheticScenes(10, size=(32, 48), seed=0)
AUGMENT = Compose([RandomScaleCrop((0.75, 1.25)), RandomHorizontalFlip(), ColorJitter()])


def batches(loader, epoch=0, start=0):
    return [(backend.to_numpy(x), backend.to_numpy(y)) for x, y in loader.iter_from(epoch, start)]


def assert_same(a, b):
    assert len(a) == len(b)
    for (x1, y1), (x2, y2) in zip(a, b):
        assert_equal(x1, x2)
        assert_equal(y1, y2)


def test_batch_shapes_and_dtypes():
    loader = DataLoader(SCENES, batch_size=4)
    assert len(loader) == 3
    on_device = list(loader)
    array_type = type(backend.get_xp().zeros(1))
    assert all(type(x) is array_type and type(y) is array_type for x, y in on_device)
    out = [(backend.to_numpy(x), backend.to_numpy(y)) for x, y in on_device]
    assert [x.shape for x, _ in out] == [(4, 3, 32, 48)] * 2 + [(2, 3, 32, 48)]
    assert all(x.dtype == np.float32 and y.dtype == np.uint8 and y.shape == (x.shape[0], 32, 48) for x, y in out)
    image, label = SCENES[0]
    assert_equal(out[0][0][0], image.transpose(2, 0, 1))  # no transforms: raw 0..255
    assert_equal(out[0][1][0], label)


def test_drop_last():
    loader = DataLoader(SCENES, batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_do_not_change_the_batches(shuffle):
    kw = dict(batch_size=3, shuffle=shuffle, seed=5, transforms=AUGMENT)
    serial = batches(DataLoader(SCENES, workers=0, **kw), epoch=2)
    assert_same(batches(DataLoader(SCENES, workers=2, **kw), epoch=2), serial)
    assert_same(batches(DataLoader(SCENES, workers=3, prefetch=1, **kw), epoch=2), serial)


def test_iter_from_is_the_tail_of_a_full_epoch():
    loader = DataLoader(SCENES, batch_size=3, shuffle=True, seed=1, transforms=AUGMENT, workers=2)
    full = batches(loader, epoch=4)
    for start in (1, 3, 4):
        assert_same(batches(loader, epoch=4, start=start), full[start:])
    with pytest.raises(ValueError, match="start_batch"):
        loader.iter_from(0, 5)


def test_augmentation_depends_on_item_not_on_batching():
    a = DataLoader(SCENES, batch_size=2, shuffle=True, seed=3, transforms=AUGMENT)
    b = DataLoader(SCENES, batch_size=5, shuffle=True, seed=3, transforms=AUGMENT, workers=2)
    ya = np.concatenate([y for _, y in batches(a, 1)])
    yb = np.concatenate([y for _, y in batches(b, 1)])
    assert_equal(ya, yb)


def test_epochs_reshuffle_and_each_covers_every_item_once():
    loader = DataLoader(SCENES, batch_size=4, shuffle=True, seed=0)
    orders = [loader.order(e) for e in range(3)]
    assert all(sorted(o) == list(range(10)) for o in orders)
    assert not np.array_equal(orders[0], orders[1])
    assert_equal(loader.order(1), DataLoader(SCENES, 2, shuffle=True, seed=0).order(1))
    assert not np.array_equal(loader.order(1), DataLoader(SCENES, 4, shuffle=True, seed=1).order(1))


def test_a_full_pass_advances_the_epoch_and_set_epoch_rewinds():
    loader = DataLoader(SCENES, batch_size=4, shuffle=True, seed=0, workers=2)
    first = [backend.to_numpy(y) for _, y in loader]
    assert loader.epoch == 1
    second = [backend.to_numpy(y) for _, y in loader]
    assert loader.epoch == 2 and not np.array_equal(first[0], second[0])
    loader.set_epoch(0)
    assert_equal(backend.to_numpy(next(iter(loader))[1]), first[0])


def test_breaking_out_early_stops_the_threads():
    loader = DataLoader(SCENES, batch_size=1, workers=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert loader.epoch == 0  # an unfinished pass does not count
    assert len(list(loader)) == 10


def test_items_of_different_sizes_ask_for_a_resize():
    class Mixed:
        def __len__(self):
            return 2

        def __getitem__(self, i):
            h = 8 + 2 * i
            return np.zeros((h, 10, 3), np.uint8), np.zeros((h, 10), np.uint8)

    with pytest.raises(ValueError, match="Resize"):
        list(DataLoader(Mixed(), batch_size=2))
    out = list(DataLoader(Mixed(), batch_size=2, transforms=Resize((8, 10))))
    assert out[0][0].shape == (2, 3, 8, 10)


def test_errors_in_worker_threads_reach_the_caller(tmp_path):
    from PIL import Image

    (tmp_path / "train").mkdir()
    (tmp_path / "trainannot").mkdir()
    for i in range(4):
        Image.new("RGB", (6, 4)).save(tmp_path / "train" / f"{i}.png")
        Image.new("L", (6, 4)).save(tmp_path / "trainannot" / f"{i}.png")
    (tmp_path / "train" / "2.png").write_bytes(b"broken")
    with pytest.raises(DataError, match=r"2\.png cannot be read"):
        list(DataLoader(CamVid(tmp_path), batch_size=1, workers=2))


class _Labels:
    """A data set of 4 one-row items whose item 2 holds ``value``; 3 classes, void 255."""

    num_classes, ignore_index = 3, 255

    def __init__(self, value: int) -> None:
        self.value = value

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        label = np.array([[0, 1, 2, 255]], dtype=np.int16)
        if i == 2:
            label[0, 0] = self.value
        return np.zeros((1, 4, 3), np.uint8), label


def test_labels_are_checked_on_the_host_and_travel_as_uint8():
    images, labels = next(iter(DataLoader(_Labels(1), batch_size=4)))
    assert backend.to_numpy(labels).dtype == np.uint8 and int(labels[0, 0, 3]) == 255  # void up to 255
    for value in (3, -1):
        with pytest.raises(DataError, match=rf"label of item 2 holds values \[{value}\] outside the classes 0\.\.2"):
            list(DataLoader(_Labels(value), batch_size=2, workers=1))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(SCENES, batch_size=0)
    with pytest.raises(ValueError, match="workers"):
        DataLoader(SCENES, workers=-1)
    with pytest.raises(ValueError, match="seed"):
        DataLoader(SCENES, seed=-3)


def test_time_batches_reports_each_worker_count():
    result = time_batches(SCENES, batch_size=2, workers=(0, 2), batches=3)
    assert set(result) == {0, 2}
    assert all(0 < r["wait_s"] <= r["batch_s"] for r in result.values())


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real CamVid not found at {REAL}")
def test_one_real_camvid_batch():
    loader = DataLoader(CamVid(REAL), batch_size=2, shuffle=True, seed=0, workers=2)
    assert len(loader) == 184
    images, labels = next(iter(loader))
    assert images.shape == (2, 3, 360, 480) and labels.shape == (2, 360, 480)
    assert images.dtype == np.float32 and labels.dtype == np.uint8 and int(labels.max()) <= 11
