"""The recurrent decoder of encoder-decoder models, with optional attention and input feeding.

At target step t, with y_{t-1} the previous token (gold under teacher forcing), s the stacked
decoder state and H = h_1..h_S the encoder's memory:

    x_t     = [E[y_{t-1}]; h~_{t-1}]              (input feeding; just E[y_{t-1}] without it)
    q_t, s  = layers(x_t, s)                      (any cell, K layers)
    a_t     = softmax_j score(q_t, h_j)           (``rnnkit.layers.attention``; padding masked)
    c_t     = sum_j a_tj h_j
    h~_t    = tanh(W_c [c_t; q_t])                (Luong et al. 2015's attentional vector)
    p(y_t)  = softmax(W_o h~_t + b_o)

Without attention h~_t = q_t: the decoder sees the source only through its initial state
(Sutskever et al. 2014; Cho et al. 2014). Input feeding: Luong et al. 2015, section 3.3.

Under teacher forcing without input feeding, all steps run in one call per layer (the fused
kernels); input feeding and scheduled sampling need a step loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import LockedDropout, make_layer
from rnnkit.layers.attention import Attention
from rnnkit.layers.state import as_tuple, from_tuple, map_state


@dataclass
class DecoderState:
    """What one decoding step needs: the layer states, the fed-back vector and the memory.

    Shape:
        layers: one state per layer, each (1, N, H) or a tuple of them (LSTM).
        feed: (N, H) the previous attentional vector (input feeding), or None.
        memory: (N, S, M), keys: (N, S, A), mask: (N, S) bool; None without attention.
        weights: (N, S) the last step's attention weights, or None.
    """

    layers: list
    feed: Tensor | None = None
    memory: Tensor | None = None
    keys: Tensor | None = None
    mask: Tensor | None = None
    weights: Tensor | None = None

    def index_select(self, index: Tensor) -> DecoderState:
        """Entries ``index`` of the batch (for beam search): (N, ...) -> (N', ...)."""
        pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
        return DecoderState(
            map_state(lambda t: t.index_select(1, index), self.layers),
            pick(self.feed), pick(self.memory), pick(self.keys), pick(self.mask),
            pick(self.weights),
        )  # fmt: skip


class RecurrentDecoder(nn.Module):
    """Embedding, recurrent layers, optional attention, output layer.

    Args:
        vocab_size: V, the target vocabulary.
        cell, embedding_size, hidden_size, num_layers: the decoder's layers (any cell).
        memory_size: M, the width of the encoder outputs attended to.
        attention: ``dot``, ``general``, ``additive`` or ``none``.
        input_feeding: feed h~_{t-1} into step t (with attention only).
        dropout: on the embeddings, between layers and before the output layer.
        cell_options: passed to each layer (e.g. ``peephole=True``).

    Shape:
        tokens (N, T) teacher-forced inputs -> logits (N, T, V); ``step``: (N,) -> (N, V).
    """

    def __init__(
        self,
        vocab_size: int,
        cell: str,
        embedding_size: int,
        hidden_size: int,
        num_layers: int,
        memory_size: int,
        attention: str = "general",
        attention_size: int = 128,
        input_feeding: bool = True,
        dropout: float = 0.0,
        cell_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.attending = attention != "none"
        self.input_feeding = input_feeding and self.attending
        self.hidden_size = hidden_size
        self.embed = nn.Embedding(vocab_size, embedding_size)
        width = embedding_size + (hidden_size if self.input_feeding else 0)
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            self.layers.append(make_layer(cell, width, hidden_size, **(cell_options or {})))
            width = hidden_size
        self.drop = LockedDropout(dropout)
        self.step_drop = nn.Dropout(dropout)
        if self.attending:
            self.attention = Attention(attention, hidden_size, memory_size, attention_size)
            self.combine = nn.Linear(memory_size + hidden_size, hidden_size, bias=False)
        self.out = nn.Linear(hidden_size, vocab_size)

    def start(self, layers: list, memory: Tensor | None, mask: Tensor | None) -> DecoderState:
        """The state before the first target token: initial layer states and the memory."""
        keys = self.attention.prepare(memory) if self.attending and memory is not None else None
        feed = None
        if self.input_feeding:
            first = _first_tensor(layers)  # (1, N, H)
            feed = first.new_zeros(first.shape[1], self.hidden_size)
        return DecoderState(layers, feed, memory if self.attending else None, keys, mask)

    def _attend(self, q: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None]:
        """h~ from the layers' output q: (N, [T,] H) -> (N, [T,] H), weights (N, [T,] S)."""
        if not self.attending:
            return q, None
        assert state.memory is not None and state.mask is not None
        context, weights = self.attention(q, state.memory, state.mask, state.keys)
        return torch.tanh(self.combine(torch.cat([context, q], dim=-1))), weights

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """One target token per sequence: (N,) -> logits (N, V) and the next state."""
        h, state = self._step(self.embed(tokens), state)
        return self.out(self.step_drop(h)), state

    def _step(self, x: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """One step from embedded tokens (N, E): h~ (N, H) and the next state."""
        x = self.step_drop(x)
        if self.input_feeding:
            x = torch.cat([x, state.feed], dim=-1)
        layers = []
        for k, layer in enumerate(self.layers):
            x, s = _one_step(layer, x, state.layers[k])
            layers.append(s)
            if k < len(self.layers) - 1:
                x = self.step_drop(x)
        h, weights = self._attend(x, state)
        nxt = DecoderState(layers, h if self.input_feeding else None, state.memory, state.keys,
                           state.mask, weights)  # fmt: skip
        return h, nxt

    def forward(
        self, tokens: Tensor, state: DecoderState, sampling: float = 0.0
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: tokens (N, T) -> logits (N, T, V) and attention weights (N, T, S)
        (None without attention).

        ``sampling`` is the scheduled-sampling probability (Bengio et al. 2015): at each step
        after the first, each sequence is fed its own previous prediction (sampled from the
        model's distribution, no gradient through the choice) instead of the gold token with
        this probability. Input feeding or sampling run step by step; otherwise each layer runs
        over all steps in one call.
        """
        if self.input_feeding or (sampling > 0.0 and self.training):
            return self._loop(tokens, state, sampling if self.training else 0.0)
        x = self.drop(self.embed(tokens))
        for k, layer in enumerate(self.layers):
            x, _ = layer(x, state.layers[k])
            if k < len(self.layers) - 1:
                x = self.drop(x)
        h, weights = self._attend(x, state)
        return self.out(self.drop(h)), weights

    def _loop(
        self, tokens: Tensor, state: DecoderState, sampling: float
    ) -> tuple[Tensor, Tensor | None]:
        # embedded once and projected to the vocabulary once, for all steps: one embedding
        # backward and one large output matmul instead of one of each per step
        gold = self.embed(tokens).unbind(1)  # T x (N, E)
        outputs, weights = [], []
        for t, x in enumerate(gold):
            if t > 0 and sampling > 0.0:
                with torch.no_grad():
                    probs = self.out(outputs[-1]).softmax(-1)
                own = torch.multinomial(probs, 1)[:, 0]
                swap = torch.rand(own.shape, device=own.device) < sampling
                x = torch.where(swap[:, None], self.embed(own), x)
            h, state = self._step(x, state)
            outputs.append(h)
            weights.append(state.weights)
        stacked = torch.stack(weights, dim=1) if self.attending else None  # (N, T, S)
        return self.out(self.drop(torch.stack(outputs, dim=1))), stacked


class DecodingModel(nn.Module):
    """What the models built around a ``RecurrentDecoder`` share: the teacher-forced loss and
    the ``StepModel`` protocol, so ``rnnkit.decoding`` drives them (greedy, sampling, beam).

    Subclasses set ``self.config`` (with ``bos_id`` and ``label_smoothing``) and
    ``self.decoder``, and build the first ``DecoderState`` in ``encode``.
    """

    config: Any
    decoder: RecurrentDecoder

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DecodingModel:
        return cls(**config)

    def get_config(self) -> dict[str, Any]:
        return self.config.to_dict()

    def sequence_loss(self, logits: Tensor, target: Tensor) -> tuple[Tensor, int]:
        """Mean (label-smoothed) cross-entropy per target token; -100 in target is padding.

        Shape: logits (N, T, V), target (N, T).
        """
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
            ignore_index=-100, label_smoothing=self.config.label_smoothing,
        )  # fmt: skip
        return loss, int((target != -100).sum())

    def first_tokens(self, n: int, device: torch.device | None = None) -> Tensor:
        """The token fed first, for N sequences: (N,) filled with ``bos_id``."""
        return torch.full((n,), self.config.bos_id, dtype=torch.long, device=device)

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """One target token per sequence: (N,) -> logits (N, V), next state."""
        return self.decoder.step(tokens, state)

    def reorder_state(self, state: DecoderState, index: Tensor) -> DecoderState:
        """Batch entries ``index`` of the state (beam search)."""
        return state.index_select(index)


def _one_step(layer: nn.Module, x: Tensor, state: Any) -> tuple[Tensor, Any]:
    """One step of a one-layer unidirectional recurrent layer: x (N, I), state (1, N, H) parts.

    Calls the layer's cell directly, which is 2-3x faster than the layer's sequence kernel for
    a single step on CPU (no per-call weight re-layout), unless the cell draws per-sequence
    dropout masks in training, which only the layer applies.
    """
    cell = layer.cells[0] if hasattr(layer, "cells") else None
    if cell is None or (layer.training and (cell.dropout or cell.recurrent_dropout)):
        out, new = layer(x[:, None, :], state)
        return out[:, 0], new
    h, new = cell(x, from_tuple([t[0] for t in as_tuple(state)]))
    return h, from_tuple([t[None] for t in as_tuple(new)])


def _first_tensor(layers: list) -> Tensor:
    first = layers[0]
    return first[0] if isinstance(first, tuple) else first
