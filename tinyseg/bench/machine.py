"""The machine: what the report says about it (CPU, versions, BLAS, GPU) and how many threads the
BLAS and PyTorch run, set through OpenBLAS's own API (ctypes) and PyTorch's (through interop)."""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .. import interop
from ..engine import backend

__all__ = ["machine_info", "set_threads", "thread_env", "blas_call"]


def _openblas() -> Any:
    """NumPy's OpenBLAS as a ctypes library (found among the loaded libraries), or None."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower() and ".so" in line})
    return ctypes.CDLL(paths[0]) if paths else None


def blas_call(suffix: str, *args: Any, restype: Any = ctypes.c_int) -> Any:
    """Call openblas_<suffix> under whichever name this build exports (scipy-openblas adds a
    prefix); None when NumPy's BLAS is not OpenBLAS or has no such function."""
    lib = _openblas()
    names = (f"scipy_openblas_{suffix}64_", f"openblas_{suffix}64_", f"openblas_{suffix}", f"scipy_openblas_{suffix}")
    for name in names:
        fn = getattr(lib, name, None) if lib is not None else None
        if fn is not None:
            fn.restype = restype
            return fn(*args)
    return None


def set_threads(threads: int, torch_too: bool) -> None:
    """Use ``threads`` threads in NumPy's OpenBLAS (via its own API) and, if ``torch_too``, in PyTorch."""
    blas_call("set_num_threads", ctypes.c_int(threads), restype=None)
    if torch_too:
        interop.set_torch_threads(threads)


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables that fix a child process's thread pools to ``threads``."""
    return {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(with_torch: bool) -> dict[str, Any]:
    """CPU model and count, versions, which BLAS NumPy uses (its kernel and thread count), the
    GPU on the cupy backend, and PyTorch's version and threads when ``with_torch``."""
    info: dict[str, Any] = {
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        info["blas"] = "unknown"
    core = blas_call("get_corename", restype=ctypes.c_char_p)
    info["blas_kernel"] = core.decode() if core else None
    info["blas_threads"] = blas_call("get_num_threads")
    if with_torch:
        info.update(interop.torch_info())
    if backend.name() == "cupy":
        cupy = backend.get_xp()
        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        info["cupy"] = cupy.__version__
    return info
