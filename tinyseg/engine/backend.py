"""Which array library runs the ops: NumPy (default) or CuPy.

Op code never imports numpy itself. It asks this module for the array
namespace (``xp``) of the arrays it is given, or of the active backend when it
creates new ones. Everything that differs between NumPy and CuPy (moving
arrays, scatter with repeated indices, synchronisation) lives here.

    >>> import tinyseg
    >>> tinyseg.backend.use("numpy")     # or "cupy", or TINYSEG_BACKEND=cupy
    >>> xp = tinyseg.backend.get_xp()
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "BackendError",
    "use",
    "name",
    "get_xp",
    "xp_of",
    "to_numpy",
    "to_device",
    "scatter_add",
    "bincount",
    "default_rng",
    "synchronize",
    "is_cupy_array",
    "is_array",
    "conv_tile_bytes",
]

BACKENDS = ("numpy", "cupy")


class BackendError(RuntimeError):
    """The requested backend cannot run on this machine (the message says why)."""


_state: dict[str, Any] = {"name": "numpy", "xp": np}


def _load_cupy() -> ModuleType:
    """Import CuPy and check that it sees a usable GPU, with errors a user can act on."""
    try:
        import cupy  # noqa: PLC0415 (optional dependency, imported on demand)
    except ImportError as exc:
        raise BackendError(
            "The 'cupy' backend needs CuPy, which is not installed. Install the build that "
            "matches your CUDA toolkit: pip install 'tinyseg[gpu-cuda12]' (CUDA 12) or "
            "pip install 'tinyseg[gpu-cuda13]' (CUDA 13)."
            f" (import error: {exc})"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing, broken, or no device
        raise BackendError(
            "CuPy is installed but found no usable CUDA GPU "
            f"({type(exc).__name__}: {exc}). Check the NVIDIA driver with nvidia-smi, "
            "or use the default backend: tinyseg.backend.use('numpy')."
        ) from None
    if count == 0:
        raise BackendError(
            "CuPy is installed but this machine has no CUDA GPU. Use the default backend: tinyseg.backend.use('numpy')."
        )
    return cupy


def use(backend: str) -> ModuleType:
    """Make ``backend`` ("numpy" or "cupy") the active one and return its namespace.

    Raises BackendError with a plain explanation when CuPy or a GPU is missing.
    """
    backend = backend.strip().lower()
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    xp = np if backend == "numpy" else _load_cupy()
    _state["name"], _state["xp"] = backend, xp
    return xp


def allow_tf32(enabled: bool = True) -> None:
    """Let cuBLAS run float32 matrix products on TF32 tensor cores (Ampere and newer GPUs).

    TF32 keeps float32's range but rounds the inputs of each product to 10 mantissa bits (about
    3 decimal digits), for several times the speed. CuPy reads the ``CUPY_TF32`` environment
    variable before its first matrix product, so call this before any work on the cupy backend.
    Off by default, as in CuPy; it changes nothing on NumPy.
    """
    os.environ["CUPY_TF32"] = "1" if enabled else "0"


def name() -> str:
    """The active backend's name: "numpy" or "cupy"."""
    return _state["name"]


def get_xp() -> ModuleType:
    """The active backend's array namespace (numpy or cupy), used to create new arrays."""
    return _state["xp"]


def is_cupy_array(x: Any) -> bool:
    """True when ``x`` is a CuPy array (checked without importing CuPy)."""
    return type(x).__module__.startswith("cupy")


def is_array(x: Any) -> bool:
    """True for a NumPy or CuPy ndarray (not a scalar, list or Tensor)."""
    return isinstance(x, np.ndarray) or is_cupy_array(x)


def xp_of(*arrays: Any) -> ModuleType:
    """The namespace that owns ``arrays``: cupy if any of them is a CuPy array, else numpy."""
    for a in arrays:
        if is_cupy_array(a):
            import cupy  # noqa: PLC0415

            return cupy
    return np


