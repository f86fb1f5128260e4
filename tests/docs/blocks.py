"""Run the ```python blocks of a Markdown page, in order, in one namespace.

A block is skipped when the line just before its fence is the opt-out marker
``<!-- no-test: REASON -->`` (for code that needs a data set, a trained model or a long run);
the reason is required.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
NO_TEST = re.compile(r"<!-- no-test: \S.*-->\s*$")


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """``(line, code, skipped)`` for each ```python block of a page (line: 1-based fence)."""
    blocks = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((line, match.group(1), bool(NO_TEST.search(before))))
    return blocks


def run_blocks(path: Path, name: str) -> int:
    """Run every block of ``path`` not marked no-test; return how many ran."""
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line, code, skipped in python_blocks(path.read_text()):
            if skipped:
                continue
            try:
                exec(compile(code, f"{name}:{line}", "exec"), namespace)
            except Exception as exc:  # name the page and line of the block that broke
                raise AssertionError(
                    f"{name}:{line}: python block failed: {exc!r}\n{code}"
                ) from exc
            ran += 1
    return ran
