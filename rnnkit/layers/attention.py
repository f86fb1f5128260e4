"""Attention of a decoder over an encoder's outputs (the memory), with padded steps masked.

For a query q (the decoder's state) and memory vectors h_1..h_S of one source sentence::

    dot       score(q, h_j) = q . h_j                   (the seeds' alpha_tj = h_j . c_{t-1};
                                                          Luong et al. 2015 "dot")
    general   score(q, h_j) = q . (W_a h_j)             (Luong et al. 2015 "general")
    additive  score(q, h_j) = v . tanh(W_q q + W_h h_j)  (Bahdanau et al. 2015, "concat")

    alpha_j = softmax_j score(q, h_j)  over real source steps only,
    context = sum_j alpha_j h_j

Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine Translation",
EMNLP 2015; Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning to Align
and Translate", ICLR 2015.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ATTENTION_KINDS = ("dot", "general", "additive")


class Attention(nn.Module):
    """Score a memory against one or several queries; return contexts and weights.

    Args:
        kind: ``dot``, ``general`` or ``additive``.
        query_size: Q, the width of a query.
        memory_size: M, the width of a memory vector (``dot`` needs Q == M).
        attention_size: hidden width of ``additive`` scoring.

    Shape:
        query (N, Q) or (N, T, Q); memory (N, S, M); mask (N, S) bool, True at real steps
        -> context (N, M) or (N, T, M), weights (N, S) or (N, T, S). The memory's
        projection for ``general``/``additive`` can be computed once per sentence with
        ``prepare(memory)`` and passed as ``keys``.

    Example:
        >>> attn = Attention("general", query_size=256, memory_size=512)
        >>> context, weights = attn(decoder_state, encoder_outputs, source_mask)
    """

    def __init__(
        self, kind: str, query_size: int, memory_size: int, attention_size: int = 128
    ) -> None:
        super().__init__()
        if kind not in ATTENTION_KINDS:
            raise ValueError(f"Attention: unknown kind {kind!r}; choose from {ATTENTION_KINDS}")
        if kind == "dot" and query_size != memory_size:
            raise ValueError(
                f"Attention('dot'): query and memory widths must match, got {query_size} and "
                f"{memory_size}; use 'general' or 'additive' for different widths"
            )
        self.kind, self.query_size, self.memory_size = kind, query_size, memory_size
        if kind == "general":
            self.key = nn.Linear(memory_size, query_size, bias=False)
        elif kind == "additive":
            self.key = nn.Linear(memory_size, attention_size, bias=True)
            self.query = nn.Linear(query_size, attention_size, bias=False)
            self.v = nn.Linear(attention_size, 1, bias=False)

    def prepare(self, memory: Tensor) -> Tensor:
        """The memory as keys: (N, S, M) -> (N, S, Q) general, (N, S, A) additive, or itself."""
        return memory if self.kind == "dot" else self.key(memory)

    def scores(self, query: Tensor, keys: Tensor) -> Tensor:
        """Unnormalised scores: query (N, T, Q), keys (N, S, K) -> (N, T, S)."""
        if self.kind == "additive":
            hidden = torch.tanh(self.query(query)[:, :, None, :] + keys[:, None, :, :])
            return self.v(hidden).squeeze(-1)  # (N, T, S, A) -> (N, T, S)
        return torch.bmm(query, keys.transpose(1, 2))

    def forward(
        self, query: Tensor, memory: Tensor, mask: Tensor, keys: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        single = query.dim() == 2
        if single:
            query = query[:, None, :]
        n, s, m = memory.shape
        if query.shape[0] != n or query.shape[-1] != self.query_size or m != self.memory_size:
            raise ValueError(
                f"Attention: expected query (N, [T,] {self.query_size}) and memory "
                f"(N, S, {self.memory_size}), got {tuple(query.shape)} and {tuple(memory.shape)}"
            )
        if mask.shape != (n, s):
            raise ValueError(f"Attention: expected mask ({n}, {s}), got {tuple(mask.shape)}")
        keys = self.prepare(memory) if keys is None else keys
        scores = self.scores(query, keys).masked_fill(~mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (N, T, S)
        context = torch.bmm(weights, memory)  # (N, T, M)
        if single:
            return context[:, 0], weights[:, 0]
        return context, weights
