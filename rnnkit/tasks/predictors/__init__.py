"""Predictors: a trained model behind one object with the task's methods (``rnnkit.load``).

============  =========================  ==========================================
task          predictor                  methods
============  =========================  ==========================================
lm            LanguageModelPredictor     generate, stream
classify      ClassifierPredictor        classify
tag           TaggerPredictor            tag
translate     TranslatorPredictor        translate
summarize     SummarizerPredictor        summarize
bilm          BiLMPredictor              embed
============  =========================  ==========================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.tasks.predictors.base import Predictor


def _meta(path: Path) -> dict[str, Any]:
    from rnnkit.models.io import read_meta

    return read_meta(path)


def load(path: str | Path) -> Predictor:
    """The predictor for the model in ``path`` (a run directory or its ``model/``), by task.

    Raises:
        FileNotFoundError: no model there; ValueError: a damaged or unknown model.

    Example:
        >>> lm = rnnkit.load("runs/shakespeare")
        >>> lm.generate("ROMEO.", max_tokens=60, seed=1).text  # doctest: +SKIP
    """
    path = Path(path)
    meta = _meta(path)
    task = meta.get("task")
    if task == "lm":
        from rnnkit.models.io import load_model_dir
        from rnnkit.tasks.predictors.lm import LanguageModelPredictor

        model, tokenizer, meta = load_model_dir(path)
        if tokenizer is None:
            raise ValueError(f"{path}: a language model without tokenizer.json")
        return LanguageModelPredictor(model, tokenizer, path, meta)  # type: ignore[arg-type]
    loaders = {
        "classify": "rnnkit.tasks.predictors.classify:ClassifierPredictor",
        "tag": "rnnkit.tasks.predictors.tag:TaggerPredictor",
        "translate": "rnnkit.tasks.predictors.translate:TranslatorPredictor",
        "summarize": "rnnkit.tasks.predictors.summarize:SummarizerPredictor",
        "bilm": "rnnkit.tasks.predictors.bilm:BiLMPredictor",
    }
    if task not in loaders:
        raise ValueError(f"{path}: unknown task {task!r}; known: {['lm', *loaders]}")
    import importlib

    module, name = loaders[task].split(":")
    return getattr(importlib.import_module(module), name).load(path, meta)  # type: ignore[no-any-return]


__all__ = ["Predictor", "load"]
