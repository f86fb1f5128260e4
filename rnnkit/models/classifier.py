"""Recurrent text classifier: embedding -> (bi)recurrent encoder -> pooling -> feed-forward.

    e_t = E[w_t] (or [E[w_t]; ELMo_t]),   h_1..h_n = encoder(e_1..e_n),   v = pool(h_1..h_n),
    z = W_2 act(W_1 v + b_1) + b_2     (or z = W v + b without a hidden layer)
    z <- z + bag(w_1..w_n)              (optional: a linear model over hashed word n-grams,
                                         ``rnnkit.layers.ngram_bag``; wide and deep)

With ``encoder_length`` = T the encoder reads only w_1..w_min(n, T) while the n-gram bag reads
the whole text: a long document's later words still count, at the cost of a linear model over
them, not of T more recurrent steps.

Multi-class: p(y | x) = softmax(z), loss = cross-entropy. Multi-label: p(y_k | x) = sigmoid(z_k),
loss = binary cross-entropy averaged over labels; a label is predicted when p > 0.5.

The embedding and encoder use the language model's names (``embed``, ``layers.K``), so a
unidirectional classifier of the same sizes starts from a trained ``LanguageModel``
(``load_language_model``; ULMFiT, Howard & Ruder 2018). ELMo_t (optional) are a trained biLM's
vectors of the same tokens (Peters et al. 2018; ``rnnkit.models.bilm_features``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.config import Config
from rnnkit.layers import LockedDropout, embedding_dropout, make_layer
from rnnkit.layers.ngram_bag import NgramBag
from rnnkit.layers.pooling import SequencePooling
from rnnkit.models.bilm_features import bilm_features, check_aligned
from rnnkit.models.inference import inference


@dataclass
class ClassifierConfig(Config):
    """Hyper-parameters of a ``TextClassifier``; every field is a constructor argument."""

    vocab_size: int = 0
    num_classes: int = 2
    multi_label: bool = False
    cell: str = "lstm"
    embedding_size: int = 128
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = True
    last_hidden_size: int | None = None
    pooling: str = "max"
    attention_size: int = 128
    ff_size: int = 0
    dropout: float = 0.3
    input_dropout: float = 0.2
    hidden_dropout: float = 0.0
    embedding_dropout: float = 0.0
    freeze_embeddings: bool = False
    cell_options: dict[str, Any] = field(default_factory=dict)
    bilm_config: dict[str, Any] | None = None
    bilm_mode: str = "mix"
    bilm_layer: int | None = None
    bilm_finetune: bool = False
    bilm_cache_mb: int = 1024
    ensemble: int = 1
    ngram_buckets: int = 0
    ngram_order: int = 2
    encoder_length: int | None = None
    linear_weight: float = 0.0
    linear_c: float = 10.0
    linear_buckets: int = 0


class TextClassifier(nn.Module):
    """Classify token sequences, multi-class or multi-label.

    The arguments are the fields of ``ClassifierConfig``.

    Args:
        vocab_size, num_classes: V and C.
        multi_label: sigmoid outputs and binary cross-entropy instead of softmax.
        cell, num_layers, hidden_size, bidirectional: the encoder (any cell; ``cell_options``
            passes e.g. ``peephole=True``); ``last_hidden_size`` gives the last layer other
            units (a language model with tied weights ends in ``embedding_size`` units).
        pooling: ``last``, ``max``, ``mean``, ``attention`` or ``concat``.
        ff_size: width of a hidden feed-forward layer before the output (0: none).
        dropout: on the pooled vector; ``input_dropout`` (locked) on the embeddings;
            ``hidden_dropout`` between layers; ``embedding_dropout`` drops word types.
        freeze_embeddings: keep the (pretrained) embeddings fixed.
        bilm_config: a trained biLM's config to concatenate its vectors to the embeddings
            (None: off), with ``bilm_mode``, ``bilm_layer``, ``bilm_finetune`` and
            ``bilm_cache_mb`` (see ``BiLMFeatures``; the recipe loads the biLM's weights).
        ngram_buckets, ngram_order: with B = ``ngram_buckets`` > 0, a linear model over the
            text's word n-grams up to ``ngram_order`` (hashed into B buckets) adds its scores to
            the encoder's (``rnnkit.layers.ngram_bag``; 0: off).
        encoder_length: T, the most tokens of a text the encoder (and biLM) reads, its first
            T; the n-gram bag still reads all of them (None: the encoder reads all).
        ensemble: must be 1 here; K > 1 members averaged are a ``ClassifierEnsemble``
            (``make_classifier`` picks the class).

    Shape:
        tokens (N, L) long, lengths (N,), and the biLM's inputs (``BiLMVocab.collate``, L + 2
        steps) when ``bilm_config`` is set -> logits (N, C).

    Example:
        >>> clf = TextClassifier(vocab_size=5000, num_classes=5, pooling="attention")
        >>> logits = clf(tokens, lengths)
    """

    model_type = "text_classifier"

    def __init__(self, vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = ClassifierConfig.from_dict({"vocab_size": vocab_size, **options})
        c = self.config
        if vocab_size < 2 or c.num_classes < (1 if c.multi_label else 2):
            raise ValueError(
                f"TextClassifier: need vocab_size >= 2 and num_classes >= 2 "
                f"(>= 1 multi-label), got {vocab_size} and {c.num_classes}"
            )
        if c.encoder_length is not None and c.encoder_length < 1:
            raise ValueError(
                f"TextClassifier: encoder_length must be >= 1 or None, got {c.encoder_length}"
            )
        if c.ensemble != 1 or c.linear_weight:
            raise ValueError(
                f"TextClassifier: ensemble={c.ensemble}, linear_weight={c.linear_weight}; K > 1 "
                "members or a linear member are a ClassifierEnsemble "
                "(rnnkit.models.make_classifier builds either)"
            )
        self.embed = nn.Embedding(vocab_size, c.embedding_size)
        self.embed.weight.requires_grad_(not c.freeze_embeddings)
        self.bilm = bilm_features(
            c.bilm_config, c.bilm_mode, c.bilm_layer, c.bilm_finetune, c.bilm_cache_mb
        )
        self.layers = nn.ModuleList()
        width = c.embedding_size + (self.bilm.out_features if self.bilm is not None else 0)
        for k in range(c.num_layers):
            last = k == c.num_layers - 1
            hidden = (c.last_hidden_size or c.hidden_size) if last else c.hidden_size
            layer = make_layer(
                c.cell, width, hidden, bidirectional=c.bidirectional, **c.cell_options
            )
            self.layers.append(layer)
            width = layer.output_size
        self.input_drop = LockedDropout(c.input_dropout)
        self.hidden_drop = LockedDropout(c.hidden_dropout)
        self.pool = SequencePooling(c.pooling, width, 2 if c.bidirectional else 1, c.attention_size)
        head: list[nn.Module] = [nn.Dropout(c.dropout)]
        features = self.pool.out_features
        if c.ff_size:
            head += [nn.Linear(features, c.ff_size), nn.ReLU(), nn.Dropout(c.dropout)]
            features = c.ff_size
        head.append(nn.Linear(features, c.num_classes))
        self.head = nn.Sequential(*head)
        self.ngrams = (
            NgramBag(vocab_size, c.num_classes, c.ngram_buckets, c.ngram_order)
            if c.ngram_buckets > 0
            else None
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextClassifier:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def encode(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Encoder outputs (N, L, D*H); zero at padded steps."""
        c = self.config
        if tokens.dim() != 2 or lengths.shape != tokens.shape[:1]:
            raise ValueError(
                f"TextClassifier: expected tokens (N, L) and lengths (N,), got "
                f"{tuple(tokens.shape)} and {tuple(lengths.shape)}"
            )
        x = embedding_dropout(self.embed, tokens, c.embedding_dropout, self.training)
        if self.bilm is not None:
            if bilm is None:
                raise ValueError("TextClassifier: biLM features are on, expected its inputs")
            features = self.bilm(bilm)  # (N, L_full, 2H)
            if c.encoder_length is not None:  # it read the whole text; keep the encoder's part
                features = features[:, : tokens.shape[1]]
            x = torch.cat([x, check_aligned("TextClassifier", features, tokens)], dim=-1)
        x = self.input_drop(x)
        lengths_cpu = lengths.cpu()
        for k, layer in enumerate(self.layers):
            x, _ = layer(x, lengths=lengths_cpu)
            if k < len(self.layers) - 1:
                x = self.hidden_drop(x)
        return x

    def forward(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        deep, wide = self.scores(tokens, lengths, bilm)
        return deep if wide is None else deep + wide

    def scores(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """The encoder's scores (N, C) and the n-gram bag's (N, C), None when it is off. The
        encoder reads the first ``encoder_length`` tokens, the bag all of them."""
        head, head_lengths = self.encoder_inputs(tokens, lengths)
        deep = self.head(self.pool(self.encode(head, head_lengths, bilm), head_lengths))
        return deep, None if self.ngrams is None else self.ngrams(tokens, lengths)

    def encoder_inputs(self, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """tokens (N, L), lengths (N,) -> the encoder's part: (N, min(L, T)), min(lengths, T)."""
        limit = self.config.encoder_length
        if limit is None or tokens.dim() != 2 or tokens.shape[1] <= limit:
            return tokens, lengths
        return tokens[:, :limit], lengths.clamp(max=limit)

    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Mean loss over a batch ``{"tokens", "lengths", "labels"}``; labels (N,) class ids,
        or (N, C) 0/1 for multi-label; ``"bilm"`` holds the biLM's inputs when it is on."""
        bilm: Any = batch.get("bilm")
        deep, wide = self.scores(batch["tokens"], batch["lengths"], bilm)
        labels = batch["labels"]
        if wide is None:
            return self._loss(deep, labels), int(labels.shape[0])
        loss = self._loss(deep + wide, labels)
        if self.training:  # the bag also learns alone, so the encoder cannot starve it
            loss = loss + self._loss(wide, labels)
        return loss, int(labels.shape[0])

    def _loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        if self.config.multi_label:
            return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return F.cross_entropy(logits, labels)

    @inference
    def predict(
        self, tokens: Tensor, lengths: Tensor, bilm: dict[str, Tensor] | None = None
    ) -> Tensor:
        """Class ids (N,), or (N, C) bool for multi-label (probability > 0.5)."""
        logits = self(tokens, lengths, bilm)
        if self.config.multi_label:
            return torch.sigmoid(logits) > 0.5
        return logits.argmax(dim=-1)

    @torch.no_grad()
    def load_language_model(self, lm: nn.Module) -> None:
        """Start the embedding and encoder from a trained ``LanguageModel`` (same sizes)."""
        own = self.state_dict()
        taken = {k: v for k, v in lm.state_dict().items() if k.startswith(("embed.", "layers."))}
        bad = {k: (tuple(v.shape), tuple(own[k].shape)) for k, v in taken.items()
               if k not in own or own[k].shape != v.shape}  # fmt: skip
        if bad or not taken:
            raise ValueError(
                "TextClassifier.load_language_model: the language model does not fit this "
                f"encoder (use the LM's cell and sizes, bidirectional=False); mismatches: {bad}"
            )
        own.update(taken)
        self.load_state_dict(own)
