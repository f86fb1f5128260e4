"""An exported folder: the ONNX graphs, the model's tokenizer and tables, and a config.

    OUT/config.json     the model's config.json plus an "export" section (format, graphs,
                        state layout); ``rnnkit.load`` and every command read it
    OUT/*.onnx          the graphs (``model.onnx`` and ``step.onnx`` for a language model...)
    OUT/tokenizer.json  and the model directory's other tables, copied as they are
    OUT/manifest.json   each file's size and SHA-256, checked on loading

The folder is written to a temporary directory and renamed into place; an existing ``OUT`` is
replaced only with ``overwrite``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import onnx

from rnnkit.errors import OutputError
from rnnkit.training.atomic import new_directory
from rnnkit.training.manifest import write_manifest

#: files of a model directory an export does not copy (the weights are in the graphs)
NOT_COPIED = {"config.json", "manifest.json", "model.safetensors"}


def is_export(config: dict[str, Any]) -> bool:
    """Whether a config.json's content is an exported folder's."""
    return isinstance(config.get("export"), dict)


def write_export(
    source: Path,
    config: dict[str, Any],
    graphs: dict[str, onnx.ModelProto],
    info: dict[str, Any],
    out: Path,
    overwrite: bool = False,
) -> Path:
    """Write the folder ``out`` from a model directory ``source`` and its exported graphs.

    Raises:
        OutputError: ``out`` exists (without ``overwrite``) or cannot be written.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists (pass --overwrite to replace it)")
    if out.resolve() == Path(source).resolve():
        raise OutputError(f"{out}: the export cannot replace the model directory it reads")
    written = dict(config, export={"format": "onnx", **info})
    try:
        with new_directory(out) as tmp:
            for item in sorted(Path(source).iterdir()):
                if item.is_file() and item.name not in NOT_COPIED:
                    shutil.copyfile(item, tmp / item.name)
            for name, graph in graphs.items():
                onnx.save_model(graph, str(tmp / name))
            text = json.dumps(written, indent=2, sort_keys=True) + "\n"
            (tmp / "config.json").write_text(text, encoding="utf-8")
            write_manifest(tmp)
    except OSError as error:
        raise OutputError(
            f"{out}: could not write the export ({error.strerror or error})"
        ) from None
    return out
