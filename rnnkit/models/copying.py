"""Copy attention and coverage for the recurrent decoder (See, Liu & Manning 2017).

Pointer-generator ("Get To The Point: Summarization with Pointer-Generator Networks", ACL
2017): at step t, with context c_t, decoder output q_t, decoder input x_t and attention a_t
over the source,

    p_gen     = sigmoid(w_c . c_t + w_q . q_t + w_x . x_t + b)
    P(w)      = p_gen P_vocab(w) + (1 - p_gen) sum_{j : src_j = w} a_tj

over the vocabulary extended with the source's out-of-vocabulary words (ids V, V + 1, ...
numbered per batch), so a word the vocabulary lacks can be produced by copying it.

Coverage: c^t = sum_{t' < t} a^{t'} enters the attention scores (``Coverage``), and the loss
adds lambda * sum_j min(a_tj, c^t_j) per target token, which penalises attending again to
source positions already covered.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: probabilities below this become log(FLOOR) so that log P stays finite
FLOOR = 1e-12


class CopyGate(nn.Module):
    """p_gen from the context, the decoder output and the decoder input.

    Shape: context (..., M), query (..., H), inputs (..., E) -> (..., 1) in (0, 1).
    """

    def __init__(self, memory_size: int, hidden_size: int, input_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(memory_size + hidden_size + input_size, 1)

    def forward(self, context: Tensor, query: Tensor, inputs: Tensor) -> Tensor:
        return torch.sigmoid(self.linear(torch.cat([context, query, inputs], dim=-1)))


def mix_copy(
    vocab_logits: Tensor, p_gen: Tensor, weights: Tensor, source_ids: Tensor, extra: int
) -> Tensor:
    """log P over the extended vocabulary: generation and copying mixed by p_gen.

    Args:
        vocab_logits: scores over the fixed vocabulary.
        p_gen: the probability of generating.
        weights: attention over the source.
        source_ids: each source position's id in the extended vocabulary (< V + extra).
        extra: how many out-of-vocabulary ids the batch adds.

    Shape:
        vocab_logits (N, [T,] V), p_gen (N, [T,] 1), weights (N, [T,] S), source_ids (N, S)
        -> (N, [T,] V + extra).
    """
    p_vocab = vocab_logits.softmax(dim=-1) * p_gen
    if extra:
        p_vocab = torch.cat([p_vocab, p_vocab.new_zeros(*p_vocab.shape[:-1], extra)], dim=-1)
    copied = weights * (1.0 - p_gen)
    index = source_ids if weights.dim() == 2 else source_ids[:, None, :].expand_as(weights)
    return p_vocab.scatter_add(-1, index, copied).clamp_min(FLOOR).log()


class Coverage(nn.Module):
    """Coverage as an attention feature: keys_j + w * c_j (one learned vector w).

    For additive attention this is See et al.'s ``v . tanh(W_h h_j + W_s s_t + w_c c_j)``;
    for dot and general attention it adds ``c_j (q . w)`` to score j.

    Shape: keys (N, S, K), coverage (N, S) -> (N, S, K).
    """

    def __init__(self, key_size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(key_size))

    def forward(self, keys: Tensor, coverage: Tensor) -> Tensor:
        return keys + coverage[..., None] * self.weight


def coverage_loss(weights: Tensor, target: Tensor) -> Tensor:
    """sum_j min(a_tj, c^t_j) summed over real target steps (``target != -100``).

    Shape: weights (N, T, S), target (N, T) -> a scalar (the sum; divide by the token count).
    """
    covered = weights.cumsum(dim=1) - weights  # c^t: attention before step t
    per_step = torch.minimum(weights, covered).sum(-1)  # (N, T)
    return per_step.masked_fill(target == -100, 0.0).sum()
