"""Readers for plain-text corpora.

``read_text`` is the one entry point for text files: it decodes strict UTF-8 (a leading byte-order
mark is dropped) and turns every way a file can be unusable into a ``DataError`` that names the
file, and for bad bytes the 1-based line and the byte offset, so the user can open the file there.
Line endings are kept as they are in the file. ``read_source`` also reads standard input
(``"-"``) and ``iter_lines`` numbers the lines for messages.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

from rnnkit.data.errors import DataError

_BOM = b"\xef\xbb\xbf"
STDIN = "-"


def read_text(path: str | Path) -> str:
    """Read a whole UTF-8 text file, strictly.

    Args:
        path: the file to read.

    Returns:
        The decoded text, without a leading BOM.

    Raises:
        DataError: the file is missing or unreadable, holds bytes that are not UTF-8 (the message
            gives ``file:line`` and the byte offset of the first bad byte, counted from the start
            of the file), or is empty or only whitespace.

    Example:
        >>> text = read_text("corpus.txt")  # doctest: +SKIP
        >>> read_text("latin1.txt")  # doctest: +SKIP
        DataError: latin1.txt:3: invalid UTF-8 byte 0xff at byte offset 57
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, expected a text file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    return decode_text(raw, name)


def decode_text(raw: bytes, name: str, empty: str = "the file is empty") -> str:
    """Strict UTF-8 decoding of ``raw`` (a leading BOM dropped); errors name ``name:line``
    and the byte offset; an empty or blank text raises ``DataError(f"{name}: {empty}")``."""
    skip = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        text = raw[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = raw.count(b"\n", 0, offset) + 1
        raise DataError(
            f"{name}:{line}: invalid UTF-8 byte 0x{raw[offset]:02x} at byte offset {offset}"
        ) from None
    if not text.strip():
        raise DataError(f"{name}: {empty}")
    return text


def read_source(path: str | Path) -> tuple[str, str]:
    """(name for messages, decoded text) of a file, or of standard input for ``"-"``."""
    if str(path) != STDIN:
        return str(path), read_text(path)
    name = "<stdin>"
    stream = getattr(sys.stdin, "buffer", None)
    raw = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    return name, decode_text(raw, name, "the input is empty")


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line ending); only ``\\n`` ends a line."""
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line.rstrip("\r")


def json_object(line: str, where: str) -> dict:
    """One JSON-lines record, which must be an object; errors name ``where`` (file:line)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, found {json_type(obj)}")
    return obj


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
