"""Rule-based sentence splitting for English prose (what the extractive summarizer picks from).

A paragraph (text between newlines) is split after ``.``, ``!`` or ``?`` (with any closing
quotes or brackets after it) when whitespace and then an upper-case letter, a digit or an
opening quote follow. It is not split after common abbreviations (``Mr.``, ``Dr.``, ``U.S.``,
``e.g.``...), single-letter initials (``J. K. Rowling``) or inside numbers (``3.5``).

Example:
    >>> split_sentences('Mr. Smith paid $3.5m. "It was fair," he said.\\nNew paragraph')
    ['Mr. Smith paid $3.5m.', '"It was fair," he said.', 'New paragraph']
"""

from __future__ import annotations

import re

#: words that end with a full stop without ending the sentence (compared lower-cased)
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt rev gen col lt sgt capt cmdr gov sen rep pres
    inc ltd co corp bros plc dept univ assn est approx vs etc al eg ie cf viz
    jan feb mar apr jun jul aug sep sept oct nov dec no nos vol fig op""".split()
)

_BOUNDARY = re.compile(r"""[.!?]+["'\u2019\u201d)\]]*(?=\s+["'\u2018\u201c(\[]?[A-Z0-9])""")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def _is_abbreviation(head: str) -> bool:
    """Whether ``head`` (text up to and including a ``.``) ends with an abbreviation."""
    match = _LAST_WORD.search(head)
    if match is None:
        return False
    word = match.group(1)
    if len(word) == 1 and word.isupper():  # an initial: "J."
        return True
    if "." in word:  # "U.S." / "e.g."
        return True
    return word.lower() in ABBREVIATIONS


def _split_paragraph(paragraph: str) -> list[str]:
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.end()
        if paragraph[match.start()] == "." and _is_abbreviation(paragraph[: match.start() + 1]):
            continue
        sentence = paragraph[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order; every newline ends a sentence."""
    return [s for paragraph in text.split("\n") for s in _split_paragraph(paragraph)]