def to_numpy(x: Any) -> np.ndarray:
    """Copy ``x`` (a NumPy or CuPy array, a Tensor, or a scalar) to a NumPy array on the host."""
    if hasattr(x, "data") and not isinstance(x, np.ndarray) and hasattr(x, "requires_grad"):
        x = x.data  # a Tensor
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def to_device(x: Any, like: Any = None, dtype: Any = None, copy: bool = False) -> Any:
    """``x`` (a NumPy or CuPy array, a list or a number) as an array on the active backend, or on
    ``like``'s device when ``like`` (an array) is given; as ``dtype`` when given.

    The one way data moves between host and GPU in tinyseg. No copy when ``x`` is already there
    with that dtype, unless ``copy=True``; from the other device it is always a copy.
    """
    xp = get_xp() if like is None else xp_of(like)
    if xp is np:
        x = to_numpy(x)
    return xp.array(x, dtype=dtype) if copy else xp.asarray(x, dtype=dtype)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` in place, adding every repeated index (unlike ``+=``).

    NumPy spells it ``np.add.at``; CuPy spells it ``cupyx.scatter_add``.
    """
    if is_cupy_array(target):
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)


def bincount(x: Any, length: int) -> Any:
    """How often each value 0..length-1 occurs in the integer array ``x`` (N,): (length,) int64.

    Every value must lie in 0..length-1. NumPy spells it ``np.bincount``; on CuPy it is a
    scatter-add, because ``cupy.bincount`` reads ``max(x)`` back from the GPU to size its output.
    """
    if is_cupy_array(x):
        import cupyx  # noqa: PLC0415

        counts = xp_of(x).zeros(length, dtype="uint64")  # atomicAdd has no int64 flavour
        cupyx.scatter_add(counts, x, 1)
        return counts.astype("int64")
    return np.bincount(x, minlength=length)


def default_rng(seed: int | Sequence[int] | None = None) -> Any:
    """A random generator of the active backend (``numpy.random.Generator`` or CuPy's twin).

    Use it for randomness inside ops (dropout masks); draw model weights with a NumPy generator
    instead, so that both backends start from the same numbers.
    """
    return get_xp().random.default_rng(seed)


CONV_TILE_BYTES = {"numpy": 32 * 2**20, "cupy": 512 * 2**20}
"""About how many bytes one convolution tile's matrix may take, per backend. On the CPU a few
dozen image rows per tile keep memory bounded at no cost in speed; on a GPU each product should be
as large as memory allows (tiles span whole images), since every tile costs kernel launches."""


def conv_tile_bytes(backend: str | None = None) -> int:
    """The tile budget of ``backend`` (default: the active one) for tinyseg.functional.conv_fast."""
    return CONV_TILE_BYTES[backend or _state["name"]]


def synchronize() -> None:
    """Wait for queued GPU work to finish (for timing); a no-op on NumPy."""
    if _state["name"] == "cupy":
        _state["xp"].cuda.get_current_stream().synchronize()


_env = os.environ.get("TINYSEG_BACKEND", "").strip()
if _env:
    use(_env)


def keep_freed_host_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for the next array instead of returning it to the OS.

    A training step makes and drops dozens of arrays of tens of megabytes. By default glibc maps
    each one fresh from the kernel (``mmap``) and unmaps it when freed, so every new array pays a
    page fault and a zero-fill per 4 KiB page before NumPy writes a single value: about a tenth of
    a SegNet-Basic step on a 2-core CPU (docs/performance.md). With ``M_MMAP_MAX = 0`` and a high
    ``M_TRIM_THRESHOLD`` big arrays come from the heap and freed ones are reused. It affects the
    whole process (PyTorch in the same process gains too) and is what the environment variables
    ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...`` do. The training and evaluation commands call
    it; a library does not. Returns False (and changes nothing) where malloc is not glibc's.
    """
    import ctypes  # noqa: PLC0415
    import ctypes.util  # noqa: PLC0415

    m_trim_threshold, m_mmap_max = -1, -4  # from glibc's malloc.h
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))
