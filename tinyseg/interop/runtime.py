"""PyTorch at run time, for ``python -m tinyseg.bench --compare torch``: a twin stepped on one
batch, PyTorch's threads and version, and the peak of its CUDA allocator.

    >>> w = TorchWorkload(models.create("segnet_basic"), x, labels)  # the same weights, in PyTorch
    >>> w.run("training")      # forward, cross-entropy, backward, SGD update; waits for the GPU

PyTorch is imported on first use (_lazy.py), like the rest of tinyseg.interop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn
from ._lazy import import_torch
from .twins import from_tinyseg

__all__ = ["TorchWorkload", "require_torch", "set_torch_threads", "torch_info", "cuda_peak_memory"]


def require_torch(needed_by: str) -> None:
    """Import PyTorch now, or raise an ImportError naming ``needed_by`` and what to install."""
    import_torch(needed_by)


class TorchWorkload:
    """The PyTorch twin of a tinyseg model, with its weights, on one batch; on CUDA when ``cuda``.

    x: (N, 3, H, W) float32, labels: (N, H, W) integers, both NumPy (moved to the device here).
    Inference is an eval-mode forward under ``torch.no_grad``; a training step is forward,
    cross-entropy, backward and an SGD update (momentum 0.9), as the bench's tinyseg workload.
    """

    framework = "torch"

    def __init__(
        self, model: nn.Module, x: np.ndarray, labels: np.ndarray, lr: float = 1e-3, cuda: bool = False
    ) -> None:
        self._torch = torch = import_torch("--compare torch")
        self.device = "cuda" if cuda else "cpu"
        self.model = from_tinyseg(model).to(self.device)
        self.x = torch.from_numpy(x).to(self.device)
        self.labels = torch.from_numpy(labels.astype(np.int64)).to(self.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)

    def sync(self) -> None:
        """Wait for the work queued on the GPU (a no-op on the CPU)."""
        if self.device == "cuda":
            self._torch.cuda.synchronize()

    def run(self, mode: str) -> None:
        """One ``mode`` step ("inference" or "training"), finished on the device when it returns."""
        torch = self._torch
        if mode == "inference":
            self.model.eval()
            with torch.no_grad():
                self.model(self.x)
        else:
            self.model.train()
            loss = torch.nn.functional.cross_entropy(self.model(self.x), self.labels)
            loss.backward()
            self.opt.step()
            self.opt.zero_grad()
        self.sync()


def set_torch_threads(threads: int) -> None:
    """Use ``threads`` threads in PyTorch's intra-op pool."""
    import_torch("--threads with --compare torch").set_num_threads(threads)


def torch_info() -> dict[str, Any]:
    """PyTorch's version and thread count: ``{"torch": "2.x", "torch_threads": n}``."""
    torch = import_torch("torch_info")
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def cuda_peak_memory(run: Callable[[], None], times: int = 2) -> dict[str, Any]:
    """Peak bytes PyTorch's CUDA allocator held while ``run()`` ran ``times`` times.

    Returns ``peak_bytes``, ``start_bytes`` (held before), ``step_bytes`` (peak minus start) and
    ``what`` was measured, as the bench's other memory figures.
    """
    cuda = import_torch("cuda_peak_memory").cuda
    start = cuda.memory_allocated()
    cuda.reset_peak_memory_stats()
    for _ in range(times):
        run()
    peak = cuda.max_memory_allocated()
    return {"peak_bytes": peak, "start_bytes": start, "step_bytes": peak - start, "what": "torch.cuda allocated"}
