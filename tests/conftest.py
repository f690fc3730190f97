"""Shared test set-up: hypothesis profiles, backend reset, optional-dependency markers."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
    """Every test starts on the backend named by TINYSEG_BACKEND (NumPy when unset)."""
    import tinyseg

    tinyseg.backend.use(os.environ.get("TINYSEG_BACKEND", "numpy") or "numpy")
    yield
