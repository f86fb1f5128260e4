"""Parallel text for sequence to sequence: ``source<TAB>target`` per line.

Translation pairs, dialogue (``utterance<TAB>reply``) or any rewriting task. A line with exactly
one TAB is a pair; for translating, a file of sources only (no TAB on any line) is read too.
Blank lines are skipped. Files are strict UTF-8; ``"-"`` reads standard input. Malformed lines
raise a ``DataError`` naming ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.errors import DataError
from rnnkit.data.readers import iter_lines, read_source


@dataclass
class ParallelExample:
    """A source text and its target (None when only sources were given)."""

    source: str
    target: str | None = None


def read_parallel(path: str | Path, require_target: bool = True) -> list[ParallelExample]:
    """Read ``source<TAB>target`` lines (or bare sources when ``require_target`` is False).

    Raises:
        DataError: a line with more than one TAB, an empty side, a TAB-less line where targets
            are required, or a file mixing pairs and bare sources; the message names file:line.

    Example:
        >>> pairs = read_parallel("train.tsv")  # doctest: +SKIP
        >>> pairs[0].source, pairs[0].target  # doctest: +SKIP
        ('File not found', 'Fichier introuvable')
    """
    name, text = read_source(path)
    examples: list[ParallelExample] = []
    paired: bool | None = None
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) > 2:
            raise DataError(f"{name}:{number}: expected source<TAB>target, found {len(parts)} "
                            "TAB-separated fields")  # fmt: skip
        if len(parts) == 1 and require_target:
            raise DataError(f"{name}:{number}: expected source<TAB>target, found no TAB")
        if paired is not None and paired != (len(parts) == 2):
            raise DataError(
                f"{name}:{number}: this line has {len(parts)} field(s) but earlier lines do "
                "not; use one source<TAB>target per line throughout"
            )
        paired = len(parts) == 2
        if any(not p.strip() for p in parts):
            raise DataError(f"{name}:{number}: empty source or target")
        examples.append(ParallelExample(parts[0], parts[1] if paired else None))
    if not examples:
        raise DataError(f"{name}: no examples")
    return examples
