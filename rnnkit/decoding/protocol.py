"""What decoding needs from a model: one step of next-token logits, and a way to reorder states.

Decoding knows no model class. Anything with these two methods can be decoded greedily, sampled
from or beam-searched: a language model (text generation) or a seq2seq decoder whose state also
carries the encoder memory (translation). The state is opaque to decoding; it is only passed back
to ``step`` and ``reorder_state``. A state of None (a model's fresh state, e.g. after a one-token
prompt) is passed to ``step`` as is and never reordered: the model builds it for the batch of
tokens it receives.

The helpers below check what a model returns, so that a wrong shape is reported at the step that
produced it, naming the caller, what was expected and what came.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class StepModel(Protocol):
    """An autoregressive model, one token at a time.

    Example:
        >>> class Bigram:  # logits depend on the previous token only; no state
        ...     def __init__(self, table):
        ...         self.table = table  # (V, V)
        ...     def step(self, tokens, state):
        ...         return self.table[tokens], state
        ...     def reorder_state(self, state, index):
        ...         return state
        >>> isinstance(Bigram(torch.zeros(5, 5)), StepModel)
        True
    """

    def step(self, tokens: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Feed one token per sequence; return the next-token logits and the new state.

        Shape:
            tokens: (N,) long -> logits (N, V).
        """
        ...

    def reorder_state(self, state: Any, index: Tensor) -> Any:
        """Select or repeat batch entries of a state: entry i of the result is entry index[i].

        For an rnnkit LSTM state ``(h, c)``, each (K, N, H), this is
        ``(h.index_select(1, index), c.index_select(1, index))``: the batch axis is 1.

        Shape:
            index: (N',) long, values in [0, N) -> a state for N' sequences.
        """
        ...


def check_tokens(owner: str, tokens: Tensor) -> Tensor:
    """Validate the first tokens to feed: a 1-D integer tensor (N,), N >= 1."""
    if not isinstance(tokens, Tensor):
        raise TypeError(f"{owner}: expected first_tokens as a tensor, got {type(tokens).__name__}")
    if tokens.dim() != 1 or tokens.shape[0] == 0:
        raise ValueError(
            f"{owner}: expected first_tokens of shape (N,) with N >= 1, got {tuple(tokens.shape)}"
        )
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise TypeError(f"{owner}: expected integer first_tokens, got {tokens.dtype}")
    return tokens.long()


def check_count(owner: str, name: str, value: int, minimum: int) -> None:
    """``value`` must be an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{owner}: expected {name} to be an int >= {minimum}, got {value!r}")


def checked_step(
    owner: str, model: StepModel, tokens: Tensor, state: Any, eos_id: int | None
) -> tuple[Tensor, Any]:
    """``model.step`` with its logits checked: shape (N, V), floating point, eos_id in [0, V)."""
    logits, state = model.step(tokens, state)
    n = tokens.shape[0]
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.shape[0] != n:
        got = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"{owner}: expected model.step logits of shape ({n}, V), got {got}")
    if not logits.dtype.is_floating_point:
        raise TypeError(f"{owner}: expected floating-point logits, got {logits.dtype}")
    if eos_id is not None and not 0 <= eos_id < logits.shape[1]:
        raise ValueError(
            f"{owner}: expected eos_id in [0, {logits.shape[1]}) (the vocabulary), got {eos_id}"
        )
    return logits, state
