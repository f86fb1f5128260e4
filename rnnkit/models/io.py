"""Model directories: what ``rnnkit evaluate/generate DIR`` load.

    DIR/model/config.json        {"rnnkit_version", "model_type", "model": {...}, "meta": {...}}
    DIR/model/model.safetensors  the weights (tied tensors stored once)
    DIR/model/tokenizer.json     the tokenizer, if the task has one
    DIR/model/NAME.json          other tables a task keeps (e.g. a tagger's vocabularies)

``DIR/model`` is written to a temporary directory and renamed into place, so a reader sees the
old model or the new one. Loading reads JSON and safetensors only: no code from the files runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors.torch import load_model, save_model
from torch import nn

from rnnkit import __version__
from rnnkit.data import Tokenizer, load_tokenizer
from rnnkit.training.atomic import new_directory

MODEL_SUBDIR = "model"


def save_model_dir(
    directory: Path,
    model: nn.Module,
    tokenizer: Tokenizer | None = None,
    meta: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> Path:
    """Write ``directory/model`` atomically; returns its path.

    ``files`` maps names to JSON-ready values, each written as ``NAME.json``.
    """
    target = Path(directory) / MODEL_SUBDIR
    config = {
        "rnnkit_version": __version__,
        "model_type": model.model_type,
        "model": model.get_config(),
        "meta": meta or {},
    }
    with new_directory(target) as tmp:
        save_model(model, str(tmp / "model.safetensors"))
        if tokenizer is not None:
            tokenizer.save(tmp)
        for name, value in (files or {}).items():
            (tmp / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False))
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return target


def resolve_model_dir(directory: Path) -> Path:
    """Accept a run directory (containing ``model/``) or the model directory itself."""
    directory = Path(directory)
    for candidate in (directory / MODEL_SUBDIR, directory):
        if (candidate / "config.json").is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: no model here (expected {directory}/model/config.json)")


def load_model_dir(directory: Path) -> tuple[nn.Module, Tokenizer | None, dict[str, Any]]:
    """Rebuild a model from its directory: ``(model in eval mode, tokenizer or None, meta)``."""
    from rnnkit.models import MODEL_TYPES

    root = resolve_model_dir(directory)
    config = json.loads((root / "config.json").read_text())
    kind = config.get("model_type")
    if kind not in MODEL_TYPES:
        raise ValueError(
            f"{root}/config.json: unknown model_type {kind!r}; known: {sorted(MODEL_TYPES)}"
        )
    model = MODEL_TYPES[kind].from_config(config["model"])
    missing, unexpected = load_model(model, str(root / "model.safetensors"), strict=True)
    if missing or unexpected:
        raise ValueError(
            f"{root}/model.safetensors does not fit the config ({missing=}, {unexpected=})"
        )
    tokenizer = load_tokenizer(root) if (root / "tokenizer.json").exists() else None
    return model.eval(), tokenizer, config.get("meta", {})


def read_model_file(directory: Path, name: str) -> Any:
    """The JSON value saved as ``files[name]`` by ``save_model_dir``."""
    path = resolve_model_dir(directory) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; the model directory is incomplete")
    return json.loads(path.read_text(encoding="utf-8"))
