"""The documentation's links resolve (in the notebooks' text too), docs/index.md reaches every
page and notebook, and the command-line reference in docs/training.md names exactly the options
the commands have.

Plain Markdown, no docs build: a link to a file that was moved or renamed fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_DIRS = ("tinyseg", "tests", "docs", "notebooks", ".ci")

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def text_of(page: Path) -> str:
    """A Markdown file's text, or the Markdown cells of a notebook."""
    if page.suffix == ".ipynb":
        cells = json.loads(page.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return page.read_text(encoding="utf-8")


def links(page: Path) -> list[str]:
    return LINK.findall(_prose(text_of(page)))


def local_target(page: Path, target: str) -> Path | None:
    """The file a relative link points at (anchor and query dropped); None for web links and anchors."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
        return None
    path = target.split("#", 1)[0].split("?", 1)[0]
    return (page.parent / path).resolve()


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@pytest.mark.parametrize("page", PAGES + NOTEBOOKS, ids=rel)
def test_relative_links_resolve(page: Path):
    broken = [t for t in links(page) if (p := local_target(page, t)) is not None and not p.exists()]
    assert not broken, f"{rel(page)}: links to missing files: {broken}"


@pytest.mark.parametrize("page", PAGES + NOTEBOOKS, ids=rel)
def test_file_references_in_code_spans_exist(page: Path):
    """`tinyseg/functional/conv.py` and the like, written as code, name files of this repository."""
    text = FENCE.sub("", text_of(page))
    spans = [s.strip("`") for s in CODE_SPAN.findall(text)]
    paths = [s for s in spans if re.fullmatch(r"(?:%s)/[\w./-]*" % "|".join(map(re.escape, REPO_DIRS)), s)]
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert not missing, f"{rel(page)}: names files that do not exist: {missing}"


def test_index_links_every_page_and_notebook():
    """Every page and notebook is reached from docs/index.md, directly or through pages it links."""
    index = DOCS / "index.md"
    reached: set[Path] = set()
    todo = [index]
    while todo:
        page = todo.pop()
        for target in links(page):
            p = local_target(page, target)
            if p is not None and p not in reached and p.exists():
                reached.add(p)
                if p.suffix == ".md" and p.is_relative_to(DOCS):
                    todo.append(p)
    wanted = {p.resolve() for p in DOCS.rglob("*.md") if p != index} | {p.resolve() for p in NOTEBOOKS}
    missing = sorted(rel(p) for p in wanted - reached)
    assert not missing, f"docs/index.md does not link {missing}"
    assert NOTEBOOKS, "no notebooks found"


def _sections(text: str) -> dict[str, str]:
    """'## python -m tinyseg.<command>' sections of docs/training.md, by command."""
    parts = re.split(r"^## python -m tinyseg\.(\w+)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("command", ["train", "bn_stats", "evaluate", "predict"])
def test_training_md_documents_every_option(command: str):
    import importlib

    parser = importlib.import_module(f"tinyseg.{command}").build_parser()
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", parser.format_help())) - {"--help"}
    section = _sections((DOCS / "training.md").read_text(encoding="utf-8")).get(command)
    assert section is not None, f"docs/training.md has no '## python -m tinyseg.{command}' section"
    documented = set(re.findall(r"`(--[a-z][a-z-]*)", section))
    assert options - documented == set(), f"tinyseg.{command} options missing from docs/training.md: {options - documented}"
    assert documented - options == set(), f"docs/training.md documents options tinyseg.{command} lacks: {documented - options}"
