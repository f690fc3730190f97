"""What the tests share across backends: one comparison that reads any array back to the host,
and whether the cupy backend runs on the strict double (tests/cupy_double) or on a real GPU."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from tinyseg.engine import backend


def assert_close(actual: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0, err_msg: str = "") -> None:
    """``np.testing.assert_allclose`` for NumPy or device arrays, Tensors, lists and numbers alike."""
    np.testing.assert_allclose(backend.to_numpy(actual), backend.to_numpy(expected), rtol=rtol, atol=atol,
                               err_msg=err_msg)


def assert_equal(actual: Any, expected: Any, err_msg: str = "") -> None:
    """``np.testing.assert_array_equal`` for NumPy or device arrays, Tensors, lists and numbers alike."""
    np.testing.assert_array_equal(backend.to_numpy(actual), backend.to_numpy(expected), err_msg=err_msg)


def cupy_double() -> Any:
    """The double's module (``cupy``, with ``cupy._double.counters``) when it stands in for CuPy, else None."""
    cupy = sys.modules.get("cupy")
    return cupy if cupy is not None and hasattr(cupy, "_double") else None


def env_without_double() -> dict[str, str]:
    """This process's environment minus the double on PYTHONPATH: a subprocess sees the machine's own CuPy."""
    double = str(Path(__file__).parent / "cupy_double")
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != double]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def import_torch(reason: str) -> Any:
    """PyTorch, or a skip that gives ``reason`` when it is not installed.

    With ``TINYSEG_REQUIRE_TORCH=1`` (set by .ci/run, which installs PyTorch) a missing or broken
    PyTorch fails the test instead: CI must not skip every cross-check into green.
    """
    import pytest

    if os.environ.get("TINYSEG_REQUIRE_TORCH", "") == "1":
        import torch  # an ImportError here fails the test, as it should in CI

        return torch
    return pytest.importorskip("torch", reason=reason)
