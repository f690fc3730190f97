"""Every teaching notebook runs top to bottom, as a learner would run it, and is stored clean.

Each notebook is executed in a fresh "python3" kernel (nbclient) with notebooks/ as the working
directory, so a notebook that breaks fails the suite. The notebooks that read CamVid (from
../../shared/camvid, next to the repository) run twice: as found, and with TINYSEG_CAMVID=""
to exercise their fallback to the synthetic scenes. The stored files carry the outputs of one
run top to bottom (scripts/run_notebooks.py writes them), so a learner browsing the repository
sees every figure and number; their execution counts are 1..N, and no cell failed.
Notebooks 01 to 04 each hold an optional "checked against PyTorch" cell; without PyTorch it must
say how to install it and never fail. tests/test_notebook_exercises.py checks the exercises' checks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
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


MAX_STORED_MIB = 1.0  # each notebook with its outputs: figures at a modest size keep the repository small


def test_the_ten_notebooks_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_autograd", "02_convolution", "03_pooling_indices", "04_batchnorm", "05_segnet_basic",
                     "06_training", "07_bayesian_segnet", "08_fast_convolution", "09_camvid_recipe",
                     "10_gpu"], names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_executed_top_to_bottom(path: Path):
    """Stored as one run left it (scripts/run_notebooks.py): every code cell ran once, in order, and
    none failed; the solutions passed their checks; the notebooks that read CamVid read it."""
    nb = _load(path)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec is not python3"
    counts = [cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}, not 1..{len(counts)}: run python scripts/run_notebooks.py {path.name}")
    errors = [i for i, cell in enumerate(nb.cells) for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: cells {errors} are stored with an error"
    text = _outputs_text(nb)
    assert "Traceback" not in text and "correct." in text, f"{path.name}: stored outputs lack the solutions' checks"
    if _reads_camvid(path):
        assert "data: CamVid" in text, f"{path.name}: stored from a run without CamVid; run it with ../shared/camvid"
    mib = path.stat().st_size / 2**20
    assert mib < MAX_STORED_MIB, f"{path.name}: {mib:.2f} MiB stored; draw its figures smaller"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_uses_only_the_public_api(path: Path):
    """No tinyseg name with a leading underscore: the notebooks teach the public API."""
    nb = _load(path)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    private = re.findall(r"tinyseg(?:\.\w+)*\._\w+|from tinyseg[\w.]* import [^\n]*\b_\w+", code)
    assert not private, f"{path.name} uses private names: {private}"


TORCH_CELL_NOTEBOOKS = ["01_autograd", "02_convolution", "03_pooling_indices", "04_batchnorm"]


@pytest.mark.parametrize("stem", TORCH_CELL_NOTEBOOKS)
def test_the_pytorch_check_says_how_to_install_pytorch_when_it_is_absent(stem: str, monkeypatch: pytest.MonkeyPatch):
    """Each of these notebooks has a "checked against PyTorch" cell: with PyTorch it compares number
    for number (test_notebook_runs runs it), without PyTorch it prints how to install it and goes on."""
    pytest.importorskip("matplotlib")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    nb = _load(NOTEBOOK_DIR / f"{stem}.ipynb")
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    torch_cells = [src for src in code if re.match(r"try:\s*\n\s+import torch\b", src)]  # checks may import it too
    assert len(torch_cells) == 1, f"{stem}: expected one cell that imports torch, found {len(torch_cells)}"
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.setitem(sys.modules, "torch.nn.functional", None)
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec("\n".join(line for line in code[0].splitlines() if not line.startswith("%")), ns)  # noqa: S102
        exec(torch_cells[0], ns)  # noqa: S102
    assert "pip install torch" in out.getvalue()


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
    if "DeprecationWarning" in text:  # the notebooks teach today's API
        start = text.index("DeprecationWarning")
        pytest.fail(f"{path.name} makes a deprecated call: ...{text[max(0, start - 200):start + 200]}...")
    if _reads_camvid(path):
        expected = "data: CamVid" if data == "as-found" and (CAMVID / "train").is_dir() else "data: synthetic"
        assert expected in text, f"{path.name} ({data}): expected its output to say {expected!r}"
    assert "correct." in text, f"{path.name}: the solutions did not pass their own checks"
