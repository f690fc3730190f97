"""The backend switch: NumPy by default, CuPy on request with errors a user can act on."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest

import tinyseg
from tinyseg.engine import backend
from .helpers import assert_equal, env_without_double

PACKAGE = pathlib.Path(tinyseg.__file__).parent


def _has_gpu() -> bool:
    try:
        backend.use("cupy")
    except backend.BackendError:
        return False
    finally:
        backend.use("numpy")
    return True


def test_numpy_is_the_default_when_the_variable_is_unset():
    env = {k: v for k, v in os.environ.items() if k != "TINYSEG_BACKEND"}
    out = subprocess.run(
        [sys.executable, "-c", "import tinyseg; x = tinyseg.tensor([1.0]); print(tinyseg.backend.name(), type(x.data).__module__)"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout.split()
    assert out == ["numpy", "numpy"]


def test_environment_variable_selects_the_backend_at_import():
    env = dict(os.environ, TINYSEG_BACKEND="bogus")
    res = subprocess.run([sys.executable, "-c", "import tinyseg"], capture_output=True, text=True, env=env)
    assert res.returncode != 0 and "unknown backend 'bogus'" in res.stderr


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="numpy, cupy"):
        backend.use("jax")


def test_missing_cupy_says_what_to_install(monkeypatch):
    before = backend.name()
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(backend.BackendError, match=r"not installed.*tinyseg\[gpu-cuda12\]"):
        backend.use("cupy")
    assert backend.name() == before  # a failed switch leaves the backend alone


def test_cupy_without_a_gpu_says_so(monkeypatch):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(backend.BackendError, match="installed but found no usable CUDA GPU.*nvidia-smi"):
        backend.use("cupy")
    fake.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(backend.BackendError, match="no CUDA GPU"):
        backend.use("cupy")


def test_clear_error_from_a_subprocess_without_gpu():
    res = subprocess.run([sys.executable, "-c", "import tinyseg; tinyseg.backend.use('cupy')"],
                         capture_output=True, text=True, env=env_without_double())
    if res.returncode == 0:
        pytest.skip("real CuPy found a GPU here: the no-GPU error cannot be shown")
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("tinyseg.engine.backend.BackendError: ") and ("install" in last or "GPU" in last)


def test_op_modules_never_import_numpy_directly():
    """Ops use the backend's namespace so that CuPy can run them: no `import numpy` in op code."""
    engine = [PACKAGE / "engine" / name for name in ("function.py", "ops.py", "tensor.py")]
    op_files = [*engine, *sorted((PACKAGE / "functional").glob("*.py"))]
    assert len(op_files) > 2
    for path in op_files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "numpy" or n.startswith("numpy.") for n in names), f"{path.name} imports numpy"


def test_to_numpy_and_to_device_round_trip():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    d = backend.to_device(x)
    assert_equal(backend.to_numpy(d), x)
    assert_equal(backend.to_numpy(tinyseg.tensor(x)), x)
    assert backend.to_device([1, 2], dtype=np.float32).dtype == np.float32


def test_scatter_add_adds_repeated_indices():
    target = np.zeros(3)
    backend.scatter_add(target, np.array([0, 0, 2]), np.array([1.0, 2.0, 5.0]))
    assert_equal(target, [3.0, 0.0, 5.0])


@pytest.mark.gpu
def test_cupy_backend_runs_the_engine():
    if not _has_gpu():
        pytest.skip("needs CuPy with a CUDA GPU (pip install 'tinyseg[gpu-cuda12]')")
    backend.use("cupy")
    x = tinyseg.tensor(np.ones((2, 2)), requires_grad=True)
    (x * x).sum().backward()
    assert backend.is_cupy_array(x.grad)
    assert_equal(backend.to_numpy(x.grad), 2 * np.ones((2, 2)))


def test_keep_freed_host_memory_works_where_malloc_is_glibcs():
    import platform

    kept = backend.keep_freed_host_memory()
    assert isinstance(kept, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert kept, "mallopt refused M_MMAP_MAX / M_TRIM_THRESHOLD"
    big = np.ones(64 * 2**20 // 8)  # arrays still allocate and free as before
    assert big.sum() == big.size


def test_to_device_follows_like_and_copies_only_when_asked():
    x = backend.to_device(np.arange(3, dtype=np.float32))
    assert backend.to_device(x) is x and backend.to_device(x, copy=True) is not x
    on_host = backend.to_device(x, like=np.zeros(1))
    assert isinstance(on_host, np.ndarray) and backend.to_device(on_host, like=x).dtype == np.float32
    assert backend.to_device(3, like=x, dtype=np.float64).dtype == np.float64
