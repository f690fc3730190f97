"""The layering of tinyseg, read from its source: every import points down, and nothing cycles.

Each module of tinyseg is parsed with ``ast`` (nothing is imported), its imports of tinyseg
modules are collected (relative and absolute, top level and inside functions), and each module
gets a rank from ``RANKS``; an import may go to the same rank or lower, never higher, unless it is
in ``ALLOWED`` with its reason. Bottom to top:

    0  engine.backend, engine.random numpy or cupy; every random stream (weights, dropout masks)
    1  engine (tensor, gradcheck,    Tensor, Function, the autograd engine, and the tools that watch it
       profiler)
    2  functional                    every op with its backward
    3  nn                            Module, Parameter, layers
    4  models                        SegNet and friends
    5  optim, data, metrics, io, interop, viz, bench (its jobs)
    6  training                      TrainConfig, fit, train_step, evaluate, predict
    7  cli, train, evaluate, predict, bn_stats, bench.command (the commands and what they share)
    8  tinyseg (the package's __init__: it re-exports from below)

The rule a reader sees in ``ls tinyseg/``: the modules at the top are the commands
(``python -m tinyseg.X``); every other layer is a folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinyseg"

# Longest matching prefix wins, so "tinyseg.bench.command" outranks "tinyseg.bench".
RANKS = {
    "tinyseg.engine.backend": 0,
    "tinyseg.engine.random": 0,
    "tinyseg.engine": 1,
    "tinyseg.functional": 2,
    "tinyseg.nn": 3,
    "tinyseg.models": 4,
    **{f"tinyseg.{name}": 5 for name in ("optim", "data", "metrics", "io", "interop", "viz", "bench")},
    "tinyseg.training": 6,
    **{f"tinyseg.{name}": 7 for name in (
        "cli", "train", "evaluate", "predict", "bn_stats", "bench.command", "bench.__main__")},
    "tinyseg.bench.__init__": 7,  # the bench package's __init__ re-exports its command
    "tinyseg": 8,
}
TOP = "tinyseg"

# (importer, imported): why this upward import is all right. Keep it short.
ALLOWED = {
    ("tinyseg.io.checkpoint", "tinyseg"):
        "reads tinyseg.__version__ to stamp a checkpoint; the package is always initialised "
        "before any of its modules, so this adds no cycle",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def rank(name: str) -> int:
    key = f"{name}.__init__" if _is_package(name) and f"{name}.__init__" in RANKS else name
    while key not in RANKS:
        key = key.rsplit(".", 1)[0]
    return RANKS[key]


def imports(name: str) -> list[tuple[str, bool]]:
    """The tinyseg modules that ``name`` imports, each with True when the import is inside a
    function or method (done when called, not when ``name`` is imported)."""
    package = name if _is_package(name) else name.rsplit(".", 1)[0]
    found: list[tuple[str, bool]] = []

    def target(base: str, alias: str | None) -> str:
        sub = f"{base}.{alias}" if alias else base
        return sub if sub in MODULES else base

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, inner) for a in child.names if a.name.split(".")[0] == TOP)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - child.level + 1] + ([child.module] if child.module else []))
                elif child.module and child.module.split(".")[0] == TOP:
                    base = child.module
                else:
                    base = None
                if base is not None:
                    found.extend((target(base, a.name), inner) for a in child.names)
            visit(child, inner)

    visit(ast.parse(MODULES[name].read_text(encoding="utf-8")), False)
    return [(t, lazy) for t, lazy in found if t in MODULES]


GRAPH = {name: imports(name) for name in MODULES}


def test_the_ranks_cover_every_module():
    assert all(rank(name) is not None for name in MODULES)
    assert rank("tinyseg.functional.conv") == 2 and rank("tinyseg.bench.command") == 7
    assert rank("tinyseg.bench.timing") == 5 and rank("tinyseg.training.loop") == 6 and rank("tinyseg") == 8
    assert rank("tinyseg.engine.tensor") == 1 and rank("tinyseg.engine.backend") == 0


@pytest.mark.parametrize("lazy", [False, True], ids=["at import time", "inside functions"])
def test_every_import_points_down(lazy):
    upward = [f"{src} (rank {rank(src)}) imports {dst} (rank {rank(dst)})"
              for src, targets in GRAPH.items() for dst, inner in targets
              if inner == lazy and rank(dst) > rank(src) and (src, dst) not in ALLOWED]
    assert not upward, "imports that point up (fix them, or add them to ALLOWED with a reason):\n" + "\n".join(upward)


def test_the_allow_list_is_still_needed():
    used = {(src, dst) for src, targets in GRAPH.items() for dst, _ in targets}
    assert set(ALLOWED) <= used, f"no longer imported, drop from ALLOWED: {set(ALLOWED) - used}"


def test_the_check_would_catch_an_upward_import():
    assert rank("tinyseg.nn") > rank("tinyseg.functional.conv")
    assert rank("tinyseg.cli") > rank("tinyseg.viz")
    assert rank("tinyseg.functional.basic") > rank("tinyseg.engine.tensor")


def test_no_import_cycles_at_import_time():
    """Top-level imports only. Importing ``a.b.c`` runs ``a.b`` first, so a package counts as
    imported too (except the root package, which is always initialised before its modules)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for src, targets in GRAPH.items():
        if src == TOP:
            continue
        for dst, lazy in targets:
            if lazy or dst == TOP:
                continue
            parts = dst.split(".")
            for i in range(2, len(parts) + 1):
                step = ".".join(parts[:i])
                if step in MODULES and not src.startswith(step + ".") and step != src:
                    edges[src].add(step)

    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            walk(name)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_tensor_imports_only_the_engine_below_it():
    """tensor.py <- ops.py (the Functions its operators call) <- function.py (Function, Context)."""
    assert {dst for dst, _ in GRAPH["tinyseg.engine.tensor"]} <= {
        "tinyseg.engine.backend", "tinyseg.engine.function", "tinyseg.engine.ops"}
    assert {dst for dst, _ in GRAPH["tinyseg.engine.ops"]} <= {"tinyseg.engine.backend", "tinyseg.engine.function"}
    assert {dst for dst, _ in GRAPH["tinyseg.engine.function"]} <= {"tinyseg.engine.backend"}


def test_the_top_of_the_package_holds_only_the_commands():
    """``ls tinyseg/`` shows the architecture: modules at the top are the commands you run with
    ``python -m tinyseg.X``; every layer below them is a folder."""
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert top == ["bn_stats", "evaluate", "predict", "train"]
    for name in top:
        assert 'if __name__ == "__main__":' in (PACKAGE / f"{name}.py").read_text(encoding="utf-8"), name
