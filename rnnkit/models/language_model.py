"""Recurrent language model: embedding -> recurrent layers -> softmax over the vocabulary.

    e_t = E[w_t],   h_t^(k) = layer_k(h_t^(k-1)),   p(w_{t+1} | w_{<=t}) = softmax(W h_t^(K) + b)

Regularisers from AWD-LSTM (Merity et al., "Regularizing and Optimizing LSTM Language Models",
ICLR 2018): embedding dropout, locked dropout on the input, between layers and on the output,
weight drop on W_hh, activation regularisation AR = alpha * mean(m * h^K)^2 and temporal
activation regularisation TAR = beta * mean(h_t^K - h_{t-1}^K)^2; weight tying (Inan et al. 2017,
Press & Wolf 2017) shares E with the output layer W.

The loss is the mean cross-entropy per token; perplexity is exp(loss) and bits per character
is total loss / (characters * ln 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.config import Config
from rnnkit.layers import LockedDropout, WeightDrop, embedding_dropout, make_layer
from rnnkit.layers.state import map_state
from rnnkit.metrics.lm import bits_per_character, perplexity  # noqa: F401  (re-exported)


@dataclass
class LanguageModelConfig(Config):
    """Hyper-parameters of a ``LanguageModel``; every field is a constructor argument."""

    vocab_size: int = 0
    cell: str = "lstm"
    embedding_size: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    tie_weights: bool = True
    dropout: float = 0.2
    input_dropout: float = 0.0
    hidden_dropout: float = 0.0
    embedding_dropout: float = 0.0
    weight_drop: float = 0.0
    ar: float = 0.0
    tar: float = 0.0
    init_range: float | None = 0.1
    cell_options: dict[str, Any] = field(default_factory=dict)


class LanguageModel(nn.Module):
    """A recurrent LM over token ids, any cell, with AWD-LSTM's regularisers.

    The arguments are the fields of ``LanguageModelConfig``.

    Args:
        vocab_size: V.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (``cell_options`` passes e.g. ``peephole``).
        embedding_size, hidden_size, num_layers: sizes. With ``tie_weights`` the last layer has
            ``embedding_size`` units so the output layer can share the embedding matrix.
        dropout: locked dropout on the last layer's output; ``input_dropout`` on the embeddings;
            ``hidden_dropout`` between layers; ``embedding_dropout`` drops word types;
            ``weight_drop`` is DropConnect on W_hh.
        ar, tar: AR and TAR coefficients (training only).
        init_range: embedding and output weights start U(-init_range, init_range), output bias
            0 (good with tied weights); None keeps PyTorch's defaults (embedding N(0, 1),
            output U(+-1/sqrt(fan_in))), which learn faster at the character level.

    Shape:
        tokens (N, L) -> logits (N, L, V); the state is a list with one layer state per layer.

    Example:
        >>> lm = LanguageModel(vocab_size=100, cell="gru", hidden_size=128)
        >>> logits, state = lm(torch.randint(100, (4, 35)))
    """

    model_type = "language_model"

    def __init__(self, vocab_size: int, **options: Any) -> None:
        super().__init__()
        self.config = LanguageModelConfig.from_dict({"vocab_size": vocab_size, **options})
        c = self.config
        if vocab_size < 2:
            raise ValueError(f"LanguageModel: vocab_size must be >= 2, got {vocab_size}")
        self.embed = nn.Embedding(vocab_size, c.embedding_size)
        self.layers = nn.ModuleList()
        width = c.embedding_size
        for k in range(c.num_layers):
            last = k == c.num_layers - 1
            hidden = c.embedding_size if (last and c.tie_weights) else c.hidden_size
            layer = make_layer(c.cell, width, hidden, **c.cell_options)
            self.layers.append(WeightDrop(layer, c.weight_drop) if c.weight_drop else layer)
            width = layer.output_size
        self.input_drop = LockedDropout(c.input_dropout)
        self.hidden_drop = LockedDropout(c.hidden_dropout)
        self.output_drop = LockedDropout(c.dropout)
        self.decoder = nn.Linear(width, vocab_size)
        if c.tie_weights:
            self.decoder.weight = self.embed.weight
        if c.init_range is not None:
            self._init_io_weights(c.init_range)
        self._carried: dict[bool, list | None] = {True: None, False: None}

    @torch.no_grad()
    def _init_io_weights(self, r: float) -> None:
        """Embedding and output weights U(-r, r), output bias 0 (Zaremba et al. 2014, AWD-LSTM);
        ``nn.Embedding``'s N(0, 1) would give huge initial logits once the weights are tied."""
        self.embed.weight.uniform_(-r, r)
        self.decoder.weight.uniform_(-r, r)  # the same tensor when tied
        self.decoder.bias.zero_()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LanguageModel:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    # ------------------------------------------------------------- forward
    def encode(self, tokens: Tensor, state: list | None = None) -> tuple[Tensor, Tensor, list]:
        """Run the layers: (last layer output before dropout, after dropout, new state)."""
        c = self.config
        x = self.input_drop(
            embedding_dropout(self.embed, tokens, c.embedding_dropout, self.training)
        )
        new_state = []
        raw = x
        for k, layer in enumerate(self.layers):
            raw, s = layer(x, None if state is None else state[k])
            new_state.append(s)
            x = self.hidden_drop(raw) if k < len(self.layers) - 1 else self.output_drop(raw)
        return raw, x, new_state

    def forward(self, tokens: Tensor, state: list | None = None) -> tuple[Tensor, list]:
        """Logits (N, L, V) for the next token at each position, and the final state."""
        _, out, state = self.encode(tokens, state)
        return self.decoder(out), state

    def forward_loss(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, int]:
        """Mean cross-entropy (plus AR/TAR in training) over a window ``(x, y)``, both (N, L).

        The state is carried from the previous window of the same mode (truncated BPTT), detached;
        ``start_epoch`` and ``start_evaluation`` reset it.
        """
        x, y = batch
        state = self._carried[self.training]
        if state is not None and _batch_size(state) != x.shape[0]:
            state = None
        raw, out, state = self.encode(x, state)
        self._carried[self.training] = map_state(torch.Tensor.detach, state)
        logits = self.decoder(out)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        if self.training and self.config.ar:
            loss = loss + self.config.ar * out.pow(2).mean()
        if self.training and self.config.tar and raw.shape[1] > 1:
            loss = loss + self.config.tar * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
        return loss, y.numel()

    # -------------------------------------------------- trainer callbacks
    def start_epoch(self, epoch: int) -> None:
        """A new pass over the training streams: forget the carried state."""
        self._carried[True] = None

    def start_evaluation(self) -> None:
        """A new evaluation pass: start its streams from a zero state."""
        self._carried[False] = None

    def runtime_state(self) -> dict[str, Tensor]:
        """The carried training state as tensors, for exact resumption from a checkpoint."""
        state = self._carried[True]
        if state is None:
            return {}
        out = {}
        for k, layer_state in enumerate(state):
            parts = layer_state if isinstance(layer_state, tuple) else (layer_state,)
            for j, t in enumerate(parts):
                out[f"carried.{k}.{j}"] = t
        return out

    def load_runtime_state(self, tensors: dict[str, Tensor]) -> None:
        if not tensors:
            self._carried[True] = None
            return
        layers: list = []
        for k in range(len(self.layers)):
            parts = [tensors[f"carried.{k}.{j}"] for j in range(_count(tensors, k))]
            layers.append(parts[0] if len(parts) == 1 else tuple(parts))
        self._carried[True] = layers

    # ------------------------------------------------------------ decoding
    def step(self, tokens: Tensor, state: list | None) -> tuple[Tensor, list]:
        """One token per sequence: tokens (N,) -> logits (N, V), new state."""
        logits, state = self(tokens[:, None], state)
        return logits[:, 0], state

    def reorder_state(self, state: list, index: Tensor) -> list:
        """Select batch entries (axis 1 of every state tensor)."""
        return map_state(lambda t: t.index_select(1, index), state)


def _batch_size(state: list) -> int:
    first = state[0]
    return (first[0] if isinstance(first, tuple) else first).shape[1]


def _count(tensors: dict[str, Tensor], k: int) -> int:
    return sum(1 for name in tensors if name.startswith(f"carried.{k}."))
