"""Pages from the repository's top-level Markdown files (CONTRIBUTING.md) inside the site.

A page holding ``<!-- rnnkit-include: NAME.md -->`` gets the line replaced by that file of the
repository root, read at build time: its ``# Title`` dropped (the page has its own), its other
headings one level deeper, links into ``docs/`` made relative to the site, links to other files
of the repository shown as paths (the site does not hold them). A missing file leaves a note.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- rnnkit-include: ([\w.-]+\.md) -->")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _link(match: re.Match) -> str:
    text, target = match.groups()
    if target.startswith(("http://", "https://", "mailto:", "#")):
        return match.group(0)
    if target.startswith("docs/"):
        return f"[{text}]({target.removeprefix('docs/')})"
    return text if f"`{target}`" in text or text == f"`{target}`" else f"{text} (`{target}`)"


def adapt(markdown: str) -> str:
    """A top-level Markdown file as the body of a docs page (see the module docstring)."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,5} ", line):
            line = "#" + line
        elif not fenced:
            line = LINK.sub(_link, line)
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _replace(match: re.Match) -> str:
    path = ROOT / match.group(1)
    if not path.exists():
        return f"(`{match.group(1)}` is not in this checkout.)"
    return adapt(path.read_text())


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    source[0] = MARKER.sub(_replace, source[0])


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    return [doc for doc in env.found_docs if doc == "contributing"]


def setup(app: Sphinx) -> dict:
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
