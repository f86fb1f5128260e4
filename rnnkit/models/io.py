"""Model directories: what ``rnnkit evaluate/generate DIR`` load.

    DIR/model/config.json        {"rnnkit_version", "model_type", "model": {...}, "meta": {...}}
    DIR/model/model.safetensors  the weights (tied tensors stored once)
    DIR/model/tokenizer.json     the tokenizer, if the task has one
    DIR/model/NAME.json          other tables a task keeps (e.g. a tagger's vocabularies)
    DIR/model/manifest.json      each file's size and SHA-256 (``rnnkit.training.manifest``)

``DIR/model`` is written to a temporary directory and renamed into place, so a reader sees the
old model or the new one. Loading reads JSON and safetensors only: no code from the files runs.

Loading checks the directory before it trusts it, and refuses with ``ModelFileError`` naming
the file and the problem: a missing or malformed ``config.json`` (with its line), a config
written by a newer rnnkit, a file that differs from the manifest (truncated, or a flipped
bit), weights that do not fit the config, and a tokenizer whose vocabulary is not the model's.
Saving refuses weights that are not finite and reports a failed write (``OutputError``), leaving
the previous model directory as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from rnnkit import __version__
from rnnkit.data import Tokenizer, load_tokenizer
from rnnkit.errors import ModelFileError, OutputError, RnnkitError
from rnnkit.training.atomic import new_directory, recover_directory
from rnnkit.training.finite import check_finite
from rnnkit.training.manifest import verify, write_manifest

MODEL_SUBDIR = "model"


class ModelNotFound(ModelFileError, FileNotFoundError):
    """No model directory at the path given."""


def save_model_dir(
    directory: Path,
    model: nn.Module,
    tokenizer: Tokenizer | None = None,
    meta: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
) -> Path:
    """Write ``directory/model`` atomically; returns its path.

    ``files`` maps names to JSON-ready values, each written as ``NAME.json``. Raises
    ``TrainingDiverged`` when a weight is not finite and ``OutputError`` when the directory
    cannot be written; in both cases a previous ``directory/model`` is left as it was.
    """
    target = Path(directory) / MODEL_SUBDIR
    check_finite(model, f"the model in {target}")
    config = {
        "rnnkit_version": __version__,
        "model_type": model.model_type,
        "model": model.get_config(),
        "meta": meta or {},
    }
    try:
        with new_directory(target) as tmp:
            save_model(model, str(tmp / "model.safetensors"))
            if tokenizer is not None:
                tokenizer.save(tmp)
            for name, value in (files or {}).items():
                (tmp / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False))
            (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
            write_manifest(tmp)
    except (OSError, SafetensorError) as error:
        raise OutputError(
            f"{target}: could not write the model ({_reason(error)}); "
            "the previous model there, if any, is unchanged"
        ) from None
    return target


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def resolve_model_dir(directory: Path) -> Path:
    """Accept a run directory (containing ``model/``) or the model directory itself."""
    directory = Path(directory)
    recover_directory(directory / MODEL_SUBDIR)  # a save killed between its two renames
    for candidate in (directory / MODEL_SUBDIR, directory):
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelNotFound(f"{directory}: no model here (expected {directory}/model/config.json)")


def _newer(version: object) -> bool:
    """Whether ``version`` (``"0.2.0"``) is a newer major.minor than this rnnkit's."""
    try:
        theirs = tuple(int(p) for p in str(version).split(".")[:2])
    except ValueError:
        return True
    return theirs > tuple(int(p) for p in __version__.split(".")[:2])


def read_config(root: Path) -> dict[str, Any]:
    """``root/config.json``, checked: JSON, a mapping with model_type and model, from this or
    an older rnnkit."""
    path = root / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be read ({_reason(error)})") from None
    except UnicodeDecodeError as error:
        raise ModelFileError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: expected a JSON object, got {type(config).__name__}")
    if _newer(config.get("rnnkit_version")):
        raise ModelFileError(
            f"{path}: written by rnnkit {config.get('rnnkit_version')}, newer than this rnnkit "
            f"{__version__}; upgrade rnnkit to load it"
        )
    for key, kind in (("model_type", str), ("model", dict), ("meta", dict)):
        if not isinstance(config.get(key, {} if key == "meta" else None), kind):
            raise ModelFileError(f"{path}: {key!r} missing or not a {kind.__name__}")
    return config


