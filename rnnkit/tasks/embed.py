"""Writing contextual word vectors (one (T_i, D) array per input line) to a file or stdout.

Formats, all object-free (no pickle; NumPy files load with ``allow_pickle=False``):

- ``npz``: ``np.savez`` with ``vectors`` (N_tokens, D) float32, all lines' tokens in order, and
  ``offsets`` (lines + 1,) int64: line i is ``vectors[offsets[i]:offsets[i + 1]]``.
- ``npy``: the same two arrays as two files: ``PATH`` (vectors) and ``PATH`` with ``.npy``
  replaced by ``.offsets.npy``.
- ``safetensors``: the same two tensors, ``vectors`` and ``offsets``.
- ``jsonl``: one JSON object per line, ``{"tokens": [...], "vectors": [[...], ...]}``
  (``tokens`` only when given); the only format written to standard output.

``read_embeddings`` reads any of them back into the list of arrays.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

EMBEDDING_FORMATS = ("npz", "npy", "safetensors", "jsonl")


def embedding_format(path: str | Path | None, fmt: str | None = None) -> str:
    """The format asked for, else the one of the file suffix; stdout (None or ``-``): jsonl."""
    if fmt is None:
        if path is None or str(path) == "-":
            return "jsonl"
        suffix = Path(path).suffix.lstrip(".")
        fmt = "jsonl" if suffix in ("json", "jsonl") else suffix
    if fmt not in EMBEDDING_FORMATS:
        raise ValueError(
            f"embeddings: unknown format {fmt!r} for {path}; use one of {EMBEDDING_FORMATS}"
        )
    return fmt


def pack(vectors: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-line arrays -> (all vectors (N_tokens, D) float32, offsets (lines + 1,) int64)."""
    width = next((v.shape[1] for v in vectors if v.ndim == 2), 0)
    offsets = np.zeros(len(vectors) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(v) for v in vectors])
    rows = [np.asarray(v, dtype=np.float32).reshape(-1, width) for v in vectors]
    flat = np.concatenate(rows) if rows else np.zeros((0, width), dtype=np.float32)
    return flat, offsets


def unpack(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Inverse of ``pack``."""
    return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def write_embeddings(
    vectors: Sequence[np.ndarray],
    out: str | Path | TextIO | None = None,
    fmt: str | None = None,
    tokens: Sequence[Sequence[str]] | None = None,
) -> None:
    """Write one (T_i, D) array per line to ``out`` (a path; None, ``-`` or a text stream:
    JSON lines there) in ``fmt`` (default: from the suffix). See the module docstring."""
    if out is None or str(out) == "-" or hasattr(out, "write"):
        if fmt not in (None, "jsonl"):
            raise ValueError(f"embeddings: {fmt} is a binary format; write it to a file")
        _write_jsonl(vectors, tokens, out if hasattr(out, "write") else sys.stdout)  # type: ignore[arg-type]
        return
    path = Path(out)
    fmt = embedding_format(path, fmt)
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as f:
            _write_jsonl(vectors, tokens, f)
        return
    flat, offsets = pack(vectors)
    if fmt == "npz":
        with path.open("wb") as f:  # a file object: np.savez adds no suffix of its own
            np.savez(f, vectors=flat, offsets=offsets)
    elif fmt == "npy":
        np.save(path, flat)
        np.save(offsets_path(path), offsets)
    else:
        from safetensors.numpy import save_file

        save_file({"vectors": flat, "offsets": offsets}, str(path))


def offsets_path(path: str | Path) -> Path:
    """Where the ``npy`` format keeps the offsets of ``path``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".npy") + ".offsets.npy")


def _write_jsonl(
    vectors: Sequence[np.ndarray], tokens: Sequence[Sequence[str]] | None, stream: TextIO
) -> None:
    if tokens is not None and len(tokens) != len(vectors):
        raise ValueError(f"embeddings: {len(tokens)} token lists for {len(vectors)} arrays")
    for i, v in enumerate(vectors):
        row: dict = {} if tokens is None else {"tokens": list(tokens[i])}
        row["vectors"] = np.asarray(v, dtype=np.float32).tolist()
        stream.write(json.dumps(row) + "\n")


def read_embeddings(path: str | Path, fmt: str | None = None) -> list[np.ndarray]:
    """Read a file written by ``write_embeddings``: one (T_i, D) float32 array per line."""
    fmt = embedding_format(path, fmt)
    if fmt == "jsonl":
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return [np.asarray(json.loads(line)["vectors"], dtype=np.float32) for line in lines]
    if fmt == "npz":
        with np.load(path, allow_pickle=False) as z:
            return unpack(z["vectors"], z["offsets"])
    if fmt == "npy":
        flat = np.load(path, allow_pickle=False)
        return unpack(flat, np.load(offsets_path(path), allow_pickle=False))
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    return unpack(tensors["vectors"], tensors["offsets"])
