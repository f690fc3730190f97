"""Griffe extension: tinyseg's docstrings, which are written for `help()` and the source, as Markdown.

mkdocstrings renders the docstrings as Markdown (`docstring_style: null`: they are prose, not
Google or NumPy sections). Two habits of the source read badly there, and are rewritten here, at
build time, without touching the code:

- Sphinx roles, ``:func:`max_pool2d` `` or ``:class:`~tinyseg.nn.Module` ``, become inline code
  (`max_pool2d`, `Module`).
- Aligned tables written at the docstring's own indentation (a layer per line, a file per line,
  columns lined up with spaces) would be joined into one paragraph; a paragraph whose lines line
  up columns (a run of three spaces or more inside a line) is kept as preformatted text.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
COLUMNS = re.compile(r"\S {3,}\S")


def _role(m: re.Match) -> str:
    target = m.group(1)
    if target.startswith("~") or m.group(0).startswith((":class:`~", ":func:`~", ":meth:`~", ":attr:`~")):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def markdown_of(text: str) -> str:
    text = ROLE.sub(_role, text)
    paragraphs = text.split("\n\n")
    for i, para in enumerate(paragraphs):
        lines = para.split("\n")
        if i == 0 or not para.strip() or lines[0].startswith(("    ", ">>>")):
            continue  # the summary line, indented blocks (already code) and doctests stay
        if any(COLUMNS.search(line) for line in lines):
            paragraphs[i] = "\n".join("    " + line for line in lines)
    return "\n\n".join(paragraphs)


class ProseDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_of(obj.docstring.value)
