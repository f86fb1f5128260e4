"""Documents with (optional) reference summaries, from JSONL: what the summarizer reads.

    {"text": "First sentence. Second one.\\nA new paragraph.", "summary": "..."}

The key names are options (``text_key``, ``summary_key``): for ../shared/data/bbc the headline
is the reference, ``summary_key="title"``. Other keys are ignored. ``-`` reads standard input.
A malformed line gives a ``DataError`` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rnnkit.data.errors import DataError
from rnnkit.data.readers import iter_lines, json_object, read_source
from rnnkit.data.sentences import split_sentences


@dataclass
class Document:
    """A text split into sentences, with its reference summary when known."""

    text: str
    summary: str | None = None
    sentences: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.sentences:
            self.sentences = split_sentences(self.text)


def _string_field(obj: dict, key: str, where: str, required: bool) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise DataError(f'{where}: missing "{key}"')
        return None
    if not isinstance(value, str):
        raise DataError(f'{where}: "{key}" must be a string, found {type(value).__name__}')
    return value


def read_documents(
    path: str | Path,
    text_key: str = "text",
    summary_key: str = "summary",
    require_summary: bool = False,
) -> list[Document]:
    """Documents of a JSONL file (one object per line; blank lines skipped), in file order."""
    name, text = read_source(path)
    documents: list[Document] = []
    for number, line in iter_lines(text):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        obj = json_object(line, where)
        body = _string_field(obj, text_key, where, required=True)
        summary = _string_field(obj, summary_key, where, required=require_summary)
        document = Document(body.strip(), summary)  # type: ignore[union-attr]
        if not document.sentences:
            raise DataError(f'{where}: empty "{text_key}"')
        documents.append(document)
    if not documents:
        raise DataError(f"{name}: no documents")
    return documents
