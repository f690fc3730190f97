"""The PyTorch baseline: the one module of the bench that imports torch (only for ``--compare torch``).

The twin (tinyseg/interop/twins.py) gets tinyseg's initial weights and runs the same steps; this
module also sets PyTorch's threads, reports its version and measures its GPU memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import backend
from ..interop import from_tinyseg
from .workloads import Workload

__all__ = ["TorchWorkload", "set_threads", "info", "gpu_memory"]


class TorchWorkload(Workload):
    """The PyTorch twin of a tinyseg model on the same batch, with the same initial weights;
    on CUDA when the tinyseg backend is cupy. ``run(mode)`` as :class:`Workload`'s."""

    framework = "torch"

    def _build(self, model: Any, x: np.ndarray, labels: np.ndarray, lr: float) -> None:
        self.device = "cuda" if backend.name() == "cupy" else "cpu"
        self.model = from_tinyseg(model).to(self.device)
        self.x = torch.from_numpy(x).to(self.device)
        self.labels = torch.from_numpy(labels.astype(np.int64)).to(self.device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)

    def sync(self) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def _step(self, mode: str) -> None:
        if mode == "inference":
            self.model.eval()
            with torch.no_grad():
                self.model(self.x)
            return
        self.model.train()
        loss = torch.nn.functional.cross_entropy(self.model(self.x), self.labels)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()


def set_threads(threads: int) -> None:
    """Use ``threads`` threads in PyTorch's intra-op pool."""
    torch.set_num_threads(threads)


def info() -> dict[str, Any]:
    """PyTorch's version and thread count, for the report's machine line."""
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def gpu_memory(w: TorchWorkload, mode: str) -> dict[str, Any]:
    """Peak bytes PyTorch's CUDA allocator held during two ``mode`` runs, whole and above the start."""
    start = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(2):
        w.run(mode)
    peak = torch.cuda.max_memory_allocated()
    return {"peak_bytes": peak, "start_bytes": start, "step_bytes": peak - start, "what": "torch.cuda allocated"}
