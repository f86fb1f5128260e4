"""CoNLL files for sequence labelling: read token/tag columns, write predictions back.

One token per line, columns split on TAB (or any whitespace when the line has no tab), a blank
line between sentences, ``-DOCSTART-`` lines skipped. ``write_conll`` writes the original
columns back with the predicted tag as a new last column. Files are strict UTF-8; ``"-"`` reads
standard input. Every malformed line raises a ``DataError`` naming ``file:line``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rnnkit.data.errors import DataError
from rnnkit.data.readers import iter_lines, read_source


@dataclass
class TaggedSentence:
    """One sentence of a CoNLL file.

    ``rows`` keeps every original column of each token line, so predictions can be written next
    to them; ``tags`` is empty when the file was read without a tag column.
    """

    tokens: list[str]
    tags: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def read_conll(
    path: str | Path,
    token_column: int = 0,
    tag_column: int | None = -1,
    separator: str | None = None,
) -> list[TaggedSentence]:
    """Read a CoNLL-style file: one token per line, a blank line between sentences.

    Args:
        path: the file, or ``"-"`` for standard input.
        token_column: column of the token (negative counts from the end).
        tag_column: column of the tag (default: the last); None reads tokens only (tags = []).
        separator: column separator; None splits on TAB when the line has one, else on any
            whitespace.

    Returns:
        The sentences in file order, with every line's columns kept in ``rows``.

    Raises:
        DataError: ``file:line: expected at least N columns, found M``; the token and tag
            columns being the same column; an empty field; no sentences in the file.

    Example:
        >>> read_conll("train.conll")[0].tags  # doctest: +SKIP
        ['B-PER', 'I-PER', 'O']
    """
    name, text = read_source(path)
    needed = max(_columns_needed(token_column), _columns_needed(tag_column))
    sentences: list[TaggedSentence] = []
    rows: list[list[str]] = []
    for number, line in iter_lines(text):
        if not line.strip() or line.lstrip().startswith("-DOCSTART-"):
            if rows:
                sentences.append(_sentence(rows, token_column, tag_column))
                rows = []
            continue
        fields = _split_fields(line, separator)
        where = f"{name}:{number}"
        if len(fields) < needed:
            raise DataError(f"{where}: expected at least {needed} columns, found {len(fields)}")
        _check_columns(fields, token_column, tag_column, where)
        rows.append(fields)
    if rows:
        sentences.append(_sentence(rows, token_column, tag_column))
    if not sentences:
        raise DataError(f"{name}: no sentences found")
    return sentences


def _columns_needed(column: int | None) -> int:
    if column is None:
        return 0
    return column + 1 if column >= 0 else -column


def _split_fields(line: str, separator: str | None) -> list[str]:
    if separator is not None:
        return line.split(separator)
    return line.split("\t") if "\t" in line else line.split()


def _check_columns(fields: list[str], token: int, tag: int | None, where: str) -> None:
    width = len(fields)
    if tag is not None and token % width == tag % width:
        found = f"{width} column" + ("s" if width != 1 else "")
        raise DataError(
            f"{where}: expected a token and its tag, found {found} (the token and the tag "
            f"would both be column {token % width})"
        )
    for kind, column in (("token", token), ("tag", tag)):
        if column is not None and not fields[column].strip():
            raise DataError(f"{where}: empty {kind} in column {column % width}")


def _sentence(rows: list[list[str]], token: int, tag: int | None) -> TaggedSentence:
    tags = [] if tag is None else [r[tag] for r in rows]
    return TaggedSentence([r[token] for r in rows], tags, rows)


def write_conll(
    sentences: Sequence[TaggedSentence], predicted: Sequence[Sequence[str]], out: TextIO
) -> None:
    """Write each sentence's original rows plus its predicted tag as a new last column.

    Columns are joined with TAB; every sentence is followed by a blank line, so the output reads
    back with ``read_conll`` (the prediction is then the last column).

    Raises:
        ValueError: the number of sentences, or the length of a sentence, differs.
    """
    if len(sentences) != len(predicted):
        raise ValueError(
            f"write_conll: {len(sentences)} sentences but {len(predicted)} predicted tag sequences"
        )
    for index, (sentence, tags) in enumerate(zip(sentences, predicted)):
        if len(tags) != len(sentence.rows):
            raise ValueError(
                f"write_conll: sentence {index} has {len(sentence.rows)} tokens "
                f"but {len(tags)} predicted tags"
            )
        for row, tag in zip(sentence.rows, tags):
            out.write("\t".join([*row, tag]) + "\n")
        out.write("\n")
