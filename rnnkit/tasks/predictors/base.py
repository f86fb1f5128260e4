"""What every predictor shares: the model directory it came from, its task and what it is.

A predictor is a trained model with everything it needs to take plain inputs (texts, token
lists, documents) and give plain outputs (labels, tags, translations...): its tokenizer, label
tables and data settings, all read from the model directory. ``rnnkit.load(path)`` returns one
per task; the CLI commands and ``rnnkit serve`` call the same methods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from rnnkit.layers import SequenceLayer


class Predictor:
    """Base of the task predictors.

    Args:
        model: the trained model, in eval mode.
        path: the run or model directory it was loaded from.
        meta: the ``meta`` section of its ``config.json`` (task, data settings, tables).

    Attributes:
        task: the task name (``lm``, ``classify``, ``tag``, ``translate``, ``summarize``,
            ``bilm``).
        methods: the names of the task methods (what ``rnnkit serve`` exposes).
    """

    task: ClassVar[str] = ""
    methods: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: nn.Module, path: str | Path, meta: dict[str, Any]) -> None:
        self.model = model.eval()
        self.path = Path(path)
        self.meta = meta

    @property
    def name(self) -> str:
        """The directory's name (``runs/shakespeare`` -> ``shakespeare``)."""
        path = self.path.resolve()
        return path.parent.name if path.name == "model" else path.name

    def vocab_size(self) -> int | None:
        """Input vocabulary size, when the model has one."""
        return getattr(getattr(self.model, "config", None), "vocab_size", None)

    def info(self) -> dict[str, Any]:
        """What the model is: task, type, config, vocabulary size, each recurrent layer's
        backend (``layer.backend``: the path it runs and why)."""
        config = self.model.get_config() if hasattr(self.model, "get_config") else {}
        return {
            "name": self.name,
            "task": self.task,
            "model_type": getattr(self.model, "model_type", type(self.model).__name__),
            "config": config,
            "vocab_size": self.vocab_size(),
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "backend": layer_backends(self.model),
            "methods": list(self.methods),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def layer_backends(model: nn.Module) -> dict[str, str]:
    """``{module name: str(layer.backend)}`` for the outermost recurrent layers of ``model``."""
    out: dict[str, str] = {}
    for name, module in model.named_modules():
        if not isinstance(module, SequenceLayer):
            continue
        if any(name.startswith(f"{done}.") for done in out):
            continue
        try:
            out[name] = str(module.backend)
        except (AttributeError, NotImplementedError, RuntimeError) as exc:
            out[name] = f"unknown ({exc})"
    return out


def check_texts(name: str, texts: Any) -> list[str]:
    """``texts`` as a list of strings, or ValueError naming the argument."""
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise ValueError(f"{name}: expected a list of strings, got {type(texts).__name__}")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{i}]: expected a string, got {type(t).__name__}")
    return list(texts)
