"""Decoding strategies for autoregressive recurrent models: greedy, sampling, beam search.

Decoding knows no model class: it drives anything that implements ``StepModel`` (one
``step(tokens, state) -> (logits, state)`` and ``reorder_state(state, index)``), so the language
model (text generation) and the seq2seq decoder (translation) share it.

- ``generate_tokens``: streaming greedy or sampled generation (temperature, top-k, top-p, seed);
- ``beam_search``: batched beam search with the GNMT length penalty, ``n_best`` hypotheses;
- ``apply_temperature``, ``top_k_filter``, ``top_p_filter``: the logit filters, (N, V) -> (N, V);
- ``select_next_tokens``: one greedy or sampled choice from a batch of logits;
- ``repetition_penalty_filter``: CTRL's penalty on tokens already seen (sampling);
- ``MinLength``, ``NoRepeatNgram``, ``NoAdjacentRepeat``, ``SymbolCounts``: rules that forbid
  tokens in beam search (``min_length`` and ``no_repeat_ngram_size`` build the first two).
"""

from rnnkit.decoding.beam import Hypothesis, beam_search, gnmt_length_penalty
from rnnkit.decoding.constraints import SymbolCounts
from rnnkit.decoding.filters import (
    apply_temperature,
    repetition_penalty_filter,
    top_k_filter,
    top_p_filter,
)
from rnnkit.decoding.generate import generate_tokens
from rnnkit.decoding.protocol import StepModel
from rnnkit.decoding.rules import MinLength, NoAdjacentRepeat, NoRepeatNgram, TokenRule
from rnnkit.decoding.sampling import select_next_tokens

__all__ = [
    "Hypothesis",
    "MinLength",
    "NoAdjacentRepeat",
    "NoRepeatNgram",
    "StepModel",
    "SymbolCounts",
    "TokenRule",
    "apply_temperature",
    "beam_search",
    "generate_tokens",
    "gnmt_length_penalty",
    "repetition_penalty_filter",
    "select_next_tokens",
    "top_k_filter",
    "top_p_filter",
]
