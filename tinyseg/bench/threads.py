"""Threads: how many BLAS threads NumPy's OpenBLAS runs, set and read through its own API (ctypes)."""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

__all__ = ["set_threads", "thread_env", "blas_call"]


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
        from .baseline import set_threads as set_torch_threads  # noqa: PLC0415 (PyTorch is optional)

        set_torch_threads(threads)


def thread_env(threads: int) -> dict[str, str]:
    """The environment variables that fix a child process's thread pools to ``threads``."""
    return {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
