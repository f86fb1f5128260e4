"""``--runtime``: which engine runs a command's model (``auto``: PyTorch for a model directory,
onnxruntime for an exported folder).

``--runtime onnxruntime`` on a model directory exports it to a temporary folder first (removed
when the command ends); ``--runtime torch`` on an exported folder is refused (its weights are
only in the graphs).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from pathlib import Path

RUNTIMES = ("auto", "torch", "onnxruntime")


def add_runtime_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        default="auto",
        choices=RUNTIMES,
        help="engine (auto: onnxruntime for a folder written by rnnkit export, else PyTorch; "
        "onnxruntime on a model directory exports it to a temporary folder first)",
    )


def _is_export(path: Path) -> bool:
    from rnnkit.models.io import read_config, resolve_model_dir

    return isinstance(read_config(resolve_model_dir(path)).get("export"), dict)


def model_path(path: Path, runtime: str, stack: contextlib.ExitStack) -> Path:
    """The directory to load for ``runtime`` (a temporary export when one is needed).

    Raises:
        ValueError: ``torch`` asked of an exported folder.
    """
    if runtime == "auto":
        return path
    exported = _is_export(path)
    if runtime == "torch" and exported:
        raise ValueError(f"{path}: an ONNX export runs on onnxruntime only (--runtime auto)")
    if runtime == "onnxruntime" and not exported:
        from rnnkit.export import to_onnx

        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rnnkit-onnx-")))
        return to_onnx(path, scratch / "export")
    return path
