"""Export trained models to ONNX, and run exported folders on onnxruntime.

``to_onnx(DIR, OUT)`` writes a folder (``rnnkit.export.folder``) that ``rnnkit.load`` and
every command run on onnxruntime: the graphs hold the whole network, and rnnkit's light runtime
code (``rnnkit.export.runtime``) feeds them, keeps a language model's state between steps and
hands the scores to rnnkit's own sampling, beam search, Viterbi decoding and metrics.

============  ==========================================================================
task          graphs
============  ==========================================================================
lm            model.onnx (input_ids, lengths -> logits, final state); step.onnx (one token
              and the state -> logits and the new state)
classify      model.onnx (input_ids, lengths -> logits, probabilities)
tag           model.onnx (input_ids, lengths [, char_ids, char_lengths] -> emissions); the
              CRF's transitions in config.json, Viterbi decoding in the runtime
translate     encoder.onnx (input_ids, lengths -> memory, keys, the decoder's first state);
              decoder_step.onnx (one token, the state, memory, keys, mask -> logits, new
              state, attention weights)
summarize     model.onnx (input_ids (N, S, W), sentence_lengths, lengths -> logits, scores)
============  ==========================================================================

Any other module holding rnnkit layers exports through PyTorch's own exporter:
``torch_onnx(module, args, ...)``, or ``torch.onnx.export(..., dynamo=True,
custom_translation_table=onnx_translations())`` (``rnnkit.export.torch_exporter``).

Needs the ``export`` extra (onnx, onnxruntime, onnxscript); imported only by the modules that
use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def to_onnx(directory: str | Path, out: str | Path, overwrite: bool = False) -> Path:
    """Export the model in ``directory`` (a run or model directory) to the folder ``out``.

    Args:
        directory: what ``rnnkit train`` wrote (or its ``model/``).
        out: the folder to write.
        overwrite: replace an existing ``out``.

    Returns:
        ``out``.

    Raises:
        ExportError: a task or configuration that has no ONNX export (the message says which
            and why); ModelFileError: a missing or damaged model directory.

    Example:
        >>> rnnkit.export.to_onnx("runs/shakespeare", "runs/shakespeare-onnx")  # doctest: +SKIP
        >>> rnnkit.load("runs/shakespeare-onnx").generate("ROMEO.", 40).text  # doctest: +SKIP
    """
    from rnnkit.export.folder import is_export, write_export
    from rnnkit.export.recurrent import ExportError
    from rnnkit.models.io import load_model_dir, read_config, resolve_model_dir

    root = resolve_model_dir(Path(directory))
    config = read_config(root)
    if is_export(config):
        raise ExportError(f"{root}: already an exported folder")
    model, _, meta = load_model_dir(root)
    graphs, info = _graphs(root, meta.get("task"), model)
    return write_export(root, config, graphs, info, Path(out), overwrite)


def _graphs(root: Path, task: Any, model: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from rnnkit.export.recurrent import ExportError

    if task == "lm":
        from rnnkit.export.lm import lm_export_info, lm_graphs

        return lm_graphs(model), lm_export_info(model)
    if task == "classify":
        from rnnkit.export.classifier import classifier_graphs

        return classifier_graphs(model), {"graphs": {"model": "model.onnx"}}
    if task == "tag":
        from rnnkit.export.tagger import tagger_export_info, tagger_graph

        return {"model.onnx": tagger_graph(model)}, tagger_export_info(model)
    if task == "translate":
        from rnnkit.export.translator import translator_export

        return translator_export(model)
    if task == "summarize":
        from rnnkit.export.summarizer import summarizer_graph

        return {"model.onnx": summarizer_graph(model)}, {"graphs": {"model": "model.onnx"}}
    raise ExportError(
        f"{root}: ONNX export covers language models, classifiers, taggers, translators and "
        f"extractive summarizers; a {task!r} model is not exported"
    )


def onnx_translations() -> dict:
    """Translations of rnnkit's recurrent operators for ``torch.onnx.export(..., dynamo=True,
    custom_translation_table=...)``: see ``rnnkit.export.torch_exporter``."""
    from rnnkit.export.torch_exporter import onnx_translations as table

    return table()


def torch_onnx(module: Any, args: tuple, **kwargs: Any) -> Any:
    """``torch.onnx.export(module, args, dynamo=True, **kwargs)`` for any module holding
    rnnkit layers (``rnnkit.export.torch_exporter.torch_onnx``): the ``ONNXProgram``."""
    from rnnkit.export.torch_exporter import torch_onnx as export

    return export(module, args, **kwargs)


__all__ = ["onnx_translations", "to_onnx", "torch_onnx"]
