"""Sequence tagger: word embeddings + character features -> BiLSTM -> softmax or CRF.

    x_t = [E[w_t]; charenc(chars of w_t); ELMo_t],   h_1..h_n = BiRNN(x_1..x_n),   e_t = W h_t + b

ELMo_t (optional, Peters et al. 2018) are a trained biLM's vectors of the same tokens, see
``rnnkit.models.bilm_features``.

With a softmax output each tag is chosen independently: y_t = argmax e_t, loss = cross-entropy
per token. With a CRF output (Huang et al. 2015, Lample et al. 2016) e_t are the emission
scores of a linear-chain CRF: loss = -log p(y | x) (forward algorithm), prediction = Viterbi.
Both losses are divided by the number of tokens in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.config import Config
from rnnkit.layers import make_layer
from rnnkit.layers.char_encoder import CharEncoder
from rnnkit.layers.crf import CRF
from rnnkit.layers.pooling import lengths_mask
from rnnkit.models.bilm_features import bilm_features, check_aligned
from rnnkit.models.inference import inference


@dataclass
class TaggerConfig(Config):
    """Hyper-parameters of a ``SequenceTagger``; every field is a constructor argument."""

    vocab_size: int = 0
    num_tags: int = 2
    num_chars: int = 0
    char_encoder: str = "lstm"
    char_embedding_size: int = 25
    char_hidden_size: int = 25
    embedding_size: int = 100
    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    crf: bool = True
    dropout: float = 0.5
    word_dropout: float = 0.05
    unk_id: int = 1
    cell_options: dict[str, Any] = field(default_factory=dict)
    bilm_config: dict[str, Any] | None = None
    bilm_mode: str = "mix"
    bilm_layer: int | None = None
    bilm_finetune: bool = False
    bilm_cache_mb: int = 1024


class SequenceTagger(nn.Module):
    """Tag every token of a sentence.

    The arguments are the fields of ``TaggerConfig``.

    Args:
        vocab_size, num_tags: word vocabulary size and T.
        num_chars: character vocabulary size; 0 turns the character features off.
        char_encoder: ``"lstm"`` or ``"cnn"``, with ``char_embedding_size``/``char_hidden_size``.
        cell, hidden_size (per direction), num_layers, bidirectional: the encoder.
        crf: a CRF output layer (else softmax per token).
        dropout: on the word representations and on the encoder output.
        word_dropout: in training, each word id becomes ``unk_id`` with this probability, so
            the unknown-word embedding is learned (the characters still see the word).
        bilm_config: a trained biLM's config to add its vectors to the word features (None:
            off), with ``bilm_mode`` (``mix``, ``layer``, ``average``), ``bilm_layer``,
            ``bilm_finetune`` and ``bilm_cache_mb`` (see ``BiLMFeatures``; the recipe loads the
            biLM's weights).

    Shape:
        words (N, L), lengths (N,), chars (N, L, C) and char_lengths (N, L) when
        ``num_chars > 0``, the biLM's inputs (``BiLMVocab.collate``, L + 2 steps) when
        ``bilm_config`` is set -> emissions (N, L, T).

    Example:
        >>> tagger = SequenceTagger(vocab_size=20000, num_tags=45, num_chars=100)
        >>> paths = tagger.predict(words, lengths, chars, char_lengths)   # N lists of tag ids
    """

    model_type = "sequence_tagger"

    def __init__(self, vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = TaggerConfig.from_dict({"vocab_size": vocab_size, **options})
        c = self.config
        if vocab_size < 2 or c.num_tags < 1:
            raise ValueError(
                f"SequenceTagger: need vocab_size >= 2 and num_tags >= 1, "
                f"got {vocab_size} and {c.num_tags}"
            )
        self.embed = nn.Embedding(vocab_size, c.embedding_size)
        width = c.embedding_size
        self.chars: CharEncoder | None = None
        if c.num_chars:
            self.chars = CharEncoder(
                c.num_chars, c.char_encoder, c.char_embedding_size, c.char_hidden_size
            )
            width += self.chars.out_features
        self.bilm = bilm_features(
            c.bilm_config, c.bilm_mode, c.bilm_layer, c.bilm_finetune, c.bilm_cache_mb
        )
        if self.bilm is not None:
            width += self.bilm.out_features
        self.drop = nn.Dropout(c.dropout)
        self.encoder = make_layer(
            c.cell, width, c.hidden_size, num_layers=c.num_layers,
            bidirectional=c.bidirectional, **c.cell_options,
        )  # fmt: skip
        self.emit = nn.Linear(self.encoder.output_size, c.num_tags)
        self.crf = CRF(c.num_tags) if c.crf else None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequenceTagger:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def _word_features(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None,
        char_lengths: Tensor | None,
        bilm: dict[str, Tensor] | None,
    ) -> Tensor:
        x = self._embed_and_chars(words, lengths, chars, char_lengths)
        if self.bilm is None:
            return x
        if bilm is None:
            raise ValueError("SequenceTagger: biLM features are on, expected the biLM's inputs")
        return torch.cat([x, check_aligned("SequenceTagger", self.bilm(bilm), words)], dim=-1)

    def _embed_and_chars(
        self, words: Tensor, lengths: Tensor, chars: Tensor | None, char_lengths: Tensor | None
    ) -> Tensor:
        if self.training and self.config.word_dropout:
            drop = torch.rand(words.shape, device=words.device) < self.config.word_dropout
            words = words.masked_fill(drop, self.config.unk_id)
        x = self.embed(words)
        if self.chars is None:
            return x
        if chars is None or char_lengths is None or chars.shape[:2] != words.shape:
            raise ValueError(
                f"SequenceTagger: character features are on, expected chars (N, L, C) with "
                f"(N, L) = {tuple(words.shape)}, got "
                f"{None if chars is None else tuple(chars.shape)}"
            )
        mask = lengths_mask(lengths.to(words.device), words.shape[1])
        feats = self.chars(chars[mask], char_lengths[mask])  # only the real words
        out = x.new_zeros(*words.shape, feats.shape[-1])
        out[mask] = feats.to(out.dtype)
        return torch.cat([x, out], dim=-1)

    def forward(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
        bilm: dict[str, Tensor] | None = None,
    ) -> Tensor:
        """Emission scores (N, L, T)."""
        if words.dim() != 2 or lengths.shape != words.shape[:1]:
            raise ValueError(
                f"SequenceTagger: expected words (N, L) and lengths (N,), got "
                f"{tuple(words.shape)} and {tuple(lengths.shape)}"
            )
        x = self.drop(self._word_features(words, lengths, chars, char_lengths, bilm))
        h, _ = self.encoder(x, lengths=lengths.cpu())
        return self.emit(self.drop(h))

    def _run(self, batch: dict[str, Tensor]) -> Tensor:
        return self(
            batch["words"], batch["lengths"], batch.get("chars"), batch.get("char_lengths"),
            batch.get("bilm"),
        )  # fmt: skip

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Loss per token over ``{"words", "lengths", "tags", ["chars", "char_lengths"],
        ["bilm"]}``."""
        emissions = self._run(batch)
        lengths, tags = batch["lengths"], batch["tags"]
        n_tokens = int(lengths.sum())
        if self.crf is not None:
            return self.crf.nll(emissions, tags, lengths).sum() / n_tokens, n_tokens
        mask = lengths_mask(lengths.to(tags.device), tags.shape[1])
        loss = F.cross_entropy(emissions[mask], tags[mask], reduction="sum")
        return loss / n_tokens, n_tokens

    @inference
    def predict(self, batch: dict[str, Tensor]) -> list[list[int]]:
        """Tag ids of each sentence (its own length): Viterbi with a CRF, else argmax."""
        emissions = self._run(batch)
        lengths = batch["lengths"]
        if self.crf is not None:
            return self.crf.decode(emissions, lengths)
        best = emissions.argmax(dim=-1).tolist()
        return [row[:n] for row, n in zip(best, lengths.tolist())]
