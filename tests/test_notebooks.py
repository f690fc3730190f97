"""Every teaching notebook runs top to bottom, as a learner would run it, and is stored clean.

Each notebook is executed in a fresh "python3" kernel (nbclient) with notebooks/ as the working
directory, so a notebook that breaks fails the suite. The notebooks that read CamVid (from
../../shared/camvid, next to the repository) run twice: as found, and with TINYSEG_CAMVID=""
to exercise their fallback to the synthetic scenes. The stored files carry no outputs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CAMVID = NOTEBOOK_DIR / ".." / ".." / "shared" / "camvid"
CELL_TIMEOUT_S = 240  # generous: a shared 2-core machine runs the default settings in under a minute per notebook


def _reads_camvid(path: Path) -> bool:
    return "TINYSEG_CAMVID" in path.read_text(encoding="utf-8")


RUNS = [pytest.param(p, "as-found", id=p.stem) for p in NOTEBOOKS] + [
    pytest.param(p, "synthetic", id=f"{p.stem}-synthetic") for p in NOTEBOOKS if _reads_camvid(p)
]


def _load(path: Path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra: pip install -e '.[dev]'")
    return nbformat.read(path, as_version=4)


def test_the_seven_notebooks_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_autograd", "02_convolution", "03_pooling_indices", "04_batchnorm", "05_segnet_basic",
                     "06_training", "07_bayesian_segnet"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path):
    nb = _load(path)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; clear them before committing"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec is not python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(path: Path):
    """No tinyseg name with a leading underscore: the notebooks teach the public API."""
    nb = _load(path)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    private = re.findall(r"tinyseg(?:\.\w+)*\._\w+|from tinyseg[\w.]* import [^\n]*\b_\w+", code)
    assert not private, f"{path.name} uses private names: {private}"


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("TINYSEG_BACKEND") == "cupy",
                    reason="the notebooks run on NumPy whatever the backend: the suite's NumPy run runs them")
@pytest.mark.parametrize("path, data", RUNS)
def test_notebook_runs(path: Path, data: str, monkeypatch: pytest.MonkeyPatch):
    nb = _load(path)
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev extra: pip install -e '.[dev]'")
    pytest.importorskip("ipykernel", reason="ipykernel is in the dev extra: pip install -e '.[dev]'")
    # The kernel inherits this environment: find tinyseg even when it is not pip-installed,
    # run on NumPy (the notebooks are CPU material), and draw with the inline backend.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("TINYSEG_BACKEND", "numpy")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    if data == "synthetic":
        monkeypatch.setenv("TINYSEG_CAMVID", "")
    else:
        monkeypatch.delenv("TINYSEG_CAMVID", raising=False)

    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()  # raises CellExecutionError naming the cell and the error

    errors = [out for cell in nb.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    text = _outputs_text(nb)
    assert "Traceback" not in text
    if _reads_camvid(path):
        expected = "data: CamVid" if data == "as-found" and (CAMVID / "train").is_dir() else "data: synthetic"
        assert expected in text, f"{path.name} ({data}): expected its output to say {expected!r}"
    assert "correct." in text, f"{path.name}: the solutions did not pass their own checks"
