"""Tutorial scripts as documentation pages.

A tutorial is a runnable script ``docs/tutorials/NN_slug.py``. Its module docstring is Markdown
that starts with a ``# Title`` line; every other module-level bare string that starts at column 0
with ``\"\"\"`` alone on its line is a Markdown cell; all other lines are Python, shown as code
blocks in order. Sphinx reads the script through :class:`TutorialParser`, so the page is made at
build time and nothing generated is written into the source tree.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from myst_parser.parsers.sphinx_ import MystParser
from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)


class TutorialError(ValueError):
    """A tutorial script that does not follow the layout (names the file and line)."""


def _is_markdown_cell(node: ast.stmt, lines: list[str]) -> bool:
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        return False
    if not isinstance(node.value.value, str) or node.col_offset != 0:
        return False
    return lines[node.lineno - 1].strip() == '"""'


def _code_block(lines: list[str]) -> str | None:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return None
    code = "\n".join(lines)
    fence = "````" if "```" in code else "```"
    return f"{fence}python\n{code}\n{fence}"


def tutorial_to_markdown(source: str, name: str = "<tutorial>", run_path: str | None = None) -> str:
    """Turn a tutorial script into one Markdown page.

    Args:
        source: the script's text.
        name: the file name used in errors.
        run_path: the script's path as a reader runs it; when given, a line after the title says
            how to run it.

    Returns:
        Markdown: the docstring, then code blocks and Markdown cells in the script's order.

    Raises:
        TutorialError: the script does not parse, or its docstring is not ``# Title`` Markdown.

    Example:
        >>> print(tutorial_to_markdown('\"\"\"# Hi\\n\\nText.\"\"\"\\nx = 1\\n'))
        # Hi
        <BLANKLINE>
        Text.
        <BLANKLINE>
        ```python
        x = 1
        ```
        <BLANKLINE>
    """
    try:
        tree = ast.parse(source, filename=name)
    except SyntaxError as exc:
        raise TutorialError(f"{name}:{exc.lineno}: {exc.msg}") from exc
    lines = source.splitlines()
    doc = ast.get_docstring(tree, clean=True)
    if not doc or not doc.startswith("# "):
        raise TutorialError(
            f"{name}:1: a tutorial starts with a Markdown docstring whose first line is '# Title'"
        )
    title, _, rest = doc.partition("\n")
    parts = [title]
    if run_path:
        parts.append(f"*This page is the script `{run_path}`; run it with `python {run_path}`.*")
    if rest.strip():
        parts.append(rest.strip())
    position = tree.body[0].end_lineno or 1  # lines consumed so far (1-based, inclusive)
    for node in tree.body[1:]:
        if _is_markdown_cell(node, lines):
            block = _code_block(lines[position : node.lineno - 1])
            if block:
                parts.append(block)
            parts.append(inspect.cleandoc(node.value.value))  # type: ignore[attr-defined]
            position = node.end_lineno or node.lineno
    block = _code_block(lines[position:])
    if block:
        parts.append(block)
    return "\n\n".join(parts) + "\n"


class TutorialParser(MystParser):
    """Reads a tutorial script as the Markdown page :func:`tutorial_to_markdown` makes of it."""

    supported = ("rnnkit-tutorial",)

    def parse(self, inputstring: str, document) -> None:
        path = Path(document.current_source or "tutorial.py")
        run_path = f"docs/tutorials/{path.name}"
        try:
            text = tutorial_to_markdown(inputstring, str(path), run_path)
        except TutorialError as exc:
            LOGGER.warning(str(exc), location=str(path))
            text = f"# {path.stem}\n\n(This tutorial could not be rendered: {exc})\n"
        super().parse(text, document)


def setup(app: Sphinx) -> dict:
    app.add_source_suffix(".py", "rnnkit-tutorial")
    app.add_source_parser(TutorialParser)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
