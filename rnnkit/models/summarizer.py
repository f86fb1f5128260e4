"""SummaRuNNer (Nallapati et al. 2017): an extractive summarizer that scores each sentence.

A word-level BiRNN reads each sentence; its outputs averaged over the words give the sentence
vector. A sentence-level BiRNN reads those vectors, giving h_j (2H) for sentence j of n:

    d   = tanh(W_d mean_j h_j + b_d)                        the document
    s_j = sum_{i<j} h_i P(y_i = 1)                          the summary so far
    z_j = w_c . h_j              (content)
        + h_j^T W_s d            (salience)
        - h_j^T W_r tanh(s_j)    (novelty: redundancy with the summary so far)
        + w_a . p_a(j)           (absolute position, embedded)
        + w_r . p_r(j)           (relative position: j/n in ``position_bins`` bins, embedded)
        + b
    P(y_j = 1) = sigmoid(z_j)

Training minimises the binary cross-entropy against oracle labels (``greedy_oracle``); at
inference the highest-scoring sentences are picked up to a budget (``select_sentences``).

Shapes: tokens (N, S, W) word ids (S sentences of up to W words), sentence_lengths (N, S)
words per sentence (0 for padding sentences), lengths (N,) sentences per document,
labels (N, S) in {0, 1} -> logits (N, S).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.config import Config
from rnnkit.layers import embedding_dropout, make_layer
from rnnkit.models.inference import inference


@dataclass
class SummarizerConfig(Config):
    """Hyper-parameters of a ``SummaRuNNer``; every field is a constructor argument."""

    vocab_size: int = 0
    cell: str = "gru"
    embedding_size: int = 100
    hidden_size: int = 200
    position_size: int = 50
    max_positions: int = 100
    position_bins: int = 10
    dropout: float = 0.3
    embedding_dropout: float = 0.0
    cell_options: dict[str, Any] = field(default_factory=dict)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` (N, L, D) over the steps where ``mask`` (N, L) is true -> (N, D)."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0)


class SummaRuNNer(nn.Module):
    """Score the sentences of documents for extraction; see the module docstring.

    Example:
        >>> model = SummaRuNNer(vocab_size=5000)
        >>> logits = model(tokens, sentence_lengths, lengths)   # (N, S)
    """

    model_type = "summarunner"

    def __init__(self, vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = SummarizerConfig.from_dict({"vocab_size": vocab_size, **options})
        c = self.config
        if vocab_size < 2:
            raise ValueError(f"SummaRuNNer: need vocab_size >= 2, got {vocab_size}")
        h2 = 2 * c.hidden_size
        self.embed = nn.Embedding(vocab_size, c.embedding_size)
        self.word_rnn = make_layer(
            c.cell, c.embedding_size, c.hidden_size, bidirectional=True, **c.cell_options
        )
        self.sentence_rnn = make_layer(c.cell, h2, c.hidden_size, bidirectional=True,
                                       **c.cell_options)  # fmt: skip
        self.drop = nn.Dropout(c.dropout)
        self.document = nn.Linear(h2, h2)
        self.content = nn.Linear(h2, 1, bias=False)
        self.salience = nn.Bilinear(h2, h2, 1, bias=False)
        self.novelty = nn.Bilinear(h2, h2, 1, bias=False)
        self.abs_position = nn.Embedding(c.max_positions, c.position_size)
        self.rel_position = nn.Embedding(c.position_bins, c.position_size)
        self.abs_score = nn.Linear(c.position_size, 1, bias=False)
        self.rel_score = nn.Linear(c.position_size, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(()))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SummaRuNNer:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def _check(self, tokens: Tensor, sentence_lengths: Tensor, lengths: Tensor) -> None:
        if (
            tokens.dim() != 3
            or sentence_lengths.shape != tokens.shape[:2]
            or (lengths.shape != tokens.shape[:1])
        ):
            raise ValueError(
                "SummaRuNNer: expected tokens (N, S, W), sentence_lengths (N, S) and lengths "
                f"(N,), got {tuple(tokens.shape)}, {tuple(sentence_lengths.shape)} and "
                f"{tuple(lengths.shape)}"
            )

    def sentence_vectors(self, tokens: Tensor, sentence_lengths: Tensor) -> Tensor:
        """Word BiRNN outputs averaged over each sentence's words: (N, S, 2H)."""
        n, s, w = tokens.shape
        flat = tokens.reshape(n * s, w)
        flat_lengths = sentence_lengths.reshape(n * s)
        x = embedding_dropout(self.embed, flat, self.config.embedding_dropout, self.training)
        out, _ = self.word_rnn(self.drop(x), lengths=flat_lengths.clamp_min(1).cpu())
        mask = torch.arange(w, device=tokens.device) < flat_lengths.unsqueeze(1)
        return masked_mean(out, mask).reshape(n, s, -1)

    def _positions(self, lengths: Tensor, s: int) -> tuple[Tensor, Tensor]:
        c = self.config
        j = torch.arange(s, device=lengths.device).unsqueeze(0)  # (1, S)
        absolute = j.clamp_max(c.max_positions - 1).expand(lengths.shape[0], s)
        relative = (j * c.position_bins) // lengths.clamp_min(1).unsqueeze(1)
        return absolute, relative.clamp(0, c.position_bins - 1)

    def forward(self, tokens: Tensor, sentence_lengths: Tensor, lengths: Tensor) -> Tensor:
        """Sentence logits (N, S); padding sentences get -inf."""
        self._check(tokens, sentence_lengths, lengths)
        n, s, _ = tokens.shape
        vectors = self.sentence_vectors(tokens, sentence_lengths)
        h, _ = self.sentence_rnn(self.drop(vectors), lengths=lengths.cpu())
        h = self.drop(h)
        mask = torch.arange(s, device=tokens.device).unsqueeze(0) < lengths.unsqueeze(1)
        doc = torch.tanh(self.document(masked_mean(h, mask)))  # (N, 2H)
        absolute, relative = self._positions(lengths, s)
        static = (
            self.content(h).squeeze(-1)
            + self.salience(h, doc.unsqueeze(1).expand_as(h).contiguous()).squeeze(-1)
            + self.abs_score(self.abs_position(absolute)).squeeze(-1)
            + self.rel_score(self.rel_position(relative)).squeeze(-1)
            + self.bias
        )  # (N, S)
        summary = h.new_zeros(n, h.shape[-1])
        logits = []
        for j in range(s):  # novelty depends on the probabilities of the sentences before j
            z = static[:, j] - self.novelty(h[:, j], torch.tanh(summary)).squeeze(-1)
            logits.append(z)
            p = torch.sigmoid(z) * mask[:, j].to(z.dtype)
            summary = summary + h[:, j] * p.unsqueeze(-1)
        out = torch.stack(logits, dim=1)
        return out.masked_fill(~mask, float("-inf"))

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Binary cross-entropy per real sentence; the count of sentences."""
        logits = self(batch["tokens"], batch["sentence_lengths"], batch["lengths"])
        mask = torch.isfinite(logits)
        loss = F.binary_cross_entropy_with_logits(logits[mask], batch["labels"][mask].float())
        return loss, int(mask.sum())

    @inference
    def predict(self, batch: dict[str, Tensor]) -> Tensor:
        """P(y_j = 1) per sentence (N, S); 0 for padding sentences."""
        return torch.sigmoid(self(batch["tokens"], batch["sentence_lengths"], batch["lengths"]))


def select_sentences(
    scores: list[float],
    sentence_words: list[int],
    max_sentences: int | None = None,
    max_words: int | None = None,
) -> list[int]:
    """Indices (document order) of the best-scoring sentences within the budget.

    Sentences are taken by score, highest first; with ``max_words`` one that would exceed the
    budget is skipped (the best sentence is always taken, so a summary is never empty).
    Without any budget, one sentence is returned.
    """
    if max_sentences is None and max_words is None:
        max_sentences = 1
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    words = 0
    for i in order:
        if max_sentences is not None and len(chosen) >= max_sentences:
            break
        if max_words is not None and chosen and words + sentence_words[i] > max_words:
            continue
        chosen.append(i)
        words += sentence_words[i]
    return sorted(chosen)
