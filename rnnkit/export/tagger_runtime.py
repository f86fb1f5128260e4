"""An exported sequence tagger on onnxruntime, behind ``SequenceTagger``'s interface: the
graph gives emissions, and ``predict`` is ``SequenceTagger.predict`` itself (rnnkit's CRF
Viterbi decoding, or the argmax without a CRF)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.export.runtime import session


class OnnxTagger(nn.Module):
    """Emissions (N, L, T) from the folder's ``model.onnx``; ``crf`` holds the exported
    transitions."""

    model_type = "sequence_tagger"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        super().__init__()
        from rnnkit.layers.crf import CRF
        from rnnkit.models.tagger import TaggerConfig

        self.config = TaggerConfig.from_dict(config["model"])
        self.bilm = None  # biLM features are not exported
        self.graph = session(root / config["export"]["graphs"]["model"])
        self.crf: CRF | None = None
        if "crf" in config["export"]:
            self.crf = CRF(self.config.num_tags)
            params = {k: torch.tensor(v) for k, v in config["export"]["crf"].items()}
            self.crf.load_state_dict(params)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def forward(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
        bilm: Any = None,
    ) -> Tensor:
        """Emission scores (N, L, T)."""
        feed = {"input_ids": words.long().numpy(), "lengths": lengths.long().numpy()}
        if self.config.num_chars:
            if chars is None or char_lengths is None:
                raise ValueError("OnnxTagger: character features are on, expected chars")
            feed["char_ids"] = chars.long().numpy()
            feed["char_lengths"] = char_lengths.long().numpy()
        return torch.from_numpy(self.graph.run(["emissions"], feed)[0])

    def _run(self, batch: dict[str, Tensor]) -> Tensor:
        return self(batch["words"], batch["lengths"], batch.get("chars"),
                    batch.get("char_lengths"))  # fmt: skip

    def predict(self, batch: dict[str, Tensor]) -> list[list[int]]:
        """Tag ids of each sentence: ``SequenceTagger.predict`` on the graph's emissions."""
        from rnnkit.models.tagger import SequenceTagger

        return SequenceTagger.predict(self, batch)  # type: ignore[arg-type]
