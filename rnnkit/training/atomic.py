"""Atomic writes: a reader sees the old file or directory, or the new one, never half of one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def write_file(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    write_file(path, lambda p: p.write_text(text))


def recover_directory(path: Path) -> None:
    """Put back ``path`` from its ``.old`` sibling when a ``new_directory`` was killed after
    moving the old directory aside and before renaming the new one into place."""
    path = Path(path)
    old = path.with_name(f".{path.name}.old")
    if not path.exists() and old.is_dir():
        try:
            os.replace(old, path)
        except OSError:
            pass  # a reader without write access: the path stays missing


@contextmanager
def new_directory(path: Path) -> Iterator[Path]:
    """Fill a temporary directory in the block; on success it replaces ``path`` by renames.

    A crash leaves either the old directory or the new one (plus, at worst, a stale
    ``.old``/``.tmp`` sibling that the next write removes). One killed between its two renames
    leaves only ``.old``: ``recover_directory`` (run here, and by readers) puts it back.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    old = path.with_name(f".{path.name}.old")
    recover_directory(path)
    for stale in (tmp, old):
        if stale.exists():
            shutil.rmtree(stale)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