def read_meta(directory: Path) -> dict[str, Any]:
    """The ``meta`` of the model in ``directory`` (a run directory or its ``model/``), from its
    checked config: task, tokenizer, data settings.

    Raises:
        ModelFileError: no model there, or a damaged config (the message names the file).
    """
    return read_config(resolve_model_dir(directory)).get("meta", {})


def _build(root: Path, config: dict[str, Any]) -> nn.Module:
    from rnnkit.models import MODEL_TYPES

    kind = config["model_type"]
    if kind not in MODEL_TYPES:
        raise ModelFileError(
            f"{root}/config.json: unknown model_type {kind!r}; known: {sorted(MODEL_TYPES)}"
        )
    model_class = MODEL_TYPES[kind]
    if kind == "language_model" and isinstance(config.get("quantization"), dict):
        from rnnkit.models.int8_language_model import Int8LanguageModel

        model_class = Int8LanguageModel  # its batch-1 generation step runs on int8
    try:
        return model_class.from_config(config["model"])
    except RnnkitError:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(
            f"{root}/config.json: the {kind} config is invalid ({error})"
        ) from None


def _load_weights(root: Path, model: nn.Module, quantization: Any = None) -> None:
    path = root / "model.safetensors"
    if not path.is_file():
        raise ModelFileError(f"{path}: missing; the model directory is incomplete")
    try:
        if isinstance(quantization, dict):  # int8 matrices with per-row (or per-class) scales
            from rnnkit.models.quantized import load_quantized

            missing, unexpected = load_quantized(model, path, quantization)
        else:
            missing, unexpected = load_model(model, str(path), strict=True)
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise ModelFileError(f"{path}: damaged or not a safetensors file ({first})") from None
    if missing or unexpected:
        raise ModelFileError(f"{path} does not fit the config ({missing=}, {unexpected=})")


def _load_tokenizer(root: Path, config: dict[str, Any]) -> Tokenizer | None:
    if not (root / "tokenizer.json").exists():
        return None
    try:
        tokenizer = load_tokenizer(root)
    except (RnnkitError, ValueError, KeyError, TypeError) as error:
        raise ModelFileError(str(error) if isinstance(error, RnnkitError) else
                             f"{root}/tokenizer.json: malformed ({error!r})") from None  # fmt: skip
    model = config["model"]
    size = model.get("target_vocab_size", model.get("vocab_size"))
    # a model may have more rows than its tokenizer has ids (unused rows), never fewer
    if isinstance(size, int) and tokenizer.vocab_size > size:
        raise ModelFileError(
            f"{root}/tokenizer.json: {tokenizer.vocab_size} ids, but the model in "
            f"{root}/config.json has a vocabulary of {size}; the tokenizer is not this model's"
        )
    return tokenizer


def load_model_dir(directory: Path) -> tuple[nn.Module, Tokenizer | None, dict[str, Any]]:
    """Rebuild a model from its directory: ``(model in eval mode, tokenizer or None, meta)``.

    Raises:
        ModelFileError: the directory is missing, incomplete, damaged or from a newer rnnkit
            (the message names the file and the problem).
    """
    root = resolve_model_dir(directory)
    config = read_config(root)
    verify(root)  # sizes and SHA-256 of every file, when the directory has a manifest
    if isinstance(config.get("export"), dict):  # an exported folder runs on onnxruntime
        from rnnkit.export.runtime import load_exported

        return (
            load_exported(root, config).eval(),
            _load_tokenizer(root, config),
            config.get("meta", {}),
        )
    model = _build(root, config)
    _load_weights(root, model, config.get("quantization"))
    if hasattr(model, "prepare_int8"):
        model.prepare_int8()
    tokenizer = _load_tokenizer(root, config)
    return model.eval(), tokenizer, config.get("meta", {})


def read_model_file(directory: Path, name: str) -> Any:
    """The JSON value saved as ``files[name]`` by ``save_model_dir``."""
    path = resolve_model_dir(directory) / f"{name}.json"
    if not path.is_file():
        raise ModelFileError(f"{path}: missing; the model directory is incomplete")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        where = f"line {line}: " if line else ""
        raise ModelFileError(f"{path}: {where}not valid JSON") from None
