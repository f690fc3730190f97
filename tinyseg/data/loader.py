"""Batches for training: shuffling, augmentation in background threads, exact resumption.

    >>> loader = DataLoader(dataset, batch_size=4, shuffle=True, seed=0, workers=2,
    ...                     transforms=Compose([RandomHorizontalFlip(), Normalize()]))
    >>> for epoch in range(10):
    ...     loader.set_epoch(epoch)
    ...     for images, labels in loader:      # float32 (4, 3, H, W), uint8 (4, H, W)
    ...         ...

Determinism. The order of epoch e is a permutation drawn from the seed sequence (seed, e); the
augmentation of item i in epoch e draws from its own generator, seeded by (seed, e, i). Neither
depends on which thread ran first, on the number of workers, or on where an epoch was entered,
so ``loader.iter_from(e, b)`` yields exactly batches b, b+1, ... of a full pass of epoch e: a
training run stopped mid-epoch resumes with the same batches it would have seen.

Prefetch. With ``workers > 0`` a thread pool decodes and augments whole batches ahead of the
consumer, at most ``prefetch`` of them at a time (a bounded queue). Pillow releases the GIL while
it decodes, so loading overlaps the model's work. Batches come out in order.

Labels are checked once, on the host, before any GPU work, so that the loss and the metrics need
not check on the device (where every check would make the GPU wait). The readers check them where
they enter (CamVid and FolderDataset when a label is read, SyntheticScenes by construction: their
``checks_labels`` is True); for any other data set that names its classes (``num_classes`` and
``ignore_index``) the loader checks each batch: a value that is neither a class nor the void label
stops the run with the item's index. Labels travel as uint8 (1 byte a pixel instead of int64's 8);
a label set that does not fit a byte stays int64.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ..engine import backend
from .errors import DataError

__all__ = ["DataLoader", "time_batches"]

Transform = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


class DataLoader:
    """Batches (images float32 (N, 3, H, W), labels uint8 (N, H, W)) on the active backend.

    dataset: anything with ``len`` and ``dataset[i] -> (image (H, W, 3), label (H, W))``.
    shuffle: a fresh order every epoch, drawn from (seed, epoch).
    seed: a non-negative int; with the epoch and item index it fixes order and augmentation.
    transforms: a transform ``(image, label, rng) -> (image, label)``, e.g. a Compose, or None.
        Without a Normalize the images keep their raw 0..255 values (as float32).
    workers: background threads (0 loads in the calling thread).
    drop_last: drop the last, smaller batch of an epoch.
    prefetch: batches loaded ahead at most (default 2 * workers).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        seed: int = 0,
        transforms: Transform | None = None,
        workers: int = 0,
        drop_last: bool = False,
        prefetch: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if workers < 0:
            raise ValueError(f"DataLoader: workers must be >= 0, got {workers}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative int, got {seed!r}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        self.dataset, self.batch_size, self.shuffle, self.seed = dataset, batch_size, shuffle, int(seed)
        self.transforms, self.workers, self.drop_last = transforms, workers, drop_last
        self.prefetch = max(1, prefetch if prefetch is not None else 2 * workers)
        self.epoch = 0

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next ``iter(loader)`` runs (it advances by one after each full pass)."""
        self.epoch = int(epoch)

    def order(self, epoch: int) -> np.ndarray:
        """Item indices of ``epoch`` in the order they are served."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def batch_indices(self, epoch: int) -> list[np.ndarray]:
        """The item indices of each batch of ``epoch``."""
        order = self.order(epoch)
        return [order[i : i + self.batch_size] for i in range(0, len(self) * self.batch_size, self.batch_size)]

    def load_item(self, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Item ``index`` of ``epoch``, augmented: (image (H, W, 3), label (H, W)) NumPy arrays."""
        image, label = self.dataset[int(index)]
        if self.transforms is not None:
            rng = np.random.default_rng([self.seed, int(epoch), int(index)])
            image, label = self.transforms(image, label, rng)
        return image, label

    def load_batch(self, epoch: int, indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stacked items as NumPy arrays: images float32 (N, 3, H, W), labels uint8 (N, H, W) (int64
        when a value does not fit a byte). Raises DataError for items of different sizes, and for a
        label outside the data set's classes when the data set does not check its own labels."""
        items = [self.load_item(epoch, i) for i in indices]
        _check_stackable(items, indices)
        images = np.stack([im for im, _ in items]).astype(np.float32, copy=False)
        labels = np.stack([lb for _, lb in items])
        if not getattr(self.dataset, "checks_labels", False):
            self._check_labels(labels, indices)
        small = labels.size == 0 or (labels.min() >= 0 and labels.max() <= 255)
        labels = labels.astype(np.uint8 if small else np.int64, copy=False)
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2)), labels

    def _check_labels(self, labels: np.ndarray, indices: Sequence[int] | np.ndarray) -> None:
        """DataError naming the item and values when a label is neither a class nor the void label."""
        k, void = getattr(self.dataset, "num_classes", None), getattr(self.dataset, "ignore_index", None)
        if k is None:
            return
        bad = (labels < 0) | (labels >= k)
        if void is not None:
            bad &= labels != void
        if bad.any():
            item = int(indices[int(np.argmax(bad.reshape(len(labels), -1).any(axis=1)))])
            raise DataError(
                f"DataLoader: the label of item {item} holds values {np.unique(labels[bad])[:10].tolist()} outside "
                f"the classes 0..{k - 1} (void: {void}); fix the data set or its num_classes / ignore_index"
            )

    def __iter__(self) -> Generator[tuple[Any, Any], None, None]:
        return self.iter_from(self.epoch, 0)

    def iter_from(self, epoch: int, start_batch: int = 0) -> Generator[tuple[Any, Any], None, None]:
        """Batches ``start_batch``, ``start_batch + 1``, ... of ``epoch``: the tail of a full pass."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"DataLoader.iter_from: start_batch must lie in 0..{len(self)}, got {start_batch}")
        return self._batches(int(epoch), self.batch_indices(epoch)[start_batch:])

    def _batches(self, epoch: int, batches: list[np.ndarray]) -> Generator[tuple[Any, Any], None, None]:
        if self.workers == 0:
            for indices in batches:
                yield self._to_device(self.load_batch(epoch, indices))
        else:
            pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tinyseg-data")
            pending: deque[Future] = deque()
            todo = iter(batches)
            try:
                for indices in todo:
                    pending.append(pool.submit(self.load_batch, epoch, indices))
                    if len(pending) == self.prefetch:
                        break
                while pending:
                    batch = pending.popleft().result()
                    following = next(todo, None)
                    if following is not None:
                        pending.append(pool.submit(self.load_batch, epoch, following))
                    yield self._to_device(batch)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        self.epoch = epoch + 1

    @staticmethod
    def _to_device(batch: tuple[np.ndarray, np.ndarray]) -> tuple[Any, Any]:
        return backend.to_device(batch[0]), backend.to_device(batch[1])


def _check_stackable(items: list[tuple[np.ndarray, np.ndarray]], indices: Sequence[int] | np.ndarray) -> None:
    """DataError naming the items and their shapes unless every image is (H, W, 3) and every label
    (H, W) of one size: a batch is one array."""
    odd = [(i, im.shape) for i, (im, _) in zip(indices, items) if im.ndim != 3 or im.shape[2] != 3]
    if odd:
        raise DataError(f"DataLoader: item {odd[0][0]} has an image of shape {odd[0][1]}; expected (H, W, 3) RGB")
    first = (items[0][0].shape, items[0][1].shape)
    for i, (im, lb) in zip(indices, items):
        if (im.shape, lb.shape) != first:
            raise DataError(
                f"DataLoader: cannot batch items of different sizes: item {int(indices[0])} is image {first[0]} "
                f"label {first[1]}, item {int(i)} is image {im.shape} label {lb.shape}; give --size HxW "
                "(resizes every image), or add transforms.Resize(size) in Python"
            )


def time_batches(
    dataset: Any,
    batch_size: int = 4,
    workers: Sequence[int] = (0, 2),
    batches: int = 12,
    transforms: Transform | None = None,
    step_s: float = 0.0,
    seed: int = 0,
) -> dict[int, dict[str, float]]:
    """Measure the prefetch benefit: seconds per batch for each number of workers.

    The consumer "trains" for ``step_s`` seconds per batch (a sleep standing in for the model).
    Returns {workers: {"batch_s": wall time per batch, "wait_s": time per batch spent waiting
    for data}}. With step_s = 0 it measures raw loading throughput.
    """
    results = {}
    for w in workers:
        loader = DataLoader(dataset, batch_size, shuffle=True, seed=seed, transforms=transforms, workers=w)
        n = min(batches, len(loader))
        waited, start = 0.0, time.perf_counter()
        it = iter(loader)
        for _ in range(n):
            t = time.perf_counter()
            next(it)
            waited += time.perf_counter() - t
            time.sleep(step_s)
        it.close()
        total = time.perf_counter() - start
        results[w] = {"batch_s": total / n, "wait_s": waited / n}
    return results
