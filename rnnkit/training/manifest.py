"""A directory's manifest: each file's size and SHA-256, to tell a damaged copy from a good one.

``manifest.json`` is written last into a checkpoint or model directory, before the directory is
renamed into place. ``verify`` reads it back and checks every file it lists: a file that is
missing, shorter or longer than listed (a truncated copy, a disk that filled) or whose SHA-256
differs (a flipped bit) raises ``ModelFileError`` naming the file and the problem.

    {"format": 1, "files": {"model.safetensors": {"size": 12345, "sha256": "9f2c..."}, ...}}

Example:
    >>> write_manifest(Path("runs/lm/model"))
    >>> verify(Path("runs/lm/model"))  # raises if any listed file changed
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rnnkit.errors import ModelFileError

MANIFEST = "manifest.json"
FORMAT = 1
_CHUNK = 1 << 20


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(directory: Path) -> Path:
    """List every regular file of ``directory`` (not in subfolders) in its ``manifest.json``."""
    directory = Path(directory)
    files = {
        p.name: {"size": p.stat().st_size, "sha256": sha256(p)}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    path = directory / MANIFEST
    path.write_text(json.dumps({"format": FORMAT, "files": files}, indent=1) + "\n")
    return path


def read_manifest(directory: Path) -> dict[str, dict[str, Any]] | None:
    """The files a directory's manifest lists, or None when it has no manifest."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if data.get("format", FORMAT) > FORMAT:
            raise ModelFileError(
                f"{path}: manifest format {data['format']} is newer than this rnnkit reads "
                f"({FORMAT}); upgrade rnnkit"
            )
        if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("size"), int) and "sha256" in v
            for v in files.values()
        ):
            raise TypeError
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path}: damaged manifest ({type(error).__name__})") from None
    return files


def verify(directory: Path, required: bool = False) -> bool:
    """Check every file the manifest lists; True when there is a manifest and all match,
    False when there is none (``required``: that raises too)."""
    directory = Path(directory)
    files = read_manifest(directory)
    if files is None:
        if required:
            raise ModelFileError(f"{directory}: no {MANIFEST}; the directory is incomplete")
        return False
    for name, entry in files.items():
        path = directory / name
        if not path.is_file():
            raise ModelFileError(f"{path}: missing (listed in {MANIFEST})")
        size = path.stat().st_size
        if size != entry["size"]:
            kind = "truncated" if size < entry["size"] else "longer than written"
            raise ModelFileError(f"{path}: {kind} ({size} bytes, {entry['size']} written)")
        if sha256(path) != entry["sha256"]:
            raise ModelFileError(
                f"{path}: damaged (its SHA-256 differs from the one written in {MANIFEST})"
            )
    return True
