"""Predictor for a trained bidirectional LM: contextual vectors of each token of a text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.models.bilm import BiLanguageModel
from rnnkit.tasks.bilm import BiLMDataConfig, embed_sentences, load_bilm, tokenize_line
from rnnkit.tasks.predictors.base import Predictor, check_texts


@dataclass
class Embedding:
    """One text's tokens and their vectors, a float32 (T, D) array (T = len(tokens))."""

    tokens: list[str]
    vectors: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "vectors": self.vectors.tolist()}


class BiLMPredictor(Predictor):
    """A trained ``BiLanguageModel`` with its tables and tokenization.

    Example:
        >>> elmo = rnnkit.load("runs/bilm")
        >>> elmo.embed(["the cat sat ."], mix=True)[0].vectors.shape  # doctest: +SKIP
        (4, 512)
    """

    task = "bilm"
    methods = ("embed",)

    def __init__(
        self, model: BiLanguageModel, vocab: BiLMVocab, cfg: BiLMDataConfig, path: Path,
        meta: dict[str, Any],
    ) -> None:  # fmt: skip
        super().__init__(model, path, meta)
        self.vocab, self.cfg = vocab, cfg

    @classmethod
    def load(cls, path: str | Path, meta: dict[str, Any]) -> BiLMPredictor:
        model, vocab, cfg = load_bilm(path)
        return cls(model, vocab, cfg, Path(path), meta)

    def vocab_size(self) -> int:
        return len(self.vocab.words)

    def tokenize(self, text: str) -> list[str]:
        """The tokens the biLM reads, with its own tokenization."""
        return tokenize_line(text, self.cfg.tokenizer)

    def embed(
        self, texts: Sequence[str], layer: int | None = None, mix: bool = False
    ) -> list[Embedding]:
        """Contextual vectors of each text's tokens: the top layer, layer ``layer`` (0: the
        token layer, 1..L: the LSTM layers) or (``mix``) the average of all layers. A text
        without tokens gives an empty (0, D) array."""
        texts = check_texts("texts", texts)
        count = self.model.num_outputs
        if layer is not None and (isinstance(layer, bool) or not isinstance(layer, int)
                                  or not 0 <= layer < count):  # fmt: skip
            raise ValueError(f"layer: expected an integer in [0, {count - 1}], got {layer!r}")
        if layer is not None and mix:
            raise ValueError("mix: give a layer or mix, not both")
        tokens = [self.tokenize(t) for t in texts]
        filled = [i for i, t in enumerate(tokens) if t]
        vectors = embed_sentences(self.model, self.vocab, [tokens[i] for i in filled], layer, mix,
                                  self.cfg.eval_batch_size)  # fmt: skip
        width = self.model.output_size
        out = [Embedding(t, np.zeros((0, width), dtype=np.float32)) for t in tokens]
        for i, v in zip(filled, vectors):
            out[i] = Embedding(tokens[i], v)
        return out
