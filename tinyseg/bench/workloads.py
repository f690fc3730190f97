"""The workloads: one model on one random batch, and one synchronised inference or training step."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend, models, nn, optim
from ..functional.loss import cross_entropy
from ..tensor import Tensor, no_grad

__all__ = ["MODES", "FRAMEWORKS", "Workload", "make_workload", "make_batch"]

MODES = ("inference", "training")
FRAMEWORKS = ("tinyseg", "torch")


def make_batch(batch_size: int, size: tuple[int, int], num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A random float32 image batch (N, 3, H, W) in [0, 1) and integer labels (N, H, W)."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, 3, *size), dtype=np.float32)
    labels = rng.integers(0, num_classes, (batch_size, *size)).astype(np.int64)
    return x, labels


class Workload:
    """A tinyseg model on one batch; ``run(mode)`` performs an inference or a training step.

    x: (N, 3, H, W) float32, labels: (N, H, W) integers, both NumPy (moved to the backend here).
    Inference is an eval-mode forward under ``no_grad``; a training step is forward,
    cross-entropy, backward and an SGD update (momentum 0.9). ``run`` waits for the device.
    """

    framework = "tinyseg"

    def __init__(self, model_name: str, x: np.ndarray, labels: np.ndarray, num_classes: int, seed: int,
                 lr: float = 1e-3) -> None:
        nn.init.manual_seed(seed)
        self._build(models.create(model_name, num_classes=num_classes), x, labels, lr)

    def _build(self, model: Any, x: np.ndarray, labels: np.ndarray, lr: float) -> None:
        self.model = model
        self.x = Tensor(backend.to_device(x))
        self.labels = backend.to_device(labels)
        self.opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def sync(self) -> None:
        """Wait for the work queued on the device (a no-op on the CPU)."""
        backend.synchronize()

    def run(self, mode: str) -> None:
        """One ``mode`` step ("inference" or "training"), finished on the device when it returns."""
        self._step(mode)
        self.sync()

    def _step(self, mode: str) -> None:
        if mode == "inference":
            self.model.eval()
            with no_grad():
                self.model(self.x)
            return
        self.model.train()
        loss = cross_entropy(self.model(self.x), self.labels)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()


def make_workload(framework: str, model_name: str, x: np.ndarray, labels: np.ndarray, num_classes: int,
                  seed: int, lr: float = 1e-3) -> Workload:
    """A :class:`Workload` for "tinyseg", or for "torch" the PyTorch twin with the same initial
    weights (bench/baseline.py, imported only then)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"unknown framework {framework!r}: one of {FRAMEWORKS}")
    if framework == "torch":
        from .baseline import TorchWorkload  # noqa: PLC0415 (PyTorch is optional)

        return TorchWorkload(model_name, x, labels, num_classes, seed, lr)
    return Workload(model_name, x, labels, num_classes, seed, lr)
