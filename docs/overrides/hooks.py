"""MkDocs hook: the pages whose source lives outside docs/ (the notebooks, README.md).

The notebooks stay in notebooks/ and README.md at the repository root, where GitHub, Jupyter and
tests/test_docs.py read them; this hook adds them to the site as `notebooks/<name>.ipynb` (rendered
by mkdocs-jupyter, without executing) and `readme.md`, and rewrites the relative links between the
two trees (`../notebooks/01_autograd.ipynb` in a docs page, `../docs/models.md` in a notebook,
`docs/training.md` in README) to the pages' places in the site. A link to a file that is not part
of the site is left as it is, so that `mkdocs build --strict` reports it.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files, InclusionLevel

ROOT = Path(__file__).resolve().parents[2]
MD_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
HREF = re.compile(r"""(\s(?:href|src)=")([^"]+)(")""")


def _site_files(files: Files) -> dict[Path, File]:
    return {Path(f.abs_src_path).resolve(): f for f in files if f.abs_src_path}


def _split(target: str) -> tuple[str, str] | None:
    """(path, '#anchor') of a relative link; None for web links, mail and bare anchors."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    path, sep, anchor = target.partition("#")
    return path, sep + anchor


def _target(page_file: File, target: str, by_path: dict[Path, File]) -> tuple[File, str] | None:
    parts = _split(target)
    if parts is None or not parts[0] or not page_file.abs_src_path:
        return None
    real = (Path(page_file.abs_src_path).parent / parts[0]).resolve()
    found = by_path.get(real)
    return (found, parts[1]) if found is not None else None


@event_priority(100)  # before mkdocs-jupyter wraps the .ipynb files into pages
def on_files(files: Files, config) -> Files:
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        # a plain File rooted at the repository (mkdocs-jupyter's wrapper reads src_dir, not a generated path)
        files.append(File(f"notebooks/{nb.name}", str(ROOT), config.site_dir, config.use_directory_urls))
    # README.md as readme.md (a file named README would become the home page); reached by links, not the nav
    readme = File.generated(config, "readme.md", abs_src_path=str(ROOT / "README.md"), inclusion=InclusionLevel.NOT_IN_NAV)
    files.append(readme)
    return files


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Relative Markdown links, resolved from the file's real place, pointed at the site's copy."""
    by_path = _site_files(files)
    here = posixpath.dirname(page.file.src_uri)

    def fix(m: re.Match) -> str:
        found = _target(page.file, m.group(2), by_path)
        if found is None:
            return m.group(0)
        file, anchor = found
        return m.group(1) + posixpath.relpath(file.src_uri, here or ".") + anchor + m.group(3)

    # fenced code keeps its text: split around the fences and rewrite the prose only
    out, last = [], 0
    for fence in FENCE.finditer(markdown):
        out += [MD_LINK.sub(fix, markdown[last : fence.start()]), fence.group(0)]
        last = fence.end()
    out.append(MD_LINK.sub(fix, markdown[last:]))
    return "".join(out)


def on_page_content(html: str, page, config, files: Files) -> str:
    """A notebook's HTML (mkdocs-jupyter's, not Markdown that MkDocs resolves): its links, made site URLs."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    by_path = _site_files(files)

    def fix(m: re.Match) -> str:
        found = _target(page.file, m.group(2), by_path)
        if found is None:
            return m.group(0)
        file, anchor = found
        return m.group(1) + file.url_relative_to(page.file) + anchor + m.group(3)

    return HREF.sub(fix, html)
