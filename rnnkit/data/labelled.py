"""Text classification files: one labelled (or unlabelled) text per line.

    tsv    label<TAB>text                         (split on the first tab)
    jsonl  {"text": "...", "label": "pos", "title": "..."}    ("label" a list when multi-label)
    text   text                                   (no labels: input for prediction)

Files are strict UTF-8 (``read_text``); ``"-"`` reads standard input. Every malformed line raises
a ``DataError`` naming ``file:line`` and what was expected. CoNLL tagging files are read by
``rnnkit.data.conll`` and label tables live in ``rnnkit.data.labels``; both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rnnkit.data.conll import TaggedSentence, read_conll, write_conll
from rnnkit.data.errors import DataError
from rnnkit.data.labels import LabelVocab, unseen_labels
from rnnkit.data.readers import STDIN, iter_lines, json_object, json_type, read_source

__all__ = [
    "FORMATS",
    "LabelVocab",
    "TaggedSentence",
    "TextExample",
    "read_classification",
    "read_conll",
    "unseen_labels",
    "write_conll",
]


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
    obj = json_object(line, where)
    if "text" not in obj:
        raise DataError(f'{where}: missing "text"')
    if not isinstance(obj["text"], str):
        raise DataError(f'{where}: "text" must be a string, found {json_type(obj["text"])}')
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise DataError(f'{where}: "title" must be a string, found {json_type(title)}')
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
            raise DataError(f"{where}: expected string labels, found {json_type(item)}")
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
