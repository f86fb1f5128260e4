"""Fetch a corpus file over HTTP(S), verified and written atomically.

The body is streamed into a temporary file beside ``dest`` while its SHA-256 is computed; only a
complete file with the expected hash is renamed onto ``dest`` (``os.replace``, atomic on one
file system), so an interrupted or corrupted download never leaves a half-written ``dest``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from rnnkit.data.errors import DataError

_HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_of(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    dest: str | Path,
    sha256: str | None = None,
    *,
    timeout: float = 60.0,
    chunk_size: int = 1 << 20,
) -> Path:
    """Download ``url`` to ``dest`` unless a good copy is already there.

    An existing ``dest`` is kept without fetching when ``sha256`` is None or matches it; an
    existing file with another hash is fetched again and replaced.

    Args:
        url: an ``http://`` or ``https://`` address.
        dest: the file to write; its directory is created if needed.
        sha256: expected hex SHA-256 of the file (recommended); None skips the check.
        timeout: seconds to wait for the server on each blocking operation.
        chunk_size: bytes read and hashed at a time.

    Returns:
        ``dest`` as a Path.

    Raises:
        ValueError: the URL is not HTTP(S), or ``sha256`` is not 64 hex digits.
        DataError: the fetch failed, or the hash does not match (the message names the file
            and both hashes; the partial file is removed).

    Example:
        >>> path = download("https://example.org/corpus.txt", Path("data/corpus.txt"),
        ...                 sha256="9f86d08...")  # doctest: +SKIP
    """
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"download: expected an http:// or https:// URL, got {url!r}")
    expected = None if sha256 is None else sha256.strip().lower()
    if expected is not None and not _HEX64.fullmatch(expected):
        raise ValueError(f"download: sha256 must be 64 hex digits, got {sha256!r}")
    dest = Path(dest)
    if dest.is_file() and (expected is None or sha256_of(dest) == expected):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(chunk_size):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if expected is not None and actual != expected:
            raise DataError(
                f"download: {dest}: sha256 mismatch for {url}: expected {expected}, got {actual}"
            )
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise DataError(f"download: {dest}: could not fetch {url} ({exc})") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest
