"""The workloads: one model on one random batch, stepped (inference or training) by tinyseg or by
its PyTorch twin (tinyseg.interop.TorchWorkload, with the same initial weights)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .. import interop, models, nn, optim
from ..engine import backend
from ..engine.random import manual_seed
from ..engine.tensor import Tensor, no_grad
from ..functional.loss import cross_entropy

__all__ = ["MODES", "FRAMEWORKS", "Workload", "TinysegWorkload", "make_batch", "make_workload"]

MODES = ("inference", "training")
FRAMEWORKS = ("tinyseg", "torch")


def make_batch(batch_size: int, size: tuple[int, int], num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random float32 image batch x: (N, 3, H, W) in [0, 1) and int64 labels: (N, H, W), in NumPy."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 3, *size), dtype=np.float32)
    labels = rng.integers(0, num_classes, (batch_size, *size)).astype(np.int64)
    return x, labels


class Workload(Protocol):
    """What the timing and memory runs need of a workload, whichever framework steps it."""

    framework: str

    def sync(self) -> None: ...

    def run(self, mode: str) -> None: ...


class TinysegWorkload:
    """A tinyseg model on one batch; ``run(mode)`` performs an inference or a training step.

    x: (N, 3, H, W) float32, labels: (N, H, W) integers, both NumPy (moved to the backend here).
    Inference is an eval-mode forward under ``no_grad``; a training step is forward,
    cross-entropy, backward and an SGD update (momentum 0.9). ``run`` waits for the device.
    """

    framework = "tinyseg"

    def __init__(self, model: nn.Module, x: np.ndarray, labels: np.ndarray, lr: float = 1e-3) -> None:
        self.model = model
        self.x = Tensor(backend.to_device(x))
        self.labels = backend.to_device(labels)
        self.opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def sync(self) -> None:
        """Wait for the work queued on the device (a no-op on the CPU)."""
        backend.synchronize()

    def run(self, mode: str) -> None:
        """One ``mode`` step ("inference" or "training"), finished on the device when it returns."""
        if mode == "inference":
            self.model.eval()
            with no_grad():
                self.model(self.x)
        else:
            self.model.train()
            loss = cross_entropy(self.model(self.x), self.labels)
            loss.backward()
            self.opt.step()
            self.opt.zero_grad()
        self.sync()


def make_workload(
    framework: str, model_name: str, x: np.ndarray, labels: np.ndarray, num_classes: int, seed: int, lr: float = 1e-3
) -> Workload:
    """``model_name`` built from ``seed`` on the batch (x: (N, 3, H, W), labels: (N, H, W)), stepped
    by "tinyseg", or by "torch": its PyTorch twin, with the same weights (on CUDA on the cupy backend)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: one of {FRAMEWORKS}")
    manual_seed(seed)
    model = models.create(model_name, num_classes=num_classes)
    if framework == "torch":
        return interop.TorchWorkload(model, x, labels, lr, cuda=backend.name() == "cupy")
    return TinysegWorkload(model, x, labels, lr)
