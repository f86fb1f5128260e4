"""The error raised for bad data: unreadable or empty files, streams too short to batch.

``DataError`` subclasses ``ValueError`` so callers that already catch bad values keep working;
its message always names the file (and line, where there is one) or the object and the numbers
that did not fit, e.g. ``corpus.txt:3: invalid UTF-8 byte 0xff at byte offset 57``.
"""

from __future__ import annotations

from rnnkit.errors import RnnkitError


class DataError(RnnkitError, ValueError):
    """Bad input data: the message names the file and line, or what was expected and what came.

    Example:
        >>> raise DataError("corpus.txt: the file is empty")
        Traceback (most recent call last):
        ...
        rnnkit.data.errors.DataError: corpus.txt: the file is empty
    """
