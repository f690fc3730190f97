"""The documentation site (mkdocs.yml): the API reference names every public name, and the site builds.

docs/api/<package>.md is the page of each package; a public name (in the package's ``__all__``, or
for tinyseg.engine and tinyseg.io, which re-export nothing, in their modules' ``__all__``) must have a
mkdocstrings directive (``::: tinyseg.x.Name``) there, so a new public name without an entry fails
here. The build itself (``mkdocs build --strict``: a warning, a broken link or anchor, a name
mkdocstrings cannot find, fails it) runs when the docs extra is installed (``pip install -e
".[docs]"``, as .ci/run does) and is skipped with the reason otherwise.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
PACKAGES = ["", "engine", "functional", "nn", "models", "optim", "data", "metrics", "io", "training", "interop", "viz", "bench"]
DIRECTIVE = re.compile(r"^:::\s+(tinyseg[\w.]*)\s*$", re.M)
# a name made on first access by a module __getattr__ (interop's PyTorch twins) has no source for
# mkdocstrings to read: its page gives it a heading with an explicit anchor instead
LAZY_HEADING = re.compile(r"^#+\s+(\w+)\s*\{\s*#(tinyseg[\w.]*)\s*\}\s*$", re.M)


def page_of(package: str) -> Path:
    return API / f"{package or 'tinyseg'}.md"


def public_names(package: str) -> list[str]:
    module = importlib.import_module(f"tinyseg.{package}" if package else "tinyseg")
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names: list[str] = []
    for info in pkgutil.iter_modules(module.__path__):
        if not info.name.startswith("_"):
            names += importlib.import_module(f"{module.__name__}.{info.name}").__all__
    return names


def documented(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    names = {path.rsplit(".", 1)[-1] for path in DIRECTIVE.findall(text)}
    names |= {name for name, anchor in LAZY_HEADING.findall(text) if anchor.endswith("." + name)}
    return names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p or "tinyseg")
def test_api_page_lists_every_public_name(package: str):
    page = page_of(package)
    assert page.exists(), f"no API page for tinyseg.{package}: add {page.relative_to(ROOT)} (and to mkdocs.yml's nav)"
    missing = [n for n in public_names(package) if n not in documented(page)]
    assert not missing, f"{page.relative_to(ROOT)} has no '::: tinyseg...' entry for {missing}"


def test_directives_name_objects_that_exist():
    """Every directive path imports (a typo would otherwise only show when the site is built)."""
    for page in sorted(API.glob("*.md")):
        for path in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            module, _, attr = path.rpartition(".")
            try:
                importlib.import_module(path)
                continue
            except ImportError:
                pass
            assert attr in vars(importlib.import_module(module)), f"{page.name}: '::: {path}' names nothing"


def test_every_api_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(API.glob("*.md")) if f"api/{p.name}" not in nav]
    assert not missing, f"mkdocs.yml's nav lacks {missing}"


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None, reason='mkdocs is not installed (pip install -e ".[docs]")'
)
def test_site_builds_strict(tmp_path: Path):
    """``mkdocs build --strict``, as README says, into a temporary folder (site/ is left alone)."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
    assert (tmp_path / "site" / "api" / "training" / "index.html").exists()
    assert (tmp_path / "site" / "notebooks" / "01_autograd" / "index.html").exists()
