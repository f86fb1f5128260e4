"""Run an exported folder on onnxruntime behind the interface of rnnkit's own models.

``load_exported`` returns a module that answers what rnnkit's predictors, decoders and metrics
ask of a model (``forward``, ``step``, ``reorder_state``, ``forward_loss``, ``predict``,
``config``), computed by onnxruntime sessions over the folder's graphs; tensors cross as
PyTorch tensors so that sampling, beam search and metrics are rnnkit's single implementation.
The module has no parameters: every weight lives in the graphs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.errors import ModelFileError

#: environment variable: onnxruntime's intra-op threads (default: onnxruntime's choice)
THREADS_ENV = "RNNKIT_ORT_THREADS"


def session(path: Path) -> Any:
    """An onnxruntime CPU session for the graph file ``path`` (ModelFileError if it fails)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelFileError(
            f"{path.parent}: an exported folder runs on onnxruntime, which is not installed "
            "(pip install 'rnnkit[export]')"
        ) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no shape-inference notes on stderr
    threads = os.environ.get(THREADS_ENV)
    if threads:
        options.intra_op_num_threads = int(threads)
    if not path.is_file():
        raise ModelFileError(f"{path}: missing; the exported folder is incomplete")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise ModelFileError(f"{path}: not a graph onnxruntime can run ({first})") from None


def _feed(value: Tensor) -> np.ndarray:
    return value.detach().cpu().contiguous().numpy()


class OnnxLanguageModel(nn.Module):
    """An exported language model: ``model.onnx`` for sequences read from a zero state,
    ``step.onnx`` for one token at a time (and for a sequence read from a given state).

    Shape:
        tokens (N, L) -> logits (N, L, V); the state is a list with one layer state per layer,
        a tensor (num_layers*D, N, H) or for LSTM a tuple (h, c), as ``LanguageModel``'s.
    """

    model_type = "language_model"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        super().__init__()
        from rnnkit.models.language_model import LanguageModelConfig

        self.config = LanguageModelConfig.from_dict(config["model"])
        export = config["export"]
        self.layout = export["state"]  # [{"parts", "rows", "size"}] per layer
        self.sequence = session(root / export["graphs"]["model"])
        self.stepper = session(root / export["graphs"]["step"])
        self.state_names = [f"state.{k}.{p}" for k, s in enumerate(self.layout)
                            for p in s["parts"]]  # fmt: skip
        self._carried: Any = None

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def _pack(self, flat: list[np.ndarray]) -> list[Any]:
        it = iter(torch.from_numpy(a) for a in flat)
        return [next(it) if len(s["parts"]) == 1 else tuple(next(it) for _ in s["parts"])
                for s in self.layout]  # fmt: skip

    def _flat(self, state: list[Any] | None, n: int) -> list[np.ndarray]:
        if state is None:
            return [np.zeros((s["rows"], n, s["size"]), np.float32)
                    for s in self.layout for _ in s["parts"]]  # fmt: skip
        return [_feed(t) for layer in state for t in (layer if isinstance(layer, tuple | list)
                                                      else (layer,))]  # fmt: skip

    def forward(self, tokens: Tensor, state: list[Any] | None = None) -> tuple[Tensor, list]:
        """Logits (N, L, V) for the next token at each position, and the final state."""
        if tokens.dim() != 2:
            raise ValueError(
                f"OnnxLanguageModel: expected tokens (N, L), got {tuple(tokens.shape)}"
            )
        if state is not None:  # a sequence read on from a given state: step by step
            steps = []
            for t in range(tokens.shape[1]):
                logits, state = self.step(tokens[:, t], state)
                steps.append(logits)
            return torch.stack(steps, dim=1), state  # type: ignore[return-value]
        n, length = tokens.shape
        lengths = np.full((n,), length, np.int64)
        out = self.sequence.run(None, {"input_ids": _feed(tokens.long()), "lengths": lengths})
        return torch.from_numpy(out[0]), self._pack(out[1:])

    def step(self, tokens: Tensor, state: list[Any] | None) -> tuple[Tensor, list]:
        """One token per sequence: tokens (N,) -> logits (N, V), new state."""
        feed = dict(zip(self.state_names, self._flat(state, tokens.shape[0])))
        feed["input_ids"] = _feed(tokens.long())
        out = self.stepper.run(None, feed)
        return torch.from_numpy(out[0]), self._pack(out[1:])

    def reorder_state(self, state: list, index: Tensor) -> list:
        """Select batch entries (axis 1 of every state tensor)."""
        from rnnkit.layers.state import map_state

        return map_state(lambda t: t.index_select(1, index), state)

    def start_evaluation(self) -> None:
        self._carried = None

    def forward_loss(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
        """Mean cross-entropy over a window ``(x, y)``, the state carried from the previous
        window (as ``LanguageModel.forward_loss`` in evaluation)."""
        x, y = batch
        state = self._carried
        if state is not None and (state[0][0] if isinstance(state[0], tuple)
                                  else state[0]).shape[1] != x.shape[0]:  # fmt: skip
            state = None
        logits, self._carried = self(x, state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        return loss, y.numel()


def load_exported(root: Path, config: dict[str, Any]) -> nn.Module:
    """The runtime module for an exported folder, by its model type."""
    kind = config.get("model_type")
    if kind == "language_model":
        return OnnxLanguageModel(root, config)
    if kind in ("text_classifier", "classifier_ensemble"):
        from rnnkit.export.classifier_runtime import OnnxClassifier

        return OnnxClassifier(root, config)
    if kind == "sequence_tagger":
        from rnnkit.export.tagger_runtime import OnnxTagger

        return OnnxTagger(root, config)
    if kind == "seq2seq":
        from rnnkit.export.translator_runtime import OnnxSeq2Seq

        return OnnxSeq2Seq(root, config)
    if kind == "summarunner":
        from rnnkit.export.summarizer_runtime import OnnxSummarizer

        return OnnxSummarizer(root, config)
    raise ModelFileError(f"{root}/config.json: no onnxruntime runner for model_type {kind!r}")
