"""Readers and writers for labelled data: text classification files and CoNLL tagging files.

Classification (``read_classification``), one example per line:

    tsv    label<TAB>text                         (split on the first tab)
    jsonl  {"text": "...", "label": "pos", "title": "..."}    ("label" a list when multi-label)
    text   text                                   (no labels: input for prediction)

Tagging (``read_conll``): one token per line, columns split on TAB (or any whitespace when the
line has no tab), a blank line between sentences, ``-DOCSTART-`` lines skipped. ``write_conll``
writes the original columns back with the predicted tag as a new last column.

Files are strict UTF-8 (``read_text``); ``"-"`` reads standard input. Every malformed line raises
a ``DataError`` naming ``file:line`` and what was expected. ``LabelVocab`` maps the labels (or
tags) to ids; ``unseen_labels`` lists labels of evaluation data that training never saw.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rnnkit.data.errors import DataError
from rnnkit.data.readers import STDIN, iter_lines, read_source

FORMATS: tuple[str, ...] = ("auto", "tsv", "jsonl", "text")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".tsv": "tsv"}


@dataclass
class TextExample:
    """One text with its labels (empty when the file has none, e.g. for prediction).

    Example:
        >>> TextExample("great film", ("pos",)).label
        'pos'
    """

    text: str
    labels: tuple[str, ...] = ()
    title: str | None = None

    @property
    def label(self) -> str | None:
        """The first label, or None for an unlabelled example."""
        return self.labels[0] if self.labels else None


@dataclass
class TaggedSentence:
    """One sentence of a CoNLL file.

    ``rows`` keeps every original column of each token line, so predictions can be written next
    to them; ``tags`` is empty when the file was read without a tag column.
    """

    tokens: list[str]
    tags: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


# ---------------------------------------------------------------- sources
# --------------------------------------------------------- classification
def read_classification(
    path: str | Path,
    format: str = "auto",
    multi_label: bool = False,
    label_separator: str = ",",
) -> list[TextExample]:
    """Read a text classification file (formats in the module docstring).

    Args:
        path: the file, or ``"-"`` for standard input.
        format: ``"tsv"``, ``"jsonl"``, ``"text"`` or ``"auto"``: ``.jsonl``/``.json`` -> jsonl,
            ``.tsv`` -> tsv, anything else (and stdin) -> text.
        multi_label: labels are sets: a TSV label field is split on ``label_separator``, a JSON
            ``"label"`` may be a list. Labels are stripped, empty ones dropped, repeats removed.
        label_separator: separator of the labels in a multi-label TSV field (or JSON string).

    Returns:
        The examples in file order; blank lines are skipped, texts are stripped.

    Raises:
        DataError: ``file:line: ...`` for a line without a tab, invalid JSON, a missing or empty
            ``"text"``, an empty label, or a JSONL file labelling some lines only; ``file: ...``
            for an unreadable or empty file.

    Example:
        >>> read_classification("train.tsv")  # doctest: +SKIP
        [TextExample(text='great film', labels=('pos',), title=None), ...]
    """
    if format not in FORMATS:
        raise ValueError(f"read_classification: format must be one of {FORMATS}, got {format!r}")
    if format == "auto":
        auto = "text" if str(path) == STDIN else _SUFFIX_FORMATS.get(Path(path).suffix.lower())
        format = auto or "text"
    name, text = read_source(path)
    if format == "tsv":
        examples = _parse_tsv(name, text, multi_label, label_separator)
    elif format == "jsonl":
        examples = _parse_jsonl(name, text, multi_label, label_separator)
    else:
        examples = [TextExample(line.strip()) for _, line in iter_lines(text) if line.strip()]
    if not examples:
        raise DataError(f"{name}: no examples found")
    return examples


def _parse_tsv(name: str, text: str, multi_label: bool, separator: str) -> list[TextExample]:
    examples = []
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        label_field, tab, body = line.partition("\t")
        if not tab:
            raise DataError(f"{where}: expected 'label<TAB>text', found no tab")
        labels = _split_labels([label_field], multi_label, separator)
        if not labels:
            raise DataError(f"{where}: empty label (expected 'label<TAB>text')")
        examples.append(TextExample(_checked_text(body, where), labels))
    return examples


def _parse_jsonl(name: str, text: str, multi_label: bool, separator: str) -> list[TextExample]:
    examples: list[TextExample] = []
    first_line = 0  # the line that decided whether this file is labelled
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        example = _parse_json_object(line, where, multi_label, separator)
        if examples and bool(example.labels) != bool(examples[0].labels):
            problem, other = ("missing", "one") if examples[0].labels else ("unexpected", "none")
            raise DataError(
                f'{where}: {problem} "label" (line {first_line} has {other}; label all or none)'
            )
        first_line = first_line or number
        examples.append(example)
    return examples


def _parse_json_object(line: str, where: str, multi_label: bool, separator: str) -> TextExample:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, found {_json_type(obj)}")
    if "text" not in obj:
        raise DataError(f'{where}: missing "text"')
    if not isinstance(obj["text"], str):
        raise DataError(f'{where}: "text" must be a string, found {_json_type(obj["text"])}')
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise DataError(f'{where}: "title" must be a string, found {_json_type(title)}')
    return TextExample(
        _checked_text(obj["text"], where), _json_labels(obj, where, multi_label, separator), title
    )


def _json_labels(obj: dict, where: str, multi_label: bool, separator: str) -> tuple[str, ...]:
    if obj.get("label") is None:
        return ()
    value = obj["label"]
    if isinstance(value, list) and not multi_label:
        raise DataError(f'{where}: "label" is a list; pass multi_label=True for multi-label data')
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise DataError(f"{where}: expected string labels, found {_json_type(item)}")
    labels = _split_labels([str(v) for v in values], multi_label, separator)
    if not labels:
        raise DataError(f'{where}: empty "label"')
    return labels


def _split_labels(fields: list[str], multi_label: bool, separator: str) -> tuple[str, ...]:
    """Stripped, non-empty, distinct labels in order of appearance."""
    parts = [p for f in fields for p in (f.split(separator) if multi_label else [f])]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _checked_text(text: str, where: str) -> str:
    if not text.strip():
        raise DataError(f"{where}: empty text")
    return text.strip()


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


# ----------------------------------------------------------------- CoNLL
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
        raise DataError(
            f"{where}: the token and tag columns are both column {token % width} of {width}; "
            "pass tag_column=None to read tokens only"
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


# ---------------------------------------------------------------- labels
class LabelVocab:
    """Label (or tag) <-> id table; ``build`` sorts the labels so ids do not depend on order.

    Example:
        >>> vocab = LabelVocab.build(["pos", "neg", "pos"])
        >>> vocab.labels, vocab.to_id("pos"), vocab.encode_known(["pos", "meh"])
        (['neg', 'pos'], 1, ([1], ['meh']))
    """

    def __init__(self, labels: Sequence[str]) -> None:
        labels = list(labels)
        duplicates = sorted(label for label, n in Counter(labels).items() if n > 1)
        if duplicates:
            raise ValueError(f"LabelVocab: duplicate labels {duplicates[:10]}")
        self._labels = labels
        self._index = {label: i for i, label in enumerate(labels)}

    @classmethod
    def build(cls, labels: Iterable[str]) -> LabelVocab:
        """The distinct labels, sorted."""
        return cls(sorted(set(labels)))

    @property
    def labels(self) -> list[str]:
        """The labels in id order."""
        return list(self._labels)

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def to_id(self, label: str) -> int:
        """The id of ``label``; KeyError naming the label and the known ones if unseen."""
        try:
            return self._index[label]
        except KeyError:
            known = ", ".join(self._labels[:20]) + (", ..." if len(self) > 20 else "")
            raise KeyError(f"LabelVocab: unknown label {label!r}; known labels: {known}") from None

    def to_label(self, index: int) -> str:
        """The label with id ``index``."""
        return self._labels[index]

    def encode_known(self, labels: Iterable[str]) -> tuple[list[int], list[str]]:
        """(ids of the known labels, the unknown labels), both in input order."""
        ids, unknown = [], []
        for label in labels:
            if label in self._index:
                ids.append(self._index[label])
            else:
                unknown.append(label)
        return ids, unknown

    def to_dict(self) -> dict[str, list[str]]:
        """``{"labels": [...]}`` in id order, for JSON."""
        return {"labels": list(self._labels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelVocab:
        """Inverse of ``to_dict``."""
        labels = data.get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError('LabelVocab.from_dict: expected {"labels": [str, ...]}')
        return cls(labels)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelVocab) and self._labels == other._labels

    def __repr__(self) -> str:
        return f"LabelVocab({self._labels!r})"


def unseen_labels(train_labels: Iterable[str], other_labels: Iterable[str]) -> dict[str, int]:
    """Labels of ``other_labels`` absent from ``train_labels``, with their counts.

    Ordered by decreasing count, then label, so callers can report them instead of crashing.

    Example:
        >>> unseen_labels(["a", "b"], ["a", "c", "d", "c"])
        {'c': 2, 'd': 1}
    """
    seen = set(train_labels)
    counts = Counter(label for label in other_labels if label not in seen)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
