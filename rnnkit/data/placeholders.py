"""Placeholders that a translation must carry over unchanged: masked before, restored after.

Software messages hold format directives (``%s``, ``%d``, ``%1$s``, ``%-5.2f``), named fields
(``{name}``, ``{0}``, ``${HOME}``), markup (``<b>``, ``</a>``, ``<br/>``) and numbers that a
translation must keep exactly. Before training and translating, each distinct placeholder of the
source becomes one reserved symbol (U+E000 + k, from Unicode's private use area, which real text
does not use); the same string in the reference target gets the same symbol, so the model only
learns where to put symbol k. After decoding, each symbol is replaced by the source's original
string, which therefore survives exactly, whatever the tokenizer does to it.

Example:
    >>> masked, table = mask_placeholders("Cannot open %s: %d errors")
    >>> masked == "Cannot open \\ue000: \\ue001 errors", table
    (True, ['%s', '%d'])
    >>> restore_placeholders("Impossible d'ouvrir \\ue000 : \\ue001 erreurs", table)
    "Impossible d'ouvrir %s : %d erreurs"
"""

from __future__ import annotations

import re

FIRST = 0xE000
LIMIT = 64  # symbols U+E000 .. U+E03F; a message with more distinct placeholders keeps the rest

# markup that messages embed; ``<name>`` in "git add <name>" is prose to translate, not a tag
HTML_TAGS = (
    "a", "abbr", "b", "big", "blockquote", "br", "code", "div", "em", "font", "h[1-6]", "hr",
    "i", "img", "kbd", "li", "ol", "p", "pre", "s", "small", "span", "strong", "sub", "sup",
    "table", "td", "th", "tr", "tt", "u", "ul",
)  # fmt: skip
PLACEHOLDER = re.compile(
    r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?"
    r"[diouxXeEfFgGaAcspn@]"  # printf and Objective-C directives
    r"|%\([A-Za-z_]\w*\)[-+ #0]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # Python %(name)s
    r"|\$\{[^{}\s]+\}|\{[A-Za-z_0-9][\w.:!-]*\}"  # ${VAR}, {name}, {0}, {0:.2f}
    rf"|</?(?:{'|'.join(HTML_TAGS)})(?:\s+[^<>]*)?\s*/?>"  # HTML markup
    r"|(?<!\w)\d+(?:[.,:]\d+)*(?!\w)"  # numbers, versions, times (not inside words)
)
_SYMBOL = re.compile(f"[{chr(FIRST)}-{chr(FIRST + LIMIT - 1)}]")


def find_placeholders(text: str) -> list[str]:
    """The distinct placeholders of ``text``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(text):
        seen.setdefault(match.group(0))
    return list(seen)


def mask_placeholders(text: str, table: list[str] | None = None) -> tuple[str, list[str]]:
    """Replace each placeholder by its symbol; returns ``(masked text, table)``.

    Without ``table`` (a source) the table is built from ``text``: symbol k stands for
    ``table[k]``. With the source's table (a target), only placeholders in it are masked; others
    stay literal text.
    """
    if table is None:
        table = find_placeholders(text)[:LIMIT]
    index = {p: k for k, p in enumerate(table)}

    def swap(match: re.Match[str]) -> str:
        k = index.get(match.group(0))
        return match.group(0) if k is None else chr(FIRST + k)

    return PLACEHOLDER.sub(swap, text), table


def restore_placeholders(text: str, table: list[str]) -> str:
    """Put the source's placeholders back; a symbol the source does not have is dropped."""

    def back(match: re.Match[str]) -> str:
        k = ord(match.group(0)) - FIRST
        return table[k] if k < len(table) else ""

    return _SYMBOL.sub(back, text)


def missing_placeholders(source: str, translation: str) -> list[str]:
    """Placeholders of the source that the translation lacks (or has fewer times)."""
    missing = []
    for p in find_placeholders(source):
        if translation.count(p) < source.count(p):
            missing.append(p)
    return missing
