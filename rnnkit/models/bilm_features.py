"""A trained biLM as input features of a task model (ELMo's use, Peters et al. 2018, sec. 3.3).

    ELMo_t^task = gamma * sum_k softmax(w)_k h_t^(k)     (mode "mix", w and gamma learned)
               = h_t^(layer)                             (mode "layer")
               = (1 / (K+1)) sum_k h_t^(k)               (mode "average")

The task concatenates ELMo_t^task to its own word features. By default the biLM is frozen: its
weights get no gradient, it runs without dropout and without building a graph; the mix is
still learned. A frozen biLM's layers are the same for a sentence in every epoch, so they are
kept per distinct sentence (``FeatureCache``, ``cache_mb`` megabytes at most) and computed
again only for sentences not kept. With ``finetune=True`` the biLM trains with the task (its
dropout included) and nothing is cached.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.layers.scalar_mix import ScalarMix
from rnnkit.models.bilm import BiLanguageModel
from rnnkit.models.feature_cache import FeatureCache

BILM_MODES = ("mix", "layer", "average")


class BiLMFeatures(nn.Module):
    """Contextual vectors of a (pretrained) ``BiLanguageModel`` for a task model.

    Args:
        bilm_config: the biLM's ``get_config()`` (its weights are loaded with ``load_bilm``,
            or with the task model's own weights).
        mode: ``"mix"``, ``"layer"`` or ``"average"``.
        layer: the layer of ``"layer"`` mode (0: tokens .. K: top; default K).
        finetune: train the biLM's weights with the task.
        cache_mb: megabytes of a frozen biLM's layers kept per distinct sentence (0: none).

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
        cache_mb: int = 1024,
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
        self.cache = FeatureCache(0 if finetune else cache_mb << 20)
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
        self.cache.clear()

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self.cache.clear()  # new weights: the kept layers are stale
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn: Any, *args: Any, **kwargs: Any) -> BiLMFeatures:
        self.cache.clear()  # moved or cast: the kept layers are on the old device or dtype
        return super()._apply(fn, *args, **kwargs)  # type: ignore[no-any-return]

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        if self.finetune or self.cache.max_bytes == 0:
            with torch.set_grad_enabled(self.finetune and torch.is_grad_enabled()):
                layers = self._layers(inputs)  # (K+1, N, L, 2H)
        else:
            layers = self._kept_layers(inputs)
        if self.mode == "layer":
            return layers[self.layer]
        if self.mix is not None:
            return self.mix(layers)
        return layers.mean(dim=0)

    def _layers(self, inputs: dict[str, Tensor]) -> Tensor:
        return self.bilm.layer_outputs(
            inputs["words"], inputs["lengths"], inputs.get("chars"), inputs.get("char_lengths")
        )

    @torch.no_grad()
    def _kept_layers(self, inputs: dict[str, Tensor]) -> Tensor:
        """The frozen biLM's layers (K+1, N, L, 2H), each sentence's from the cache where it is
        kept; the others are computed in one call over those rows and kept if they fit."""
        lengths = inputs["lengths"]
        keys = [self._key(inputs, i) for i in range(lengths.shape[0])]
        found = [self.cache.get(k) for k in keys]
        missing = [i for i, f in enumerate(found) if f is None]
        if missing:
            rows = torch.tensor(missing, device=lengths.device)
            sub = {k: v.index_select(0, rows) for k, v in inputs.items()}
            computed = self._layers(sub)
            for j, i in enumerate(missing):
                one = computed[:, j, : int(lengths[i]) - 2]
                self.cache.put(keys[i], one)
                found[i] = one
        first = found[0]
        assert first is not None
        steps = inputs["words"].shape[1] - 2  # <s> and </s> are not tokens
        layers = first.new_zeros(first.shape[0], len(found), steps, first.shape[-1])
        for i, f in enumerate(found):
            assert f is not None
            layers[:, i, : f.shape[1]] = f
        return layers

    @staticmethod
    def _key(inputs: dict[str, Tensor], i: int) -> bytes:
        """Sentence i's key: its word ids, and its characters trimmed to its longest word."""
        m = int(inputs["lengths"][i])
        parts = [inputs["words"][i, :m]]
        if inputs.get("chars") is not None:
            widths = inputs["char_lengths"][i, :m]
            parts += [inputs["chars"][i, :m, : int(widths.max())], widths]
        return FeatureCache.key(*parts)


def bilm_features(
    config: dict[str, Any] | None,
    mode: str,
    layer: int | None,
    finetune: bool,
    cache_mb: int = 1024,
) -> BiLMFeatures | None:
    """``BiLMFeatures`` from a task config's ``bilm_*`` fields; None when ``config`` is None."""
    return None if config is None else BiLMFeatures(config, mode, layer, finetune, cache_mb)


def check_aligned(owner: str, features: Tensor, words: Tensor) -> Tensor:
    """The task's words (N, L) and the biLM vectors (N, L, 2H) must cover the same tokens."""
    if features.shape[:2] != words.shape[:2]:
        raise ValueError(
            f"{owner}: biLM vectors {tuple(features.shape[:2])} do not match the words "
            f"{tuple(words.shape[:2])}; encode the biLM input from the same tokens"
        )
    return features
