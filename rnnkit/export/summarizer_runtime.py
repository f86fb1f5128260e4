"""An exported extractive summarizer on onnxruntime, behind ``SummaRuNNer``'s interface:
``forward`` gives the graph's sentence logits and ``predict`` is ``SummaRuNNer.predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.export.runtime import session


class OnnxSummarizer(nn.Module):
    """Sentence logits (N, S) from the folder's ``model.onnx``."""

    model_type = "summarunner"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        super().__init__()
        from rnnkit.models.summarizer import SummarizerConfig

        self.config = SummarizerConfig.from_dict(config["model"])
        self.graph = session(root / config["export"]["graphs"]["model"])

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def forward(self, tokens: Tensor, sentence_lengths: Tensor, lengths: Tensor) -> Tensor:
        """Sentence logits (N, S); padding sentences get -inf."""
        if tokens.dim() != 3 or sentence_lengths.shape != tokens.shape[:2]:
            raise ValueError(f"OnnxSummarizer: expected tokens (N, S, W) and sentence_lengths "
                             f"(N, S), got {tuple(tokens.shape)}")  # fmt: skip
        feed = {"input_ids": tokens.long().numpy(), "lengths": lengths.long().numpy(),
                "sentence_lengths": sentence_lengths.long().numpy()}  # fmt: skip
        return torch.from_numpy(self.graph.run(["logits"], feed)[0])

    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """P(y_j = 1) per sentence (N, S): ``SummaRuNNer.predict`` on the graph's logits."""
        from rnnkit.models.summarizer import SummaRuNNer

        return SummaRuNNer.predict(self, batch)  # type: ignore[arg-type]
