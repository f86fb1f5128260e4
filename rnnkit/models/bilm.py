"""Bidirectional language model: the contextual word vectors of ELMo.

Peters et al., "Deep Contextualized Word Representations", NAACL 2018. A forward LM and a
backward LM, each K recurrent layers over the same token representations x_t, share a softmax:

    x_t = P E[w_t]  (word input)   or   x_t = P charenc(chars of w_t)  (character input)
    f_t^(k) = forward_k(f_1^(k-1) .. f_t^(k-1)),     f^(0) = x
    b_t^(k) = backward_k(b_t^(k-1) .. b_n^(k-1)),    b^(0) = x
    p(w_{t+1} | w_<=t) = softmax(W f_t^(K) + c),     p(w_{t-1} | w_>=t) = softmax(W b_t^(K) + c)

(P is a linear projection to the hidden size H, present only when the widths differ.) The loss
is the mean of the two cross-entropies per predicted token. Each sentence is one sequence with
``<s>`` and ``</s>`` around it; no state is carried between sentences, calls or batches, so a
sentence always gets the same vectors, whatever else is in its batch.

The contextual vectors of token t are the K+1 layers h_t^(0) = [x_t; x_t] and
h_t^(k) = [f_t^(k); b_t^(k)], all of width 2H; ``embed`` picks one, averages them, or mixes
them with a learned ``ScalarMix``.
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
from rnnkit.layers.pooling import lengths_mask
from rnnkit.layers.scalar_mix import ScalarMix

BILM_INPUTS = ("word", "char")


@dataclass
class BiLMConfig(Config):
    """Hyper-parameters of a ``BiLanguageModel``; every field is a constructor argument."""

    vocab_size: int = 0
    input: str = "word"
    embedding_size: int = 128
    num_chars: int = 0
    char_encoder: str = "cnn"
    char_embedding_size: int = 16
    char_hidden_size: int = 128
    char_kernel_size: int = 3
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    cell_options: dict[str, Any] = field(default_factory=dict)


class BiLanguageModel(nn.Module):
    """A forward and a backward recurrent LM sharing token representations and softmax.

    The arguments are the fields of ``BiLMConfig``.

    Args:
        vocab_size: V, the output (and word input) vocabulary, specials included.
        input: ``"word"`` (an embedding of ``embedding_size``) or ``"char"`` (a ``CharEncoder``
            of kind ``char_encoder`` over ``num_chars`` characters, with
            ``char_embedding_size``, ``char_hidden_size``, ``char_kernel_size``).
        cell, hidden_size, num_layers: each direction is ``num_layers`` layers of H units of
            any cell (``cell_options`` passes e.g. ``peephole=True``).
        dropout: on the input of every layer and on the output before the softmax.

    Shape:
        words (N, L) with ``<s>`` first and ``</s>`` at ``lengths - 1``; lengths (N,) >= 2;
        chars (N, L, C) and char_lengths (N, L) for character input.
        ``layer_outputs`` -> (K+1, N, L-2, 2H): the sentence tokens only, zero at padding.

    Example:
        >>> bilm = BiLanguageModel(vocab_size=10000, hidden_size=256, num_layers=2)
        >>> loss, n = bilm.forward_loss({"words": words, "lengths": lengths})
        >>> vectors = bilm.embed(words, lengths)           # (N, L-2, 512), layers averaged
    """

    model_type = "bilm"

    def __init__(self, vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = BiLMConfig.from_dict({"vocab_size": vocab_size, **options})
        c = self.config
        _check(c)
        self.embedding: nn.Embedding | None = None
        self.chars: CharEncoder | None = None
        if c.input == "word":
            self.embedding = nn.Embedding(vocab_size, c.embedding_size, padding_idx=0)
            width = c.embedding_size
        else:
            self.chars = CharEncoder(
                c.num_chars, c.char_encoder, c.char_embedding_size, c.char_hidden_size,
                c.char_kernel_size,
            )  # fmt: skip
            width = self.chars.out_features
        self.proj = nn.Linear(width, c.hidden_size) if width != c.hidden_size else None
        self.forward_layers = nn.ModuleList(self._layer(False) for _ in range(c.num_layers))
        self.backward_layers = nn.ModuleList(self._layer(True) for _ in range(c.num_layers))
        self.drop = nn.Dropout(c.dropout)
        self.decoder = nn.Linear(c.hidden_size, vocab_size)  # tied between the directions

    def _layer(self, backwards: bool) -> nn.Module:
        c = self.config
        return make_layer(
            c.cell, c.hidden_size, c.hidden_size, go_backwards=backwards, **c.cell_options
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BiLanguageModel:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    @property
    def num_outputs(self) -> int:
        """K+1: the token layer and one per recurrent layer."""
        return self.config.num_layers + 1

    @property
    def output_size(self) -> int:
        """2H, the width of every output layer."""
        return 2 * self.config.hidden_size

    # ------------------------------------------------------------- layers
    def token_layer(
        self, words: Tensor, lengths: Tensor, chars: Tensor | None, char_lengths: Tensor | None
    ) -> Tensor:
        """x: the context-free token representations (N, L, H)."""
        if words.dim() != 2 or lengths.shape != words.shape[:1] or words.shape[1] < 2:
            raise ValueError(
                f"BiLanguageModel: expected words (N, L) with L >= 2 (<s> and </s>) and "
                f"lengths (N,), got {tuple(words.shape)} and {tuple(lengths.shape)}"
            )
        if self.embedding is not None:
            x = self.embedding(words)
        else:
            x = self._char_features(words, lengths, chars, char_lengths)
        return self.proj(x) if self.proj is not None else x

    def _char_features(
        self, words: Tensor, lengths: Tensor, chars: Tensor | None, char_lengths: Tensor | None
    ) -> Tensor:
        assert self.chars is not None
        if chars is None or char_lengths is None or chars.shape[:2] != words.shape:
            raise ValueError(
                f"BiLanguageModel: character input needs chars (N, L, C) with (N, L) = "
                f"{tuple(words.shape)}, got {None if chars is None else tuple(chars.shape)}"
            )
        mask = lengths_mask(lengths.to(words.device), words.shape[1])
        feats = self.chars(chars[mask], char_lengths[mask])  # only the real tokens
        out = feats.new_zeros(*words.shape, feats.shape[-1])
        out[mask] = feats
        return out

    def directions(self, x: Tensor, lengths: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """The K outputs of each direction, each (N, L, H), before dropout."""
        lengths_cpu = lengths.cpu()
        both = []
        for layers in (self.forward_layers, self.backward_layers):
            h, outs = x, []
            for layer in layers:
                h, _ = layer(self.drop(h), lengths=lengths_cpu)
                outs.append(h)
            both.append(outs)
        return both[0], both[1]

    def layer_outputs(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
    ) -> Tensor:
        """All K+1 layers at the sentence tokens: (K+1, N, L-2, 2H), zero past each end."""
        x = self.token_layer(words, lengths, chars, char_lengths)
        fwd, bwd = self.directions(x, lengths)
        layers = [torch.cat([x, x], dim=-1)] + [torch.cat(fb, dim=-1) for fb in zip(fwd, bwd)]
        out = torch.stack(layers)[:, :, 1:-1]  # drop <s>; </s> is masked below
        inner = lengths_mask((lengths - 2).to(out.device), out.shape[2])  # (N, L-2)
        return out.masked_fill(~inner[None, :, :, None], 0.0)

    def embed(
        self,
        words: Tensor,
        lengths: Tensor,
        chars: Tensor | None = None,
        char_lengths: Tensor | None = None,
        *,
        layer: int | None = None,
        mix: ScalarMix | None = None,
    ) -> Tensor:
        """Contextual vectors (N, L-2, 2H): ``layer`` k (0: tokens, K: top), else ``mix`` of
        the layers, else their equal average."""
        if layer is not None and not 0 <= layer < self.num_outputs:
            raise ValueError(
                f"BiLanguageModel: layer must be in 0..{self.num_outputs - 1}, got {layer}"
            )
        layers = self.layer_outputs(words, lengths, chars, char_lengths)
        if layer is not None:
            return layers[layer]
        return mix(layers) if mix is not None else layers.mean(dim=0)

    # --------------------------------------------------------------- loss
    def forward_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, int]:
        """Mean of the forward and backward cross-entropies per predicted token.

        ``batch``: ``{"words", "lengths", ["chars", "char_lengths"]}``. Each direction predicts
        the n - 1 tokens of a sentence of n (boundaries included) from their context.
        """
        words, lengths = batch["words"], batch["lengths"]
        x = self.token_layer(words, lengths, batch.get("chars"), batch.get("char_lengths"))
        fwd, bwd = self.directions(x, lengths)
        predicted = lengths_mask(lengths.to(words.device), words.shape[1])[:, 1:]  # (N, L-1)
        count = int(predicted.sum())
        f_loss = self._cross_entropy(fwd[-1][:, :-1], words[:, 1:], predicted)  # t -> t+1
        b_loss = self._cross_entropy(bwd[-1][:, 1:], words[:, :-1], predicted)  # t -> t-1
        return (f_loss + b_loss) / (2 * count), count

    def _cross_entropy(self, hidden: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
        logits = self.decoder(self.drop(hidden[mask]))  # (M, V), real positions only
        return F.cross_entropy(logits, targets[mask], reduction="sum")


def _check(c: BiLMConfig) -> None:
    if c.input not in BILM_INPUTS:
        raise ValueError(f"BiLanguageModel: input must be one of {BILM_INPUTS}, got {c.input!r}")
    if c.vocab_size < 2:
        raise ValueError(f"BiLanguageModel: vocab_size must be >= 2, got {c.vocab_size}")
    if c.input == "char" and c.num_chars < 2:
        raise ValueError(
            f"BiLanguageModel: character input needs num_chars >= 2, got {c.num_chars}"
        )
    if c.num_layers < 1:
        raise ValueError(f"BiLanguageModel: num_layers must be >= 1, got {c.num_layers}")
