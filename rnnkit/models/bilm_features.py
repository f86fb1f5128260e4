"""A trained biLM as input features of a task model (ELMo's use, Peters et al. 2018, sec. 3.3).

    ELMo_t^task = gamma * sum_k softmax(w)_k h_t^(k)     (mode "mix", w and gamma learned)
               = h_t^(layer)                             (mode "layer")
               = (1 / (K+1)) sum_k h_t^(k)               (mode "average")

The task concatenates ELMo_t^task to its own word features. By default the biLM is frozen: its
weights get no gradient, it runs without dropout and without building a graph; the mix is
still learned. With ``finetune=True`` the biLM trains with the task (its dropout included).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers.scalar_mix import ScalarMix
from rnnkit.models.bilm import BiLanguageModel

BILM_MODES = ("mix", "layer", "average")


class BiLMFeatures(nn.Module):
    """Contextual vectors of a (pretrained) ``BiLanguageModel`` for a task model.

    Args:
        bilm_config: the biLM's ``get_config()`` (its weights are loaded with ``load_bilm``,
            or with the task model's own weights).
        mode: ``"mix"``, ``"layer"`` or ``"average"``.
        layer: the layer of ``"layer"`` mode (0: tokens .. K: top; default K).
        finetune: train the biLM's weights with the task.

    Shape:
        inputs ``{"words", "lengths", ["chars", "char_lengths"]}`` of the biLM (``<s>`` and
        ``</s>`` included, so L + 2 steps) -> (N, L, 2H).

    Example:
        >>> feats = BiLMFeatures(bilm.get_config(), mode="mix")
        >>> feats.load_bilm(bilm)
        >>> vectors = feats(bilm_vocab.collate([bilm_vocab.encode(["A", "cat", "."])]))
    """

    def __init__(
        self,
        bilm_config: dict[str, Any],
        mode: str = "mix",
        layer: int | None = None,
        finetune: bool = False,
    ) -> None:
        super().__init__()
        if mode not in BILM_MODES:
            raise ValueError(f"BiLMFeatures: mode must be one of {BILM_MODES}, got {mode!r}")
        self.bilm = BiLanguageModel.from_config(bilm_config)
        top = self.bilm.num_outputs - 1
        if layer is not None and not 0 <= layer <= top:
            raise ValueError(f"BiLMFeatures: layer must be in 0..{top}, got {layer}")
        self.mode, self.finetune = mode, finetune
        self.layer = top if layer is None else layer
        self.mix = ScalarMix(self.bilm.num_outputs) if mode == "mix" else None
        self.out_features = self.bilm.output_size
        self.bilm.requires_grad_(finetune)
        self.train()

    def train(self, mode: bool = True) -> BiLMFeatures:
        """A frozen biLM stays in eval mode (no dropout) while the task trains."""
        super().train(mode)
        if not self.finetune:
            self.bilm.eval()
        return self

    @torch.no_grad()
    def load_bilm(self, bilm: BiLanguageModel) -> None:
        """Copy a trained biLM's weights (same config) into this module."""
        self.bilm.load_state_dict(bilm.state_dict())

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
            layers = self.bilm.layer_outputs(
                inputs["words"], inputs["lengths"], inputs.get("chars"), inputs.get("char_lengths")
            )  # (K+1, N, L, 2H)
        if self.mode == "layer":
            return layers[self.layer]
        if self.mix is not None:
            return self.mix(layers)
        return layers.mean(dim=0)


def bilm_features(
    config: dict[str, Any] | None, mode: str, layer: int | None, finetune: bool
) -> BiLMFeatures | None:
    """``BiLMFeatures`` from a task config's ``bilm_*`` fields; None when ``config`` is None."""
    return None if config is None else BiLMFeatures(config, mode, layer, finetune)


def check_aligned(owner: str, features: Tensor, words: Tensor) -> Tensor:
    """The task's words (N, L) and the biLM vectors (N, L, 2H) must cover the same tokens."""
    if features.shape[:2] != words.shape[:2]:
        raise ValueError(
            f"{owner}: biLM vectors {tuple(features.shape[:2])} do not match the words "
            f"{tuple(words.shape[:2])}; encode the biLM input from the same tokens"
        )
    return features
