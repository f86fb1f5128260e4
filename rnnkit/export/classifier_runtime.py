"""An exported text classifier on onnxruntime, behind ``TextClassifier``'s interface."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.export.runtime import session


class OnnxClassifier(nn.Module):
    """``forward(tokens, lengths) -> logits`` and ``predict`` as ``TextClassifier``'s, run by
    the folder's ``model.onnx``.

    Shape:
        tokens (N, L) long, lengths (N,) -> logits (N, C).
    """

    model_type = "text_classifier"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        super().__init__()
        from rnnkit.models.classifier import ClassifierConfig

        self.config = ClassifierConfig.from_dict(config["model"])
        self.bilm = None  # biLM features are not exported
        self.graph = session(root / config["export"]["graphs"]["model"])

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def forward(self, tokens: Tensor, lengths: Tensor, bilm: Any = None) -> Tensor:
        if tokens.dim() != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(
                f"OnnxClassifier: expected tokens (N, L) and lengths (N,), got "
                f"{tuple(tokens.shape)} and {tuple(lengths.shape)}"
            )
        feed = {"input_ids": tokens.long().cpu().numpy(),
                "lengths": lengths.long().cpu().numpy().astype(np.int64)}  # fmt: skip
        return torch.from_numpy(self.graph.run(["logits"], feed)[0])

    @torch.no_grad()
    def predict(self, tokens: Tensor, lengths: Tensor, bilm: Any = None) -> Tensor:
        """Class ids (N,), or (N, C) bool for multi-label (probability > 0.5)."""
        logits = self(tokens, lengths)
        if self.config.multi_label:
            return torch.sigmoid(logits) > 0.5
        return logits.argmax(dim=-1)
