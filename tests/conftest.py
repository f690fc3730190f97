"""Shared test set-up: the CuPy double when asked for, hypothesis profiles, backend reset.

TINYSEG_CUPY_DOUBLE=1 puts tests/cupy_double first on the import path (here and, through
PYTHONPATH, in every subprocess the tests start), so that ``import cupy`` finds the strict
double instead of real CuPy. With TINYSEG_BACKEND=cupy the whole suite then runs on it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if os.environ.get("TINYSEG_CUPY_DOUBLE", "") == "1":  # before anything imports tinyseg (and cupy)
    _DOUBLE = str(Path(__file__).parent / "cupy_double")
    sys.path.insert(0, _DOUBLE)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_DOUBLE, os.environ.get("PYTHONPATH")) if p)

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# "ci": derandomized (a failure reproduces byte for byte) and small enough for 2 cores.
settings.register_profile(
    "ci", max_examples=15, derandomize=True, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# "dev": more examples, random, for hunting bugs locally: HYPOTHESIS_PROFILE=dev pytest
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _numpy_backend_unless_asked():
    """Every test starts and ends on the backend named by TINYSEG_BACKEND (NumPy when unset): ending
    there too matters for module-scoped fixtures, which are built before this fixture runs."""
    import tinyseg

    tinyseg.backend.use(os.environ.get("TINYSEG_BACKEND", "numpy") or "numpy")
    yield
    tinyseg.backend.use(os.environ.get("TINYSEG_BACKEND", "numpy") or "numpy")
