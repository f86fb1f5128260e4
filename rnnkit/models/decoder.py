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

With ``copy=True`` the output is the pointer-generator's mixture over the vocabulary extended
with the source's out-of-vocabulary words, and with ``coverage=True`` the attention reads the
coverage vector (``rnnkit.models.copying``; See et al. 2017). Copying and coverage need
attention. The step's "logits" are then log-probabilities (log_softmax leaves them unchanged).

Under teacher forcing without input feeding or coverage, all steps run in one call per layer
(the fused kernels); input feeding, coverage and scheduled sampling need a step loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.layers import LockedDropout, make_layer
from rnnkit.layers.attention import Attention
from rnnkit.layers.state import as_tuple, from_tuple, map_state
from rnnkit.models.copying import CopyGate, Coverage, mix_copy


@dataclass
class DecoderState:
    """What one decoding step needs: the layer states, the fed-back vector and the memory.

    Shape:
        layers: one state per layer, each (1, N, H) or a tuple of them (LSTM).
        feed: (N, H) the previous attentional vector (input feeding), or None.
        memory: (N, S, M), keys: (N, S, A), mask: (N, S) bool; None without attention.
        weights: (N, S) the last step's attention weights, or None.
        source_ids: (N, S) the source in extended target ids (copying), or None.
        extra: the number of out-of-vocabulary ids of the batch (copying).
        coverage: (N, S) the attention summed over the steps so far (coverage), or None.
    """

    layers: list
    feed: Tensor | None = None
    memory: Tensor | None = None
    keys: Tensor | None = None
    mask: Tensor | None = None
    weights: Tensor | None = None
    source_ids: Tensor | None = None
    extra: int = 0
    coverage: Tensor | None = None

    def index_select(self, index: Tensor) -> DecoderState:
        """Entries ``index`` of the batch (for beam search): (N, ...) -> (N', ...)."""
        pick = lambda t: None if t is None else t.index_select(0, index)  # noqa: E731
        return DecoderState(
            map_state(lambda t: t.index_select(1, index), self.layers),
            pick(self.feed), pick(self.memory), pick(self.keys), pick(self.mask),
            pick(self.weights), pick(self.source_ids), self.extra, pick(self.coverage),
        )  # fmt: skip

    def moved(self, layers: list, feed: Tensor | None, weights: Tensor | None,
              coverage: Tensor | None) -> DecoderState:  # fmt: skip
        """The state after one step: new layer states, fed vector, weights and coverage."""
        return DecoderState(layers, feed, self.memory, self.keys, self.mask, weights,
                            self.source_ids, self.extra, coverage)  # fmt: skip


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
        copy: mix generating and copying source tokens (pointer-generator).
        coverage: the attention reads the coverage vector (see ``rnnkit.models.copying``).
        unk_id: fed in place of an extended (copied out-of-vocabulary) id.

    Shape:
        tokens (N, T) teacher-forced inputs -> logits (N, T, V); ``step``: (N,) -> (N, V);
        with copying V is V + extra, the batch's out-of-vocabulary source words.
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
        copy: bool = False,
        coverage: bool = False,
        unk_id: int = 0,
    ) -> None:
        super().__init__()
        self.attending = attention != "none"
        if (copy or coverage) and not self.attending:
            raise ValueError("RecurrentDecoder: copy and coverage need attention (not 'none')")
        self.vocab_size, self.unk_id = vocab_size, unk_id
        self.copying, self.covering = copy, coverage
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
            key_size = self.attention.prepare(torch.zeros(1, 1, memory_size)).shape[-1]
            self.cover = Coverage(key_size) if coverage else None
            self.gate = CopyGate(memory_size, hidden_size, embedding_size) if copy else None
        self.out = nn.Linear(hidden_size, vocab_size)

    def start(
        self, layers: list, memory: Tensor | None, mask: Tensor | None,
        source_ids: Tensor | None = None, extra: int = 0,
    ) -> DecoderState:  # fmt: skip
        """The state before the first target token: initial layer states and the memory;
        with copying, the source in extended ids (N, S) and the batch's extra id count."""
        keys = self.attention.prepare(memory) if self.attending and memory is not None else None
        feed = None
        if self.input_feeding:
            first = _first_tensor(layers)  # (1, N, H)
            feed = first.new_zeros(first.shape[1], self.hidden_size)
        if self.copying and (source_ids is None or source_ids.shape != mask.shape):
            got = None if source_ids is None else tuple(source_ids.shape)
            raise ValueError(
                f"RecurrentDecoder: copying needs source_ids shaped like the mask "
                f"{tuple(mask.shape)}, got {got}"
            )
        coverage = mask.new_zeros(mask.shape, dtype=memory.dtype) if self.covering else None
        source_ids = source_ids if self.copying else None
        memory = memory if self.attending else None
        return DecoderState(layers, feed, memory, keys, mask, None, source_ids, extra, coverage)

    def embed_ids(self, tokens: Tensor) -> Tensor:
        """Embeddings of target ids; an extended (copied) id reads ``unk_id``'s row."""
        if self.copying:
            tokens = tokens.masked_fill(tokens >= self.vocab_size, self.unk_id)
        return self.embed(tokens)

    def _attend(
        self, q: Tensor, state: DecoderState
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """h~, weights and context from the layers' output q: (N, [T,] H) -> (N, [T,] H),
        (N, [T,] S), (N, [T,] M)."""
        if not self.attending:
            return q, None, None
        assert state.memory is not None and state.mask is not None
        keys = state.keys
        if self.cover is not None and state.coverage is not None:
            keys = self.cover(keys, state.coverage)
        context, weights = self.attention(q, state.memory, state.mask, keys)
        return torch.tanh(self.combine(torch.cat([context, q], dim=-1))), weights, context

    def _output(
        self, h: Tensor, parts: tuple, state: DecoderState, drop: Callable[[Tensor], Tensor]
    ) -> Tensor:
        """Logits (N, [T,] V) from h~; with copying, log P over V + extra (``mix_copy``)."""
        logits = self.out(drop(h))
        if not self.copying:
            return logits
        q, context, x, weights = parts
        p_gen = self.gate(context, q, x)
        assert state.source_ids is not None
        return mix_copy(logits, p_gen, weights, state.source_ids, state.extra)

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """One target token per sequence: (N,) -> logits (N, V) and the next state."""
        h, parts, state = self._step(self.embed_ids(tokens), state)
        return self._output(h, parts, state, self.step_drop), state

    def _step(self, x: Tensor, state: DecoderState) -> tuple[Tensor, tuple, DecoderState]:
        """One step from embedded tokens (N, E): h~ (N, H), (q, context, x, weights), state."""
        x = self.step_drop(x)
        inputs = torch.cat([x, state.feed], dim=-1) if self.input_feeding else x
        layers = []
        for k, layer in enumerate(self.layers):
            inputs, s = _one_step(layer, inputs, state.layers[k])
            layers.append(s)
            if k < len(self.layers) - 1:
                inputs = self.step_drop(inputs)
        h, weights, context = self._attend(inputs, state)
        coverage = None if state.coverage is None else state.coverage + weights
        nxt = state.moved(layers, h if self.input_feeding else None, weights, coverage)
        return h, (inputs, context, x, weights), nxt

    def forward(
        self, tokens: Tensor, state: DecoderState, sampling: float = 0.0
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: tokens (N, T) -> logits (N, T, V) and attention weights (N, T, S)
        (None without attention).

        ``sampling`` is the scheduled-sampling probability (Bengio et al. 2015): at each step
        after the first, each sequence is fed its own previous prediction (sampled from the
        model's distribution, no gradient through the choice) instead of the gold token with
        this probability. Input feeding, coverage or sampling run step by step; otherwise each
        layer runs over all steps in one call.
        """
        if self.input_feeding or self.covering or (sampling > 0.0 and self.training):
            return self._loop(tokens, state, sampling if self.training else 0.0)
        emb = self.drop(self.embed_ids(tokens))
        x = emb
        for k, layer in enumerate(self.layers):
            x, _ = layer(x, state.layers[k])
            if k < len(self.layers) - 1:
                x = self.drop(x)
        h, weights, context = self._attend(x, state)
        return self._output(h, (x, context, emb, weights), state, self.drop), weights

    def _loop(
        self, tokens: Tensor, state: DecoderState, sampling: float
    ) -> tuple[Tensor, Tensor | None]:
        # embedded once and projected to the vocabulary once, for all steps: one embedding
        # backward and one large output matmul instead of one of each per step
        gold = self.embed_ids(tokens).unbind(1)  # T x (N, E)
        start, outputs, parts = state, [], []
        for t, x in enumerate(gold):
            if t > 0 and sampling > 0.0:
                with torch.no_grad():
                    probs = self._output(outputs[-1], parts[-1], state, _same).softmax(-1)
                own = torch.multinomial(probs, 1)[:, 0]
                swap = torch.rand(own.shape, device=own.device) < sampling
                x = torch.where(swap[:, None], self.embed_ids(own), x)
            h, step_parts, state = self._step(x, state)
            outputs.append(h)
            parts.append(step_parts)
        if not self.attending:
            return self.out(self.drop(torch.stack(outputs, dim=1))), None
        stacked = [torch.stack(p, dim=1) for p in zip(*parts)]  # q, context, x, weights
        h = torch.stack(outputs, dim=1)
        return self._output(h, tuple(stacked), start, self.drop), stacked[3]


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


def _same(x: Tensor) -> Tensor:
    return x


def _first_tensor(layers: list) -> Tensor:
    first = layers[0]
    return first[0] if isinstance(first, tuple) else first
