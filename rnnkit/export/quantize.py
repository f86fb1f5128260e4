"""``quantize(DIR, OUT)``: int8 weights for a model directory, or for an exported folder.

A model directory (what ``rnnkit train`` wrote) is rewritten with int8 matrices and per-row
scales, per-class for n-gram tables (``rnnkit.models.quantized``); an exported folder's graphs
go through onnxruntime's dynamic quantization (``onnxruntime.quantization.quantize_dynamic``:
int8 weights per output channel for MatMul and LSTM, activations quantized on the fly at run
time).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from rnnkit.errors import OutputError


def quantize(directory: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Write the int8 version of the model (or exported folder) ``directory`` to ``out``.

    Raises:
        OutputError: ``out`` exists (without ``overwrite``), is ``directory`` itself, or cannot
            be written; ModelFileError: no model at ``directory``, or one already quantized.

    Example:
        >>> quantize("runs/shakespeare", "runs/shakespeare-int8")  # doctest: +SKIP
        >>> rnnkit.load("runs/shakespeare-int8").generate("ROMEO.", 40).text  # doctest: +SKIP
    """
    from rnnkit.errors import ModelFileError
    from rnnkit.export.folder import is_export
    from rnnkit.models.io import load_model_dir, read_config, resolve_model_dir
    from rnnkit.models.quantized import save_quantized_dir

    root = resolve_model_dir(Path(directory))
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists (pass --overwrite to replace it)")
    if out.resolve() in (root.resolve(), Path(directory).resolve()):
        raise OutputError(f"{out}: the int8 copy cannot replace the directory it reads")
    config = read_config(root)
    if "quantization" in config or config.get("export", {}).get("quantization"):
        raise ModelFileError(f"{root}: already quantized")
    if is_export(config):
        return _quantize_export(root, config, out)
    model, _, _ = load_model_dir(root)
    return save_quantized_dir(root, config, model, out)


def _quantize_export(root: Path, config: dict, out: Path) -> Path:
    import json

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rnnkit.training.atomic import new_directory
    from rnnkit.training.manifest import write_manifest

    export = dict(config["export"], quantization="onnxruntime dynamic int8, per channel")
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)  # onnxruntime's advice to pre-process, on the root logger
    try:
        with new_directory(out) as tmp, tempfile.TemporaryDirectory() as scratch:
            for item in sorted(root.iterdir()):
                if item.suffix == ".onnx":
                    # onnxruntime writes beside its input: run it on a copy in a scratch dir
                    source = Path(scratch) / item.name
                    shutil.copyfile(item, source)
                    quantize_dynamic(source, tmp / item.name, per_channel=True,
                                     weight_type=QuantType.QInt8)  # fmt: skip
                elif item.is_file() and item.name not in {"config.json", "manifest.json"}:
                    shutil.copyfile(item, tmp / item.name)
            text = json.dumps(dict(config, export=export), indent=2, sort_keys=True) + "\n"
            (tmp / "config.json").write_text(text, encoding="utf-8")
            write_manifest(tmp)
    except OSError as error:
        raise OutputError(f"{out}: could not write the model ({error.strerror or error})") from None
    finally:
        root_logger.setLevel(level)
    return out
