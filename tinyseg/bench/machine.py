"""The machine: the CPU, the versions and the BLAS that the report names above its figures."""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from .threads import blas_call

__all__ = ["machine_info"]


def machine_info(with_torch: bool) -> dict[str, Any]:
    """CPU model and count, versions, which BLAS NumPy uses (its kernel and thread count), the
    GPU on the cupy backend, and PyTorch's version and threads when ``with_torch``."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(),
                            "numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        info["blas"] = "unknown"
    core = blas_call("get_corename", restype=ctypes.c_char_p)
    info["blas_kernel"] = core.decode() if core else None
    info["blas_threads"] = blas_call("get_num_threads")
    if with_torch:
        from .baseline import info as torch_info  # noqa: PLC0415 (PyTorch is optional)

        info.update(torch_info())
    if backend.name() == "cupy":
        cupy = backend.get_xp()
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["cupy"] = cupy.__version__
    return info
