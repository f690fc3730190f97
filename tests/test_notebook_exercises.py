"""Every exercise's check cell rejects a wrong answer a student is likely to give, and accepts the
notebook's own solution.

The check functions are read from the stored notebooks (nothing is copied here): the notebook's
imports cell runs (IPython magics dropped), then only the function and class definitions of its
other code cells, so no training or plotting runs. The wrong answers live in
tests/exercise_cases/ (one module per notebook); each is a mistake worth catching, its check must
raise AssertionError (GradcheckError is one), and every check is fed at least two.
"""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from tinyseg.engine import backend

from .exercise_cases import ALL

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def _python(source: str) -> str:
    """A cell's source without its IPython magics (%matplotlib inline)."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("%"))


def _namespace(stem: str) -> dict:
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra: pip install -e '.[dev]'")
    pytest.importorskip("matplotlib")
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    nb = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    ns: dict = {"__name__": f"notebook_{stem}"}
    exec(compile(_python(code[0]), f"{stem}[imports]", "exec"), ns)  # noqa: S102
    for i, source in enumerate(code[1:], start=1):
        tree = ast.parse(_python(source))
        tree.body = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        exec(compile(tree, f"{stem}[code cell {i}]", "exec"), ns)  # noqa: S102
    return ns


def _quietly(fn, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args)
    return out.getvalue()


# (notebook, check, wrong answer defining `wrong`, what the mistake is, the notebook's solution): one module per
# notebook in tests/exercise_cases/, so that each notebook's cases sit in a file of their own.
CASES = ALL


@pytest.fixture(autouse=True)
def numpy_backend():
    """The notebooks run on NumPy whatever TINYSEG_BACKEND says (tests/test_notebooks.py runs them so),
    so their checks do too; the suite's backend comes back afterwards (tests/conftest.py sets it
    before each test, this fixture after)."""
    previous = backend.name()
    backend.use("numpy")
    yield
    backend.use(previous)


@pytest.fixture(scope="module")
def namespaces():
    cache: dict[str, dict] = {}

    def get(stem: str) -> dict:
        if stem not in cache:
            ns = _namespace(stem)
            if stem == "07_bayesian_segnet":  # its checks use the notebook's trained model and images
                ns["tinyseg"].manual_seed(0)
                ns["model"] = ns["models"].create("bayesian_segnet_basic", num_classes=11)
                images = np.random.default_rng(0).standard_normal((2, 3, 16, 16), dtype=np.float32)
                ns["x"] = ns["tinyseg"].tensor(images)
            cache[stem] = ns
        return cache[stem]

    return get


def test_every_exercise_has_a_case():
    nbformat = pytest.importorskip("nbformat")
    checks = set()
    for path in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                checks |= {(path.stem, n.name) for n in ast.parse(_python(cell.source)).body
                           if isinstance(n, ast.FunctionDef) and n.name.startswith("check_")}
    assert checks == {(stem, check) for stem, check, *_ in CASES}


def test_every_check_is_fed_at_least_two_wrong_answers():
    counts: dict[tuple[str, str], set[str]] = {}
    for stem, check, _, mistake, _ in CASES:
        counts.setdefault((stem, check), set()).add(mistake)
    few = {key: len(mistakes) for key, mistakes in counts.items() if len(mistakes) < 2}
    assert not few, f"checks fed fewer than two distinct wrong answers: {few}"


@pytest.mark.parametrize("stem, check, wrong, mistake, solution", CASES,
                         ids=[f"{c[0][:2]}-{c[1]}-{c[3][:30]}" for c in CASES])
def test_check_rejects_a_likely_wrong_answer_and_accepts_the_solution(namespaces, stem, check, wrong, mistake,
                                                                      solution):
    ns = namespaces(stem)
    exec(compile(wrong, f"wrong answer to {check}", "exec"), ns)  # noqa: S102
    with pytest.raises(AssertionError):
        _quietly(ns[check], ns["wrong"])
    assert "correct." in _quietly(ns[check], ns[solution])
    assert "not attempted" in _quietly(ns[check], None)


BATCHED_MC_MEAN = '''
def batched(model, x, samples):
    with nn.eval_mode(model), tinyseg.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.train()
        n = x.shape[0]
        xs = tinyseg.tensor(np.concatenate([tinyseg.backend.to_numpy(x.data)] * samples))  # one pass, all samples
        p = F.softmax(model(xs), dim=1).data
    return p.reshape(samples, n, *p.shape[1:]).mean(axis=0)
'''


def test_the_mc_mean_check_accepts_a_batched_implementation(namespaces):
    """One forward pass over the images repeated `samples` times draws the masks in another order
    than a loop: the check must accept it (it compares one sample exactly, many in statistics)."""
    ns = namespaces("07_bayesian_segnet")
    exec(compile(BATCHED_MC_MEAN, "batched answer to check_mc_mean", "exec"), ns)  # noqa: S102
    assert "correct." in _quietly(ns["check_mc_mean"], ns["batched"])
